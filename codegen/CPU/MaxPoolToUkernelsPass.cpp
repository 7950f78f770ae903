//===- MaxPoolToUkernelsPass.cpp - max pools to the microkernel -----------===//
//
// Rewrites the lowering of an f32 2-D max pool on buffers into a call of
// `tessera_uk_maxpool2d_f32` (codegen/CPU/ukernels/Pool.cpp):
//
//   void tessera_uk_maxpool2d_f32(planes, srcH, srcW, x, top, left, kh, kw,
//                                 sh, sw, dh, dw, out, oh, ow)
//
// The op matched is the `linalg.generic` that TesseraToLinalg's pool
// lowering (buildPoolWindow) builds: loops (n, c, oy, ox, ky, kx), x read
// at (n, c, oy*sh + ky*dh, ox*sw + kx*dw), the window shape at (ky, kx),
// the output at (n, c, oy, ox), the body `maximumf` of the output and x.
// The call takes over the fill of the output with -inf just before it, and
// the padding of x (a -inf fill and a copy into its interior) when it can.
//
//===----------------------------------------------------------------------===//

#include "codegen/CPU/Passes.h"
#include "codegen/CPU/KernelEpilogue.h"
#include "codegen/CPU/LinalgMatch.h"
#include "codegen/Common/RuntimeCalls.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

#include <limits>

#define DEBUG_TYPE "tessera-cpu-maxpool-to-ukernels"

namespace mlir::tessera {
#define GEN_PASS_DEF_MAXPOOLTOUKERNELSPASS
#include "codegen/CPU/Passes.h.inc"
} // namespace mlir::tessera

using namespace mlir;
using namespace mlir::tessera;

namespace {
constexpr llvm::StringLiteral kMaxPool = "tessera_uk_maxpool2d_f32";
constexpr float kNegInf = -std::numeric_limits<float>::infinity();

struct Pool {
  int64_t n, c, h, w, kh, kw, sh, sw, dh, dw, oh, ow;
};

/// Whether the body is `yield maximumf(out, in)` (either order).
bool isMaxBody(linalg::GenericOp op) {
  Block *body = op.getBlock();
  if (body->getOperations().size() != 2)
    return false;
  auto max = dyn_cast<arith::MaximumFOp>(body->front());
  if (!max || body->getTerminator()->getOperand(0) != max.getResult())
    return false;
  Value in = body->getArgument(0), out = body->getArgument(2);
  return (max.getLhs() == out && max.getRhs() == in) ||
         (max.getLhs() == in && max.getRhs() == out);
}

/// The max pool `op` computes, if it is one.
std::optional<Pool> matchMaxPool(linalg::GenericOp op) {
  if (!op.hasPureBufferSemantics() || op.getNumDpsInputs() != 2 ||
      op.getNumDpsInits() != 1 || op.getNumLoops() != 6 || !isMaxBody(op))
    return std::nullopt;
  Value x = op.getDpsInputs()[0], out = op.getDpsInits()[0];
  if (!isContiguousF32(x) || !isContiguousF32(out))
    return std::nullopt;
  ArrayRef<int64_t> xs = cast<MemRefType>(x.getType()).getShape();
  ArrayRef<int64_t> os = cast<MemRefType>(out.getType()).getShape();
  auto window = dyn_cast<MemRefType>(op.getDpsInputs()[1].getType());
  if (xs.size() != 4 || os.size() != 4 || !window || window.getRank() != 2 ||
      !window.hasStaticShape() || xs[0] != os[0] || xs[1] != os[1])
    return std::nullopt;
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  for (auto [d, kind] : llvm::enumerate(iterators))
    if ((kind == utils::IteratorType::reduction) != (d >= 4))
      return std::nullopt;
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  Pool pool{xs[0], xs[1], xs[2], xs[3], window.getDimSize(0), window.getDimSize(1),
            mapCoefficient(maps[0], 2, 2), mapCoefficient(maps[0], 3, 3),
            mapCoefficient(maps[0], 2, 4), mapCoefficient(maps[0], 3, 5),
            os[2], os[3]};
  MLIRContext *ctx = op.getContext();
  auto d = [&](unsigned i) { return getAffineDimExpr(i, ctx); };
  AffineMap xMap = AffineMap::get(
      6, 0,
      {d(0), d(1), d(2) * pool.sh + d(4) * pool.dh, d(3) * pool.sw + d(5) * pool.dw},
      ctx);
  AffineMap wMap = AffineMap::get(6, 0, {d(4), d(5)}, ctx);
  AffineMap oMap = AffineMap::get(6, 0, {d(0), d(1), d(2), d(3)}, ctx);
  if (maps[0] != xMap || maps[1] != wMap || maps[2] != oMap || pool.sh < 1 ||
      pool.sw < 1 || pool.dh < 1 || pool.dw < 1)
    return std::nullopt;
  // Every window inside the (padded) input, as the loop nest reads it.
  if ((pool.oh - 1) * pool.sh + (pool.kh - 1) * pool.dh >= pool.h ||
      (pool.ow - 1) * pool.sw + (pool.kw - 1) * pool.dw >= pool.w)
    return std::nullopt;
  return pool;
}

struct MaxPoolToUkernelsPass
    : mlir::tessera::impl::MaxPoolToUkernelsPassBase<MaxPoolToUkernelsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<std::tuple<linalg::GenericOp, Pool, linalg::FillOp>> matches;
    module.walk([&](linalg::GenericOp op) {
      // The call overwrites its output: only with the -inf fill before it.
      if (std::optional<Pool> pool = matchMaxPool(op))
        if (linalg::FillOp fill = fillBefore(op, op.getDpsInits()[0], kNegInf))
          matches.emplace_back(op, *pool, fill);
    });
    if (matches.empty())
      return;
    MLIRContext *ctx = module.getContext();
    SmallVector<Type> args(15, IndexType::get(ctx));
    func::FuncOp callee =
        mlir::tessera::lookupOrDeclareFunc(module, kMaxPool, args, {});
    for (auto &[op, pool, fill] : matches) {
      Value x = op.getDpsInputs()[0];
      std::optional<Padding> padding =
          matchPadding(op, x, nullptr, pool.n, pool.c, kNegInf);
      OpBuilder b(op);
      Location loc = op.getLoc();
      auto constant = [&](int64_t v) -> Value {
        return arith::ConstantIndexOp::create(b, loc, v);
      };
      auto address = [&](Value buffer) { return f32Address(b, loc, buffer); };
      SmallVector<Value> operands = {
          constant(pool.n * pool.c),
          constant(padding ? padding->srcH : pool.h),
          constant(padding ? padding->srcW : pool.w),
          address(padding ? padding->source : x),
          constant(padding ? padding->top : 0),
          constant(padding ? padding->left : 0),
          constant(pool.kh), constant(pool.kw), constant(pool.sh),
          constant(pool.sw), constant(pool.dh), constant(pool.dw),
          address(op.getDpsInits()[0]), constant(pool.oh), constant(pool.ow)};
      func::CallOp::create(b, loc, callee, operands);
      Value window = op.getDpsInputs()[1];
      op->erase();
      fill->erase();
      if (auto alloc = window.getDefiningOp<memref::AllocOp>(); alloc && alloc->use_empty())
        alloc->erase();
      if (padding) {
        erasePadding(*padding);
        ++numPaddings;
      }
      ++numCalls;
    }
  }
};
} // namespace
