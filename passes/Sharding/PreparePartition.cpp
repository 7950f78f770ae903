//===- PreparePartition.cpp - Annotations shard-partition can take --------===//
//
// tessera-shard-prepare-partition: see Passes.td.
//
// Upstream's resharding (mlir/lib/Dialect/Shard/Transforms/Partition.cpp,
// LLVM 22) takes one step per pair of chained annotations: it looks for a
// move of a dimension's last mesh axis to another dimension (all-to-all),
// then for one more axis on one dimension (all-slice), then for one axis
// less (all-gather), and asserts that the step reached the target. In a
// release build the assertion is gone and a longer resharding yields a
// value of the wrong type. `upstreamStep` below mirrors that choice, so a
// resharding it would get wrong is split into steps first.
//
//===----------------------------------------------------------------------===//

#include "passes/Sharding/Passes.h"

#include "dialects/Tessera/IR/TesseraDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Shard/Interfaces/ShardingInterface.h"
#include "mlir/IR/DialectResourceBlobManager.h"

namespace mlir::tessera {
#define GEN_PASS_DEF_PREPAREPARTITIONPASS
#include "passes/Sharding/Passes.h.inc"
} // namespace mlir::tessera

using namespace mlir;

namespace {
/// Mesh axes per tensor dimension, without trailing unsplit dimensions.
using Axes = SmallVector<SmallVector<shard::GridAxis>>;

void trim(Axes &axes) {
  while (!axes.empty() && axes.back().empty())
    axes.pop_back();
}

Axes axesOf(const shard::Sharding &s) {
  Axes axes;
  for (shard::GridAxesAttr a : s.getSplitAxes())
    axes.emplace_back(a.asArrayRef().begin(), a.asArrayRef().end());
  trim(axes);
  return axes;
}

/// Whether `s` has halos or explicit shard offsets (left to upstream).
bool isIrregular(const shard::Sharding &s) {
  return !s.getStaticHaloSizes().empty() || !s.getDynamicHaloSizes().empty() ||
         !s.getStaticShardedDimsOffsets().empty() ||
         !s.getDynamicShardedDimsOffsets().empty();
}

ArrayRef<shard::GridAxis> dim(const Axes &a, size_t d) {
  return d < a.size() ? ArrayRef<shard::GridAxis>(a[d]) : ArrayRef<shard::GridAxis>();
}

/// All but the last axis of `axes`.
ArrayRef<shard::GridAxis> prefix(ArrayRef<shard::GridAxis> axes) {
  return axes.drop_back();
}

enum class Step { None, Same, Move, Split, Unsplit };

/// The step upstream's resharding takes from `src` towards `tgt`, and the
/// sharding it reaches (in `out`).
Step upstreamStep(const Axes &src, const Axes &tgt, Axes &out) {
  if (src == tgt)
    return out = src, Step::Same;
  // The last axis of one dimension moved to the end of another.
  for (size_t s = 0; s < src.size(); ++s)
    for (size_t t = 0; t < tgt.size(); ++t) {
      if (s == t || src[s].empty() || tgt[t].empty() ||
          src[s].back() != tgt[t].back() ||
          prefix(src[s]) != prefix(tgt[t]))
        continue;
      out = src;
      out.resize(std::max(out.size(), t + 1));
      out[t].push_back(out[s].back());
      out[s].pop_back();
      trim(out);
      return Step::Move;
    }
  // One more axis at the end of a dimension.
  for (size_t t = 0; t < tgt.size(); ++t) {
    if (t < src.size()) {
      if (src[t].size() + 1 != tgt[t].size() ||
          ArrayRef<shard::GridAxis>(src[t]) != prefix(tgt[t]))
        continue;
    } else if (tgt[t].size() != 1) {
      continue;
    }
    out = src;
    out.resize(std::max(out.size(), t + 1));
    out[t].push_back(tgt[t].back());
    trim(out);
    return Step::Split;
  }
  // One axis less at the end of a dimension.
  for (size_t s = 0; s < src.size(); ++s) {
    if (s < tgt.size()) {
      if (src[s].size() != tgt[s].size() + 1 ||
          prefix(src[s]) != ArrayRef<shard::GridAxis>(tgt[s]))
        continue;
    } else if (src[s].size() != 1) {
      continue;
    }
    out = src;
    out[s].pop_back();
    trim(out);
    return Step::Unsplit;
  }
  return Step::None;
}

/// The shardings between `src` and `tgt` (both excluded, `tgt` reached
/// after the last), each one upstream step of unsplitting or splitting:
/// first every axis that is not part of a prefix shared with `tgt` is
/// unsplit, last axis first, then `tgt`'s remaining axes are split in.
SmallVector<Axes> stepsBetween(const Axes &src, const Axes &tgt) {
  SmallVector<Axes> path;
  Axes cur = src;
  for (size_t d = 0; d < cur.size(); ++d) {
    ArrayRef<shard::GridAxis> want = dim(tgt, d);
    size_t keep = 0;
    while (keep < cur[d].size() && keep < want.size() && cur[d][keep] == want[keep])
      ++keep;
    while (cur[d].size() > keep) {
      cur[d].pop_back();
      Axes next = cur;
      trim(next);
      path.push_back(next);
    }
  }
  trim(cur);
  for (size_t d = 0; d < tgt.size(); ++d)
    for (size_t k = dim(cur, d).size(); k < tgt[d].size(); ++k) {
      cur.resize(std::max(cur.size(), d + 1));
      cur[d].push_back(tgt[d][k]);
      path.push_back(cur);
    }
  if (!path.empty())
    path.pop_back(); // the last is `tgt` itself
  return path;
}

Value createSharding(OpBuilder &b, Location loc, FlatSymbolRefAttr grid,
                     const Axes &axes) {
  MLIRContext *ctx = b.getContext();
  SmallVector<shard::GridAxesAttr> split;
  for (const auto &a : axes)
    split.push_back(shard::GridAxesAttr::get(ctx, a));
  if (split.empty())
    split.push_back(shard::GridAxesAttr::get(ctx, {}));
  return shard::ShardingOp::create(b, loc, grid, split).getResult();
}

struct PreparePartitionPass
    : mlir::tessera::impl::PreparePartitionPassBase<PreparePartitionPass> {
  void runOnOperation() override {
    func::FuncOp func = getOperation();
    if (func.getBody().empty())
      return;
    auto grid = FlatSymbolRefAttr::get(&getContext(), tessera::kMeshName);
    SmallVector<arith::ConstantOp> constants;
    for (auto c : func.getBody().front().getOps<arith::ConstantOp>())
      if (auto dense = dyn_cast<DenseIntOrFPElementsAttr>(c.getValue());
          dense && !dense.isSplat() && c->hasOneUse() &&
          isa<shard::ShardOp>(*c->user_begin()))
        constants.push_back(c);
    for (auto [i, c] : llvm::enumerate(constants))
      outlineConstant(func, c, i);
    for (Operation &op : llvm::make_early_inc_range(func.getBody().front()))
      annotateOperation(op, grid);
    for (BlockArgument arg : func.getArguments())
      annotateArgument(func, arg, grid);
    SmallVector<shard::ShardOp> chained;
    func.walk([&](shard::ShardOp op) {
      if (op.getSrc().getDefiningOp<shard::ShardOp>())
        chained.push_back(op);
    });
    for (shard::ShardOp op : chained)
      splitResharding(op);
  }

  /// Upstream partitions a tensor `arith.constant` only when it is a splat
  /// (it fails, without a message, on any other). A non-splat one (a
  /// causal mask folded from its comparisons) becomes a weight argument
  /// instead, stored per shard like the others.
  void outlineConstant(func::FuncOp func, arith::ConstantOp c, size_t index) {
    auto dense = cast<DenseIntOrFPElementsAttr>(c.getValue());
    auto type = cast<RankedTensorType>(dense.getType());
    std::vector<char> bytes;
    if (type.getElementType().isInteger(1)) {
      // The artifact stores a bool per byte (raw i1 data is bit-packed).
      for (bool v : dense.getValues<bool>())
        bytes.push_back(v ? 1 : 0);
    } else {
      ArrayRef<char> raw = dense.getRawData();
      bytes.assign(raw.begin(), raw.end());
    }
    std::string name = "partition.constant" + std::to_string(index);
    auto blob = HeapAsmResourceBlob::allocateAndCopyWithAlign(
        ArrayRef<char>(bytes), alignof(uint64_t));
    auto weight = DenseResourceElementsAttr::get(type, name, std::move(blob));
    unsigned at = func.getNumArguments();
    if (failed(func.insertArgument(
            at, type,
            DictionaryAttr::get(&getContext(),
                                {NamedAttribute(tessera::kWeightAttrName, weight)}),
            c.getLoc())))
      return signalPassFailure();
    c.getResult().replaceAllUsesWith(func.getArgument(at));
    c.erase();
  }

  /// Every ranked tensor operand of `op` read through an annotation for
  /// users, every result with exactly one use, its annotation: missing
  /// ones are added replicated (upstream dereferences a null sharding
  /// otherwise). An op without a sharding rule runs whole on every device:
  /// its operands and results are resharded to and from replicated.
  void annotateOperation(Operation &op, FlatSymbolRefAttr grid) {
    if (isa<shard::ShardOp, shard::ShardingOp, func::ReturnOp>(op) ||
        op.hasTrait<OpTrait::ConstantLike>())
      return;
    auto ranked = [](Value v) {
      auto t = dyn_cast<RankedTensorType>(v.getType());
      return t && t.getRank() > 0;
    };
    bool whole = !isa<shard::ShardingInterface>(op);
    OpBuilder b(&op);
    Location loc = op.getLoc();
    for (OpOperand &operand : op.getOpOperands()) {
      if (!ranked(operand.get()))
        continue;
      auto s = operand.get().getDefiningOp<shard::ShardOp>();
      bool annotated = s && s.getAnnotateForUsers();
      if (annotated && !(whole && !axesOf(shard::Sharding(s.getSharding())).empty()))
        continue;
      Value replicated = createSharding(b, loc, grid, {});
      operand.set(shard::ShardOp::create(b, loc, operand.get(), replicated,
                                         /*annotate_for_users=*/true));
      ++numOperations;
    }
    b.setInsertionPointAfter(&op);
    for (OpResult result : op.getResults()) {
      if (!ranked(result))
        continue;
      auto s = result.hasOneUse() ? dyn_cast<shard::ShardOp>(*result.user_begin())
                                  : shard::ShardOp();
      if (s && !s.getAnnotateForUsers()) {
        if (whole && !axesOf(shard::Sharding(s.getSharding())).empty()) {
          // Replicated here; its users reshard from that.
          OpBuilder at(s);
          s.getShardingMutable().assign(createSharding(at, loc, grid, {}));
          ++numOperations;
        }
        continue;
      }
      Value replicated = createSharding(b, loc, grid, {});
      auto self = shard::ShardOp::create(b, loc, result, replicated,
                                         /*annotate_for_users=*/false);
      auto forUsers = shard::ShardOp::create(b, loc, self.getResult(), replicated,
                                             /*annotate_for_users=*/true);
      result.replaceAllUsesExcept(forUsers.getResult(), self);
      ++numOperations;
    }
  }

  /// Gives `arg` exactly one use: one `shard.shard` that every former use
  /// reads (through a resharding where its sharding differs).
  void annotateArgument(func::FuncOp func, BlockArgument arg,
                        FlatSymbolRefAttr grid) {
    auto type = dyn_cast<RankedTensorType>(arg.getType());
    if (!type || type.getRank() == 0)
      return;
    SmallVector<shard::ShardOp> annotations;
    bool others = false;
    for (OpOperand &use : arg.getUses()) {
      auto s = dyn_cast<shard::ShardOp>(use.getOwner());
      if (s && s.getSrc() == arg &&
          s.getSharding().getDefiningOp<shard::ShardingOp>() &&
          s->getParentRegion() == &func.getBody())
        annotations.push_back(s);
      else
        others = true;
    }
    if (annotations.size() == 1 && !others)
      return;
    // The argument's own sharding: the one its annotations agree on, else
    // replicated (reaching any other sharding from it is a local slice).
    Axes own;
    bool agree = !annotations.empty();
    for (shard::ShardOp s : annotations) {
      shard::Sharding sharding(s.getSharding());
      if (isIrregular(sharding) || axesOf(sharding) != axesOf(annotations.front().getSharding()))
        agree = false;
    }
    if (agree)
      own = axesOf(annotations.front().getSharding());
    OpBuilder b = OpBuilder::atBlockBegin(&func.getBody().front());
    Location loc = func.getLoc();
    Value sharding = createSharding(b, loc, grid, own);
    if (agree) {
      // One annotation for every user.
      auto merged = shard::ShardOp::create(b, loc, arg, sharding,
                                           /*annotate_for_users=*/true);
      for (shard::ShardOp s : annotations) {
        s.getResult().replaceAllUsesWith(merged.getResult());
        s.erase();
      }
      arg.replaceAllUsesExcept(merged.getResult(), merged);
    } else {
      // The argument's sharding, and each former annotation (now a
      // resharding from it) or a replicated one for the other uses.
      auto self = shard::ShardOp::create(b, loc, arg, sharding,
                                         /*annotate_for_users=*/false);
      auto forUsers = shard::ShardOp::create(b, loc, self.getResult(), sharding,
                                             /*annotate_for_users=*/true);
      for (shard::ShardOp s : annotations)
        s.getSrcMutable().assign(self.getResult());
      arg.replaceAllUsesExcept(forUsers.getResult(), self);
    }
    ++numArguments;
  }

  /// Splits the resharding from `op`'s source annotation to `op` into
  /// steps upstream takes one at a time, where it is not one already.
  void splitResharding(shard::ShardOp op) {
    auto source = op.getSrc().getDefiningOp<shard::ShardOp>();
    shard::Sharding from(source.getSharding()), to(op.getSharding());
    if (!from || !to || isIrregular(from) || isIrregular(to))
      return;
    Axes src = axesOf(from), tgt = axesOf(to), reached;
    Step step = upstreamStep(src, tgt, reached);
    if (step == Step::Same || ((step == Step::Split || step == Step::Unsplit) &&
                               reached == tgt))
      return;
    OpBuilder b(op);
    Value value = source.getResult();
    for (const Axes &mid : stepsBetween(src, tgt)) {
      Value sharding = createSharding(b, op.getLoc(), from.getGridAttr(), mid);
      value = shard::ShardOp::create(b, op.getLoc(), value, sharding,
                                     /*annotate_for_users=*/false)
                  .getResult();
    }
    op.getSrcMutable().assign(value);
    ++numReshards;
  }
};
} // namespace
