//===- ResizeLowering.cpp - Lower tessera.resize to a linalg.generic ------===//
//
// `tessera.resize` becomes one `linalg.generic` over the result. Its body maps
// the result index of every dimension (`linalg.index`) to a source
// coordinate, picks the neighbours and weights of the interpolation mode, and
// reads them with `tensor.extract`: nearest reads one element, linear 2^k and
// cubic 4^k for k resized dimensions. Coordinates and weights are f64 and
// follow the operation order of ONNX's reference implementation, so rounding
// ties (nearest) and the edges of tf_crop_and_resize come out the same.
//
//===----------------------------------------------------------------------===//

#include "codegen/Conversion/TesseraToLinalg/TesseraToLinalg.h"
#include "codegen/Conversion/TesseraToLinalg/LoweringUtils.h"
#include "dialects/Tessera/IR/TesseraOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include <cmath>

using namespace mlir;
using namespace mlir::tessera;

namespace {

/// The elements one result index reads along one dimension: clamped source
/// indices and their f64 weights (none for a single read).
struct Taps {
  SmallVector<Value> indices;
  SmallVector<Value> weights;
};

/// Builds the body of the generic: scalar helpers over one builder.
class ResizeBody {
public:
  ResizeBody(OpBuilder &b, Location loc, ResizeOp op)
      : b(b), loc(loc), op(op), in(op.getInput().getType()),
        rank(in.getRank()) {}

  Value f64(double v) {
    return arith::ConstantOp::create(b, loc, b.getF64FloatAttr(v));
  }
  Value index(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }
  Value add(Value x, Value y) { return arith::AddFOp::create(b, loc, x, y); }
  Value sub(Value x, Value y) { return arith::SubFOp::create(b, loc, x, y); }
  Value mul(Value x, Value y) { return arith::MulFOp::create(b, loc, x, y); }
  Value div(Value x, Value y) { return arith::DivFOp::create(b, loc, x, y); }
  Value cmp(arith::CmpFPredicate p, Value x, Value y) {
    return arith::CmpFOp::create(b, loc, p, x, y);
  }
  Value select(Value c, Value x, Value y) {
    return arith::SelectOp::create(b, loc, c, x, y);
  }

  /// The source coordinate of result index `d` (see the op's description).
  Value coordinate(int64_t d, Value &outside) {
    double s = op.getScales()[d];
    auto size = static_cast<double>(in.getDimSize(d));
    auto outSize = static_cast<double>(op.getType().getDimSize(d));
    double width = s * size; // fractional when the scale does not divide
    Value i64 = arith::IndexCastOp::create(b, loc, b.getI64Type(),
                                           linalg::IndexOp::create(b, loc, d));
    Value y = arith::SIToFPOp::create(b, loc, b.getF64Type(), i64);
    auto halfPixel = [&] {
      return sub(div(add(y, f64(0.5)), f64(s)), f64(0.5));
    };
    StringRef coords = op.getCoordinateTransformationMode();
    if (coords == "half_pixel")
      return halfPixel();
    if (coords == "half_pixel_symmetric") {
      double offset = size / 2 * (1 - outSize / width);
      return sub(add(f64(offset), div(add(y, f64(0.5)), f64(s))), f64(0.5));
    }
    if (coords == "pytorch_half_pixel")
      return width == 1 ? f64(-0.5) : halfPixel();
    if (coords == "align_corners")
      return width == 1 ? f64(0) : div(mul(y, f64(size - 1)), f64(width - 1));
    if (coords == "asymmetric")
      return div(y, f64(s));
    if (coords == "tf_half_pixel_for_nn")
      return div(add(y, f64(0.5)), f64(s));
    // tf_crop_and_resize: the roi terms are f32, as for ONNX's float roi.
    auto begin = static_cast<float>((*op.getRoi())[d]);
    auto end = static_cast<float>((*op.getRoi())[d + rank]);
    float extent = end - begin;
    float start = begin * static_cast<float>(size - 1);
    Value x = width == 1 ? f64(extent * static_cast<float>(size - 1) / 2)
                         : div(mul(mul(y, f64(extent)), f64(size - 1)),
                               f64(width - 1));
    x = add(x, f64(start));
    outside =
        arith::OrIOp::create(b, loc, cmp(arith::CmpFPredicate::OLT, x, f64(0)),
                             cmp(arith::CmpFPredicate::OGT, x, f64(size - 1)));
    return x;
  }

