//===- ConvertTesseraToLinalgPass.cpp - tessera to linalg -----------------===//

#include "codegen/Conversion/Passes.h"
#include "codegen/Conversion/TesseraToLinalg/LoweringUtils.h"
#include "codegen/Conversion/TesseraToLinalg/TesseraToLinalg.h"
#include "dialects/Tessera/IR/TesseraOps.h"

#include "mlir/Transforms/DialectConversion.h"

#define DEBUG_TYPE "tessera-convert-to-linalg"

namespace mlir::tessera {
#define GEN_PASS_DEF_CONVERTTESSERATOLINALGPASS
#include "codegen/Conversion/Passes.h.inc"
} // namespace mlir::tessera

using namespace mlir;
using namespace mlir::tessera;

namespace {
struct ConvertTesseraToLinalgPass
    : mlir::tessera::impl::ConvertTesseraToLinalgPassBase<
          ConvertTesseraToLinalgPass> {
  using Base::Base;
  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    // Unsigned integers become signless ones with marked ops first.
    if (failed(lowering::dropSignedness(getOperation())))
      return signalPassFailure();
    ConversionTarget target(*ctx);
    target.addIllegalDialect<TesseraDialect>();
    target.addLegalDialect<arith::ArithDialect, linalg::LinalgDialect,
                           math::MathDialect, scf::SCFDialect,
                           tensor::TensorDialect>();
    target.markUnknownOpDynamicallyLegal([](Operation *) { return true; });
    if (keepGathers)
      target.addDynamicallyLegalOp<GatherOp>([](GatherOp g) {
        return isa<FloatType>(g.getType().getElementType());
      });
    TypeConverter converter;
    converter.addConversion([](Type t) { return t; });
    RewritePatternSet patterns(ctx);
    populateTesseraToLinalgPatterns(converter, patterns);
    if (failed(applyPartialConversion(getOperation(), target,
                                      std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
