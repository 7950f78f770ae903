//===- ElementwiseLowering.cpp - Elementwise tessera ops to linalg --------===//
//
// Every elementwise op becomes one broadcasting `linalg.generic`
// (lowering::buildElementwise) whose body is the op's scalar form: the float
// or integer arith/math op, the unsigned one where dropSignedness marked the
// op (Signedness.cpp), and the compositions of the activations (GELU, ELU,
// ...), casts, clips, Mod's sign fix-up and Where.
//
//===----------------------------------------------------------------------===//

#include "codegen/Conversion/TesseraToLinalg/LoweringUtils.h"
#include "codegen/Conversion/TesseraToLinalg/TesseraToLinalg.h"
#include "dialects/Tessera/IR/TesseraOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Transforms/DialectConversion.h"

#include <cmath>
#include <functional>

using namespace mlir;
using namespace mlir::tessera;
using namespace mlir::tessera::lowering;

namespace {

//===----------------------------------------------------------------------===//
// Elementwise patterns
//===----------------------------------------------------------------------===//

/// Lowers an elementwise op given the scalar body, which also sees the op
/// (for attributes) and the result element type.
template <typename OpTy>
struct ElementwiseLowering : OpConversionPattern<OpTy> {
  using Body = std::function<Value(OpTy, OpBuilder &, Location, Type,
                                   ValueRange)>;
  ElementwiseLowering(TypeConverter &tc, MLIRContext *ctx, Body body)
      : OpConversionPattern<OpTy>(tc, ctx), body(std::move(body)) {}

  LogicalResult
  matchAndRewrite(OpTy op, typename OpTy::Adaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto type = cast<RankedTensorType>(op->getResult(0).getType());
    Value result = buildElementwise(
        rewriter, op.getLoc(), type, adaptor.getOperands(),
        [&](OpBuilder &b, Location loc, ValueRange args) {
          return body(op, b, loc, type.getElementType(), args);
        });
    rewriter.replaceOp(op, result);
    return success();
  }
  Body body;
};

template <typename OpTy>
void addElementwise(TypeConverter &tc, RewritePatternSet &patterns,
                    typename ElementwiseLowering<OpTy>::Body body) {
  patterns.add<ElementwiseLowering<OpTy>>(tc, patterns.getContext(),
                                          std::move(body));
}

/// A float op and an integer op, chosen by the element type; `UOp` for
/// unsigned integers (isUnsignedOp).
template <typename OpTy, typename FOp, typename IOp, typename UOp = IOp>
void addArith(TypeConverter &tc, RewritePatternSet &patterns) {
  addElementwise<OpTy>(tc, patterns, [](OpTy op, OpBuilder &b, Location loc, Type,
                                        ValueRange a) -> Value {
    if (isFloat(a[0].getType()))
      return FOp::create(b, loc, a[0], a[1]);
    if (isUnsignedOp(op))
      return UOp::create(b, loc, a[0], a[1]);
    return IOp::create(b, loc, a[0], a[1]);
  });
}


template <typename OpTy, typename MathOp>
void addFloatUnary(TypeConverter &tc, RewritePatternSet &patterns) {
  addElementwise<OpTy>(tc, patterns,
                       [](OpTy, OpBuilder &b, Location loc, Type,
                          ValueRange a) -> Value {
                         return MathOp::create(b, loc, a[0]);
                       });
}

template <typename OpTy>
void addCompare(TypeConverter &tc, RewritePatternSet &patterns,
                arith::CmpFPredicate fp, arith::CmpIPredicate ip) {
  addElementwise<OpTy>(tc, patterns, [=](OpTy op, OpBuilder &b, Location loc,
                                         Type, ValueRange a) -> Value {
    if (isFloat(a[0].getType()))
      return arith::CmpFOp::create(b, loc, fp, a[0], a[1]);
    return arith::CmpIOp::create(b, loc, isUnsignedOp(op) ? unsignedPredicate(ip) : ip,
                                 a[0], a[1]);
  });
}

/// Casts a scalar; `fromUnsigned` and `toUnsigned` give the integers'
/// signedness (signless types carry none).
Value castScalar(OpBuilder &b, Location loc, Value x, Type to,
                 bool fromUnsigned = false, bool toUnsigned = false,
                 bool saturate = true) {
  Type from = x.getType();
  if (from == to)
    return x;
  // Float8 and float4 formats go through f32, in software.
  if (isMiniFloat(from)) {
    x = extFromMiniFloat(b, loc, x);
    return castScalar(b, loc, x, to, false, toUnsigned, saturate);
  }
  if (isMiniFloat(to))
    return truncToMiniFloat(b, loc, castScalar(b, loc, x, b.getF32Type(), fromUnsigned),
                            to, saturate);
  bool fromBool = from.isInteger(1) || fromUnsigned;
  if (to.isInteger(1)) {
    Value zero = scalarConstant(b, loc, from, 0);
    if (isFloat(from))
      return arith::CmpFOp::create(b, loc, arith::CmpFPredicate::UNE, x, zero);
    return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, x, zero);
  }
  if (isFloat(from) && isFloat(to))
    return from.getIntOrFloatBitWidth() < to.getIntOrFloatBitWidth()
               ? Value(arith::ExtFOp::create(b, loc, to, x))
               : Value(arith::TruncFOp::create(b, loc, to, x));
  if (isFloat(from) && to.getIntOrFloatBitWidth() < 8) {
    // To a 4- or 2-bit integer (ONNX's reference, through ml_dtypes): a
    // value whose truncation is out of the type's range becomes 0.
    unsigned w = to.getIntOrFloatBitWidth();
    double lo = toUnsigned ? 0 : -std::ldexp(1.0, w - 1);
    double hi = toUnsigned ? std::ldexp(1.0, w) - 1 : std::ldexp(1.0, w - 1) - 1;
    Value f = castScalar(b, loc, x, b.getF32Type());
    Value above = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT, f,
                                        scalarConstant(b, loc, b.getF32Type(), lo - 1));
    Value below = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OLT, f,
                                        scalarConstant(b, loc, b.getF32Type(), hi + 1));
    Value inRange = arith::AndIOp::create(b, loc, above, below);
    Value safe = arith::SelectOp::create(b, loc, inRange, f,
                                         scalarConstant(b, loc, b.getF32Type(), 0));
    Value i = arith::FPToSIOp::create(b, loc, b.getI32Type(), safe);
    return arith::TruncIOp::create(b, loc, to, i);
  }
  if (isFloat(from))
    return toUnsigned ? Value(arith::FPToUIOp::create(b, loc, to, x))
                      : Value(arith::FPToSIOp::create(b, loc, to, x));
  if (isFloat(to))
    return fromBool ? Value(arith::UIToFPOp::create(b, loc, to, x))
                    : Value(arith::SIToFPOp::create(b, loc, to, x));
  if (from.getIntOrFloatBitWidth() > to.getIntOrFloatBitWidth())
    return arith::TruncIOp::create(b, loc, to, x);
  return fromBool ? Value(arith::ExtUIOp::create(b, loc, to, x))
                  : Value(arith::ExtSIOp::create(b, loc, to, x));
}

} // namespace

