//===- ConvToGemmPass.cpp - f32 convolutions as im2col + GEMM -------------===//
//
// Rewrites `tessera.conv` on f32 into tessera ops that the GEMM microkernel
// runs: the (padded) input's windows gathered by strided slices into
// patches [N, G, C/G * K, P] (P output positions), one batched matmul with
// the weight seen as [G, M/G, C/G * K], a reshape to [N, M, O1, ...] and the
// bias. A 1x1 convolution with unit strides needs no patches at all.
// Depthwise convolutions are left to the direct lowering. A batch whose
// items each add fewer columns than the weight has elements (a CNN's late
// layers) joins the GEMM's columns, so the weight is read once for the
// batch.
//
//===----------------------------------------------------------------------===//

#include "codegen/CPU/Passes.h"
#include "dialects/Tessera/IR/TesseraOps.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#define DEBUG_TYPE "tessera-cpu-conv-to-gemm"

namespace mlir::tessera {
#define GEN_PASS_DEF_CONVTOGEMMPASS
#include "codegen/CPU/Passes.h.inc"
} // namespace mlir::tessera

using namespace mlir;
using namespace mlir::tessera;

namespace {
struct Rewriter {
  OpBuilder &b;
  Location loc;
  Type element;

  RankedTensorType type(ArrayRef<int64_t> shape) {
    return RankedTensorType::get(shape, element);
  }
  Value reshape(Value v, ArrayRef<int64_t> shape) {
    if (cast<RankedTensorType>(v.getType()).getShape() == shape)
      return v;
    return ReshapeOp::create(b, loc, type(shape), v).getResult();
  }
  DenseI64ArrayAttr ints(ArrayRef<int64_t> v) { return b.getDenseI64ArrayAttr(v); }
};

int64_t product(ArrayRef<int64_t> v) {
  int64_t p = 1;
  for (int64_t x : v)
    p *= x;
  return p;
}

LogicalResult rewriteConv(ConvOp conv, int64_t maxPatchBytes,
                          bool keepDepthwise, bool windowPatches) {
  auto in = cast<RankedTensorType>(conv.getInput().getType());
  auto w = cast<RankedTensorType>(conv.getWeight().getType());
  RankedTensorType out = conv.getType();
  if (!in.getElementType().isF32() || !in.hasStaticShape() ||
      !w.hasStaticShape() || !out.hasStaticShape())
    return failure();
  int64_t rank = in.getRank(), spatial = rank - 2;
  int64_t n = in.getDimSize(0), c = in.getDimSize(1), m = w.getDimSize(0);
  int64_t groups = static_cast<int64_t>(conv.getGroup());
  ArrayRef<int64_t> kernel = w.getShape().drop_front(2);
  ArrayRef<int64_t> outSpatial = out.getShape().drop_front(2);
  ArrayRef<int64_t> strides = conv.getStrides(), pads = conv.getPads(),
                    dilations = conv.getDilations();
  int64_t kk = product(kernel), p = product(outSpatial);
  int64_t cg = c / groups, ck = cg * kk;
  // Depthwise (one output channel per input channel): a GEMM of one row
  // per channel, too small for the microkernel's register tile, and the
  // patches would copy the input once per window offset. The direct
  // lowering (TesseraToLinalg) is one loop nest that reads the padded
  // input in place, vectorized along the output rows and parallel over
  // (N, C): MobileNetV2 17-20 ms with patches, 14 ms direct (one thread).
  // Its window reads are not projected permutations, which upstream
  // partitioning cannot split: partitioned compiles rewrite it too.
  if (keepDepthwise && cg == 1 && m == groups && groups > 1)
    return failure();
  if (n * c * kk * p * 4 > maxPatchBytes)
    return failure();

  OpBuilder b(conv);
  Rewriter r{b, conv.getLoc(), in.getElementType()};
  Value x = conv.getInput();
  bool pointwise = kk == 1 && llvm::all_of(strides, [](int64_t s) { return s == 1; }) &&
                   llvm::all_of(pads, [](int64_t v) { return v == 0; });
  // Non-overlapping windows (ViT's 16x16 patches, stride 16): the patches
  // are a reshape and a transpose of the input, [N, C, O1, K1, O2, K2] ->
  // [N, C, K1, K2, O1, O2], one op where slices would take one per offset.
  bool patchify = !pointwise;
  for (int64_t i = 0; i < spatial; ++i)
    patchify = patchify && strides[i] == kernel[i] && dilations[i] == 1 &&
               pads[i] == 0 && pads[spatial + i] == 0 &&
               outSpatial[i] * kernel[i] == in.getDimSize(2 + i);
  Value patches;
  if (pointwise) {
    patches = r.reshape(x, {n, groups, ck, p});
  } else if (patchify) {
    SmallVector<int64_t> split = {n, c}, perm = {0, 1}, moved = {n, c};
    for (int64_t i = 0; i < spatial; ++i) {
      split.push_back(outSpatial[i]);
      split.push_back(kernel[i]);
    }
    for (int64_t i = 0; i < spatial; ++i) {
      perm.push_back(3 + 2 * i);
      moved.push_back(kernel[i]);
    }
    for (int64_t i = 0; i < spatial; ++i) {
      perm.push_back(2 + 2 * i);
      moved.push_back(outSpatial[i]);
    }
    Value t = TransposeOp::create(b, r.loc, r.type(moved), r.reshape(x, split),
                                  r.ints(perm))
                  .getResult();
    patches = r.reshape(t, {n, groups, ck, p});
  } else if (llvm::any_of(pads, [](int64_t v) { return v != 0; })) {
    SmallVector<int64_t> all(2 * rank, 0), padded(in.getShape());
    for (int64_t i = 0; i < spatial; ++i) {
      all[2 + i] = pads[i];
      all[rank + 2 + i] = pads[spatial + i];
      padded[2 + i] += pads[i] + pads[spatial + i];
    }
    x = PadOp::create(b, r.loc, r.type(padded), x, Value(), r.ints(all),
                      b.getStringAttr("constant"))
            .getResult();
  }
  if (!pointwise && !patchify && windowPatches && spatial == 2) {
    // One op reads every window: [N, C, KH, KW, OH, OW] at
    // (n, c, oy*sh + ky*dh, ox*sw + kx*dw) of the padded input. The GEMM
    // microkernel recognises it and gathers its panels from the input
    // (tessera-cpu-contractions-to-ukernels): no patches buffer.
    MLIRContext *ctx = b.getContext();
    auto d = [&](unsigned i) { return getAffineDimExpr(i, ctx); };
    SmallVector<int64_t> six = {n, c, kernel[0], kernel[1], outSpatial[0],
                                outSpatial[1]};
    AffineMap in = AffineMap::get(
        6, 0,
        {d(0), d(1), d(4) * strides[0] + d(2) * dilations[0],
         d(5) * strides[1] + d(3) * dilations[1]},
        ctx);
    Value empty = tensor::EmptyOp::create(b, r.loc, six, r.element);
    SmallVector<utils::IteratorType> parallel(6, utils::IteratorType::parallel);
    Value windows =
        linalg::GenericOp::create(
            b, r.loc, TypeRange{r.type(six)}, ValueRange{x}, ValueRange{empty},
            ArrayRef<AffineMap>{in, AffineMap::getMultiDimIdentityMap(6, ctx)},
            parallel,
            [](OpBuilder &bb, Location l, ValueRange a) {
              linalg::YieldOp::create(bb, l, a[0]);
            })
            .getResult(0);
    patches = r.reshape(windows, {n, groups, ck, p});
  } else if (!pointwise && !patchify) {
    // One strided slice per kernel offset, each [N, C, 1, P].
    SmallVector<Value> windows;
    SmallVector<int64_t> offset(spatial, 0);
    for (int64_t k = 0; k < kk; ++k) {
      int64_t rest = k;
      for (int64_t i = spatial - 1; i >= 0; --i) {
        offset[i] = rest % kernel[i];
        rest /= kernel[i];
      }
      SmallVector<int64_t> starts(rank, 0), sizes = {n, c}, steps(rank, 1);
      for (int64_t i = 0; i < spatial; ++i) {
        starts[2 + i] = offset[i] * dilations[i];
        sizes.push_back(outSpatial[i]);
        steps[2 + i] = strides[i];
      }
      Value s = SliceOp::create(b, r.loc, r.type(sizes), x, r.ints(starts),
                                r.ints(sizes), r.ints(steps))
                    .getResult();
      windows.push_back(r.reshape(s, {n, c, 1, p}));
    }
    Value stacked = windows.size() == 1
                        ? windows[0]
                        : ConcatOp::create(b, r.loc, r.type({n, c, kk, p}), windows,
                                           b.getI64IntegerAttr(2))
                              .getResult();
    patches = r.reshape(stacked, {n, groups, ck, p});
  }
  Value y;
  if (int64_t mg = m / groups; n > 1 && mg * ck > p * (ck + mg)) {
    // A batch against a weight larger than what a batch item adds (the
    // late layers of a CNN: many channels, few output positions): the
    // batch joins the columns, [G, M/G, C/G*K] x [G, C/G*K, N*P], so the
    // GEMM reads the weight once instead of once per item, at the cost
    // of transposing the patches and the result.
    Value folded = TransposeOp::create(b, r.loc, r.type({groups, ck, n, p}),
                                       patches, r.ints({1, 2, 0, 3}))
                       .getResult();
    Value weight = r.reshape(conv.getWeight(), {groups, mg, ck});
    Value product =
        MatMulOp::create(b, r.loc, r.type({groups, mg, n * p}), weight,
                         r.reshape(folded, {groups, ck, n * p}))
            .getResult();
    y = TransposeOp::create(b, r.loc, r.type({n, groups, mg, p}),
                            r.reshape(product, {groups, mg, n, p}),
                            r.ints({2, 0, 1, 3}))
            .getResult();
  } else {
    // [G, M/G, C/G*K] x [N, G, C/G*K, P] -> [N, G, M/G, P]
    Value weight = r.reshape(conv.getWeight(), {groups, m / groups, ck});
    y = MatMulOp::create(b, r.loc, r.type({n, groups, m / groups, p}), weight,
                         patches)
            .getResult();
  }
  y = r.reshape(y, out.getShape());
  if (Value bias = conv.getBias()) {
    SmallVector<int64_t> shape(spatial + 1, 1);
    shape[0] = m;
    y = AddOp::create(b, r.loc, out, y, r.reshape(bias, shape)).getResult();
  }
  conv.replaceAllUsesWith(y);
  conv.erase();
  return success();
}

struct ConvToGemmPass
    : mlir::tessera::impl::ConvToGemmPassBase<ConvToGemmPass> {
  using Base::Base;
  void runOnOperation() override {
    SmallVector<ConvOp> convs;
    getOperation().walk([&](ConvOp c) { convs.push_back(c); });
    for (ConvOp c : convs)
      if (succeeded(rewriteConv(c, maxPatchBytes, keepDepthwise, windowPatches)))
        ++numConvs;
  }
};
} // namespace
