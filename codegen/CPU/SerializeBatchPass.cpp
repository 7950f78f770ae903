//===- SerializeBatchPass.cpp - A CNN's early layers item by item ---------===//
//
// tessera-cpu-serialize-batch: see Passes.td.
//
// The ops that compute each batch item from that item alone (convolutions,
// pools, elementwise ops against weights, reshapes that keep the batch
// dimension) are taken in program order from the function's start, up to
// the first op that is not item-wise or that multiplies an item's few rows
// by a larger weight (a classifier's GEMM: one GEMM over the batch reads
// the weight once), and moved into an `scf.for` over the batch whose body
// is the same ops on one item (`tensor<1x...>`): the input item by
// `tensor.extract_slice`, the values the rest of the function reads
// inserted into batch-sized tensors the loop carries.
//
//===----------------------------------------------------------------------===//

#include "codegen/CPU/Passes.h"
#include "dialects/Tessera/IR/TesseraOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/IndexingUtils.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/SetVector.h"

#define DEBUG_TYPE "tessera-cpu-serialize-batch"

namespace mlir::tessera {
#define GEN_PASS_DEF_SERIALIZEBATCHPASS
#include "codegen/CPU/Passes.h.inc"
} // namespace mlir::tessera

using namespace mlir;
using namespace mlir::tessera;

namespace {
/// Whether `v`, an operand that is not batched, would need a slice per
/// item: it is not a ranked tensor, or it has the result's rank and a
/// leading dimension other than 1 (lower ranks broadcast along trailing
/// dimensions only).
bool spansBatch(Value v, int64_t rank) {
  auto t = dyn_cast<RankedTensorType>(v.getType());
  return !t || (t.getRank() == rank && t.getDimSize(0) != 1);
}

struct Classifier {
  int64_t batch;
  llvm::DenseSet<Value> batched;