  /// `v` (an f64 integral value) as an index.
  Value toIndex(Value v) {
    Value i = arith::FPToSIOp::create(b, loc, b.getI64Type(), v);
    return arith::IndexCastOp::create(b, loc, b.getIndexType(), i);
  }

  Value clamp(Value i, int64_t d) {
    i = arith::MaxSIOp::create(b, loc, i, index(0));
    return arith::MinSIOp::create(b, loc, i, index(in.getDimSize(d) - 1));
  }

  /// The nearest element: x rounded by nearest_mode, clamped.
  void nearest(Value x, int64_t d, Taps &taps) {
    Value lo = math::FloorOp::create(b, loc, x);
    Value frac = sub(x, lo);
    StringRef mode = op.getNearestMode();
    Value up;
    if (mode == "round_prefer_floor")
      up = cmp(arith::CmpFPredicate::OGT, frac, f64(0.5));
    else if (mode == "round_prefer_ceil")
      up = cmp(arith::CmpFPredicate::OGE, frac, f64(0.5));
    else if (mode == "ceil")
      up = cmp(arith::CmpFPredicate::OGT, frac, f64(0));
    Value i = toIndex(lo);
    if (up)
      i = arith::AddIOp::create(b, loc, i, select(up, index(1), index(0)));
    taps.indices.push_back(clamp(i, d));
  }

