//===- TesseraFold.cpp - Constant folding of tessera ops ------------------===//
//
// Exporters emit shape arithmetic (Shape, Gather, Concat, Cast, Unsqueeze,
// arithmetic on i64 vectors). Shapes are static in Tessera, so all of it folds
// to constants here. Folding works on `dense<...>` attributes of at most
// kMaxFoldElements elements; weights (dense resources) are never copied.
//
//===----------------------------------------------------------------------===//

#include "dialects/Tessera/IR/TesseraOps.h"

#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "llvm/ADT/APFloat.h"
#include "llvm/ADT/APSInt.h"

#include <cmath>

using namespace mlir;
using namespace mlir::tessera;

namespace {
constexpr int64_t kMaxFoldElements = 1 << 16;

DenseElementsAttr foldable(Attribute attr) {
  auto dense = dyn_cast_or_null<DenseElementsAttr>(attr);
  if (!dense || dense.getNumElements() > kMaxFoldElements)
    return {};
  return dense;
}

SmallVector<int64_t> rowMajorStrides(ArrayRef<int64_t> shape) {
  SmallVector<int64_t> strides(shape.size(), 1);
  for (int64_t i = static_cast<int64_t>(shape.size()) - 2; i >= 0; --i)
    strides[i] = strides[i + 1] * shape[i + 1];
  return strides;
}

/// Maps a linear index of the broadcast result to the linear index of an
/// operand of shape `operand` (right-aligned, size-1 dimensions repeat).
int64_t broadcastSource(int64_t linear, ArrayRef<int64_t> result,
                        ArrayRef<int64_t> operand) {
  int64_t source = 0, stride = 1;
  for (int64_t i = static_cast<int64_t>(result.size()) - 1,
               j = static_cast<int64_t>(operand.size()) - 1;
       i >= 0; --i, --j) {
    int64_t coord = linear % result[i];
    linear /= result[i];
    if (j < 0)
      continue;
    if (operand[j] != 1)
      source += coord * stride;
    stride *= operand[j];
  }
  return source;
}

/// Elementwise fold over broadcast constant operands. `fn` receives the
/// operand values at one position and returns the result element, or
/// nullopt to abandon the fold (division by zero, overflow).
template <typename In, typename Out, typename Fn>
DenseElementsAttr foldElementwise(ArrayRef<DenseElementsAttr> operands,
                                  ShapedType resultType, Fn fn) {
  if (resultType.getNumElements() > kMaxFoldElements)
    return {};
  SmallVector<SmallVector<In>> values;
  for (DenseElementsAttr attr : operands)
    values.emplace_back(attr.getValues<In>());
  SmallVector<Out> out;
  out.reserve(resultType.getNumElements());
  SmallVector<In> args;
  for (int64_t i = 0, e = resultType.getNumElements(); i < e; ++i) {
    args.clear();
    for (auto [attr, vals] : llvm::zip(operands, values))
      args.push_back(vals[broadcastSource(i, resultType.getShape(),
                                          attr.getType().getShape())]);
    std::optional<Out> v = fn(ArrayRef<In>(args));
    if (!v)
      return {};
    out.push_back(*v);
  }
  return DenseElementsAttr::get(resultType, out);
}

/// Folds a binary op given integer and float element functions.
template <typename IntFn, typename FloatFn>
OpFoldResult foldBinary(ArrayRef<Attribute> operands, Type resultType,
                        IntFn intFn, FloatFn floatFn) {
  DenseElementsAttr lhs = foldable(operands[0]), rhs = foldable(operands[1]);
  if (!lhs || !rhs)
    return {};
  auto type = cast<ShapedType>(resultType);
  Type outElement = type.getElementType();
  if (isa<FloatType>(lhs.getElementType())) {
    using R = std::invoke_result_t<FloatFn, APFloat, APFloat>;
    if constexpr (std::is_same_v<R, std::optional<APFloat>>) {
      return foldElementwise<APFloat, APFloat>(
          {lhs, rhs}, type,
          [&](ArrayRef<APFloat> a) { return floatFn(a[0], a[1]); });
    } else {
      return foldElementwise<APFloat, APInt>(
          {lhs, rhs}, type,
          [&](ArrayRef<APFloat> a) { return floatFn(a[0], a[1]); });
    }
  }
  (void)outElement;
  return foldElementwise<APInt, APInt>(
      {lhs, rhs}, type, [&](ArrayRef<APInt> a) { return intFn(a[0], a[1]); });
}

/// Whether the element type of `attr` (a constant operand) is an unsigned
/// integer: the ops whose meaning depends on signedness fold only signed
/// and signless integers (the lowering handles unsigned ones).
bool isUnsignedConstant(Attribute attr) {
  auto dense = dyn_cast_or_null<DenseElementsAttr>(attr);
  return dense && dense.getElementType().isUnsignedInteger();
}

std::optional<APInt> boolAPInt(bool b) { return APInt(1, b ? 1 : 0); }

/// Floats with no float function: abandons the fold.
constexpr auto noFloat = [](const APFloat &, const APFloat &) {
  return std::optional<APFloat>();
};

} // namespace

