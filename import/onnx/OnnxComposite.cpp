//===- OnnxComposite.cpp - ONNX ops composed from other tessera ops -------===//
//
// ONNX functions (ops the ONNX spec itself defines from simpler ones) are
// imported as the tessera ops that compute them, so later passes, sharding
// rules and lowerings see a small op set:
//
//   ReduceSumSquare  reduce_sum(x * x)        ReduceL1   reduce_sum(|x|)
//   ReduceL2         sqrt(reduce_sum(x * x))  ReduceLogSum  log(reduce_sum(x))
//   ReduceLogSumExp  m + log(reduce_sum(exp(x - m))), m = reduce_max(x)
//   HardSigmoid      clip(alpha * x + beta, 0, 1)
//   Softplus         log(exp(x) + 1)          Softsign   x / (1 + |x|)
//   Selu             gamma * elu(x, alpha)    PRelu      where(x < 0, slope * x, x)
//                    (before opset 7 a 1-D slope is per channel)
//   CastLike         cast(x) to target's element type
//   BitCast          cast(x) between integers of one width (bool to 8 bits)
//   Mish             x * tanh(softplus(x))    Swish      x * sigmoid(alpha * x)
//   HardSwish        x * hardsigmoid(x, 1/6, 1/2)
//   SwiGLU           a * sigmoid(alpha * a) * b (opset 28)
//   Celu             max(0, x) + min(0, alpha * (exp(x / alpha) - 1))
//   ThresholdedRelu  where(x > alpha, x, 0)   Shrink     x -/+ bias beyond +-lambd
//   Sign             where(x > 0, 1, where(x < 0, -1, x))
//   IsNaN            not(x == x)              IsInf      x == +inf or x == -inf
//   BitwiseAnd/Or/Xor  and / or / xor on integers
//   BitwiseNot       xor(x, all ones)
//   BitShift         x * p (LEFT) or x / p (RIGHT, unsigned; a negative
//                    signed x as ~(~x / p)), p = [1, 2, ..., 2^(w-1), 0][y]
//                    with y = w where y < 0 or y >= w (opset 28's rule)
//   Range            a constant (its inputs must be constants)
//   ConvTranspose    conv over the upsampled input (OnnxConvTranspose.cpp)
//
//===----------------------------------------------------------------------===//

#include "import/onnx/ImporterImpl.h"

#include "dialects/Tessera/IR/TesseraOps.h"

#include "mlir/IR/Matchers.h"
#include "llvm/ADT/StringMap.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace mlir::tessera::onnx_import;
namespace ts = mlir::tessera;

