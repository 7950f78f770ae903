//===- TensorOpSharding.cpp - Sharding rules for tensor ops ---------------===//
//
// Upstream (LLVM 22) has no ShardingInterface for `tensor.expand_shape`,
// `tensor.collapse_shape`, `tensor.extract_slice`, `tensor.insert_slice`
// and `tensor.pad`, which every attention block (splitting and merging
// heads, Split), every flatten and every convolution (padding, im2col)
// produce. These external models give them one.
//
// Reshapes.
// The loops of a reshape are the dimensions of its expanded side. The
// collapsed side's dimension j stands for the group of expanded dimensions
// reassociated into it, and its indexing map picks the group's outermost
// dimension: in row-major order, cutting the outer dimension of a group
// into N blocks cuts the collapsed dimension into the same N blocks. So a
// split of 64 channels over tp=2 becomes a split of 4 heads × 16 into
// 2 heads per device, and back. A split of an inner dimension of a group
// is not a block split of the collapsed dimension, and neither is an outer
// dimension the mesh axes do not divide: such loops are left unsplit, so
// propagation reshards the operands (gathers them) instead.
//
// Slices, inserts and pads. The loops are the result's dimensions, read at
// the same index of the source. Only a dimension taken or filled whole
// (offset 0, full size, stride 1, no padding) can be split; the others
// stay unsplit.
//
//===----------------------------------------------------------------------===//

#include "passes/Sharding/Passes.h"

#include "mlir/Dialect/Shard/Interfaces/ShardingInterface.h"
#include "mlir/Dialect/Shard/Interfaces/ShardingInterfaceImpl.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/IRMapping.h"

using namespace mlir;