//===----------------------------------------------------------------------===//
// Constants and shapes
//===----------------------------------------------------------------------===//

OpFoldResult ConstantOp::fold(FoldAdaptor) { return getValue(); }

OpFoldResult ShapeOp::fold(FoldAdaptor) {
  ArrayRef<int64_t> shape = getInput().getType().getShape();
  return DenseElementsAttr::get(
      getOutput().getType(),
      shape.slice(getStart(), getEnd() - getStart()));
}

//===----------------------------------------------------------------------===//
// Elementwise
//===----------------------------------------------------------------------===//

OpFoldResult NegOp::fold(FoldAdaptor adaptor) {
  DenseElementsAttr x = foldable(adaptor.getInput());
  if (!x)
    return {};
  auto type = getOutput().getType();
  if (isa<FloatType>(type.getElementType()))
    return foldElementwise<APFloat, APFloat>({x}, type, [](ArrayRef<APFloat> a) {
      return std::optional<APFloat>(-a[0]);
    });
  return foldElementwise<APInt, APInt>({x}, type, [](ArrayRef<APInt> a) {
    return std::optional<APInt>(-a[0]);
  });
}

OpFoldResult NotOp::fold(FoldAdaptor adaptor) {
  DenseElementsAttr x = foldable(adaptor.getInput());
  if (!x)
    return {};
  return foldElementwise<APInt, APInt>(
      {x}, getOutput().getType(),
      [](ArrayRef<APInt> a) { return std::optional<APInt>(~a[0]); });
}

OpFoldResult CastOp::fold(FoldAdaptor adaptor) {
  if (getInput().getType() == getOutput().getType())
    return getInput();
  DenseElementsAttr x = foldable(adaptor.getInput());
  if (!x)
    return {};
  RankedTensorType outType = getOutput().getType();
  Type from = x.getElementType(), to = outType.getElementType();
  // Float8 and float4 conversions (saturation, the formats' NaNs) are the
  // lowering's (MiniFloat.cpp), not APFloat's.
  auto mini = [](Type t) {
    return isa<FloatType>(t) && !t.isF16() && !t.isBF16() && !t.isF32() && !t.isF64();
  };
  if (mini(from) || mini(to))
    return {};
  if (auto toFloat = dyn_cast<FloatType>(to)) {
    const llvm::fltSemantics &sem = toFloat.getFloatSemantics();
    if (isa<FloatType>(from))
      return foldElementwise<APFloat, APFloat>({x}, outType,
                                               [&](ArrayRef<APFloat> a) {
        APFloat v = a[0];
        bool lost;
        v.convert(sem, APFloat::rmNearestTiesToEven, &lost);
        return std::optional<APFloat>(v);
      });
    bool isSigned = from.getIntOrFloatBitWidth() != 1 && !from.isUnsignedInteger();
    return foldElementwise<APInt, APFloat>({x}, outType, [&](ArrayRef<APInt> a) {
      APFloat v(sem);
      v.convertFromAPInt(a[0], isSigned, APFloat::rmNearestTiesToEven);
      return std::optional<APFloat>(v);
    });
  }
  unsigned width = to.getIntOrFloatBitWidth();
  if (isa<FloatType>(from))
    return foldElementwise<APFloat, APInt>({x}, outType,
                                           [&](ArrayRef<APFloat> a) {
      if (width == 1)
        return std::optional<APInt>(APInt(1, a[0].isZero() ? 0 : 1));
      APSInt v(width, /*isUnsigned=*/to.isUnsignedInteger());
      bool exact;
      if (a[0].convertToInteger(v, APFloat::rmTowardZero, &exact) !=
              APFloat::opOK &&
          !exact && (a[0].isNaN() || a[0].isInfinity()))
        return std::optional<APInt>();
      return std::optional<APInt>(APInt(v));
    });
  bool isSigned = from.getIntOrFloatBitWidth() != 1 && !from.isUnsignedInteger();
  return foldElementwise<APInt, APInt>({x}, outType, [&](ArrayRef<APInt> a) {
    if (width == 1)
      return std::optional<APInt>(APInt(1, a[0].isZero() ? 0 : 1));
    return std::optional<APInt>(isSigned ? a[0].sextOrTrunc(width)
                                         : a[0].zextOrTrunc(width));
  });
}

