//===- DepthwiseToUkernelsPass.cpp - depthwise convs to the microkernel ---===//
//
// Rewrites the direct lowering of an f32 depthwise 2-D convolution on
// buffers into a call of `tessera_uk_dwconv2d_f32`
// (codegen/CPU/ukernels/Conv.cpp):
//
//   void tessera_uk_dwconv2d_f32(n, c, h, w, x, weight, kh, kw, sh, sw,
//                                dh, dw, out, oh, ow, bias, flags, lo, hi)
//
// The op matched is the `linalg.generic` that TesseraToLinalg's conv
// lowering builds with one channel per group: loops (n, g, mg, oy, c, ky,
// kx, ox), x read at (n, g, c, oy*sh + ky*dh, ox*sw + kx*dw), the weight at
// (g, mg, c, ky, kx), the output at (n, g, mg, oy, ox), mg and c of size 1.
// The call takes over the zero fill of the output just before it (flag 1)
// and, then, the elementwise op just after it when that op reads the output
// last and stores clamp(out + bias[channel], lo, hi) (each part optional)
// to a buffer of the output's elements: the call writes that buffer.
//
//===----------------------------------------------------------------------===//

#include "codegen/CPU/Passes.h"
#include "codegen/CPU/KernelEpilogue.h"
#include "codegen/CPU/LinalgMatch.h"
#include "codegen/Common/RuntimeCalls.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/Matchers.h"

#include <limits>

#define DEBUG_TYPE "tessera-cpu-depthwise-to-ukernels"

namespace mlir::tessera {
#define GEN_PASS_DEF_DEPTHWISETOUKERNELSPASS
#include "codegen/CPU/Passes.h.inc"
} // namespace mlir::tessera

using namespace mlir;
using namespace mlir::tessera;