namespace {
using GI = GraphImporter;

template <typename OpTy>
FailureOr<Value> unaryOf(GI &g, Value x) {
  return g.create1<OpTy>(x, {}, x.getType());
}

enum class ReduceForm { SumSquare, L1, L2, LogSum, LogSumExp };

template <ReduceForm form>
LogicalResult convertReduceForm(GI &g) {
  TRY(x, g.requiredInput(0));
  TRY(axes, g.reductionAxes(typeOf(*x).getRank()));
  if (!*axes)
    return g.setOutputs(*x);
  bool keepdims = g.attrInt("keepdims", 1) != 0;
  // Over no elements: sums are 0, their logarithms -inf.
  double inf = std::numeric_limits<double>::infinity();
  bool logarithm = form == ReduceForm::LogSum || form == ReduceForm::LogSumExp;
  if (Value empty = g.emptyReduction(*x, **axes, keepdims, logarithm ? -inf : 0.0))
    return g.setOutputs(empty);
  Value in = *x;
  if (form == ReduceForm::SumSquare || form == ReduceForm::L2) {
    TRY(sq, g.create1<ts::MulOp>({in, in}));
    in = *sq;
  } else if (form == ReduceForm::L1) {
    TRY(abs, unaryOf<ts::AbsOp>(g, in));
    in = *abs;
  }
  if (form == ReduceForm::LogSumExp) {
    TRY(max, g.reduce<ts::ReduceMaxOp>(in, **axes, /*keepdims=*/true));
    TRY(shifted, g.create1<ts::SubOp>({in, *max}));
    TRY(e, unaryOf<ts::ExpOp>(g, *shifted));
    TRY(sum, g.reduce<ts::ReduceSumOp>(*e, **axes, keepdims));
    TRY(log, unaryOf<ts::LogOp>(g, *sum));
    TRY(m, g.reshape(*max, typeOf(*log).getShape()));
    TRY(y, g.create1<ts::AddOp>({*log, *m}));
    return g.setOutputs(*y);
  }
  TRY(sum, g.reduce<ts::ReduceSumOp>(in, **axes, keepdims));
  if (form == ReduceForm::L2) {
    TRY(y, unaryOf<ts::SqrtOp>(g, *sum));
    return g.setOutputs(*y);
  }
  if (form == ReduceForm::LogSum) {
    TRY(y, unaryOf<ts::LogOp>(g, *sum));
    return g.setOutputs(*y);
  }
  return g.setOutputs(*sum);
}

LogicalResult convertCastLike(GI &g) {
  TRY(x, g.requiredInput(0));
  TRY(like, g.requiredInput(1));
  TRY(y, g.castTo(*x, typeOf(*like).getElementType()));
  if (g.attrInt("saturate", 1) == 0)
    if (auto c = y->getDefiningOp<ts::CastOp>())
      c.setSaturate(false);
  return g.setOutputs(*y);
}

/// BitCast (opset 26) between integers of one width (and bool to an 8-bit
/// integer): the same bits, so a cast that keeps them. Float bit patterns
/// are unsupported.
LogicalResult convertBitCast(GI &g) {
  TRY(x, g.requiredInput(0));
  int64_t to = g.attrInt("to", 0);
  Type target = convertDataType(g.ctx, static_cast<int32_t>(to));
  Type from = typeOf(*x).getElementType();
  if (!target)
    return g.unsupported("bit cast to " + dataTypeName(static_cast<int32_t>(to)));
  auto fi = dyn_cast<IntegerType>(from), ti = dyn_cast<IntegerType>(target);
  if (!fi || !ti || ti.getWidth() == 1)
    return g.unsupported("bit cast of floats (to " + dataTypeName(static_cast<int32_t>(to)) + ")");
  unsigned fw = fi.getWidth() == 1 ? 8 : fi.getWidth();
  if (fw != ti.getWidth())
    return g.fail("BitCast between types of different widths");
  TRY(y, g.castTo(*x, target));
  return g.setOutputs(*y);
}

/// x * a + b with 0-d constants of x's element type.
FailureOr<Value> affine(GI &g, Value x, double a, double b) {
  Type t = typeOf(x).getElementType();
  TRY(scaled, g.create1<ts::MulOp>({x, g.scalar(t, a)}));
  return g.create1<ts::AddOp>({*scaled, g.scalar(t, b)});
}

FailureOr<Value> softplus(GI &g, Value x) {
  TRY(e, unaryOf<ts::ExpOp>(g, x));
  TRY(p, g.create1<ts::AddOp>({*e, g.scalar(typeOf(x).getElementType(), 1)}));
  return unaryOf<ts::LogOp>(g, *p);
}

/// clip(alpha * x + beta, 0, 1)
FailureOr<Value> hardSigmoid(GI &g, Value x, double alpha, double beta) {
  TRY(lin, affine(g, x, alpha, beta));
  Type t = typeOf(x).getElementType();
  int32_t segments[] = {1, 1, 1};
  return g.create1<ts::ClipOp>(
      {*lin, g.scalar(t, 0), g.scalar(t, 1)},
      {g.named("operandSegmentSizes", g.builder.getDenseI32ArrayAttr(segments))},
      lin->getType());
}

LogicalResult convertMish(GI &g) {
  TRY(x, g.requiredInput(0));
  TRY(sp, softplus(g, *x));
  TRY(th, unaryOf<ts::TanhOp>(g, *sp));
  TRY(y, g.create1<ts::MulOp>({*x, *th}));
  return g.setOutputs(*y);
}

LogicalResult convertSwish(GI &g) {
  TRY(x, g.requiredInput(0));
  TRY(ax, g.create1<ts::MulOp>({*x, g.scalar(typeOf(*x).getElementType(),
                                              g.attrFloat("alpha", 1.0f))}));
  TRY(s, unaryOf<ts::SigmoidOp>(g, *ax));
  TRY(y, g.create1<ts::MulOp>({*x, *s}));
  return g.setOutputs(*y);
}

LogicalResult convertSwiGLU(GI &g) {
  TRY(a, g.requiredInput(0));
  TRY(b, g.requiredInput(1));
  if (typeOf(*a) != typeOf(*b))
    return g.fail("A and B must have the same type and shape");
  TRY(ax, g.create1<ts::MulOp>({*a, g.scalar(typeOf(*a).getElementType(),
                                              g.attrFloat("alpha", 1.0f))}));
  TRY(s, unaryOf<ts::SigmoidOp>(g, *ax));
  TRY(gate, g.create1<ts::MulOp>({*a, *s}));
  TRY(y, g.create1<ts::MulOp>({*gate, *b}));
  return g.setOutputs(*y);
}

LogicalResult convertHardSwish(GI &g) {
  TRY(x, g.requiredInput(0));
  TRY(h, hardSigmoid(g, *x, 1.0 / 6.0, 0.5));
  TRY(y, g.create1<ts::MulOp>({*x, *h}));
  return g.setOutputs(*y);
}

LogicalResult convertCelu(GI &g) {
  TRY(x, g.requiredInput(0));
  Type t = typeOf(*x).getElementType();
  double alpha = g.attrFloat("alpha", 1.0f);
  TRY(scaled, g.create1<ts::DivOp>({*x, g.scalar(t, alpha)}));
  TRY(e, unaryOf<ts::ExpOp>(g, *scaled));
  TRY(em1, affine(g, *e, alpha, -alpha));
  TRY(neg, g.create1<ts::MinOp>({*em1, g.scalar(t, 0)}));
  TRY(pos, g.create1<ts::MaxOp>({*x, g.scalar(t, 0)}));
  TRY(y, g.create1<ts::AddOp>({*pos, *neg}));
  return g.setOutputs(*y);
}

LogicalResult convertThresholdedRelu(GI &g) {
  TRY(x, g.requiredInput(0));
  Type t = typeOf(*x).getElementType();
  TRY(above, g.create1<ts::GreaterOp>({*x, g.scalar(t, g.attrFloat("alpha", 1.0f))}));
  TRY(y, g.create1<ts::WhereOp>({*above, *x, g.scalar(t, 0)}));
  return g.setOutputs(*y);
}

LogicalResult convertShrink(GI &g) {
  TRY(x, g.requiredInput(0));
  Type t = typeOf(*x).getElementType();
  double lambd = g.attrFloat("lambd", 0.5f), bias = g.attrFloat("bias", 0.0f);
  TRY(low, g.create1<ts::LessOp>({*x, g.scalar(t, -lambd)}));
  TRY(high, g.create1<ts::GreaterOp>({*x, g.scalar(t, lambd)}));
  TRY(plus, g.create1<ts::AddOp>({*x, g.scalar(t, bias)}));
  TRY(minus, g.create1<ts::SubOp>({*x, g.scalar(t, bias)}));
  TRY(inner, g.create1<ts::WhereOp>({*high, *minus, g.scalar(t, 0)}));
  TRY(y, g.create1<ts::WhereOp>({*low, *plus, *inner}));
  return g.setOutputs(*y);
}

LogicalResult convertSign(GI &g) {
  TRY(x, g.requiredInput(0));
  Type t = typeOf(*x).getElementType();
  TRY(pos, g.create1<ts::GreaterOp>({*x, g.scalar(t, 0)}));
  TRY(neg, g.create1<ts::LessOp>({*x, g.scalar(t, 0)}));
  TRY(inner, g.create1<ts::WhereOp>({*neg, g.scalar(t, -1), *x}));
  TRY(y, g.create1<ts::WhereOp>({*pos, g.scalar(t, 1), *inner}));
  return g.setOutputs(*y);
}

LogicalResult convertIsNaN(GI &g) {
  TRY(x, g.requiredInput(0));
  TRY(same, g.create1<ts::EqualOp>({*x, *x}));
  TRY(y, unaryOf<ts::NotOp>(g, *same));
  return g.setOutputs(*y);
}

LogicalResult convertIsInf(GI &g) {
  TRY(x, g.requiredInput(0));
  Type t = typeOf(*x).getElementType();
  if (!isa<FloatType>(t))
    return g.fail("IsInf expects a floating-point input");
  double inf = std::numeric_limits<double>::infinity();
  bool positive = g.attrInt("detect_positive", 1) != 0;
  bool negative = g.attrInt("detect_negative", 1) != 0;
  // Nothing to detect: x < -inf is false everywhere, NaN included.
  if (!positive && !negative) {
    TRY(none, g.create1<ts::LessOp>({*x, g.scalar(t, -inf)}));
    return g.setOutputs(*none);
  }
  TRY(pos, g.create1<ts::EqualOp>({*x, g.scalar(t, inf)}));
  TRY(neg, g.create1<ts::EqualOp>({*x, g.scalar(t, -inf)}));
  if (!negative)
    return g.setOutputs(*pos);
  if (!positive)
    return g.setOutputs(*neg);
  TRY(y, g.create1<ts::OrOp>({*pos, *neg}));
  return g.setOutputs(*y);
}

LogicalResult convertHardSigmoid(GI &g) {
  TRY(x, g.requiredInput(0));
  TRY(y, hardSigmoid(g, *x, g.attrFloat("alpha", 0.2f), g.attrFloat("beta", 0.5f)));
  return g.setOutputs(*y);
}

LogicalResult convertSoftplus(GI &g) {
  TRY(x, g.requiredInput(0));
  TRY(y, softplus(g, *x));
  return g.setOutputs(*y);
}

LogicalResult convertSoftsign(GI &g) {
  TRY(x, g.requiredInput(0));
  TRY(a, unaryOf<ts::AbsOp>(g, *x));
  TRY(d, g.create1<ts::AddOp>({*a, g.scalar(typeOf(*x).getElementType(), 1)}));
  TRY(y, g.create1<ts::DivOp>({*x, *d}));
  return g.setOutputs(*y);
}

LogicalResult convertSelu(GI &g) {
  TRY(x, g.requiredInput(0));
  float alpha = g.attrFloat("alpha", 1.67326319217681884765625f);
  float gamma = g.attrFloat("gamma", 1.05070102214813232421875f);
  TRY(elu, g.create1<ts::EluOp>(
               *x, {g.named("alpha", g.builder.getF32FloatAttr(alpha))},
               x->getType()));
  TRY(y, g.create1<ts::MulOp>({*elu, g.scalar(typeOf(*x).getElementType(), gamma)}));
  return g.setOutputs(*y);
}

LogicalResult convertPRelu(GI &g) {
  TRY(x, g.requiredInput(0));
  TRY(slope, g.requiredInput(1));
  Type t = typeOf(*x).getElementType();
  // Before opset 7 a 1-D slope applies per channel (dimension 1).
  RankedTensorType xt = typeOf(*x), st = typeOf(*slope);
  if (g.opset < 7 && st.getRank() == 1 && xt.getRank() >= 2 &&
      st.getDimSize(0) == xt.getDimSize(1) && xt.getDimSize(1) != 1) {
    SmallVector<int64_t> shape(xt.getRank() - 1, 1);
    shape[0] = st.getDimSize(0);
    TRY(r, g.reshape(*slope, shape));
    slope = r;
  }
  TRY(neg, g.create1<ts::LessOp>({*x, g.scalar(t, 0)}));
  TRY(scaled, g.create1<ts::MulOp>({*x, *slope}));
  TRY(y, g.create1<ts::WhereOp>({*neg, *scaled, *x}));
  if (typeOf(*y).getShape() != typeOf(*x).getShape())
    return g.fail("slope must broadcast to the input's shape");
  return g.setOutputs(*y);
}

LogicalResult convertRange(GI &g) {
  Value start = g.input(0), limit = g.input(1), delta = g.input(2);
  DenseElementsAttr s, l, d;
  if (!start || !limit || !delta || !matchPattern(start, m_Constant(&s)) ||
      !matchPattern(limit, m_Constant(&l)) || !matchPattern(delta, m_Constant(&d)) ||
      s.getNumElements() != 1 || l.getNumElements() != 1 || d.getNumElements() != 1)
    return g.fail("start, limit and delta must be constant scalars; unsupported "
                  "data-dependent shape");
  Type t = s.getElementType();
  auto value = [](DenseElementsAttr a) {
    return isa<FloatType>(a.getElementType())
               ? (*a.getValues<APFloat>().begin()).convertToDouble()
               : static_cast<double>((*a.getValues<APInt>().begin()).getSExtValue());
  };
  double first = value(s), last = value(l), step = value(d);
  if (step == 0)
    return g.fail("delta is zero");
  double n = std::ceil((last - first) / step);
  if (!(n < 1e8))
    return g.fail("the range has too many elements");
  int64_t count = n > 0 ? static_cast<int64_t>(n) : 0;
  auto type = RankedTensorType::get({count}, t);
  SmallVector<Attribute> values;
  for (int64_t i = 0; i < count; ++i) {
    double v = first + static_cast<double>(i) * step;
    values.push_back(isa<FloatType>(t)
                         ? Attribute(g.builder.getFloatAttr(t, v))
                         : Attribute(g.builder.getIntegerAttr(
                               t, static_cast<int64_t>(value(s)) +
                                      i * static_cast<int64_t>(value(d)))));
  }
  return g.setOutputs(g.constant(DenseElementsAttr::get(type, values)));
}

} // namespace

