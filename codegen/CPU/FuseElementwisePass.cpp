//===- FuseElementwisePass.cpp - Elementwise fusion without recomputation -===//

#include "codegen/CPU/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#define DEBUG_TYPE "tessera-cpu-fuse-elementwise"

namespace mlir::tessera {
#define GEN_PASS_DEF_FUSEELEMENTWISEPASS
#include "codegen/CPU/Passes.h.inc"
} // namespace mlir::tessera

using namespace mlir;

namespace {
/// Fuse only where the consumer reads each producer element once.
bool readsEachElementOnce(OpOperand *fused) {
  auto consumer = dyn_cast<linalg::LinalgOp>(fused->getOwner());
  return consumer && consumer.getMatchingIndexingMap(fused).isPermutation();
}

struct FuseElementwisePass
    : mlir::tessera::impl::FuseElementwisePassBase<FuseElementwisePass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    linalg::populateElementwiseOpsFusionPatterns(patterns, readsEachElementOnce);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
