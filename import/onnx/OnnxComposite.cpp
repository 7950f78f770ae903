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
//   Range            a constant (its inputs must be constants)
//   ConvTranspose    conv over the upsampled input (OnnxConvTranspose.cpp)
//
//===----------------------------------------------------------------------===//

#include "import/onnx/ImporterImpl.h"

#include "dialects/Tessera/IR/TesseraOps.h"

#include "mlir/IR/Matchers.h"
#include "llvm/ADT/StringMap.h"

#include <cmath>

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
  return g.setOutputs(*y);
}

/// x * a + b with 0-d constants of x's element type.
FailureOr<Value> affine(GI &g, Value x, double a, double b) {
  Type t = typeOf(x).getElementType();
  TRY(scaled, g.create1<ts::MulOp>({x, g.scalar(t, a)}));
  return g.create1<ts::AddOp>({*scaled, g.scalar(t, b)});
}

LogicalResult convertHardSigmoid(GI &g) {
  TRY(x, g.requiredInput(0));
  TRY(lin, affine(g, *x, g.attrFloat("alpha", 0.2f), g.attrFloat("beta", 0.5f)));
  Type t = typeOf(*x).getElementType();
  int32_t segments[] = {1, 1, 1};
  TRY(y, g.create1<ts::ClipOp>(
             {*lin, g.scalar(t, 0), g.scalar(t, 1)},
             {g.named("operandSegmentSizes", g.builder.getDenseI32ArrayAttr(segments))},
             lin->getType()));
  return g.setOutputs(*y);
}

LogicalResult convertSoftplus(GI &g) {
  TRY(x, g.requiredInput(0));
  TRY(e, unaryOf<ts::ExpOp>(g, *x));
  TRY(p, g.create1<ts::AddOp>({*e, g.scalar(typeOf(*x).getElementType(), 1)}));
  TRY(y, unaryOf<ts::LogOp>(g, *p));
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

OpConverter mlir::tessera::onnx_import::lookupCompositeConverter(llvm::StringRef opType) {
  static const llvm::StringMap<OpConverter> table = {
      {"ReduceSumSquare", convertReduceForm<ReduceForm::SumSquare>},
      {"ReduceL1", convertReduceForm<ReduceForm::L1>},
      {"ReduceL2", convertReduceForm<ReduceForm::L2>},
      {"ReduceLogSum", convertReduceForm<ReduceForm::LogSum>},
      {"ReduceLogSumExp", convertReduceForm<ReduceForm::LogSumExp>},
      {"CastLike", convertCastLike},
      {"HardSigmoid", convertHardSigmoid},
      {"Softplus", convertSoftplus},
      {"Softsign", convertSoftsign},
      {"Selu", convertSelu},
      {"PRelu", convertPRelu},
      {"Range", convertRange},
      {"ConvTranspose", convertConvTranspose},
  };
  return table.lookup(opType);
}