void mlir::tessera::populateElementwisePatterns(TypeConverter &tc, RewritePatternSet &p) {
  addArith<AddOp, arith::AddFOp, arith::AddIOp>(tc, p);
  addArith<SubOp, arith::SubFOp, arith::SubIOp>(tc, p);
  addArith<MulOp, arith::MulFOp, arith::MulIOp>(tc, p);
  addArith<DivOp, arith::DivFOp, arith::DivSIOp, arith::DivUIOp>(tc, p);
  addArith<MaxOp, arith::MaximumFOp, arith::MaxSIOp, arith::MaxUIOp>(tc, p);
  addArith<MinOp, arith::MinimumFOp, arith::MinSIOp, arith::MinUIOp>(tc, p);
  addArith<PowOp, math::PowFOp, math::IPowIOp>(tc, p);
  addArith<AndOp, arith::AndIOp, arith::AndIOp>(tc, p);
  addArith<OrOp, arith::OrIOp, arith::OrIOp>(tc, p);
  addArith<XorOp, arith::XOrIOp, arith::XOrIOp>(tc, p);
  addCompare<EqualOp>(tc, p, arith::CmpFPredicate::OEQ, arith::CmpIPredicate::eq);
  addCompare<LessOp>(tc, p, arith::CmpFPredicate::OLT, arith::CmpIPredicate::slt);
  addCompare<LessEqualOp>(tc, p, arith::CmpFPredicate::OLE, arith::CmpIPredicate::sle);
  addCompare<GreaterOp>(tc, p, arith::CmpFPredicate::OGT, arith::CmpIPredicate::sgt);
  addCompare<GreaterEqualOp>(tc, p, arith::CmpFPredicate::OGE, arith::CmpIPredicate::sge);

  addFloatUnary<SqrtOp, math::SqrtOp>(tc, p);
  addFloatUnary<ExpOp, math::ExpOp>(tc, p);
  addFloatUnary<LogOp, math::LogOp>(tc, p);
  addFloatUnary<TanhOp, math::TanhOp>(tc, p);
  addFloatUnary<ErfOp, math::ErfOp>(tc, p);
  addFloatUnary<FloorOp, math::FloorOp>(tc, p);
  addFloatUnary<CeilOp, math::CeilOp>(tc, p);
  addFloatUnary<SinOp, math::SinOp>(tc, p);
  addFloatUnary<CosOp, math::CosOp>(tc, p);
  addFloatUnary<TanOp, math::TanOp>(tc, p);
  addFloatUnary<AsinOp, math::AsinOp>(tc, p);
  addFloatUnary<AcosOp, math::AcosOp>(tc, p);
  addFloatUnary<AtanOp, math::AtanOp>(tc, p);
  addFloatUnary<SinhOp, math::SinhOp>(tc, p);
  addFloatUnary<CoshOp, math::CoshOp>(tc, p);
  addFloatUnary<AsinhOp, math::AsinhOp>(tc, p);
  addFloatUnary<AcoshOp, math::AcoshOp>(tc, p);
  addFloatUnary<AtanhOp, math::AtanhOp>(tc, p);
  addFloatUnary<RoundOp, math::RoundEvenOp>(tc, p);
  addElementwise<ModOp>(tc, p, [](ModOp op, OpBuilder &b, Location loc, Type t,
                                  ValueRange a) -> Value {
    bool fp = isFloat(t);
    if (!fp && isUnsignedOp(op))
      return arith::RemUIOp::create(b, loc, a[0], a[1]);
    Value r = fp ? Value(arith::RemFOp::create(b, loc, a[0], a[1]))
                 : Value(arith::RemSIOp::create(b, loc, a[0], a[1]));
    if (op.getFmod())
      return r;
    // Python's % (NumPy's mod for floats): a non-zero remainder takes the
    // divisor's sign.
    Value zero = scalarConstant(b, loc, t, 0);
    auto cmp = [&](arith::CmpFPredicate f, arith::CmpIPredicate i, Value x) -> Value {
      if (fp)
        return arith::CmpFOp::create(b, loc, f, x, zero);
      return arith::CmpIOp::create(b, loc, i, x, zero);
    };
    Value nonZero = cmp(arith::CmpFPredicate::ONE, arith::CmpIPredicate::ne, r);
    Value rNeg = cmp(arith::CmpFPredicate::OLT, arith::CmpIPredicate::slt, r);
    Value dNeg = cmp(arith::CmpFPredicate::OLT, arith::CmpIPredicate::slt, a[1]);
    Value differ = arith::XOrIOp::create(b, loc, rNeg, dNeg);
    Value fix = arith::AndIOp::create(b, loc, nonZero, differ);
    Value sum = fp ? Value(arith::AddFOp::create(b, loc, r, a[1]))
                   : Value(arith::AddIOp::create(b, loc, r, a[1]));
    return arith::SelectOp::create(b, loc, fix, sum, r);
  });

  addElementwise<AbsOp>(tc, p, [](AbsOp op, OpBuilder &b, Location loc, Type t,
                                  ValueRange a) -> Value {
    if (isFloat(a[0].getType()))
      return math::AbsFOp::create(b, loc, a[0]);
    if (isUnsignedOp(op))
      return a[0];
    // x < 0 ? 0 - x : x, not math.absi: the host phase's convert-to-llvm
    // leaves math.absi illegal (T5's relative position buckets).
    Value zero = scalarConstant(b, loc, t, 0);
    Value neg = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, a[0], zero);
    return arith::SelectOp::create(b, loc, neg,
                                   arith::SubIOp::create(b, loc, zero, a[0]), a[0]);
  });
  addElementwise<NegOp>(tc, p, [](NegOp, OpBuilder &b, Location loc, Type t,
                                  ValueRange a) -> Value {
    if (isFloat(t))
      return arith::NegFOp::create(b, loc, a[0]);
    return arith::SubIOp::create(b, loc, scalarConstant(b, loc, t, 0), a[0]);
  });
  addElementwise<ReluOp>(tc, p, [](ReluOp op, OpBuilder &b, Location loc, Type t,
                                   ValueRange a) -> Value {
    Value zero = scalarConstant(b, loc, t, 0);
    if (isFloat(t))
      return arith::MaximumFOp::create(b, loc, a[0], zero);
    if (isUnsignedOp(op))
      return a[0];
    return arith::MaxSIOp::create(b, loc, a[0], zero);
  });
  addElementwise<SigmoidOp>(tc, p, [](SigmoidOp, OpBuilder &b, Location loc,
                                      Type t, ValueRange a) -> Value {
    Value one = scalarConstant(b, loc, t, 1);
    Value e = math::ExpOp::create(b, loc, arith::NegFOp::create(b, loc, a[0]));
    return arith::DivFOp::create(b, loc, one,
                                 arith::AddFOp::create(b, loc, one, e));
  });
  addElementwise<ReciprocalOp>(tc, p, [](ReciprocalOp, OpBuilder &b,
                                         Location loc, Type t,
                                         ValueRange a) -> Value {
    return arith::DivFOp::create(b, loc, scalarConstant(b, loc, t, 1), a[0]);
  });
  addElementwise<NotOp>(tc, p, [](NotOp, OpBuilder &b, Location loc, Type t,
                                  ValueRange a) -> Value {
    return arith::XOrIOp::create(b, loc, a[0], scalarConstant(b, loc, t, 1));
  });
  addElementwise<LeakyReluOp>(tc, p, [](LeakyReluOp op, OpBuilder &b,
                                        Location loc, Type t,
                                        ValueRange a) -> Value {
    Value zero = scalarConstant(b, loc, t, 0);
    Value alpha = scalarConstant(b, loc, t, op.getAlpha().convertToDouble());
    Value pos = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGE, a[0],
                                      zero);
    return arith::SelectOp::create(b, loc, pos, a[0],
                                   arith::MulFOp::create(b, loc, alpha, a[0]));
  });
  addElementwise<EluOp>(tc, p, [](EluOp op, OpBuilder &b, Location loc, Type t,
                                  ValueRange a) -> Value {
    Value zero = scalarConstant(b, loc, t, 0);
    Value one = scalarConstant(b, loc, t, 1);
    Value alpha = scalarConstant(b, loc, t, op.getAlpha().convertToDouble());
    Value pos = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT, a[0],
                                      zero);
    Value neg = arith::MulFOp::create(
        b, loc, alpha,
        arith::SubFOp::create(b, loc, math::ExpOp::create(b, loc, a[0]), one));
    return arith::SelectOp::create(b, loc, pos, a[0], neg);
  });
  addElementwise<GeluOp>(tc, p, [](GeluOp op, OpBuilder &b, Location loc,
                                   Type t, ValueRange a) -> Value {
    Value x = a[0];
    Value half = scalarConstant(b, loc, t, 0.5);
    Value one = scalarConstant(b, loc, t, 1);
    Value inner;
    if (op.getTanhApproximation()) {
      // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
      Value x3 = arith::MulFOp::create(b, loc, x,
                                       arith::MulFOp::create(b, loc, x, x));
      Value s = arith::AddFOp::create(
          b, loc, x,
          arith::MulFOp::create(b, loc, scalarConstant(b, loc, t, 0.044715), x3));
      inner = math::TanhOp::create(
          b, loc,
          arith::MulFOp::create(
              b, loc, scalarConstant(b, loc, t, 0.7978845608028654), s));
    } else {
      // 0.5 x (1 + erf(x / sqrt(2)))
      inner = math::ErfOp::create(
          b, loc,
          arith::MulFOp::create(
              b, loc, x, scalarConstant(b, loc, t, 0.7071067811865476)));
    }
    return arith::MulFOp::create(
        b, loc, arith::MulFOp::create(b, loc, half, x),
        arith::AddFOp::create(b, loc, one, inner));
  });
  addElementwise<ClipOp>(tc, p, [](ClipOp op, OpBuilder &b, Location loc,
                                   Type t, ValueRange a) -> Value {
    Value x = a[0];
    unsigned next = 1;
    bool f = isFloat(t), u = isUnsignedOp(op);
    if (op.getMin()) {
      Value lo = a[next++];
      x = f   ? Value(arith::MaximumFOp::create(b, loc, x, lo))
          : u ? Value(arith::MaxUIOp::create(b, loc, x, lo))
              : Value(arith::MaxSIOp::create(b, loc, x, lo));
    }
    if (op.getMax()) {
      Value hi = a[next++];
      x = f   ? Value(arith::MinimumFOp::create(b, loc, x, hi))
          : u ? Value(arith::MinUIOp::create(b, loc, x, hi))
              : Value(arith::MinSIOp::create(b, loc, x, hi));
    }
    return x;
  });
  addElementwise<CastOp>(tc, p, [](CastOp op, OpBuilder &b, Location loc, Type t,
                                   ValueRange a) -> Value {
    return castScalar(b, loc, a[0], t, isUnsignedOp(op), hasUnsignedResult(op),
                      op.getSaturate());
  });
  addElementwise<WhereOp>(tc, p, [](WhereOp, OpBuilder &b, Location loc, Type,
                                    ValueRange a) -> Value {
    return arith::SelectOp::create(b, loc, a[0], a[1], a[2]);
  });
  addElementwise<ExpandOp>(tc, p, [](ExpandOp, OpBuilder &, Location, Type,
                                     ValueRange a) -> Value { return a[0]; });
}
