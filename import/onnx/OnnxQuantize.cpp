//===- OnnxQuantize.cpp - Linear quantization ops as tessera ops ----------===//
//
// ONNX's linear quantization, imported as float and integer tessera ops:
//
//   DequantizeLinear       (cast<f>(x) - cast<f>(zero_point)) * scale
//   QuantizeLinear         clip(round(x / scale) + zero_point, lo, hi) cast
//                          to the zero point's type (uint8 by default);
//                          round is half to even, lo/hi the type's range
//   DynamicQuantizeLinear  scale = (max(0, max x) - min(0, min x)) / 255,
//                          zero_point = clip(round(-min / scale), 0, 255),
//                          then QuantizeLinear to uint8
//   MatMulInteger          matmul in i32 of (x - zero_point) for both sides
//   QLinearMatMul          the i32 product of MatMulInteger, scaled by
//                          a_scale * b_scale / y_scale and quantized
//
// Scales and zero points are per tensor (a scalar or a 1-element vector),
// per axis (a vector along `axis`, broadcast over the other dimensions) or
// blocked (block_size > 0: one per block_size elements along `axis`).
//
//===----------------------------------------------------------------------===//

#include "import/onnx/ImporterImpl.h"

#include "dialects/Tessera/IR/TesseraOps.h"

#include "llvm/ADT/StringMap.h"

#include <cmath>

using namespace mlir;
using namespace mlir::tessera::onnx_import;
namespace ts = mlir::tessera;

