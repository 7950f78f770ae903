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
// Gathers (tessera.gather, kept through partitioning: an embedding). The
// loops are the result's dimensions, data[:axis] + indices + data[axis+1:],
// and last the data's gathered axis, a reduction over the table's rows (the
// lookup is a sum of one-hot rows). An embedding table splits over its
// hidden dimension (each device looks up its columns of every row) or, for
// axis 0, over its rows: Megatron's vocab-parallel embedding, where each
// device looks up the ids that fall in its block of rows, zeros the others,
// and one all-reduce sums the blocks.
//
//===----------------------------------------------------------------------===//

#include "passes/Sharding/Passes.h"
#include "passes/Sharding/TensorParallel.h"

#include "dialects/Tessera/IR/TesseraOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
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

/// Whether a static `size` splits evenly over `devices`.
bool divides(int64_t size, int64_t devices) {
  return !ShapedType::isDynamic(size) && size % devices == 0;
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

/// Maps for the index operands of `op` after its first `tensors` operands:
/// offsets, sizes, pads are scalars, with no map into the loops.
void appendIndexOperandMaps(Operation *op, unsigned tensors, int64_t loops,
                            SmallVector<AffineMap> &maps) {
  for (unsigned i = tensors; i < op->getNumOperands(); ++i)
    maps.push_back(AffineMap::get(loops, 0, op->getContext()));
}

/// The local type of `op`'s result under `sharding`, or null.
RankedTensorType localResultType(Operation *op, shard::Sharding sharding,
                                 SymbolTableCollection &symbolTable) {
  if (!sharding)
    return {};
  shard::GridOp grid = shard::getGrid(op, sharding.getGridAttr(), symbolTable);
  return cast<RankedTensorType>(
      shard::shardType(op->getResult(0).getType(), grid, sharding));
}

void mapResult(IRMapping &partitionMap, Operation *op, Value local) {
  partitionMap.map(op->getResult(0), local);
  partitionMap.map(op, local.getDefiningOp());
}

/// Dimension `d` of a slice `op` spans the whole of a dimension of `full`
/// elements: offset 0, stride 1, static size `full`.
bool isWholeDim(OffsetSizeAndStrideOpInterface op, int64_t d, int64_t full) {
  return isConstantIntValue(op.getMixedOffsets()[d], 0) &&
         isConstantIntValue(op.getMixedStrides()[d], 1) &&
         isConstantIntValue(op.getMixedSizes()[d], full);
}

/// The sizes of `slice` on the local shard, whose shape is `local` where
/// the whole op's is `full`: a split dimension (sizes differ) must be taken
/// whole (`whole(d)`) and becomes its local size.
FailureOr<SmallVector<OpFoldResult>>
localSliceSizes(OffsetSizeAndStrideOpInterface slice, RankedTensorType full,
                RankedTensorType local, llvm::function_ref<bool(int64_t)> whole,
                IRMapping &partitionMap, OpBuilder &builder, StringRef what) {
  SmallVector<OpFoldResult> sizes =
      mapFoldResults(slice.getMixedSizes(), partitionMap);
  for (int64_t d = 0; d < local.getRank(); ++d)
    if (local.getDimSize(d) != full.getDimSize(d)) {
      if (!whole(d))
        return slice->emitOpError("cannot ") << what << " split dimension " << d;
      sizes[d] = builder.getIndexAttr(local.getDimSize(d));
    }
  return sizes;
}

/// The part every model here shares: all loops are parallel, and a loop is
/// split only where `Derived::splittable(op, loop, devices)` allows.
template <typename Derived, typename Op>
struct ParallelLoopsModel
    : public shard::ShardingInterface::ExternalModel<Derived, Op> {
  SmallVector<utils::IteratorType> getLoopIteratorTypes(Operation *op) const {
    return SmallVector<utils::IteratorType>(Derived::loops(cast<Op>(op)),
                                            utils::IteratorType::parallel);
  }

  SmallVector<shard::ReductionKind>
  getReductionLoopIteratorKinds(Operation *) const {
    return {};
  }

  FailureOr<shard::ShardingOption>
  getShardingOption(Operation *op, ArrayRef<shard::Sharding> operandShardings,
                    ArrayRef<shard::Sharding> resultShardings) const {
    auto typed = cast<Op>(op);
    return optionWithSplittable(op, operandShardings, resultShardings,
                                [&](int64_t d, int64_t devices) {
                                  return Derived::splittable(typed, d, devices);
                                });
  }
};

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
    : public ParallelLoopsModel<ReshapeShardingInterface<Op>, Op> {
  static constexpr bool kExpand = std::is_same_v<Op, tensor::ExpandShapeOp>;

  static int64_t loops(Op op) { return sidesOf(op).expanded.getRank(); }

  /// Only the outermost dimension of a group is a block split of the
  /// collapsed dimension.
  static bool splittable(Op op, int64_t d, int64_t devices) {
    ReshapeSides s = sidesOf(op);
    return llvm::any_of(s.groups, [&](const ReassociationIndices &g) {
      return g.front() == d;
    }) && divides(s.expanded.getDimSize(d), devices);
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
    if constexpr (kExpand)
      return {collapsed, identity};
    else
      return {identity, collapsed};
  }

  /// The same reshape between the local shards.
  LogicalResult partition(Operation *op, ArrayRef<Value> partitionedOperands,
                          ArrayRef<shard::Sharding> operandShardings,
                          ArrayRef<shard::Sharding> resultShardings,
                          IRMapping &partitionMap,
                          SymbolTableCollection &symbolTable,
                          OpBuilder &builder) const {
    auto reshape = cast<Op>(op);
    RankedTensorType local =
        localResultType(op, resultShardings.front(), symbolTable);
    if (!local)
      return op->emitOpError("has no sharding for its result");
    auto source = cast<RankedTensorType>(partitionedOperands.front().getType());
    // The local shapes must reshape into each other group by group.
    RankedTensorType localExpanded = kExpand ? local : source;
    RankedTensorType localCollapsed = kExpand ? source : local;
    for (auto [j, g] : llvm::enumerate(sidesOf(reshape).groups)) {
      int64_t product = 1;
      for (int64_t d : g)
        product *= localExpanded.getDimSize(d);
      if (product != localCollapsed.getDimSize(j))
        return op->emitOpError("cannot reshape the local shard ")
               << source << " into " << local;
    }
    mapResult(partitionMap, op,
              Op::create(builder, op->getLoc(), local,
                         partitionedOperands.front(),
                         reshape.getReassociationIndices()));
    return success();
  }
};

struct ExtractSliceShardingInterface
    : public ParallelLoopsModel<ExtractSliceShardingInterface,
                                tensor::ExtractSliceOp> {
  static int64_t loops(tensor::ExtractSliceOp op) {
    return op.getResultType().getRank();
  }

  /// Whether result dimension `d` is its source dimension taken whole.
  static bool isWhole(tensor::ExtractSliceOp slice, int64_t d) {
    return slice.getSourceType().getRank() == slice.getResultType().getRank() &&
           isWholeDim(slice, d, slice.getSourceType().getDimSize(d));
  }

  static bool splittable(tensor::ExtractSliceOp op, int64_t d, int64_t devices) {
    return isWhole(op, d) && divides(op.getResultType().getDimSize(d), devices);
  }

  SmallVector<AffineMap> getIndexingMaps(Operation *op) const {
    auto slice = cast<tensor::ExtractSliceOp>(op);
    MLIRContext *ctx = op->getContext();
    int64_t loops = slice.getResultType().getRank();
    // A rank-reducing slice reads its source at the kept loops; dropped
    // dimensions (size 1) are never split.
    SmallVector<AffineExpr> source;
    llvm::SmallBitVector dropped = slice.getDroppedDims();
    for (int64_t d = 0, l = 0; d < slice.getSourceType().getRank(); ++d)
      source.push_back(dropped.test(d) ? getAffineConstantExpr(0, ctx)
                                       : getAffineDimExpr(l++, ctx));
    SmallVector<AffineMap> maps = {AffineMap::get(loops, 0, source, ctx)};
    appendIndexOperandMaps(op, 1, loops, maps);
    maps.push_back(AffineMap::getMultiDimIdentityMap(loops, ctx));
    return maps;
  }

  /// The same slice of the local shard; split dimensions are whole.
  LogicalResult partition(Operation *op, ArrayRef<Value> partitionedOperands,
                          ArrayRef<shard::Sharding> operandShardings,
                          ArrayRef<shard::Sharding> resultShardings,
                          IRMapping &partitionMap,
                          SymbolTableCollection &symbolTable,
                          OpBuilder &builder) const {
    auto slice = cast<tensor::ExtractSliceOp>(op);
    RankedTensorType local =
        localResultType(op, resultShardings.front(), symbolTable);
    if (!local)
      return op->emitOpError("has no sharding for its result");
    FailureOr<SmallVector<OpFoldResult>> sizes = localSliceSizes(
        slice, slice.getResultType(), local,
        [&](int64_t d) { return isWhole(slice, d); }, partitionMap, builder,
        "slice");
    if (failed(sizes))
      return failure();
    mapResult(partitionMap, op,
              tensor::ExtractSliceOp::create(
                  builder, op->getLoc(), local, partitionedOperands.front(),
                  mapFoldResults(slice.getMixedOffsets(), partitionMap), *sizes,
                  mapFoldResults(slice.getMixedStrides(), partitionMap)));
    return success();
  }
};

/// tensor.insert_slice (the patches of im2col, Concat): the loops are the
/// destination's dimensions; a dimension the source fills whole can be
/// split.
struct InsertSliceShardingInterface
    : public ParallelLoopsModel<InsertSliceShardingInterface,
                                tensor::InsertSliceOp> {
  static int64_t loops(tensor::InsertSliceOp op) { return op.getType().getRank(); }

  static bool isWhole(tensor::InsertSliceOp insert, int64_t d) {
    return insert.getSourceType().getRank() == insert.getType().getRank() &&
           isWholeDim(insert, d, insert.getType().getDimSize(d));
  }

  static bool splittable(tensor::InsertSliceOp op, int64_t d, int64_t devices) {
    return isWhole(op, d) && divides(op.getType().getDimSize(d), devices);
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
    appendIndexOperandMaps(op, 2, loops, maps);
    maps.push_back(identity);
    return maps;
  }

  LogicalResult partition(Operation *op, ArrayRef<Value> partitionedOperands,
                          ArrayRef<shard::Sharding> operandShardings,
                          ArrayRef<shard::Sharding> resultShardings,
                          IRMapping &partitionMap,
                          SymbolTableCollection &symbolTable,
                          OpBuilder &builder) const {
    auto insert = cast<tensor::InsertSliceOp>(op);
    auto local = cast<RankedTensorType>(partitionedOperands[1].getType());
    FailureOr<SmallVector<OpFoldResult>> sizes = localSliceSizes(
        insert, insert.getType(), local,
        [&](int64_t d) { return isWhole(insert, d); }, partitionMap, builder,
        "insert into");
    if (failed(sizes))
      return failure();
    mapResult(partitionMap, op,
              tensor::InsertSliceOp::create(
                  builder, op->getLoc(), partitionedOperands[0],
                  partitionedOperands[1],
                  mapFoldResults(insert.getMixedOffsets(), partitionMap), *sizes,
                  mapFoldResults(insert.getMixedStrides(), partitionMap)));
    return success();
  }
};

/// tensor.pad with a constant value: a dimension padded on neither side
/// can be split.
struct PadShardingInterface
    : public ParallelLoopsModel<PadShardingInterface, tensor::PadOp> {
  static int64_t loops(tensor::PadOp op) { return op.getResultType().getRank(); }

  static bool splittable(tensor::PadOp pad, int64_t d, int64_t devices) {
    return isConstantIntValue(pad.getMixedLowPad()[d], 0) &&
           isConstantIntValue(pad.getMixedHighPad()[d], 0) &&
           divides(pad.getResultType().getDimSize(d), devices);
  }

  SmallVector<AffineMap> getIndexingMaps(Operation *op) const {
    int64_t loops = cast<tensor::PadOp>(op).getResultType().getRank();
    AffineMap identity =
        AffineMap::getMultiDimIdentityMap(loops, op->getContext());
    SmallVector<AffineMap> maps = {identity};
    appendIndexOperandMaps(op, 1, loops, maps);
    maps.push_back(identity);
    return maps;
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
    RankedTensorType local =
        localResultType(op, resultShardings.front(), symbolTable);
    if (!local)
      return op->emitOpError("has no sharding for its result");
    mapResult(partitionMap, op,
              tensor::PadOp::create(
                  builder, op->getLoc(), local, partitionedOperands.front(),
                  mapFoldResults(pad.getMixedLowPad(), partitionMap),
                  mapFoldResults(pad.getMixedHighPad(), partitionMap),
                  partitionMap.lookupOrDefault(value), pad.getNofold()));
    return success();
  }
};

/// tessera.gather: see the file comment.
struct GatherShardingInterface
    : public ParallelLoopsModel<GatherShardingInterface, tessera::GatherOp> {
  /// The result's dimensions and the gathered axis (the last loop).
  static int64_t loops(tessera::GatherOp op) { return op.getType().getRank() + 1; }

  /// The rows loop splits for a float table gathered along axis 0 (the
  /// masked lookup needs a zero to fill with).
  static bool splittable(tessera::GatherOp op, int64_t d, int64_t devices) {
    if (d < op.getType().getRank())
      return divides(op.getType().getDimSize(d), devices);
    return axisOf(op) == 0 && isa<FloatType>(op.getType().getElementType()) &&
           divides(op.getData().getType().getDimSize(0), devices);
  }

  SmallVector<utils::IteratorType> getLoopIteratorTypes(Operation *op) const {
    auto types = SmallVector<utils::IteratorType>(
        loops(cast<tessera::GatherOp>(op)), utils::IteratorType::parallel);
    types.back() = utils::IteratorType::reduction;
    return types;
  }

  SmallVector<shard::ReductionKind>
  getReductionLoopIteratorKinds(Operation *) const {
    return {shard::ReductionKind::Sum};
  }

  static int64_t axisOf(tessera::GatherOp op) {
    int64_t rank = cast<RankedTensorType>(op.getData().getType()).getRank();
    int64_t axis = op.getAxis();
    return axis < 0 ? axis + rank : axis;
  }

  SmallVector<AffineMap> getIndexingMaps(Operation *op) const {
    auto gather = cast<tessera::GatherOp>(op);
    MLIRContext *ctx = op->getContext();
    int64_t rank = gather.getType().getRank(), axis = axisOf(gather);
    int64_t q = cast<RankedTensorType>(gather.getIndices().getType()).getRank();
    int64_t dataRank = cast<RankedTensorType>(gather.getData().getType()).getRank();
    SmallVector<AffineExpr> data, indices, result;
    for (int64_t d = 0; d < dataRank; ++d)
      data.push_back(d < axis    ? getAffineDimExpr(d, ctx)
                     : d == axis ? getAffineDimExpr(rank, ctx)
                                 : getAffineDimExpr(d - 1 + q, ctx));
    for (int64_t i = 0; i < q; ++i)
      indices.push_back(getAffineDimExpr(axis + i, ctx));
    for (int64_t d = 0; d < rank; ++d)
      result.push_back(getAffineDimExpr(d, ctx));
    return {AffineMap::get(rank + 1, 0, data, ctx),
            AffineMap::get(rank + 1, 0, indices, ctx),
            AffineMap::get(rank + 1, 0, result, ctx)};
  }

  /// The loops' splits from the result's and operands' annotations, as
  /// upstream's default computes them, with the rows loop split only where
  /// the table is (no result dimension reads it).
  FailureOr<shard::ShardingOption>
  getShardingOption(Operation *op, ArrayRef<shard::Sharding> operandShardings,
                    ArrayRef<shard::Sharding> resultShardings) const {
    auto gather = cast<tessera::GatherOp>(op);
    SmallVector<AffineMap> maps = getIndexingMaps(op);
    shard::ShardingOption option;
    option.shardingArray.resize(loops(gather));
    bool any = false;
    auto fill = [&](AffineMap map, const shard::Sharding &s) -> LogicalResult {
      if (!s)
        return success();
      any = true;
      if (option.grid && option.grid != s.getGridAttr())
        return failure();
      option.grid = s.getGridAttr();
      for (auto [i, axes] : llvm::enumerate(s.getSplitAxes())) {
        if (axes.empty() || i >= map.getNumResults())
          continue;
        auto dim = dyn_cast<AffineDimExpr>(map.getResult(i));
        if (!dim)
          continue;
        auto &loop = option.shardingArray[dim.getPosition()];
        SmallVector<shard::GridAxis> want(axes.asArrayRef());
        if (!loop.empty() && loop != want)
          return failure();
        loop = want;
      }
      return success();
    };
    for (auto [i, s] : llvm::enumerate(resultShardings))
      if (failed(fill(maps[op->getNumOperands() + i], s)))
        return failure();
    for (auto [i, s] : llvm::enumerate(operandShardings))
      if (failed(fill(maps[i], s)))
        return failure();
    // A mesh axis splits one loop at most.
    llvm::SmallDenseSet<shard::GridAxis> seen;
    for (auto &axes : option.shardingArray)
      for (shard::GridAxis a : axes)
        if (!seen.insert(a).second)
          return failure();
    if (!any) {
      option.empty = true;
      return option;
    }
    SymbolTableCollection symbols;
    shard::GridOp grid = shard::getGridOrNull(op, option.grid, symbols);
    if (!grid)
      return failure();
    for (auto [d, axes] : llvm::enumerate(option.shardingArray)) {
      int64_t devices = 1;
      for (shard::GridAxis a : axes)
        devices *= grid.getShape()[a];
      if (!axes.empty() && !splittable(gather, d, devices))
        axes.clear();
    }
    while (!option.shardingArray.empty() && option.shardingArray.back().empty())
      option.shardingArray.pop_back();
    return option;
  }

  /// The operands' and result's shardings under `option`, the rows loop's
  /// split on the table alone (the result is whole along it: the lookup's
  /// blocks are summed in partition()).
  FailureOr<std::vector<shard::Sharding>>
  getShardingAnnotations(Operation *op, const shard::ShardingOption &option) const {
    std::vector<shard::Sharding> out;
    MLIRContext *ctx = op->getContext();
    for (AffineMap map : getIndexingMaps(op)) {
      SmallVector<shard::GridAxesAttr> split;
      for (AffineExpr e : map.getResults()) {
        SmallVector<shard::GridAxis> axes;
        if (auto d = dyn_cast<AffineDimExpr>(e);
            d && d.getPosition() < option.shardingArray.size())
          axes = option.shardingArray[d.getPosition()];
        split.push_back(shard::GridAxesAttr::get(ctx, axes));
      }
      while (split.size() > 1 && split.back().empty())
        split.pop_back();
      out.push_back(shard::Sharding::get(option.grid, split));
    }
    return out;
  }

  LogicalResult addShardingAnnotations(Operation *op, OpBuilder &b,
                                       const shard::ShardingOption &option) const {
    FailureOr<std::vector<shard::Sharding>> shardings =
        getShardingAnnotations(op, option);
    if (failed(shardings))
      return failure();
    unsigned n = op->getNumOperands();
    shard::maybeInsertTargetShardingAnnotation((*shardings)[n], op->getResult(0), b);
    for (OpOperand &operand : op->getOpOperands()) {
      OpBuilder::InsertionGuard guard(b);
      shard::maybeInsertSourceShardingAnnotation((*shardings)[operand.getOperandNumber()],
                                                 operand, b);
    }
    return success();
  }

  /// The same gather of the local shards; for a table split over its rows,
  /// the masked lookup of this device's block and the sum over the blocks.
  LogicalResult partition(Operation *op, ArrayRef<Value> partitionedOperands,
                          ArrayRef<shard::Sharding> operandShardings,
                          ArrayRef<shard::Sharding> resultShardings,
                          IRMapping &partitionMap,
                          SymbolTableCollection &symbolTable,
                          OpBuilder &builder) const {
    auto gather = cast<tessera::GatherOp>(op);
    RankedTensorType local =
        localResultType(op, resultShardings.front(), symbolTable);
    if (!local)
      return op->emitOpError("has no sharding for its result");
    int64_t axis = axisOf(gather);
    auto data = cast<RankedTensorType>(partitionedOperands[0].getType());
    int64_t rows = gather.getData().getType().getDimSize(axis);
    if (data.getDimSize(axis) == rows) {
      mapResult(partitionMap, op,
                tessera::GatherOp::create(builder, op->getLoc(), local,
                                          partitionedOperands[0], partitionedOperands[1],
                                          gather.getAxisAttr()));
      return success();
    }
    shard::Sharding tableSharding = operandShardings.front();
    if (axis != 0 || !tableSharding ||
        tableSharding.getSplitAxes().size() <= static_cast<size_t>(axis) ||
        !isa<FloatType>(local.getElementType()))
      return op->emitOpError("cannot gather from a table split along its gathered axis");
    mapResult(partitionMap, op,
              vocabParallelLookup(gather, local, partitionedOperands[0],
                                  partitionedOperands[1], tableSharding, rows, symbolTable,
                                  builder));
    return success();
  }

  /// The lookup of `ids` (global row numbers, negative ones from the end)
  /// in `block`, this device's rows of a `rows`-row table split over
  /// `sharding`'s axes for dimension 0: rows outside the block read row 0
  /// and are zeroed, and an all-reduce over those axes sums the blocks.
  static Value
  vocabParallelLookup(tessera::GatherOp gather, RankedTensorType local,
                      Value block, Value ids, shard::Sharding sharding, int64_t rows,
                      SymbolTableCollection &symbolTable, OpBuilder &builder) {
    Location loc = gather.getLoc();
    ArrayRef<shard::GridAxis> axes = sharding.getSplitAxes()[0].asArrayRef();
    shard::GridOp grid = shard::getGrid(gather, sharding.getGridAttr(), symbolTable);
    auto idsType = cast<RankedTensorType>(ids.getType());
    Type idElement = idsType.getElementType();
    int64_t blockRows = cast<RankedTensorType>(block.getType()).getDimSize(0);
    // This device's first row: its block index over the axes (row-major, as
    // the split numbers blocks) times the block's rows.
    auto coords = shard::ProcessMultiIndexOp::create(
        builder, loc, sharding.getGrid(), axes);
    Value linear = arith::ConstantIndexOp::create(builder, loc, 0);
    for (auto [a, coord] : llvm::zip(axes, coords.getResults())) {
      Value size = arith::ConstantIndexOp::create(builder, loc, grid.getShape()[a]);
      linear = arith::AddIOp::create(
          builder, loc, arith::MulIOp::create(builder, loc, linear, size), coord);
    }
    Value first = arith::MulIOp::create(
        builder, loc, linear, arith::ConstantIndexOp::create(builder, loc, blockRows));
    first = arith::IndexCastOp::create(builder, loc, idElement, first);
    Value firstTensor = tensor::FromElementsOp::create(
        builder, loc, RankedTensorType::get({}, idElement), ValueRange{first});
    auto scalar = [&](int64_t v) -> Value {
      auto type = RankedTensorType::get({}, idElement);
      return tessera::ConstantOp::create(
          builder, loc, DenseElementsAttr::get(type, builder.getIntegerAttr(idElement, v)));
    };
    Value zero = scalar(0);
    // Negative ids count from the end of the whole table.
    Value global = mlir::tessera::wrapNegativeIndices(builder, loc, ids, rows);
    Value inBlock = tessera::SubOp::create(builder, loc, global, firstTensor);
    Value mine = tessera::AndOp::create(
        builder, loc, tessera::GreaterEqualOp::create(builder, loc, inBlock, zero),
        tessera::LessOp::create(builder, loc, inBlock, scalar(blockRows)));
    Value safe = tessera::WhereOp::create(builder, loc, mine, inBlock, zero);
    Value looked = tessera::GatherOp::create(builder, loc, local, block, safe,
                                             gather.getAxisAttr());
    // The mask over the looked-up rows' trailing dimensions.
    SmallVector<int64_t> maskShape(idsType.getShape());
    maskShape.append(local.getRank() - idsType.getRank(), 1);
    Value mask = tessera::ReshapeOp::create(
        builder, loc, RankedTensorType::get(maskShape, builder.getI1Type()), mine);
    auto elementZero = RankedTensorType::get({}, local.getElementType());
    Value fill = tessera::ConstantOp::create(
        builder, loc,
        DenseElementsAttr::get(elementZero, builder.getFloatAttr(local.getElementType(), 0.0)));
    Value masked = tessera::WhereOp::create(builder, loc, mask, looked, fill);
    return shard::AllReduceOp::create(builder, loc, local, sharding.getGrid(), axes,
                                      masked, shard::ReductionKind::Sum)
        .getResult();
  }
};

} // namespace

Value mlir::tessera::wrapNegativeIndices(OpBuilder &builder, Location loc, Value ids,
                                         int64_t size) {
  auto scalarType = RankedTensorType::get({}, cast<RankedTensorType>(ids.getType()).getElementType());
  auto scalar = [&](int64_t v) -> Value {
    return tessera::ConstantOp::create(
        builder, loc,
        DenseElementsAttr::get(scalarType,
                               builder.getIntegerAttr(scalarType.getElementType(), v)));
  };
  Value negative = tessera::LessOp::create(builder, loc, ids, scalar(0));
  Value wrapped = tessera::AddOp::create(builder, loc, ids, scalar(size));
  return tessera::WhereOp::create(builder, loc, negative, wrapped, ids);
}

void mlir::tessera::registerShardingExternalModels(DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *ctx, tessera::TesseraDialect *) {
    tessera::GatherOp::attachInterface<GatherShardingInterface>(*ctx);
  });
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