OpFoldResult AddOp::fold(FoldAdaptor adaptor) {
  return foldBinary(
      adaptor.getOperands(), getType(),
      [](const APInt &a, const APInt &b) { return std::optional(a + b); },
      [](const APFloat &a, const APFloat &b) { return std::optional(a + b); });
}

OpFoldResult SubOp::fold(FoldAdaptor adaptor) {
  return foldBinary(
      adaptor.getOperands(), getType(),
      [](const APInt &a, const APInt &b) { return std::optional(a - b); },
      [](const APFloat &a, const APFloat &b) { return std::optional(a - b); });
}

OpFoldResult MulOp::fold(FoldAdaptor adaptor) {
  return foldBinary(
      adaptor.getOperands(), getType(),
      [](const APInt &a, const APInt &b) { return std::optional(a * b); },
      [](const APFloat &a, const APFloat &b) { return std::optional(a * b); });
}

OpFoldResult DivOp::fold(FoldAdaptor adaptor) {
  if (isUnsignedConstant(adaptor.getOperands()[0]))
    return {};
  return foldBinary(
      adaptor.getOperands(), getType(),
      [](const APInt &a, const APInt &b) -> std::optional<APInt> {
        bool overflow = false;
        if (b.isZero())
          return std::nullopt;
        APInt q = a.sdiv_ov(b, overflow);
        if (overflow)
          return std::nullopt;
        return q;
      },
      [](const APFloat &a, const APFloat &b) { return std::optional(a / b); });
}

OpFoldResult PowOp::fold(FoldAdaptor adaptor) {
  return foldBinary(
      adaptor.getOperands(), getType(),
      [](const APInt &a, const APInt &b) -> std::optional<APInt> {
        if (b.isNegative() || b.sgt(64))
          return std::nullopt;
        APInt r(a.getBitWidth(), 1);
        for (int64_t i = 0, e = b.getSExtValue(); i < e; ++i)
          r = r * a;
        return r;
      },
      [](const APFloat &a, const APFloat &b) -> std::optional<APFloat> {
        APFloat da = a, db = b;
        bool lost;
        da.convert(APFloat::IEEEdouble(), APFloat::rmNearestTiesToEven, &lost);
        db.convert(APFloat::IEEEdouble(), APFloat::rmNearestTiesToEven, &lost);
        APFloat r(std::pow(da.convertToDouble(), db.convertToDouble()));
        r.convert(a.getSemantics(), APFloat::rmNearestTiesToEven, &lost);
        return r;
      });
}

