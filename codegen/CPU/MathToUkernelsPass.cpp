//===- MathToUkernelsPass.cpp - f32 exp/erf to inlinable ukernels ---------===//
//
// math.exp and math.erf on f32 become calls of tessera_uk_expf and
// tessera_uk_erff (codegen/CPU/ukernels/Math.cpp), which the compiler links
// as bitcode and inlines, so loops of them vectorize. math.tanh on f32
// becomes upstream MLIR's polynomial approximation (arith ops, which
// vectorize likewise), and powf by a constant small integer or 0.5
// multiplications or a sqrt (upstream's algebraic simplification): the
// tanh form of GELU and RMSNorm's x^2 were scalar libm calls.
//
//===----------------------------------------------------------------------===//

#include "codegen/CPU/Passes.h"
#include "codegen/Common/RuntimeCalls.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#define DEBUG_TYPE "tessera-cpu-math-to-ukernels"

namespace mlir::tessera {
#define GEN_PASS_DEF_MATHTOUKERNELSPASS
#include "codegen/CPU/Passes.h.inc"
} // namespace mlir::tessera

using namespace mlir;

namespace {
struct MathToUkernelsPass
    : mlir::tessera::impl::MathToUkernelsPassBase<MathToUkernelsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    {
      RewritePatternSet patterns(&getContext());
      populateMathAlgebraicSimplificationPatterns(patterns);
      populatePolynomialApproximateTanhPattern(patterns);
      if (failed(applyPatternsGreedily(module, std::move(patterns))))
        return signalPassFailure();
    }
    // The tanh approximation builds math.fma, which LLVM lowers to a libm
    // call (__fmaf_fma3) on targets without guaranteed FMA: a multiply and
    // an add that may contract do the same work inline.
    module.walk([](math::FmaOp fma) {
      OpBuilder b(fma);
      auto contract = arith::FastMathFlagsAttr::get(
          b.getContext(), arith::FastMathFlags::contract);
      Value mul = arith::MulFOp::create(b, fma.getLoc(), fma.getA(), fma.getB(),
                                        contract);
      Value add =
          arith::AddFOp::create(b, fma.getLoc(), mul, fma.getC(), contract);
      fma.replaceAllUsesWith(add);
      fma.erase();
    });
    SmallVector<Operation *> ops;
    module.walk([&](Operation *op) {
      if (isa<math::ExpOp, math::ErfOp>(op) && op->getResult(0).getType().isF32())
        ops.push_back(op);
    });
    for (Operation *op : ops) {
      StringRef name = isa<math::ExpOp>(op) ? "tessera_uk_expf" : "tessera_uk_erff";
      Type f32 = op->getResult(0).getType();
      func::FuncOp callee = mlir::tessera::lookupOrDeclareFunc(module, name, f32, f32);
      OpBuilder b(op);
      auto call = func::CallOp::create(b, op->getLoc(), callee, op->getOperands());
      op->replaceAllUsesWith(call);
      op->erase();
      ++numCalls;
    }
  }
};
} // namespace