  /// The 2 (linear) or 4 (cubic) neighbours and their weights. As in the
  /// reference, an integral x reads x - 1 and x with ratio 1 (linear).
  void interpolate(Value x, int64_t d, Taps &taps) {
    Value floor = math::FloorOp::create(b, loc, x);
    Value integral = cmp(arith::CmpFPredicate::OEQ, x, floor);
    Value lo = toIndex(select(integral, sub(floor, f64(1)), floor));
    Value r = select(integral, f64(1), sub(x, floor));
    int64_t first;
    if (op.getMode() == "linear") {
      first = 0;
      taps.weights = {sub(f64(1), r), r};
    } else {
      first = -1;
      double a = op.getCubicCoeffA().convertToDouble();
      Value A = f64(a), r1 = add(r, f64(1)), q = sub(f64(1), r);
      Value q1 = add(q, f64(1));
      auto outer = [&](Value t) { // ((A t - 5A) t + 8A) t - 4A
        Value v = mul(sub(mul(A, t), f64(5 * a)), t);
        return sub(mul(add(v, f64(8 * a)), t), f64(4 * a));
      };
      auto inner = [&](Value t) { // ((A + 2) t - (A + 3)) t t + 1
        Value v = sub(mul(f64(a + 2), t), f64(a + 3));
        return add(mul(mul(v, t), t), f64(1));
      };
      taps.weights = {outer(r1), inner(r), inner(q), outer(q1)};
    }
    int64_t size = in.getDimSize(d);
    for (size_t t = 0; t < taps.weights.size(); ++t)
      taps.indices.push_back(arith::AddIOp::create(
          b, loc, lo, index(first + static_cast<int64_t>(t))));
    if (op.getExcludeOutside()) {
      // Weights of neighbours outside the input become 0; the rest are
      // renormalised (a zero sum stays 0, as in the reference).
      Value sum;
      for (size_t t = 0; t < taps.weights.size(); ++t) {
        Value i = taps.indices[t];
        Value inside = arith::AndIOp::create(
            b, loc,
            arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sge, i,
                                  index(0)),
            arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, i,
                                  index(size)));
        taps.weights[t] = select(inside, taps.weights[t], f64(0));
        sum = sum ? add(sum, taps.weights[t]) : taps.weights[t];
      }
      sum = select(cmp(arith::CmpFPredicate::OEQ, sum, f64(0)), f64(1), sum);
      for (Value &w : taps.weights)
        w = div(w, sum);
    }
    for (Value &i : taps.indices)
      i = clamp(i, d);
  }

  /// The result element at the current index.
  Value build(Value input) {
    Type element = in.getElementType();
    SmallVector<Taps> taps(rank);
    Value outside;
    for (int64_t d = 0; d < rank; ++d) {
      if (op.isIdentityDim(d)) {
        taps[d].indices.push_back(linalg::IndexOp::create(b, loc, d));
        continue;
      }
      Value dimOutside;
      Value x = coordinate(d, dimOutside);
      if (dimOutside)
        outside = outside ? arith::OrIOp::create(b, loc, outside, dimOutside)
                          : dimOutside;
      if (op.getMode() == "nearest")
        nearest(x, d, taps[d]);
      else
        interpolate(x, d, taps[d]);
    }
    // Every combination of one neighbour per dimension, weighted by the
    // product of their weights.
    SmallVector<size_t> pick(rank, 0);
    Value acc;
    while (true) {
      SmallVector<Value> idx;
      Value weight;
      for (int64_t d = 0; d < rank; ++d) {
        idx.push_back(taps[d].indices[pick[d]]);
        if (!taps[d].weights.empty()) {
          Value w = taps[d].weights[pick[d]];
          weight = weight ? mul(weight, w) : w;
        }
      }
      Value v = tensor::ExtractOp::create(b, loc, input, idx);
      if (weight) {
        if (element != b.getF64Type())
          v = arith::ExtFOp::create(b, loc, b.getF64Type(), v);
        v = mul(weight, v);
        acc = acc ? add(acc, v) : v;
      } else {
        acc = v;
      }
      int64_t d = rank - 1;
      for (; d >= 0; --d) {
        if (++pick[d] < taps[d].indices.size())
          break;
        pick[d] = 0;
      }
      if (d < 0)
        break;
    }
    Value result = acc;
    if (result.getType() != element)
      result = arith::TruncFOp::create(b, loc, element, result);
    if (outside)
      result = select(outside, extrapolationValue(element), result);
    return result;
  }

  /// extrapolation_value in the element type, saturated as ONNX's reference
  /// casts: floats clamp to the largest finite value, integers round half
  /// to even first, i1 is `value != 0`.
  Value extrapolationValue(Type element) {
    APFloat fill = op.getExtrapolationValue();
    TypedAttr attr;
    if (auto ft = dyn_cast<FloatType>(element)) {
      bool lost;
      APFloat v = fill;
      v.convert(ft.getFloatSemantics(), APFloat::rmNearestTiesToEven, &lost);
      if (v.isInfinity() && !fill.isInfinity())
        v = APFloat::getLargest(ft.getFloatSemantics(), v.isNegative());
      attr = b.getFloatAttr(ft, v);
    } else if (element.isInteger(1)) {
      attr = b.getBoolAttr(!fill.isZero());
    } else {
      unsigned width = element.getIntOrFloatBitWidth();
      APInt lo = APInt::getSignedMinValue(width);
      APInt hi = APInt::getSignedMaxValue(width);
      double v = std::nearbyint(fill.convertToDouble());
      APInt value = std::isnan(v) ? APInt(width, 0)
                    : v <= static_cast<double>(lo.getSExtValue()) ? lo
                    : v >= static_cast<double>(hi.getSExtValue())
                        ? hi
                        : APInt(width, static_cast<int64_t>(v), true);
      attr = b.getIntegerAttr(element, value);
    }
    return arith::ConstantOp::create(b, loc, attr);
  }

private:
  OpBuilder &b;
  Location loc;
  ResizeOp op;
  RankedTensorType in;
  int64_t rank;
};

struct ResizeLowering : OpConversionPattern<ResizeOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(ResizeOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    RankedTensorType type = op.getType();
    Value input = adaptor.getInput();
    rewriter.replaceOp(op, lowering::buildIndexedGeneric(
                               rewriter, loc, type, [&](OpBuilder &b, Location l) {
                                 return ResizeBody(b, l, op).build(input);
                               }));
    return success();
  }
};

} // namespace

void mlir::tessera::populateResizeToLinalgPatterns(
    TypeConverter &converter, RewritePatternSet &patterns) {
  patterns.add<ResizeLowering>(converter, patterns.getContext());
}
