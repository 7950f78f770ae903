//===- ReluToClip.cpp - An example out-of-tree Tessera pass plugin --------===//
//
// A pass plugin adds passes to `tessera-opt` and `tessera-compile` without
// rebuilding them:
//
//   tessera-opt --load-pass-plugin=libTesseraExamplePlugin.so \
//       --pass-pipeline='builtin.module(func.func(tessera-example-relu-to-clip))' in.mlir
//   tessera-compile model.onnx -o model.tsr \
//       --load-pass-plugin=libTesseraExamplePlugin.so \
//       --pass-plugin-pipeline='import:func.func(tessera-example-relu-to-clip)'
//
// The pass rewrites `tessera.relu %x` on floats into
// `tessera.clip %x min(0)`, using the tessera dialect's C++ API. The plugin
// does not link the dialect: it resolves it from the tool that loads it, so
// both see one dialect.
//
//===----------------------------------------------------------------------===//

#include "dialects/Tessera/IR/TesseraOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Tools/Plugins/PassPlugin.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

using namespace mlir;

namespace {
struct ReluToClip : OpRewritePattern<tessera::ReluOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(tessera::ReluOp op,
                                PatternRewriter &rewriter) const override {
    auto type = op.getType();
    auto element = dyn_cast<FloatType>(type.getElementType());
    if (!element)
      return failure();
    auto scalar = RankedTensorType::get({}, element);
    Value zero = tessera::ConstantOp::create(
        rewriter, op.getLoc(),
        DenseElementsAttr::get(scalar, rewriter.getFloatAttr(element, 0)));
    rewriter.replaceOpWithNewOp<tessera::ClipOp>(op, type, op.getInput(), zero,
                                                 Value());
    return success();
  }
};

struct ReluToClipPass
    : PassWrapper<ReluToClipPass, OperationPass<func::FuncOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(ReluToClipPass)
  StringRef getArgument() const final { return "tessera-example-relu-to-clip"; }
  StringRef getDescription() const final {
    return "Example plugin pass: tessera.relu becomes tessera.clip with min 0";
  }
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<ReluToClip>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace

extern "C" LLVM_ATTRIBUTE_WEAK PassPluginLibraryInfo mlirGetPassPluginInfo() {
  return {MLIR_PLUGIN_API_VERSION, "TesseraExamplePlugin", "0.1",
          []() { PassRegistration<ReluToClipPass>(); }};
}