  /// Whether `op`, some of whose operands are batched, computes each batch
  /// item from that item alone.
  bool itemWise(Operation *op) const {
    for (Type t : op->getResultTypes()) {
      auto r = dyn_cast<RankedTensorType>(t);
      if (!r || !r.hasStaticShape() || r.getRank() == 0 || r.getDimSize(0) != batch)
        return false;
    }
    int64_t rank = cast<RankedTensorType>(op->getResult(0).getType()).getRank();
    // Only the first operand batched (the item's activations); the rest
    // (weights, bias, statistics) read whole by every item.
    auto firstOnly = [&]() {
      for (OpOperand &o : op->getOpOperands())
        if ((o.getOperandNumber() == 0) != batched.contains(o.get()))
          return false;
      return true;
    };
    if (isa<ConvOp, MaxPoolOp, AveragePoolOp, GlobalAveragePoolOp, BatchNormOp,
            ReshapeOp>(op))
      return firstOnly();
    if (auto gemm = dyn_cast<GemmOp>(op))
      return !gemm.getTransA() && firstOnly() &&
             (!gemm.getC() || !spansBatch(gemm.getC(), 2));
    if (auto matmul = dyn_cast<MatMulOp>(op))
      return firstOnly() &&
             cast<RankedTensorType>(matmul.getRhs().getType()).getRank() == 2;
    if (op->hasTrait<mlir::OpTrait::Elementwise>() ||
        op->hasTrait<tessera::OpTrait::BroadcastPointwise>() || isa<ClipOp>(op)) {
      // A batched operand of lower rank would put its batch dimension
      // on another of the result's.
      for (Value v : op->getOperands())
        if (batched.contains(v) ? cast<RankedTensorType>(v.getType()).getRank() != rank
                                : spansBatch(v, rank))
          return false;
      return true;
    }
    return false;
  }
};

/// Fewer rows than this per item (a GEMM's rows, a convolution's output
/// positions) against a larger weight: the batch runs at once. A 7x7 map
/// (49) is few: ResNet-50 b8's last stage (weights of 1-9 MB, read from
/// the last-level cache by every item when run item by item) ran 0.93x
/// (1 thread) and 0.95x (2) the item-by-item time batched, on an Intel
/// Xeon with 2 MB of L2; a 14x14 map (196) is not (batching from there
/// was slower than from the 7x7 stage on one thread).
constexpr int64_t kMinItemRows = 64;

/// Whether `op` multiplies each item's few rows by a weight larger than
/// what the item reads and writes (a classifier's GEMM on pooled
/// features, a convolution on a 7x7 map): item by item, the weight
/// would be read once per item, where one GEMM over the batch's rows reads
/// it once. With more rows per item their reads of the weight are shared
/// between the item's row tiles.
bool weightOutweighsItem(Operation *op, int64_t batch) {
  int64_t rows = 0, k = 0, n = 0;
  if (auto conv = dyn_cast<ConvOp>(op)) {
    auto w = cast<RankedTensorType>(conv.getWeight().getType());
    int64_t groups = static_cast<int64_t>(conv.getGroup());
    rows = computeProduct(conv.getType().getShape().drop_front(2));
    k = w.getNumElements() / w.getDimSize(0);
    n = w.getDimSize(0) / groups;
  } else if (isa<GemmOp, MatMulOp>(op)) {
    Value weight = op->getOperand(1);
    auto w = cast<RankedTensorType>(weight.getType());
    if (auto gemm = dyn_cast<GemmOp>(op); gemm && gemm.getTransB())
      std::tie(k, n) = std::make_pair(w.getDimSize(1), w.getDimSize(0));
    else
      std::tie(k, n) = std::make_pair(w.getDimSize(0), w.getDimSize(1));
    rows = cast<RankedTensorType>(op->getResult(0).getType()).getNumElements() / n / batch;
  } else {
    return false;
  }
  return rows < kMinItemRows && k * n > rows * (k + n);
}

RankedTensorType itemType(Type t) {
  auto r = cast<RankedTensorType>(t);
  SmallVector<int64_t> shape(r.getShape());
  shape[0] = 1;
  return r.clone(shape);
}

struct SerializeBatchPass
    : mlir::tessera::impl::SerializeBatchPassBase<SerializeBatchPass> {
  using Base::Base;

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    if (func.isExternal() || !func.getBody().hasOneBlock() ||
        func.getNumArguments() == 0)
      return;
    auto first = dyn_cast<RankedTensorType>(func.getArgument(0).getType());
    if (!first || !first.hasStaticShape() || first.getRank() == 0 ||
        first.getDimSize(0) < 2)
      return;
    Classifier c{first.getDimSize(0), {}};
    Block &body = func.getBody().front();
    for (BlockArgument arg : body.getArguments())
      if (auto t = dyn_cast<RankedTensorType>(arg.getType());
          t && t.getRank() > 0 && t.getDimSize(0) == c.batch)
        c.batched.insert(arg);

    // The prefix: batched ops in program order up to the first that is
    // not item-wise or whose weight outweighs an item.
    SmallVector<Operation *> prefix;
    int64_t largest = 0;
    bool convolves = false;
    for (Operation &op : body.without_terminator()) {
      if (llvm::none_of(op.getOperands(),
                        [&](Value v) { return c.batched.contains(v); }))
        continue;
      if (op.getNumRegions() != 0 || !c.itemWise(&op) ||
          weightOutweighsItem(&op, c.batch))
        break;
      prefix.push_back(&op);
      convolves |= isa<ConvOp>(op);
      for (Value r : op.getResults()) {
        c.batched.insert(r);
        auto t = cast<RankedTensorType>(r.getType());
        largest = std::max(largest, t.getNumElements() *
                                        int64_t(t.getElementTypeBitWidth() / 8));
      }
    }
    // Only where the batch's activations would not stay in cache: a small
    // CNN's batch runs faster at once (fewer calls, wider GEMMs).
    if (!convolves || largest < minBatchBytes)
      return;

    llvm::SmallPtrSet<Operation *, 32> inPrefix(prefix.begin(), prefix.end());
    llvm::SetVector<Value> outputs;
    llvm::SetVector<Value> inputs;
    for (Operation *op : prefix) {
      for (Value v : op->getOperands())
        if (isa<BlockArgument>(v) && c.batched.contains(v))
          inputs.insert(v);
      for (Value r : op->getResults())
        if (llvm::any_of(r.getUsers(),
                         [&](Operation *u) { return !inPrefix.contains(u); }))
          outputs.insert(r);
    }

    Location loc = prefix.front()->getLoc();
    OpBuilder b(prefix.back()->getContext());
    b.setInsertionPointAfter(prefix.back());
    SmallVector<Value> inits;
    for (Value v : outputs) {
      auto t = cast<RankedTensorType>(v.getType());
      inits.push_back(
          tensor::EmptyOp::create(b, loc, t.getShape(), t.getElementType()));
    }
    Value zero = arith::ConstantIndexOp::create(b, loc, 0);
    Value count = arith::ConstantIndexOp::create(b, loc, c.batch);
    Value one = arith::ConstantIndexOp::create(b, loc, 1);
    auto loop = scf::ForOp::create(
        b, loc, zero, count, one, inits,
        [&](OpBuilder &in, Location loc, Value item, ValueRange carried) {
          // A batched value's item: [item, 0, ...] sized [1, d1, ...].
          auto offsets = [&](RankedTensorType t) {
            SmallVector<OpFoldResult> o(t.getRank(), in.getIndexAttr(0));
            o[0] = item;
            return o;
          };
          auto sizes = [&](RankedTensorType t) {
            return getAsIndexOpFoldResult(in.getContext(),
                                          itemType(t).getShape());
          };
          auto strides = [&](RankedTensorType t) {
            return SmallVector<OpFoldResult>(t.getRank(), in.getIndexAttr(1));
          };
          IRMapping mapping;
          for (Value v : inputs) {
            auto t = cast<RankedTensorType>(v.getType());
            mapping.map(v, tensor::ExtractSliceOp::create(in, loc, itemType(t),
                                                          v, offsets(t),
                                                          sizes(t), strides(t))
                               .getResult());
          }
          for (Operation *op : prefix) {
            Operation *clone = in.clone(*op, mapping);
            for (Value r : clone->getResults())
              r.setType(itemType(r.getType()));
          }
          SmallVector<Value> yields;
          for (auto [v, into] : llvm::zip(outputs, carried)) {
            auto t = cast<RankedTensorType>(v.getType());
            yields.push_back(
                tensor::InsertSliceOp::create(in, loc, mapping.lookup(v), into,
                                              offsets(t), sizes(t), strides(t))
                    .getResult());
          }
          scf::YieldOp::create(in, loc, yields);
        });
    loop->setAttr(kBatchSerialAttr, b.getUnitAttr());
    for (auto [i, v] : llvm::enumerate(outputs.getArrayRef()))
      Value(v).replaceUsesWithIf(loop.getResult(i), [&](OpOperand &use) {
        return !inPrefix.contains(use.getOwner());
      });
    for (Operation *op : llvm::reverse(prefix))
      op->erase();
    numSerialized += prefix.size();
  }
};
} // namespace