namespace {

/// The default option for `op`, with every loop `splittable(loop, devices)`
/// rejects left unsplit.
FailureOr<shard::ShardingOption> optionWithSplittable(
    Operation *op, ArrayRef<shard::Sharding> operandShardings,
    ArrayRef<shard::Sharding> resultShardings,
    llvm::function_ref<bool(int64_t, int64_t)> splittable) {
  FailureOr<shard::ShardingOption> option =
      shard::detail::defaultGetShardingOption(op, operandShardings,
                                              resultShardings);
  if (failed(option) || option->empty)
    return option;
  SymbolTableCollection symbols;
  shard::GridOp grid = shard::getGridOrNull(op, option->grid, symbols);
  if (!grid)
    return failure();
  for (auto [d, axes] : llvm::enumerate(option->shardingArray)) {
    int64_t devices = 1;
    for (shard::GridAxis a : axes)
      devices *= grid.getShape()[a];
    if (!axes.empty() && !splittable(d, devices))
      axes.clear();
  }
  return option;
}

/// Offsets, sizes or strides with their SSA values moved to the local
/// program.
SmallVector<OpFoldResult> mapFoldResults(ArrayRef<OpFoldResult> values,
                                         IRMapping &partitionMap) {
  SmallVector<OpFoldResult> out;
  for (OpFoldResult v : values)
    out.push_back(isa<Value>(v)
                      ? OpFoldResult(partitionMap.lookupOrDefault(cast<Value>(v)))
                      : v);
  return out;
}

/// The expanded and collapsed sides of a reshape.
struct ReshapeSides {
  RankedTensorType expanded, collapsed;
  SmallVector<ReassociationIndices> groups;
};

template <typename Op> ReshapeSides sidesOf(Op op) {
  if constexpr (std::is_same_v<Op, tensor::ExpandShapeOp>)
    return {op.getResultType(), op.getSrcType(), op.getReassociationIndices()};
  else
    return {op.getSrcType(), op.getResultType(), op.getReassociationIndices()};
}

template <typename Op>
struct ReshapeShardingInterface
    : public shard::ShardingInterface::ExternalModel<ReshapeShardingInterface<Op>,
                                                     Op> {
  SmallVector<utils::IteratorType> getLoopIteratorTypes(Operation *op) const {
    ReshapeSides s = sidesOf(cast<Op>(op));
    return SmallVector<utils::IteratorType>(s.expanded.getRank(),
                                            utils::IteratorType::parallel);
  }

  SmallVector<shard::ReductionKind>
  getReductionLoopIteratorKinds(Operation *) const {
    return {};
  }

  /// Identity on the expanded side; the collapsed side's dimension j is
  /// the outermost loop of group j.
  SmallVector<AffineMap> getIndexingMaps(Operation *op) const {
    ReshapeSides s = sidesOf(cast<Op>(op));
    MLIRContext *ctx = op->getContext();
    int64_t loops = s.expanded.getRank();
    SmallVector<AffineExpr> outer;
    for (const ReassociationIndices &g : s.groups)
      outer.push_back(getAffineDimExpr(g.front(), ctx));
    AffineMap identity = AffineMap::getMultiDimIdentityMap(loops, ctx);
    AffineMap collapsed = AffineMap::get(loops, 0, outer, ctx);
    if constexpr (std::is_same_v<Op, tensor::ExpandShapeOp>)
      return {collapsed, identity};
    else
      return {identity, collapsed};
  }

  FailureOr<shard::ShardingOption>
  getShardingOption(Operation *op, ArrayRef<shard::Sharding> operandShardings,
                    ArrayRef<shard::Sharding> resultShardings) const {
    ReshapeSides s = sidesOf(cast<Op>(op));
    return optionWithSplittable(
        op, operandShardings, resultShardings, [&](int64_t d, int64_t devices) {
          for (const ReassociationIndices &g : s.groups)
            if (llvm::is_contained(g, d)) {
              int64_t size = s.expanded.getDimSize(d);
              return d == g.front() && !ShapedType::isDynamic(size) &&
                     size % devices == 0;
            }
          return false;
        });
  }

  /// The same reshape between the local shards.
  LogicalResult partition(Operation *op, ArrayRef<Value> partitionedOperands,
                          ArrayRef<shard::Sharding> operandShardings,
                          ArrayRef<shard::Sharding> resultShardings,
                          IRMapping &partitionMap,
                          SymbolTableCollection &symbolTable,
                          OpBuilder &builder) const {
    auto reshape = cast<Op>(op);
    shard::Sharding result = resultShardings.front();
    if (!result)
      return op->emitOpError("has no sharding for its result");
    shard::GridOp grid = shard::getGrid(op, result.getGridAttr(), symbolTable);
    auto local = cast<RankedTensorType>(
        shard::shardType(reshape.getResultType(), grid, result));
    auto source = cast<RankedTensorType>(partitionedOperands.front().getType());
    // The local shapes must reshape into each other group by group.
    ReshapeSides s = sidesOf(reshape);
    RankedTensorType localExpanded =
        std::is_same_v<Op, tensor::ExpandShapeOp> ? local : source;
    RankedTensorType localCollapsed =
        std::is_same_v<Op, tensor::ExpandShapeOp> ? source : local;
    for (auto [j, g] : llvm::enumerate(s.groups)) {
      int64_t product = 1;
      for (int64_t d : g)
        product *= localExpanded.getDimSize(d);
      if (product != localCollapsed.getDimSize(j))
        return op->emitOpError("cannot reshape the local shard ")
               << source << " into " << local;
    }
    Value v = Op::create(builder, op->getLoc(), local,
                         partitionedOperands.front(),
                         reshape.getReassociationIndices());
    partitionMap.map(op->getResult(0), v);
    partitionMap.map(op, v.getDefiningOp());
    return success();
  }
};

struct ExtractSliceShardingInterface
    : public shard::ShardingInterface::ExternalModel<
          ExtractSliceShardingInterface, tensor::ExtractSliceOp> {
  SmallVector<utils::IteratorType> getLoopIteratorTypes(Operation *op) const {
    auto slice = cast<tensor::ExtractSliceOp>(op);
    return SmallVector<utils::IteratorType>(slice.getResultType().getRank(),
                                            utils::IteratorType::parallel);
  }

  SmallVector<shard::ReductionKind>
  getReductionLoopIteratorKinds(Operation *) const {
    return {};
  }

  SmallVector<AffineMap> getIndexingMaps(Operation *op) const {
    auto slice = cast<tensor::ExtractSliceOp>(op);
    MLIRContext *ctx = op->getContext();
    int64_t loops = slice.getResultType().getRank();
    AffineMap identity = AffineMap::getMultiDimIdentityMap(loops, ctx);
    // A rank-reducing slice reads its source at the kept loops; dropped
    // dimensions (size 1) are never split.
    SmallVector<AffineExpr> source;
    llvm::SmallBitVector dropped = slice.getDroppedDims();
    for (int64_t d = 0, l = 0; d < slice.getSourceType().getRank(); ++d)
      source.push_back(dropped.test(d) ? getAffineConstantExpr(0, ctx)
                                       : getAffineDimExpr(l++, ctx));
    // Offsets, sizes and strides are index operands: no map.
    SmallVector<AffineMap> maps = {AffineMap::get(loops, 0, source, ctx)};
    for (unsigned i = 1; i < op->getNumOperands(); ++i)
      maps.push_back(AffineMap::get(loops, 0, ctx));
    maps.push_back(identity);
    return maps;
  }

  /// Whether result dimension `d` is its source dimension taken whole.
  static bool isWhole(tensor::ExtractSliceOp slice, int64_t d) {
    if (slice.getSourceType().getRank() != slice.getResultType().getRank())
      return false;
    std::optional<int64_t> offset = getConstantIntValue(slice.getMixedOffsets()[d]);
    std::optional<int64_t> stride = getConstantIntValue(slice.getMixedStrides()[d]);
    int64_t size = slice.getResultType().getDimSize(d);
    return offset == 0 && stride == 1 && !ShapedType::isDynamic(size) &&
           size == slice.getSourceType().getDimSize(d);
  }

  FailureOr<shard::ShardingOption>
  getShardingOption(Operation *op, ArrayRef<shard::Sharding> operandShardings,
                    ArrayRef<shard::Sharding> resultShardings) const {
    auto slice = cast<tensor::ExtractSliceOp>(op);
    return optionWithSplittable(
        op, operandShardings, resultShardings, [&](int64_t d, int64_t devices) {
          return isWhole(slice, d) &&
                 slice.getResultType().getDimSize(d) % devices == 0;
        });
  }

  /// The same slice of the local shard; split dimensions are whole.
  LogicalResult partition(Operation *op, ArrayRef<Value> partitionedOperands,
                          ArrayRef<shard::Sharding> operandShardings,
                          ArrayRef<shard::Sharding> resultShardings,
                          IRMapping &partitionMap,
                          SymbolTableCollection &symbolTable,
                          OpBuilder &builder) const {
    auto slice = cast<tensor::ExtractSliceOp>(op);
    shard::Sharding result = resultShardings.front();
    if (!result)
      return op->emitOpError("has no sharding for its result");
    shard::GridOp grid = shard::getGrid(op, result.getGridAttr(), symbolTable);
    auto local = cast<RankedTensorType>(
        shard::shardType(slice.getResultType(), grid, result));
    SmallVector<OpFoldResult> offsets = mapFoldResults(slice.getMixedOffsets(), partitionMap);
    SmallVector<OpFoldResult> sizes = mapFoldResults(slice.getMixedSizes(), partitionMap);
    SmallVector<OpFoldResult> strides = mapFoldResults(slice.getMixedStrides(), partitionMap);
    for (int64_t d = 0; d < local.getRank(); ++d)
      if (local.getDimSize(d) != slice.getResultType().getDimSize(d)) {
        if (!isWhole(slice, d))
          return op->emitOpError("cannot slice split dimension ") << d;
        sizes[d] = builder.getIndexAttr(local.getDimSize(d));
      }
    Value v = tensor::ExtractSliceOp::create(builder, op->getLoc(), local,
                                             partitionedOperands.front(),
                                             offsets, sizes, strides);
    partitionMap.map(op->getResult(0), v);
    partitionMap.map(op, v.getDefiningOp());
    return success();
  }
};

/// tensor.insert_slice (the patches of im2col, Concat): the loops are the
/// destination's dimensions; a dimension the source fills whole can be
/// split.
struct InsertSliceShardingInterface
    : public shard::ShardingInterface::ExternalModel<
          InsertSliceShardingInterface, tensor::InsertSliceOp> {
  SmallVector<utils::IteratorType> getLoopIteratorTypes(Operation *op) const {
    auto insert = cast<tensor::InsertSliceOp>(op);
    return SmallVector<utils::IteratorType>(insert.getType().getRank(),
                                            utils::IteratorType::parallel);
  }

  SmallVector<shard::ReductionKind>
  getReductionLoopIteratorKinds(Operation *) const {
    return {};
  }

  SmallVector<AffineMap> getIndexingMaps(Operation *op) const {
    auto insert = cast<tensor::InsertSliceOp>(op);
    MLIRContext *ctx = op->getContext();
    int64_t loops = insert.getType().getRank();
    AffineMap identity = AffineMap::getMultiDimIdentityMap(loops, ctx);
    SmallVector<AffineExpr> source;
    llvm::SmallBitVector dropped = insert.getDroppedDims();
    for (int64_t d = 0; d < loops; ++d)
      if (!dropped.test(d))
        source.push_back(getAffineDimExpr(d, ctx));
    SmallVector<AffineMap> maps = {AffineMap::get(loops, 0, source, ctx),
                                   identity};
    for (unsigned i = 2; i < op->getNumOperands(); ++i)
      maps.push_back(AffineMap::get(loops, 0, ctx));
    maps.push_back(identity);
    return maps;
  }

  static bool isWhole(tensor::InsertSliceOp insert, int64_t d) {
    if (insert.getSourceType().getRank() != insert.getType().getRank())
      return false;
    std::optional<int64_t> offset = getConstantIntValue(insert.getMixedOffsets()[d]);
    std::optional<int64_t> stride = getConstantIntValue(insert.getMixedStrides()[d]);
    int64_t size = insert.getSourceType().getDimSize(d);
    return offset == 0 && stride == 1 && !ShapedType::isDynamic(size) &&
           size == insert.getType().getDimSize(d);
  }

  FailureOr<shard::ShardingOption>
  getShardingOption(Operation *op, ArrayRef<shard::Sharding> operandShardings,
                    ArrayRef<shard::Sharding> resultShardings) const {
    auto insert = cast<tensor::InsertSliceOp>(op);
    return optionWithSplittable(
        op, operandShardings, resultShardings, [&](int64_t d, int64_t devices) {
          return isWhole(insert, d) && insert.getType().getDimSize(d) % devices == 0;
        });
  }

  LogicalResult partition(Operation *op, ArrayRef<Value> partitionedOperands,
                          ArrayRef<shard::Sharding> operandShardings,
                          ArrayRef<shard::Sharding> resultShardings,
                          IRMapping &partitionMap,
                          SymbolTableCollection &symbolTable,
                          OpBuilder &builder) const {
    auto insert = cast<tensor::InsertSliceOp>(op);
    auto local = cast<RankedTensorType>(partitionedOperands[1].getType());
    SmallVector<OpFoldResult> sizes =
        mapFoldResults(insert.getMixedSizes(), partitionMap);
    for (int64_t d = 0; d < local.getRank(); ++d)
      if (local.getDimSize(d) != insert.getType().getDimSize(d)) {
        if (!isWhole(insert, d))
          return op->emitOpError("cannot insert into split dimension ") << d;
        sizes[d] = builder.getIndexAttr(local.getDimSize(d));
      }
    Value v = tensor::InsertSliceOp::create(
        builder, op->getLoc(), partitionedOperands[0], partitionedOperands[1],
        mapFoldResults(insert.getMixedOffsets(), partitionMap), sizes,
        mapFoldResults(insert.getMixedStrides(), partitionMap));
    partitionMap.map(op->getResult(0), v);
    partitionMap.map(op, v.getDefiningOp());
    return success();
  }
};

/// tensor.pad with a constant value: a dimension padded on neither side
/// can be split.
struct PadShardingInterface
    : public shard::ShardingInterface::ExternalModel<PadShardingInterface,
                                                     tensor::PadOp> {
  SmallVector<utils::IteratorType> getLoopIteratorTypes(Operation *op) const {
    auto pad = cast<tensor::PadOp>(op);
    return SmallVector<utils::IteratorType>(pad.getResultType().getRank(),
                                            utils::IteratorType::parallel);
  }

  SmallVector<shard::ReductionKind>
  getReductionLoopIteratorKinds(Operation *) const {
    return {};
  }

  SmallVector<AffineMap> getIndexingMaps(Operation *op) const {
    auto pad = cast<tensor::PadOp>(op);
    MLIRContext *ctx = op->getContext();
    int64_t loops = pad.getResultType().getRank();
    AffineMap identity = AffineMap::getMultiDimIdentityMap(loops, ctx);
    SmallVector<AffineMap> maps = {identity};
    for (unsigned i = 1; i < op->getNumOperands(); ++i)
      maps.push_back(AffineMap::get(loops, 0, ctx));
    maps.push_back(identity);
    return maps;
  }

  static bool isUnpadded(tensor::PadOp pad, int64_t d) {
    return isConstantIntValue(pad.getMixedLowPad()[d], 0) &&
           isConstantIntValue(pad.getMixedHighPad()[d], 0);
  }

  FailureOr<shard::ShardingOption>
  getShardingOption(Operation *op, ArrayRef<shard::Sharding> operandShardings,
                    ArrayRef<shard::Sharding> resultShardings) const {
    auto pad = cast<tensor::PadOp>(op);
    return optionWithSplittable(
        op, operandShardings, resultShardings, [&](int64_t d, int64_t devices) {
          int64_t size = pad.getResultType().getDimSize(d);
          return isUnpadded(pad, d) && !ShapedType::isDynamic(size) &&
                 size % devices == 0;
        });
  }

  LogicalResult partition(Operation *op, ArrayRef<Value> partitionedOperands,
                          ArrayRef<shard::Sharding> operandShardings,
                          ArrayRef<shard::Sharding> resultShardings,
                          IRMapping &partitionMap,
                          SymbolTableCollection &symbolTable,
                          OpBuilder &builder) const {
    auto pad = cast<tensor::PadOp>(op);
    Value value = pad.getConstantPaddingValue();
    if (!value)
      return op->emitOpError("pads with a computed value; cannot split it");
    shard::Sharding result = resultShardings.front();
    shard::GridOp grid = shard::getGrid(op, result.getGridAttr(), symbolTable);
    auto local = cast<RankedTensorType>(
        shard::shardType(pad.getResultType(), grid, result));
    Value v = tensor::PadOp::create(
        builder, op->getLoc(), local, partitionedOperands.front(),
        mapFoldResults(pad.getMixedLowPad(), partitionMap),
        mapFoldResults(pad.getMixedHighPad(), partitionMap),
        partitionMap.lookupOrDefault(value), pad.getNofold());
    partitionMap.map(op->getResult(0), v);
    partitionMap.map(op, v.getDefiningOp());
    return success();
  }
};

} // namespace

void mlir::tessera::registerShardingExternalModels(DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *ctx, tensor::TensorDialect *) {
    tensor::ExpandShapeOp::attachInterface<
        ReshapeShardingInterface<tensor::ExpandShapeOp>>(*ctx);
    tensor::CollapseShapeOp::attachInterface<
        ReshapeShardingInterface<tensor::CollapseShapeOp>>(*ctx);
    tensor::ExtractSliceOp::attachInterface<ExtractSliceShardingInterface>(*ctx);
    tensor::InsertSliceOp::attachInterface<InsertSliceShardingInterface>(*ctx);
    tensor::PadOp::attachInterface<PadShardingInterface>(*ctx);
  });
}