OpFoldResult ModOp::fold(FoldAdaptor adaptor) {
  if (isUnsignedConstant(adaptor.getOperands()[0]))
    return {};
  // Shape arithmetic (ONNX's expanded Attention divides head counts).
  bool fmod = getFmod();
  return foldBinary(
      adaptor.getOperands(), getType(),
      [fmod](const APInt &a, const APInt &b) -> std::optional<APInt> {
        if (b.isZero() || (a.isMinSignedValue() && b.isAllOnes()))
          return std::nullopt;
        APInt r = a.srem(b);
        if (!fmod && !r.isZero() && r.isNegative() != b.isNegative())
          r += b;
        return r;
      },
      [fmod](const APFloat &a, const APFloat &b) -> std::optional<APFloat> {
        APFloat r = a;
        r.mod(b);
        if (!fmod && !r.isZero() && !r.isNaN() && r.isNegative() != b.isNegative())
          r.add(b, APFloat::rmNearestTiesToEven);
        return r;
      });
}

OpFoldResult MaxOp::fold(FoldAdaptor adaptor) {
  if (isUnsignedConstant(adaptor.getOperands()[0]))
    return {};
  return foldBinary(
      adaptor.getOperands(), getType(),
      [](const APInt &a, const APInt &b) { return std::optional(llvm::APIntOps::smax(a, b)); },
      [](const APFloat &a, const APFloat &b) { return std::optional(maximum(a, b)); });
}

OpFoldResult MinOp::fold(FoldAdaptor adaptor) {
  if (isUnsignedConstant(adaptor.getOperands()[0]))
    return {};
  return foldBinary(
      adaptor.getOperands(), getType(),
      [](const APInt &a, const APInt &b) { return std::optional(llvm::APIntOps::smin(a, b)); },
      [](const APFloat &a, const APFloat &b) { return std::optional(minimum(a, b)); });
}

OpFoldResult AndOp::fold(FoldAdaptor adaptor) {
  return foldBinary(
      adaptor.getOperands(), getType(),
      [](const APInt &a, const APInt &b) { return std::optional(a & b); }, noFloat);
}

OpFoldResult OrOp::fold(FoldAdaptor adaptor) {
  return foldBinary(
      adaptor.getOperands(), getType(),
      [](const APInt &a, const APInt &b) { return std::optional(a | b); }, noFloat);
}

OpFoldResult XorOp::fold(FoldAdaptor adaptor) {
  return foldBinary(
      adaptor.getOperands(), getType(),
      [](const APInt &a, const APInt &b) { return std::optional(a ^ b); }, noFloat);
}

OpFoldResult EqualOp::fold(FoldAdaptor adaptor) {
  return foldBinary(
      adaptor.getOperands(), getType(),
      [](const APInt &a, const APInt &b) { return boolAPInt(a == b); },
      [](const APFloat &a, const APFloat &b) {
        return boolAPInt(a.compare(b) == APFloat::cmpEqual);
      });
}

OpFoldResult LessOp::fold(FoldAdaptor adaptor) {
  if (isUnsignedConstant(adaptor.getOperands()[0]))
    return {};
  return foldBinary(
      adaptor.getOperands(), getType(),
      [](const APInt &a, const APInt &b) { return boolAPInt(a.slt(b)); },
      [](const APFloat &a, const APFloat &b) {
        return boolAPInt(a.compare(b) == APFloat::cmpLessThan);
      });
}

OpFoldResult LessEqualOp::fold(FoldAdaptor adaptor) {
  if (isUnsignedConstant(adaptor.getOperands()[0]))
    return {};
  return foldBinary(
      adaptor.getOperands(), getType(),
      [](const APInt &a, const APInt &b) { return boolAPInt(a.sle(b)); },
      [](const APFloat &a, const APFloat &b) {
        auto c = a.compare(b);
        return boolAPInt(c == APFloat::cmpLessThan || c == APFloat::cmpEqual);
      });
}

OpFoldResult GreaterOp::fold(FoldAdaptor adaptor) {
  if (isUnsignedConstant(adaptor.getOperands()[0]))
    return {};
  return foldBinary(
      adaptor.getOperands(), getType(),
      [](const APInt &a, const APInt &b) { return boolAPInt(a.sgt(b)); },
      [](const APFloat &a, const APFloat &b) {
        return boolAPInt(a.compare(b) == APFloat::cmpGreaterThan);
      });
}