namespace {
constexpr llvm::StringLiteral kDwConv = "tessera_uk_dwconv2d_f32";
/// Flags of tessera_uk_dwconv2d_f32 (as in ukernels/Conv.cpp).
constexpr int64_t kOverwrite = 1, kPadded = 2;

struct DwConv {
  int64_t n, c, h, w, kh, kw, sh, sw, dh, dw, oh, ow;
};

/// The depthwise convolution `op` computes, if it is one.
std::optional<DwConv> matchDwConv(linalg::GenericOp op) {
  if (!op.hasPureBufferSemantics() || op.getNumDpsInputs() != 2 ||
      op.getNumDpsInits() != 1 || op.getNumLoops() != 8 || !isMulAddBody(op))
    return std::nullopt;
  for (Value v : op->getOperands())
    if (!isContiguousF32(v))
      return std::nullopt;
  auto shape = [&](unsigned i) {
    return cast<MemRefType>(op->getOperand(i).getType()).getShape();
  };
  ArrayRef<int64_t> x = shape(0), wt = shape(1), out = shape(2);
  if (x.size() != 5 || wt.size() != 5 || out.size() != 5 || x[2] != 1 ||
      wt[1] != 1 || wt[2] != 1 || out[2] != 1 || x[0] != out[0] ||
      x[1] != wt[0] || out[1] != wt[0])
    return std::nullopt;
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  for (auto [d, kind] : llvm::enumerate(iterators))
    if ((kind == utils::IteratorType::reduction) != (d >= 4 && d <= 6))
      return std::nullopt;
  // The strides and dilations: x's spatial results are linear in the
  // loops; read their coefficients, then require the map to be exactly
  // the lowering's.
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  auto coefficient = [&](unsigned result, unsigned loop) {
    return mapCoefficient(maps[0], result, loop);
  };
  DwConv conv{x[0], x[1], x[3], x[4], wt[3], wt[4],
              coefficient(3, 3), coefficient(4, 7), coefficient(3, 5),
              coefficient(4, 6), out[3], out[4]};
  MLIRContext *ctx = op.getContext();
  auto d = [&](unsigned i) { return getAffineDimExpr(i, ctx); };
  AffineMap xMap = AffineMap::get(
      8, 0,
      {d(0), d(1), d(4), d(3) * conv.sh + d(5) * conv.dh,
       d(7) * conv.sw + d(6) * conv.dw},
      ctx);
  AffineMap wMap = AffineMap::get(8, 0, {d(1), d(2), d(4), d(5), d(6)}, ctx);
  AffineMap oMap = AffineMap::get(8, 0, {d(0), d(1), d(2), d(3), d(7)}, ctx);
  if (maps[0] != xMap || maps[1] != wMap || maps[2] != oMap || conv.sh < 1 ||
      conv.sw < 1 || conv.dh < 1 || conv.dw < 1)
    return std::nullopt;
  // Every window inside the (padded) input: the microkernel reads it
  // unchecked.
  if ((conv.oh - 1) * conv.sh + (conv.kh - 1) * conv.dh >= conv.h ||
      (conv.ow - 1) * conv.sw + (conv.kw - 1) * conv.dw >= conv.w)
    return std::nullopt;
  return conv;
}

struct DepthwiseToUkernelsPass
    : mlir::tessera::impl::DepthwiseToUkernelsPassBase<DepthwiseToUkernelsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<std::pair<linalg::GenericOp, DwConv>> matches;
    module.walk([&](linalg::GenericOp op) {
      if (std::optional<DwConv> conv = matchDwConv(op))
        matches.emplace_back(op, *conv);
    });
    if (matches.empty())
      return;
    MLIRContext *ctx = module.getContext();
    Type index = IndexType::get(ctx), f32 = Float32Type::get(ctx);
    SmallVector<Type> args(17, index);
    args.append({f32, f32});
    args.append(4, index);
    func::FuncOp callee =
        mlir::tessera::lookupOrDeclareFunc(module, kDwConv, args, {});
    for (auto &[op, conv] : matches) {
      Value acc = op.getDpsInits()[0];
      int64_t flags = 0;
      std::optional<Padding> padding;
      if (auto view = op.getDpsInputs()[0].getDefiningOp<memref::ExpandShapeOp>())
        padding = matchPadding(op, view.getSrc(), view, conv.n, conv.c, 0.0f);
      if (padding)
        flags |= kPadded;
      std::optional<KernelEpilogue> epilogue;
      if (linalg::FillOp fill = zeroFillBefore(op, acc)) {
        flags |= kOverwrite;
        fill->erase();
        AccumulatorShape shape{conv.n, conv.c, conv.oh * conv.ow};
        epilogue = matchKernelEpilogue(op, acc, op.getDpsInputs(), shape);
        if (epilogue && epilogue->addend)
          epilogue.reset(); // not taken by this microkernel
      }
      Value output = acc;
      if (epilogue) {
        prepareKernelEpilogue(*epilogue, op);
        output = epilogue->output;
      }
      OpBuilder b(op);
      Location loc = op.getLoc();
      auto constant = [&](int64_t v) -> Value {
        return arith::ConstantIndexOp::create(b, loc, v);
      };
      auto address = [&](Value buffer) { return f32Address(b, loc, buffer); };
      SmallVector<Value> operands = {
          constant(conv.n), constant(conv.c), constant(conv.h), constant(conv.w),
          address(padding ? padding->source : op.getDpsInputs()[0]),
          address(op.getDpsInputs()[1]),
          constant(conv.kh), constant(conv.kw), constant(conv.sh),
          constant(conv.sw), constant(conv.dh), constant(conv.dw),
          address(output), constant(conv.oh), constant(conv.ow),
          epilogue && epilogue->bias ? address(epilogue->bias) : constant(0),
          constant(flags)};
      float lo = epilogue ? epilogue->lo : -std::numeric_limits<float>::infinity();
      float hi = epilogue ? epilogue->hi : std::numeric_limits<float>::infinity();
      operands.push_back(arith::ConstantFloatOp::create(b, loc, Float32Type::get(ctx),
                                                        APFloat(lo)));
      operands.push_back(arith::ConstantFloatOp::create(b, loc, Float32Type::get(ctx),
                                                        APFloat(hi)));
      for (int64_t v : {padding ? padding->srcH : 0, padding ? padding->srcW : 0,
                        padding ? padding->top : 0, padding ? padding->left : 0})
        operands.push_back(constant(v));
      func::CallOp::create(b, loc, callee, operands);
      op->erase();
      if (padding) {
        erasePadding(*padding);
        ++numPaddings;
      }
      if (epilogue) {
        eraseKernelEpilogue(*epilogue, acc);
        ++numEpilogues;
      }
      ++numCalls;
    }
  }
};
} // namespace
