//===- ReplicateCaptures.cpp - Annotate tensors read inside op bodies -----===//
//
// tessera-shard-replicate-captures: see Passes.td.
//
//===----------------------------------------------------------------------===//

#include "passes/Sharding/Passes.h"

#include "mlir/Transforms/RegionUtils.h"

namespace mlir::tessera {
#define GEN_PASS_DEF_REPLICATECAPTURESPASS
#include "passes/Sharding/Passes.h.inc"
} // namespace mlir::tessera

using namespace mlir;

namespace {
struct ReplicateCapturesPass
    : mlir::tessera::impl::ReplicateCapturesPassBase<ReplicateCapturesPass> {
  void runOnOperation() override {
    func::FuncOp func = getOperation();
    if (func.getBody().empty())
      return;
    MLIRContext *ctx = &getContext();
    // Only the ops of the function's body: a capture of a nested op is a
    // capture of the op that holds it.
    for (Operation &op : llvm::make_early_inc_range(func.getBody().front())) {
      if (op.getNumRegions() == 0 || isa<shard::ShardOp>(op))
        continue;
      llvm::SetVector<Value> captured;
      getUsedValuesDefinedAbove(op.getRegions(), captured);
      for (Value v : captured) {
        auto type = dyn_cast<RankedTensorType>(v.getType());
        if (!type || type.getRank() == 0)
          continue;
        OpBuilder b(&op);
        auto sharding = shard::ShardingOp::create(
            b, op.getLoc(), FlatSymbolRefAttr::get(ctx, tessera::kMeshName),
            ArrayRef<shard::GridAxesAttr>{DenseI16ArrayAttr::get(ctx, {})});
        auto annotated = shard::ShardOp::create(b, op.getLoc(), v, sharding,
                                                /*annotate_for_users=*/true);
        for (Region &region : op.getRegions())
          replaceAllUsesInRegionWith(v, annotated.getResult(), region);
        ++numCaptures;
      }
    }
  }
};
} // namespace