OpFoldResult GreaterEqualOp::fold(FoldAdaptor adaptor) {
  if (isUnsignedConstant(adaptor.getOperands()[0]))
    return {};
  return foldBinary(
      adaptor.getOperands(), getType(),
      [](const APInt &a, const APInt &b) { return boolAPInt(a.sge(b)); },
      [](const APFloat &a, const APFloat &b) {
        auto c = a.compare(b);
        return boolAPInt(c == APFloat::cmpGreaterThan || c == APFloat::cmpEqual);
      });
}

OpFoldResult WhereOp::fold(FoldAdaptor adaptor) {
  DenseElementsAttr c = foldable(adaptor.getCondition()),
                    x = foldable(adaptor.getX()), y = foldable(adaptor.getY());
  if (!c || !x || !y)
    return {};
  auto type = cast<ShapedType>(getType());
  if (type.getNumElements() > kMaxFoldElements)
    return {};
  SmallVector<bool> cv(c.getValues<bool>());
  SmallVector<Attribute> xv(x.getValues<Attribute>()),
      yv(y.getValues<Attribute>());
  SmallVector<Attribute> out;
  for (int64_t i = 0, e = type.getNumElements(); i < e; ++i) {
    bool pick = cv[broadcastSource(i, type.getShape(), c.getType().getShape())];
    out.push_back(pick ? xv[broadcastSource(i, type.getShape(),
                                            x.getType().getShape())]
                       : yv[broadcastSource(i, type.getShape(),
                                            y.getType().getShape())]);
  }
  return DenseElementsAttr::get(type, out);
}

//===----------------------------------------------------------------------===//
// Reductions
//===----------------------------------------------------------------------===//

namespace {
enum class ReduceKind { Sum, Mean, Max, Min, Prod };

template <typename ReduceOpTy>
OpFoldResult foldReduce(ReduceOpTy op, Attribute inputAttr, ReduceKind kind) {
  if (op.getAxes().empty() && op.getInput().getType() == op.getType())
    return op.getInput();
  DenseElementsAttr x = foldable(inputAttr);
  if (!x || (kind != ReduceKind::Sum && kind != ReduceKind::Prod &&
             isUnsignedConstant(x)))
    return {};
  RankedTensorType inType = op.getInput().getType();
  auto outType = cast<RankedTensorType>(op.getType());
  ArrayRef<int64_t> inShape = inType.getShape();
  ArrayRef<int64_t> axes = op.getAxes();
  // Output linear index of every input element (keepdims shape layout).
  SmallVector<int64_t> keptShape(inShape);
  for (int64_t a : axes)
    keptShape[a] = 1;
  SmallVector<int64_t> keptStrides = rowMajorStrides(keptShape);
  auto target = [&](int64_t linear) {
    int64_t out = 0;
    for (int64_t d = static_cast<int64_t>(inShape.size()) - 1; d >= 0; --d) {
      int64_t coord = linear % inShape[d];
      linear /= inShape[d];
      if (keptShape[d] != 1)
        out += coord * keptStrides[d];
    }
    return out;
  };
  int64_t count = outType.getNumElements() == 0
                      ? 0
                      : inType.getNumElements() / outType.getNumElements();
  if (inType.getNumElements() == 0)
    return {};
  if (auto ft = dyn_cast<FloatType>(inType.getElementType())) {
    SmallVector<APFloat> in(x.getValues<APFloat>());
    SmallVector<std::optional<APFloat>> acc(outType.getNumElements());
    for (auto [i, v] : llvm::enumerate(in)) {
      std::optional<APFloat> &a = acc[target(i)];
      if (!a) {
        a = v;
        continue;
      }
      switch (kind) {
      case ReduceKind::Sum:
      case ReduceKind::Mean: *a = *a + v; break;
      case ReduceKind::Prod: *a = *a * v; break;
      case ReduceKind::Max: *a = maximum(*a, v); break;
      case ReduceKind::Min: *a = minimum(*a, v); break;
      }
    }
    SmallVector<APFloat> out;
    for (auto &a : acc) {
      APFloat v = *a;
      if (kind == ReduceKind::Mean) {
        APFloat n(ft.getFloatSemantics());
        n.convertFromAPInt(APInt(64, count), false, APFloat::rmNearestTiesToEven);
        v = v / n;
      }
      out.push_back(v);
    }
    return DenseElementsAttr::get(outType, out);
  }
  SmallVector<APInt> in(x.getValues<APInt>());
  SmallVector<std::optional<APInt>> acc(outType.getNumElements());
  for (auto [i, v] : llvm::enumerate(in)) {
    std::optional<APInt> &a = acc[target(i)];
    if (!a) {
      a = v;
      continue;
    }
    switch (kind) {
    case ReduceKind::Sum:
    case ReduceKind::Mean: *a = *a + v; break;
    case ReduceKind::Prod: *a = *a * v; break;
    case ReduceKind::Max: *a = llvm::APIntOps::smax(*a, v); break;
    case ReduceKind::Min: *a = llvm::APIntOps::smin(*a, v); break;
    }
  }
  SmallVector<APInt> out;
  for (auto &a : acc) {
    APInt v = *a;
    if (kind == ReduceKind::Mean)
      v = v.sdiv(APInt(v.getBitWidth(), count));
    out.push_back(v);
  }
  return DenseElementsAttr::get(outType, out);
}
} // namespace

