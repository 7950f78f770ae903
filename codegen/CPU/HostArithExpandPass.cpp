//===- HostArithExpandPass.cpp - arith-expand for host code ---------------===//
//
// Upstream's arith-expand without its max/min expansion: the integer
// ceil/floor divisions and (for bf16) the extensions and truncations become
// arith the LLVM conversion takes, while arith.maximumf / minimumf stay
// and become llvm.intr.maximum / minimum (NaN-propagating, -0 below +0,
// like the ops). LLVM lowers those for every host CPU and vectorizes a
// loop's reduction over them; it does not vectorize the compare-and-select
// expansion, whose reduction is a chain of dependent selects: softmax's
// row maximum ran at a few cycles per element (5% of ViT-B/16).
//
//===----------------------------------------------------------------------===//

#include "codegen/CPU/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Transforms/Passes.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::tessera {
#define GEN_PASS_DEF_HOSTARITHEXPANDPASS
#include "codegen/CPU/Passes.h.inc"
} // namespace mlir::tessera

using namespace mlir;

namespace {
struct HostArithExpandPass
    : mlir::tessera::impl::HostArithExpandPassBase<HostArithExpandPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    arith::populateCeilFloorDivExpandOpsPatterns(patterns);
    arith::populateExpandBFloat16Patterns(patterns);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
