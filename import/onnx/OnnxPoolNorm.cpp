//===- OnnxPoolNorm.cpp - Pooling and normalization ops, composed ---------===//
//
// ONNX pooling and normalization ops imported as the tessera ops that
// compute them:
//
//   LpPool            (window sum of |x|^p)^(1/p), the window sum a
//                     depthwise convolution with a kernel of ones over the
//                     zero-padded input (pads add nothing to a sum)
//   GlobalLpPool      (reduce_sum(|x|^p) over the spatial axes)^(1/p)
//   GlobalMaxPool     reduce_max over the spatial axes, kept
//   LpNormalization   x / (reduce_sum(|x|^p) over axis)^(1/p), 0 where the
//                     norm is 0
//   GroupNormalization  x viewed as [N, groups, rest], normalized over
//                     rest in stash_type (f32 by default), then scale and
//                     bias per channel (opset 21) or per group (18)
//   Hardmax           1 where the first maximum along the axis is, else 0
//                     (before opset 13 on the input coerced to 2-D at axis)
//
//===----------------------------------------------------------------------===//

#include "import/onnx/ImporterImpl.h"

#include "dialects/Tessera/IR/TesseraOps.h"

#include "llvm/ADT/StringMap.h"

using namespace mlir;
using namespace mlir::tessera::onnx_import;
namespace ts = mlir::tessera;