OpFoldResult ReduceSumOp::fold(FoldAdaptor a) {
  return foldReduce(*this, a.getInput(), ReduceKind::Sum);
}
OpFoldResult ReduceMeanOp::fold(FoldAdaptor a) {
  return foldReduce(*this, a.getInput(), ReduceKind::Mean);
}
OpFoldResult ReduceMaxOp::fold(FoldAdaptor a) {
  return foldReduce(*this, a.getInput(), ReduceKind::Max);
}
OpFoldResult ReduceMinOp::fold(FoldAdaptor a) {
  return foldReduce(*this, a.getInput(), ReduceKind::Min);
}
OpFoldResult ReduceProdOp::fold(FoldAdaptor a) {
  return foldReduce(*this, a.getInput(), ReduceKind::Prod);
}

//===----------------------------------------------------------------------===//
// Data movement
//===----------------------------------------------------------------------===//

OpFoldResult ReshapeOp::fold(FoldAdaptor adaptor) {
  if (getInput().getType() == getType())
    return getInput();
  if (auto producer = getInput().getDefiningOp<ReshapeOp>()) {
    getInputMutable().assign(producer.getInput());
    return getResult();
  }
  if (auto dense = dyn_cast_or_null<DenseElementsAttr>(adaptor.getInput()))
    return dense.reshape(getType());
  return {};
}

namespace {
/// reshape(transpose(reshape(x))) where the inner reshape merges x's
/// leading dimensions into one, the transpose keeps that dimension first,
/// and the outer reshape splits it back as it was: a transpose of x. The
/// dynamo exporter writes Kᵀ this way ([batch, heads, seq, dim] through
/// [batch * heads, seq, dim]); as three ops, partitioning gathers the heads
/// the merge mixes with the batch.
struct TransposeOfMergedDims : OpRewritePattern<ReshapeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ReshapeOp outer,
                                PatternRewriter &rewriter) const override {
    auto transpose = outer.getInput().getDefiningOp<TransposeOp>();
    auto inner = transpose ? transpose.getInput().getDefiningOp<ReshapeOp>() : ReshapeOp();
    if (!inner)
      return failure();
    auto x = cast<RankedTensorType>(inner.getInput().getType());
    ArrayRef<int64_t> xs = x.getShape(), ys = outer.getType().getShape();
    ArrayRef<int64_t> ms = inner.getType().getShape();
    ArrayRef<int64_t> ts = transpose.getType().getShape();
    ArrayRef<int64_t> perm = transpose.getPerm();
    if (ms.empty() || perm[0] != 0 || xs.size() < ms.size() || !x.hasStaticShape())
      return failure();
    // x = [l_0 .. l_k-1, r...], merged = [l_0 * ... * l_k-1, r...].
    size_t k = xs.size() - (ms.size() - 1);
    int64_t lead = 1;
    for (int64_t d : xs.take_front(k))
      lead *= d;
    if (lead != ms[0] || xs.drop_front(k) != ms.drop_front() ||
        ys.size() != xs.size() || ys.take_front(k) != xs.take_front(k) ||
        ys.drop_front(k) != ts.drop_front())
      return failure();
    SmallVector<int64_t> composed;
    for (size_t i = 0; i < k; ++i)
      composed.push_back(static_cast<int64_t>(i));
    for (int64_t p : perm.drop_front())
      composed.push_back(static_cast<int64_t>(k) - 1 + p);
    rewriter.replaceOpWithNewOp<TransposeOp>(outer, outer.getType(), inner.getInput(),
                                             rewriter.getDenseI64ArrayAttr(composed));
    return success();
  }
};
} // namespace

void ReshapeOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                            MLIRContext *context) {
  results.add<TransposeOfMergedDims>(context);
}

/// Folds a permutation of constant elements: `source(i)` gives, for result
/// linear index i, the operand linear index to read.
template <typename SourceFn>
static OpFoldResult gatherElements(DenseElementsAttr x, ShapedType type,
                                   SourceFn source) {
  if (type.getNumElements() > kMaxFoldElements)
    return {};
  if (x.isSplat())
    return DenseElementsAttr::get(type, x.getSplatValue<Attribute>());
  SmallVector<Attribute> in(x.getValues<Attribute>()), out;
  out.reserve(type.getNumElements());
  for (int64_t i = 0, e = type.getNumElements(); i < e; ++i) {
    std::optional<int64_t> s = source(i);
    if (!s)
      return {};
    out.push_back(in[*s]);
  }
  return DenseElementsAttr::get(type, out);
}

OpFoldResult TransposeOp::fold(FoldAdaptor adaptor) {
  ArrayRef<int64_t> perm = getPerm();
  if (llvm::equal(perm, llvm::seq<int64_t>(0, perm.size())))
    return getInput();
  if (auto producer = getInput().getDefiningOp<TransposeOp>()) {
    SmallVector<int64_t> composed;
    for (int64_t p : perm)
      composed.push_back(producer.getPerm()[p]);
    getInputMutable().assign(producer.getInput());
    setPerm(composed);
    return getResult();
  }
  DenseElementsAttr x = foldable(adaptor.getInput());
  if (!x)
    return {};
  ArrayRef<int64_t> outShape = getType().getShape();
  SmallVector<int64_t> inStrides =
      rowMajorStrides(getInput().getType().getShape());
  return gatherElements(x, getType(), [&](int64_t linear) {
    int64_t src = 0;
    for (int64_t d = static_cast<int64_t>(outShape.size()) - 1; d >= 0; --d) {
      src += (linear % outShape[d]) * inStrides[perm[d]];
      linear /= outShape[d];
    }
    return std::optional<int64_t>(src);
  });
}

OpFoldResult ConcatOp::fold(FoldAdaptor adaptor) {
  if (getInputs().size() == 1 && getInputs()[0].getType() == getType())
    return getInputs()[0];
  SmallVector<DenseElementsAttr> parts;
  for (Attribute a : adaptor.getInputs()) {
    parts.push_back(foldable(a));
    if (!parts.back())
      return {};
  }
  auto type = getType();
  if (type.getNumElements() > kMaxFoldElements)
    return {};
  int64_t axis = getAxis();
  ArrayRef<int64_t> shape = type.getShape();
  int64_t outer = 1;
  for (int64_t d = 0; d < axis; ++d)
    outer *= shape[d];
  SmallVector<SmallVector<Attribute>> values;
  for (DenseElementsAttr p : parts)
    values.emplace_back(p.getValues<Attribute>());
  SmallVector<Attribute> out;
  for (int64_t o = 0; o < outer; ++o)
    for (auto [p, vals] : llvm::zip(parts, values)) {
      int64_t chunk = outer == 0 ? 0 : p.getNumElements() / outer;
      out.append(vals.begin() + o * chunk, vals.begin() + (o + 1) * chunk);
    }
  return DenseElementsAttr::get(type, out);
}