template <typename OpTy>
LogicalResult convertBitwise(GI &g) {
  TRY(x, g.requiredInput(0));
  TRY(y, g.requiredInput(1));
  if (!isa<IntegerType>(typeOf(*x).getElementType()) ||
      typeOf(*x).getElementType().isInteger(1))
    return g.fail("bitwise ops take integers");
  TRY(r, g.create1<OpTy>({*x, *y}));
  return g.setOutputs(*r);
}

LogicalResult convertBitwiseNot(GI &g) {
  TRY(x, g.requiredInput(0));
  auto it = dyn_cast<IntegerType>(typeOf(*x).getElementType());
  if (!it || it.getWidth() == 1)
    return g.fail("BitwiseNot takes integers");
  Value ones = g.constant(DenseElementsAttr::get(RankedTensorType::get({}, it),
                                                 APInt::getAllOnes(it.getWidth())));
  TRY(y, g.create1<ts::XorOp>({*x, ones}));
  return g.setOutputs(*y);
}

LogicalResult convertBitShift(GI &g) {
  TRY(x, g.requiredInput(0));
  TRY(y, g.requiredInput(1));
  std::string direction = g.attrString("direction", "");
  if (direction != "LEFT" && direction != "RIGHT")
    return g.fail("BitShift's direction must be LEFT or RIGHT, not '" + direction + "'");
  auto it = dyn_cast<IntegerType>(typeOf(*x).getElementType());
  if (!it || it.getWidth() == 1 || typeOf(*y).getElementType() != it)
    return g.fail("BitShift takes two tensors of one integer type");
  unsigned w = it.getWidth();
  bool isSigned = !it.isUnsigned();
  auto ut = IntegerType::get(g.ctx, w, IntegerType::Unsigned);
  auto scalarOf = [&](Type t, const APInt &v) {
    return g.constant(DenseElementsAttr::get(RankedTensorType::get({}, t), v));
  };
  // The shift amount; the width where it is negative or the width or more
  // (opset 28: such shifts give only the sign bit's extension).
  Value width = scalarOf(it, APInt(w, w));
  TRY(negative, g.create1<ts::LessOp>({*y, scalarOf(it, APInt(w, 0))}));
  TRY(beyond, g.create1<ts::GreaterEqualOp>({*y, width}));
  TRY(invalid, g.create1<ts::OrOp>({*negative, *beyond}));
  TRY(amount, g.create1<ts::WhereOp>({*invalid, width, *y}));
  TRY(index, g.castTo(*amount, g.builder.getI64Type()));
  // 2^amount from a table of the powers of two, 0 past the width.
  auto power = [&](Type t) -> FailureOr<Value> {
    SmallVector<APInt> powers;
    for (unsigned i = 0; i < w; ++i)
      powers.push_back(APInt::getOneBitSet(w, i));
    powers.push_back(APInt(w, 0));
    Value table = g.constant(DenseElementsAttr::get(
        RankedTensorType::get({static_cast<int64_t>(w) + 1}, t), powers));
    return g.create1<ts::GatherOp>({table, *index},
                                   {g.named("axis", g.builder.getI64IntegerAttr(0))});
  };
  if (direction == "LEFT") {
    TRY(p, power(it));
    TRY(r, g.create1<ts::MulOp>({*x, *p}));
    return g.setOutputs(*r);
  }
  // RIGHT: an unsigned division by 2^amount; a signed x is shifted as ~x
  // when negative (ashr(x) = ~(lshr(~x)) for x < 0).
  Value ones = scalarOf(it, APInt::getAllOnes(w));
  Value t = *x, negX;
  if (isSigned) {
    TRY(n, g.create1<ts::LessOp>({*x, scalarOf(it, APInt(w, 0))}));
    TRY(inverted, g.create1<ts::XorOp>({*x, ones}));
    TRY(flipped, g.create1<ts::WhereOp>({*n, *inverted, *x}));
    TRY(u, g.castTo(*flipped, ut));
    negX = *n;
    t = *u;
  }
  TRY(p, power(ut));
  Value zero = scalarOf(ut, APInt(w, 0));
  TRY(past, g.create1<ts::EqualOp>({*p, zero}));
  TRY(divisor, g.create1<ts::MaxOp>({*p, scalarOf(ut, APInt(w, 1))}));
  TRY(q, g.create1<ts::DivOp>({t, *divisor}));
  TRY(shifted, g.create1<ts::WhereOp>({*past, zero, *q}));
  if (!isSigned)
    return g.setOutputs(*shifted);
  TRY(qs, g.castTo(*shifted, it));
  TRY(inverted, g.create1<ts::XorOp>({*qs, ones}));
  TRY(r, g.create1<ts::WhereOp>({negX, *inverted, *qs}));
  return g.setOutputs(*r);
}