namespace {
using GI = GraphImporter;

/// |x|^p (x * x for p = 2).
FailureOr<Value> absPow(GI &g, Value x, int64_t p) {
  Type e = typeOf(x).getElementType();
  if (p == 2)
    return g.create1<ts::MulOp>({x, x});
  TRY(a, g.create1<ts::AbsOp>(x, {}, x.getType()));
  if (p == 1)
    return *a;
  return g.create1<ts::PowOp>({*a, g.scalar(e, static_cast<double>(p))});
}

/// s^(1/p) (sqrt for p = 2).
FailureOr<Value> root(GI &g, Value s, int64_t p) {
  Type e = typeOf(s).getElementType();
  if (p == 1)
    return s;
  if (p == 2)
    return g.create1<ts::SqrtOp>(s, {}, s.getType());
  return g.create1<ts::PowOp>({s, g.scalar(e, 1.0 / static_cast<double>(p))});
}

FailureOr<int64_t> readP(GI &g) {
  int64_t p = g.attrInt("p", 2);
  if (p < 1) {
    (void)g.fail("p must be positive, got " + llvm::Twine(p));
    return failure();
  }
  return p;
}

FailureOr<Value> floatInput(GI &g) {
  TRY(x, g.requiredInput(0));
  if (!isa<FloatType>(typeOf(*x).getElementType())) {
    (void)g.fail("the input must be a float tensor");
    return failure();
  }
  return *x;
}

LogicalResult convertLpPool(GI &g) {
  TRY(x, floatInput(g));
  TRY(p, readP(g));
  auto kernel = g.attrInts("kernel_shape");
  if (!kernel)
    return g.fail("missing attribute 'kernel_shape'");
  RankedTensorType t = typeOf(*x);
  TRY(w, readWindow(g, t, *kernel));
  int64_t spatial = t.getRank() - 2;
  if (g.attrInt("ceil_mode", 0) != 0)
    for (int64_t i = 0; i < spatial; ++i) {
      int64_t span = (w->kernel[i] - 1) * w->dilations[i] + 1;
      int64_t room = t.getDimSize(i + 2) + w->pads[i] + w->pads[i + spatial] - span;
      if (room >= 0 && room % w->strides[i] != 0)
        return g.unsupported("LpPool with ceil_mode=1 where it adds a window");
    }
  TRY(powered, absPow(g, *x, *p));
  // A depthwise convolution with a kernel of ones: each window's sum.
  int64_t c = t.getDimSize(1);
  SmallVector<int64_t> wShape = {c, 1};
  wShape.append(w->kernel.begin(), w->kernel.end());
  auto wType = RankedTensorType::get(wShape, t.getElementType());
  Value ones = g.constant(DenseElementsAttr::get(
      wType, g.builder.getFloatAttr(t.getElementType(), 1.0)));
  Builder &b = g.builder;
  TRY(sum, g.create1<ts::ConvOp>(
               {*powered, ones},
               {g.named("strides", b.getDenseI64ArrayAttr(w->strides)),
                g.named("pads", b.getDenseI64ArrayAttr(w->pads)),
                g.named("dilations", b.getDenseI64ArrayAttr(w->dilations)),
                g.named("group", b.getI64IntegerAttr(c))}));
  TRY(y, root(g, *sum, *p));
  return g.setOutputs(*y);
}

SmallVector<int64_t> spatialAxes(RankedTensorType t) {
  SmallVector<int64_t> axes;
  for (int64_t d = 2; d < t.getRank(); ++d)
    axes.push_back(d);
  return axes;
}

LogicalResult convertGlobalMaxPool(GI &g) {
  TRY(x, floatInput(g));
  if (typeOf(*x).getRank() < 3)
    return g.fail("the input must have rank 3 or more");
  TRY(y, g.reduce<ts::ReduceMaxOp>(*x, spatialAxes(typeOf(*x)), /*keepdims=*/true));
  return g.setOutputs(*y);
}

LogicalResult convertGlobalLpPool(GI &g) {
  TRY(x, floatInput(g));
  TRY(p, readP(g));
  if (typeOf(*x).getRank() < 3)
    return g.fail("the input must have rank 3 or more");
  TRY(powered, absPow(g, *x, *p));
  TRY(sum, g.reduce<ts::ReduceSumOp>(*powered, spatialAxes(typeOf(*x)), true));
  TRY(y, root(g, *sum, *p));
  return g.setOutputs(*y);
}

LogicalResult convertLpNormalization(GI &g) {
  TRY(x, floatInput(g));
  int64_t p = g.attrInt("p", 2);
  if (p != 1 && p != 2)
    return g.fail("p must be 1 or 2, got " + llvm::Twine(p));
  TRY(axis, g.normalizeAxis(g.attrInt("axis", -1), typeOf(*x).getRank()));
  TRY(powered, absPow(g, *x, p));
  TRY(sum, g.reduce<ts::ReduceSumOp>(*powered, {*axis}, /*keepdims=*/true));
  TRY(norm, root(g, *sum, p));
  TRY(q, g.create1<ts::DivOp>({*x, *norm}));
  // A zero vector stays zero (ONNX's reference), not 0 / 0.
  Value zero = g.scalar(typeOf(*x).getElementType(), 0);
  TRY(isZero, g.create1<ts::EqualOp>({*norm, zero}));
  TRY(y, g.create1<ts::WhereOp>({*isZero, zero, *q}));
  return g.setOutputs(*y);
}

LogicalResult convertGroupNormalization(GI &g) {
  TRY(x, floatInput(g));
  TRY(scale, g.requiredInput(1));
  TRY(bias, g.requiredInput(2));
  RankedTensorType t = typeOf(*x);
  if (t.getRank() < 3)
    return g.fail("the input must be [N, C, D1, ...], got rank " + llvm::Twine(t.getRank()));
  int64_t n = t.getDimSize(0), c = t.getDimSize(1);
  int64_t groups = g.attrInt("num_groups", 0);
  if (groups < 1 || c % groups != 0)
    return g.fail("num_groups (" + llvm::Twine(groups) + ") must divide the " +
                  llvm::Twine(c) + " channels");
  // Opset 18 scales per group, 21 per channel.
  int64_t perParam = g.opset < 21 ? groups : c;
  for (Value v : {*scale, *bias})
    if (typeOf(v).getRank() != 1 || typeOf(v).getDimSize(0) != perParam)
      return g.fail("scale and bias must be 1-D with " + llvm::Twine(perParam) + " elements");
  Type e = t.getElementType();
  Type stash = e;
  if (g.opset >= 21) {
    stash = convertDataType(g.ctx, static_cast<int32_t>(g.attrInt("stash_type", 1)));
    if (!stash || !isa<FloatType>(stash))
      return g.fail("stash_type must be a float type");
  }
  int64_t rest = t.getNumElements() / std::max<int64_t>(1, n * groups);
  TRY(grouped, g.reshape(*x, {n, groups, rest}));
  TRY(xs, g.castTo(*grouped, stash));
  TRY(mean, g.reduce<ts::ReduceMeanOp>(*xs, {2}, true));
  TRY(d, g.create1<ts::SubOp>({*xs, *mean}));
  TRY(sq, g.create1<ts::MulOp>({*d, *d}));
  TRY(var, g.reduce<ts::ReduceMeanOp>(*sq, {2}, true));
  TRY(shifted, g.create1<ts::AddOp>({*var, g.scalar(stash, g.attrFloat("epsilon", 1e-5f))}));
  TRY(sd, g.create1<ts::SqrtOp>(*shifted, {}, shifted->getType()));
  TRY(normedS, g.create1<ts::DivOp>({*d, *sd}));
  TRY(normed, g.castTo(*normedS, e));
  Value y;
  if (g.opset < 21) {
    TRY(s, g.reshape(*scale, {groups, 1}));
    TRY(b, g.reshape(*bias, {groups, 1}));
    TRY(scaled, g.create1<ts::MulOp>({*normed, *s}));
    TRY(shiftedOut, g.create1<ts::AddOp>({*scaled, *b}));
    TRY(back, g.reshape(*shiftedOut, t.getShape()));
    y = *back;
  } else {
    TRY(back, g.reshape(*normed, t.getShape()));
    SmallVector<int64_t> perChannel(t.getRank() - 1, 1);
    perChannel[0] = c;
    TRY(s, g.reshape(*scale, perChannel));
    TRY(b, g.reshape(*bias, perChannel));
    TRY(scaled, g.create1<ts::MulOp>({*back, *s}));
    TRY(out, g.create1<ts::AddOp>({*scaled, *b}));
    y = *out;
  }
  return g.setOutputs(y);
}

LogicalResult convertHardmax(GI &g) {
  TRY(x, g.requiredInput(0));
  RankedTensorType t = typeOf(*x);
  if (t.getRank() == 0)
    return g.fail("the input must have rank 1 or more");
  Value in = *x;
  int64_t axis;
  if (g.opset < 13) {
    // The input coerced to [prod(d < axis), prod(d >= axis)].
    TRY(a, g.normalizeAxis(g.attrInt("axis", 1), t.getRank()));
    int64_t outer = 1;
    for (int64_t d = 0; d < *a; ++d)
      outer *= t.getDimSize(d);
    int64_t inner = outer == 0 ? 0 : t.getNumElements() / std::max<int64_t>(outer, 1);
    TRY(flat, g.reshape(*x, {outer, inner}));
    in = *flat;
    axis = 1;
  } else {
    TRY(a, g.normalizeAxis(g.attrInt("axis", -1), t.getRank()));
    axis = *a;
  }
  RankedTensorType it = typeOf(in);
  Builder &b = g.builder;
  TRY(idx, g.create1<ts::ArgMaxOp>(in, {g.named("axis", b.getI64IntegerAttr(axis)),
                                        g.named("keepdims", b.getBoolAttr(true)),
                                        g.named("select_last_index", b.getBoolAttr(false))}));
  SmallVector<int64_t> iotaShape(it.getRank(), 1), iota;
  iotaShape[axis] = it.getDimSize(axis);
  for (int64_t i = 0; i < it.getDimSize(axis); ++i)
    iota.push_back(i);
  Value positions = g.constant(DenseElementsAttr::get(
      RankedTensorType::get(iotaShape, b.getI64Type()), ArrayRef<int64_t>(iota)));
  TRY(hit, g.create1<ts::EqualOp>({positions, *idx}));
  TRY(y, g.castTo(*hit, t.getElementType()));
  TRY(out, g.reshape(*y, t.getShape()));
  return g.setOutputs(*out);
}

} // namespace

OpConverter mlir::tessera::onnx_import::lookupPoolNormConverter(llvm::StringRef opType) {
  static const llvm::StringMap<OpConverter> table = {
      {"LpPool", convertLpPool},
      {"GlobalLpPool", convertGlobalLpPool},
      {"GlobalMaxPool", convertGlobalMaxPool},
      {"LpNormalization", convertLpNormalization},
      {"GroupNormalization", convertGroupNormalization},
      {"Hardmax", convertHardmax},
  };
  return table.lookup(opType);
}