namespace {
using GI = GraphImporter;

/// `param` (a scale or zero point) shaped to broadcast against `x`: a
/// per-tensor one as a scalar, a per-axis vector along `axis`, a blocked
/// one (`blockSize` > 0: x's shape with ceil(n / blockSize) along `axis`)
/// with each element repeated over its block (a gather along `axis`).
FailureOr<Value> broadcastParam(GI &g, Value param, Value x, int64_t axis,
                                llvm::StringRef what, int64_t blockSize = 0) {
  RankedTensorType p = typeOf(param), t = typeOf(x);
  if (blockSize == 0 && p.getNumElements() == 1 && p.getRank() <= 1)
    return g.reshape(param, {});
  TRY(a, g.normalizeAxis(axis, t.getRank()));
  int64_t n = t.getDimSize(*a);
  if (blockSize > 0) {
    SmallVector<int64_t> want(t.getShape());
    want[*a] = llvm::divideCeil(n, blockSize);
    if (p.getShape() != ArrayRef<int64_t>(want)) {
      (void)g.fail(llvm::Twine("the ") + what + " of a blocked quantization must have " +
                   "the input's shape with ceil(n / block_size) along the axis");
      return failure();
    }
    SmallVector<int64_t> block;
    for (int64_t i = 0; i < n; ++i)
      block.push_back(i / blockSize);
    Value index = g.constant(DenseElementsAttr::get(
        RankedTensorType::get({n}, g.builder.getI64Type()), ArrayRef<int64_t>(block)));
    return g.create1<ts::GatherOp>({param, index},
                                   {g.named("axis", g.builder.getI64IntegerAttr(*a))});
  }
  if (p.getRank() != 1) {
    (void)g.fail(llvm::Twine("the ") + what + " must be a scalar or 1-D without block_size");
    return failure();
  }
  if (p.getDimSize(0) != n) {
    (void)g.fail(llvm::Twine("the ") + what + " has " + llvm::Twine(p.getDimSize(0)) +
                 " elements, axis " + llvm::Twine(*a) + " has " + llvm::Twine(n));
    return failure();
  }
  SmallVector<int64_t> shape(t.getRank(), 1);
  shape[*a] = n;
  return g.reshape(param, shape);
}

/// The smallest and largest values of integer type `t`.
std::pair<double, double> integerRange(IntegerType t) {
  unsigned w = t.getWidth();
  if (t.isUnsigned())
    return {0.0, std::ldexp(1.0, w) - 1};
  return {-std::ldexp(1.0, w - 1), std::ldexp(1.0, w - 1) - 1};
}

/// round(x / scale) + zero_point, clipped to `to`'s range and cast to it;
/// `scale` and `zp` already broadcast (zp may be null, for 0).
FailureOr<Value> quantize(GI &g, Value x, Value scale, Value zp, IntegerType to) {
  Type f = typeOf(x).getElementType();
  TRY(s, g.castTo(scale, f));
  TRY(q, g.create1<ts::DivOp>({x, *s}));
  TRY(r, g.create1<ts::RoundOp>(*q, {}, q->getType()));
  Value y = *r;
  if (zp) {
    TRY(z, g.castTo(zp, f));
    TRY(sum, g.create1<ts::AddOp>({y, *z}));
    y = *sum;
  }
  auto [lo, hi] = integerRange(to);
  int32_t segments[] = {1, 1, 1};
  TRY(clipped, g.create1<ts::ClipOp>(
                   {y, g.scalar(f, lo), g.scalar(f, hi)},
                   {g.named("operandSegmentSizes", g.builder.getDenseI32ArrayAttr(segments))},
                   y.getType()));
  return g.castTo(*clipped, to);
}

/// A zero point's or quantized tensor's integer type, else a failure.
FailureOr<IntegerType> quantizedType(GI &g, Type t) {
  auto it = dyn_cast<IntegerType>(t);
  if (!it || it.getWidth() == 1 || it.getWidth() > 32) {
    std::string s;
    llvm::raw_string_ostream os(s);
    t.print(os);
    (void)g.unsupported("quantization to or from " + s);
    return failure();
  }
  return it;
}

FailureOr<int64_t> blockSize(GI &g) {
  int64_t b = g.attrInt("block_size", 0);
  if (b < 0) {
    (void)g.fail("block_size must not be negative, got " + llvm::Twine(b));
    return failure();
  }
  return b;
}

LogicalResult convertDequantizeLinear(GI &g) {
  TRY(block, blockSize(g));
  TRY(x, g.requiredInput(0));
  TRY(scaleIn, g.requiredInput(1));
  if (failed(quantizedType(g, typeOf(*x).getElementType())))
    return failure();
  Type f = typeOf(*scaleIn).getElementType();
  if (!isa<FloatType>(f))
    return g.fail("the scale must be a float tensor");
  if (int64_t dt = g.attrInt("output_dtype", 0)) {
    f = convertDataType(g.ctx, static_cast<int32_t>(dt));
    if (!f || !isa<FloatType>(f))
      return g.unsupported("output_dtype " + dataTypeName(static_cast<int32_t>(dt)));
  }
  int64_t axis = g.attrInt("axis", 1);
  TRY(scale, broadcastParam(g, *scaleIn, *x, axis, "scale", *block));
  TRY(xf, g.castTo(*x, f));
  Value centered = *xf;
  if (Value zpIn = g.input(2)) {
    if (typeOf(zpIn).getElementType() != typeOf(*x).getElementType())
      return g.fail("the zero point's type differs from the input's");
    TRY(zp, broadcastParam(g, zpIn, *x, axis, "zero point", *block));
    TRY(zf, g.castTo(*zp, f));
    TRY(d, g.create1<ts::SubOp>({*xf, *zf}));
    centered = *d;
  }
  TRY(s, g.castTo(*scale, f));
  TRY(y, g.create1<ts::MulOp>({centered, *s}));
  return g.setOutputs(*y);
}

LogicalResult convertQuantizeLinear(GI &g) {
  TRY(block, blockSize(g));
  TRY(x, g.requiredInput(0));
  TRY(scaleIn, g.requiredInput(1));
  if (!isa<FloatType>(typeOf(*x).getElementType()))
    return g.fail("QuantizeLinear takes a float input");
  Value zpIn = g.input(2);
  Type to = zpIn ? typeOf(zpIn).getElementType()
                 : IntegerType::get(g.ctx, 8, IntegerType::Unsigned);
  if (int64_t dt = g.attrInt("output_dtype", 0)) {
    Type t = convertDataType(g.ctx, static_cast<int32_t>(dt));
    if (!t)
      return g.unsupported("output_dtype " + dataTypeName(static_cast<int32_t>(dt)));
    if (zpIn && t != to)
      return g.fail("output_dtype differs from the zero point's type");
    to = t;
  }
  TRY(it, quantizedType(g, to));
  int64_t axis = g.attrInt("axis", 1);
  TRY(scale, broadcastParam(g, *scaleIn, *x, axis, "scale", *block));
  Value zp;
  if (zpIn) {
    TRY(z, broadcastParam(g, zpIn, *x, axis, "zero point", *block));
    zp = *z;
  }
  TRY(y, quantize(g, *x, *scale, zp, *it));
  return g.setOutputs(*y);
}

LogicalResult convertDynamicQuantizeLinear(GI &g) {
  TRY(x, g.requiredInput(0));
  Type f = typeOf(*x).getElementType();
  if (!isa<FloatType>(f))
    return g.fail("DynamicQuantizeLinear takes a float input");
  RankedTensorType t = typeOf(*x);
  SmallVector<int64_t> all;
  for (int64_t d = 0; d < t.getRank(); ++d)
    all.push_back(d);
  Value zero = g.scalar(f, 0);
  TRY(mx, g.reduce<ts::ReduceMaxOp>(*x, all, /*keepdims=*/false));
  TRY(mn, g.reduce<ts::ReduceMinOp>(*x, all, /*keepdims=*/false));
  TRY(hi, g.create1<ts::MaxOp>({*mx, zero}));
  TRY(lo, g.create1<ts::MinOp>({*mn, zero}));
  TRY(range, g.create1<ts::SubOp>({*hi, *lo}));
  TRY(scale, g.create1<ts::DivOp>({*range, g.scalar(f, 255)}));
  TRY(negLo, g.create1<ts::SubOp>({zero, *lo}));
  auto u8 = IntegerType::get(g.ctx, 8, IntegerType::Unsigned);
  // The zero point: quantize(-min) with scale `scale` and no zero point.
  TRY(zp, quantize(g, *negLo, *scale, Value(), u8));
  TRY(y, quantize(g, *x, *scale, *zp, u8));
  return g.setOutputs({*y, *scale, *zp});
}

/// cast<i32>(v) - cast<i32>(zero point), the zero point per tensor or per
/// row (`perRowAxis`) when it is a vector.
FailureOr<Value> centered(GI &g, Value v, Value zpIn, int64_t perRowAxis) {
  Type i32 = g.builder.getI32Type();
  TRY(vi, g.castTo(v, i32));
  if (!zpIn)
    return *vi;
  if (typeOf(zpIn).getElementType() != typeOf(v).getElementType()) {
    (void)g.fail("the zero point's type differs from its input's");
    return failure();
  }
  TRY(zp, broadcastParam(g, zpIn, v, perRowAxis, "zero point"));
  TRY(zi, g.castTo(*zp, i32));
  return g.create1<ts::SubOp>({*vi, *zi});
}

/// The i32 product of two quantized operands with their zero points: a's
/// per row (axis -2), b's per column (axis -1).
FailureOr<Value> integerMatMul(GI &g, Value a, Value aZp, Value b, Value bZp) {
  for (Value v : {a, b}) {
    auto it = dyn_cast<IntegerType>(typeOf(v).getElementType());
    if (!it || it.getWidth() != 8) {
      (void)g.fail("the operands must be 8-bit integers");
      return failure();
    }
  }
  TRY(ac, centered(g, a, aZp, typeOf(a).getRank() >= 2 ? -2 : -1));
  TRY(bc, centered(g, b, bZp, -1));
  return g.create1<ts::MatMulOp>({*ac, *bc});
}

LogicalResult convertMatMulInteger(GI &g) {
  TRY(a, g.requiredInput(0));
  TRY(b, g.requiredInput(1));
  TRY(y, integerMatMul(g, *a, g.input(2), *b, g.input(3)));
  return g.setOutputs(*y);
}

LogicalResult convertQLinearMatMul(GI &g) {
  TRY(a, g.requiredInput(0));
  TRY(aScale, g.requiredInput(1));
  TRY(aZp, g.requiredInput(2));
  TRY(b, g.requiredInput(3));
  TRY(bScale, g.requiredInput(4));
  TRY(bZp, g.requiredInput(5));
  TRY(yScale, g.requiredInput(6));
  TRY(yZp, g.requiredInput(7));
  Type f = typeOf(*aScale).getElementType();
  if (!isa<FloatType>(f))
    return g.fail("the scales must be float tensors");
  for (Value s : {*aScale, *bScale, *yScale, *yZp})
    if (typeOf(s).getNumElements() != 1)
      return g.unsupported("QLinearMatMul with per-axis scales or output zero point");
  TRY(acc, integerMatMul(g, *a, *aZp, *b, *bZp));
  // acc * (a_scale * b_scale / y_scale), in f32 (a sum of 8-bit products
  // is exact there up to 2^24).
  Type f32 = g.builder.getF32Type();
  TRY(accF, g.castTo(*acc, f32));
  TRY(as, g.castTo(*aScale, f32));
  TRY(bs, g.castTo(*bScale, f32));
  TRY(ys, g.castTo(*yScale, f32));
  TRY(ab, g.create1<ts::MulOp>({*as, *bs}));
  TRY(m, g.create1<ts::DivOp>({*ab, *ys}));
  TRY(mr, g.reshape(*m, {}));
  TRY(scaled, g.create1<ts::MulOp>({*accF, *mr}));
  TRY(zp, g.reshape(*yZp, {}));
  TRY(it, quantizedType(g, typeOf(*yZp).getElementType()));
  TRY(y, quantize(g, *scaled, g.scalar(f32, 1), *zp, *it));
  return g.setOutputs(*y);
}

} // namespace

OpConverter mlir::tessera::onnx_import::lookupQuantizeConverter(llvm::StringRef opType) {
  static const llvm::StringMap<OpConverter> table = {
      {"DequantizeLinear", convertDequantizeLinear},
      {"QuantizeLinear", convertQuantizeLinear},
      {"DynamicQuantizeLinear", convertDynamicQuantizeLinear},
      {"MatMulInteger", convertMatMulInteger},
      {"QLinearMatMul", convertQLinearMatMul},
  };
  return table.lookup(opType);
}