OpConverter mlir::tessera::onnx_import::lookupCompositeConverter(llvm::StringRef opType) {
  static const llvm::StringMap<OpConverter> table = {
      {"ReduceSumSquare", convertReduceForm<ReduceForm::SumSquare>},
      {"ReduceL1", convertReduceForm<ReduceForm::L1>},
      {"ReduceL2", convertReduceForm<ReduceForm::L2>},
      {"ReduceLogSum", convertReduceForm<ReduceForm::LogSum>},
      {"ReduceLogSumExp", convertReduceForm<ReduceForm::LogSumExp>},
      {"CastLike", convertCastLike},
      {"BitCast", convertBitCast},
      {"HardSigmoid", convertHardSigmoid},
      {"Softplus", convertSoftplus},
      {"Softsign", convertSoftsign},
      {"Selu", convertSelu},
      {"PRelu", convertPRelu},
      {"Range", convertRange},
      {"Mish", convertMish},
      {"Swish", convertSwish},
      {"HardSwish", convertHardSwish},
      {"SwiGLU", convertSwiGLU},
      {"Celu", convertCelu},
      {"ThresholdedRelu", convertThresholdedRelu},
      {"Shrink", convertShrink},
      {"Sign", convertSign},
      {"IsNaN", convertIsNaN},
      {"IsInf", convertIsInf},
      {"BitwiseAnd", convertBitwise<ts::AndOp>},
      {"BitwiseOr", convertBitwise<ts::OrOp>},
      {"BitwiseXor", convertBitwise<ts::XorOp>},
      {"BitwiseNot", convertBitwiseNot},
      {"BitShift", convertBitShift},
      {"ConvTranspose", convertConvTranspose},
  };
  return table.lookup(opType);
}