OpFoldResult SliceOp::fold(FoldAdaptor adaptor) {
  ArrayRef<int64_t> inShape = getInput().getType().getShape();
  if (getType() == getInput().getType() &&
      llvm::all_of(getStarts(), [](int64_t s) { return s == 0; }) &&
      llvm::all_of(getSteps(), [](int64_t s) { return s == 1; }))
    return getInput();
  DenseElementsAttr x = foldable(adaptor.getInput());
  if (!x)
    return {};
  ArrayRef<int64_t> outShape = getType().getShape();
  SmallVector<int64_t> inStrides = rowMajorStrides(inShape);
  return gatherElements(x, getType(), [&](int64_t linear) {
    int64_t src = 0;
    for (int64_t d = static_cast<int64_t>(outShape.size()) - 1; d >= 0; --d) {
      int64_t coord = linear % outShape[d];
      linear /= outShape[d];
      src += (getStarts()[d] + coord * getSteps()[d]) * inStrides[d];
    }
    return std::optional<int64_t>(src);
  });
}

OpFoldResult GatherOp::fold(FoldAdaptor adaptor) {
  DenseElementsAttr data = foldable(adaptor.getData());
  DenseElementsAttr indices = foldable(adaptor.getIndices());
  if (!data || !indices)
    return {};
  SmallVector<int64_t> idx;
  for (const APInt &v : indices.getValues<APInt>())
    idx.push_back(v.getSExtValue());
  ArrayRef<int64_t> dataShape = getData().getType().getShape();
  int64_t axis = getAxis(), axisSize = dataShape[axis];
  int64_t inner = 1;
  for (int64_t d = axis + 1; d < static_cast<int64_t>(dataShape.size()); ++d)
    inner *= dataShape[d];
  int64_t numIdx = static_cast<int64_t>(idx.size());
  return gatherElements(data, getType(), [&](int64_t linear) {
    int64_t in = linear % inner;
    linear /= inner;
    int64_t k = numIdx == 0 ? 0 : linear % numIdx;
    int64_t o = numIdx == 0 ? 0 : linear / numIdx;
    int64_t i = idx[k] < 0 ? idx[k] + axisSize : idx[k];
    if (i < 0 || i >= axisSize)
      return std::optional<int64_t>();
    return std::optional<int64_t>((o * axisSize + i) * inner + in);
  });
}

namespace {
/// A gather whose constant indices list every position of the axis once,
/// in order (0, 1, ..., n-1 in any shape) reads the data in its own order:
/// a reshape. Hugging Face's attention masks index a flattened mask this
/// way; as a gather, partitioning would all-gather the mask.
struct GatherOfIota : OpRewritePattern<GatherOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(GatherOp op,
                                PatternRewriter &rewriter) const override {
    DenseElementsAttr indices;
    if (!matchPattern(op.getIndices(), m_Constant(&indices)))
      return failure();
    int64_t n = op.getData().getType().getDimSize(op.getAxis());
    if (indices.getNumElements() != n)
      return failure();
    int64_t expected = 0;
    for (const APInt &v : indices.getValues<APInt>()) {
      int64_t i = v.getSExtValue();
      if ((i < 0 ? i + n : i) != expected++)
        return failure();
    }
    rewriter.replaceOpWithNewOp<ReshapeOp>(op, op.getType(), op.getData());
    return success();
  }
};
} // namespace

void GatherOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                           MLIRContext *context) {
  results.add<GatherOfIota>(context);
}

OpFoldResult ExpandOp::fold(FoldAdaptor adaptor) {
  if (getInput().getType() == getType())
    return getInput();
  if (auto dense = dyn_cast_or_null<DenseElementsAttr>(adaptor.getInput()))
    if (dense.isSplat())
      return DenseElementsAttr::get(getType(), dense.getSplatValue<Attribute>());
  return {};
}

OpFoldResult ResizeOp::fold(FoldAdaptor) {
  for (int64_t d = 0; d < getType().getRank(); ++d)
    if (!isIdentityDim(d))
      return {};
  return getInput();
}
