//===- TesseraToLinalg.cpp - Lower tessera ops to linalg on tensors -------===//
//
// Elementwise ops (ElementwiseLowering.cpp) and contractions become
// `linalg.generic` (NumPy broadcasting through indexing maps with constant-0 results for size-1
// dimensions); reductions become `linalg.generic` with reduction iterators
// followed by a reshape for `keepdims`; data movement uses the tensor
// dialect. The generics are what later fusion, tiling and vectorization work
// on; contractions are recognised as matmuls by linalg's specialisation.
//
// Convolution and pooling are windowed generics over a padded input (the
// window's extent comes from a `tensor.empty` of the kernel's shape, as in
// linalg's pooling ops); grouped convolution gets an explicit group loop.

//
//===----------------------------------------------------------------------===//

#include "codegen/Conversion/TesseraToLinalg/TesseraToLinalg.h"
#include "dialects/Tessera/IR/TesseraOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/ReshapeOpsUtils.h"

#include "codegen/Conversion/TesseraToLinalg/LoweringUtils.h"


using namespace mlir;
using namespace mlir::tessera;
using namespace mlir::tessera::lowering;

namespace {

/// Reshapes `v` to `type` (same element count) with collapse/expand_shape,
/// through a 1-D tensor when no single reassociation exists.
Value reshapeTo(OpBuilder &b, Location loc, Value v, RankedTensorType type) {
  RankedTensorType src = tensorType(v);
  if (src == type)
    return v;
  if (auto re = getReassociationIndicesForReshape(src, type)) {
    if (src.getRank() > type.getRank())
      return tensor::CollapseShapeOp::create(b, loc, type, v, *re);
    if (src.getRank() < type.getRank())
      return tensor::ExpandShapeOp::create(b, loc, type, v, *re);
  }
  auto flatType = RankedTensorType::get({src.getNumElements()},
                                        src.getElementType());
  auto all = [](int64_t rank) {
    ReassociationIndices r;
    for (int64_t i = 0; i < rank; ++i)
      r.push_back(i);
    return SmallVector<ReassociationIndices>{r};
  };
  Value flat = v;
  if (src.getRank() == 0)
    flat = tensor::ExpandShapeOp::create(b, loc, flatType, v,
                                         SmallVector<ReassociationIndices>{});
  else if (src.getRank() > 1)
    flat = tensor::CollapseShapeOp::create(b, loc, flatType, v,
                                           all(src.getRank()));
  if (type.getRank() == 0)
    return tensor::CollapseShapeOp::create(b, loc, type, flat,
                                           SmallVector<ReassociationIndices>{});
  if (type.getRank() == 1)
    return flat;
  return tensor::ExpandShapeOp::create(b, loc, type, flat, all(type.getRank()));
}

/// The neutral element of a reduction.
Value neutral(OpBuilder &b, Location loc, Type t, Combine kind) {
  if (auto ft = dyn_cast<FloatType>(t)) {
    const llvm::fltSemantics &sem = ft.getFloatSemantics();
    switch (kind) {
    case Combine::Add: return scalarConstant(b, loc, t, 0);
    case Combine::Mul: return scalarConstant(b, loc, t, 1);
    case Combine::Max:
      return arith::ConstantOp::create(
          b, loc, b.getFloatAttr(t, APFloat::getInf(sem, /*Negative=*/true)));
    case Combine::Min:
    case Combine::UMin:
      return arith::ConstantOp::create(b, loc,
                                       b.getFloatAttr(t, APFloat::getInf(sem)));
    case Combine::UMax:
      return arith::ConstantOp::create(
          b, loc, b.getFloatAttr(t, APFloat::getInf(sem, /*Negative=*/true)));
    }
  }
  unsigned w = t.getIntOrFloatBitWidth();
  switch (kind) {
  case Combine::Add: return scalarConstant(b, loc, t, 0);
  case Combine::Mul: return scalarConstant(b, loc, t, 1);
  case Combine::UMax: return scalarConstant(b, loc, t, 0);
  case Combine::UMin:
    return arith::ConstantOp::create(b, loc, b.getIntegerAttr(t, APInt::getAllOnes(w)));
  case Combine::Max:
    return arith::ConstantOp::create(
        b, loc, b.getIntegerAttr(t, APInt::getSignedMinValue(w)));
  case Combine::Min:
    return arith::ConstantOp::create(
        b, loc, b.getIntegerAttr(t, APInt::getSignedMaxValue(w)));
  }
  llvm_unreachable("covered switch");
}


/// Reduces `input` over `axes` (sorted) with `kind`; the result keeps the
/// reduced dimensions with size 1.
Value buildReduce(OpBuilder &b, Location loc, Value input,
                  ArrayRef<int64_t> axes, Combine kind) {
  MLIRContext *ctx = b.getContext();
  RankedTensorType in = tensorType(input);
  Type element = in.getElementType();
  SmallVector<int64_t> outShape, keptShape;
  SmallVector<AffineExpr> outExprs;
  SmallVector<utils::IteratorType> iterators;
  for (int64_t d = 0; d < in.getRank(); ++d) {
    bool reduced = llvm::is_contained(axes, d);
    iterators.push_back(reduced ? utils::IteratorType::reduction
                                : utils::IteratorType::parallel);
    keptShape.push_back(reduced ? 1 : in.getDimSize(d));
    if (!reduced) {
      outShape.push_back(in.getDimSize(d));
      outExprs.push_back(getAffineDimExpr(d, ctx));
    }
  }
  auto outType = RankedTensorType::get(outShape, element);
  Value init = tensor::EmptyOp::create(b, loc, outShape, element);
  Value filled =
      linalg::FillOp::create(b, loc, neutral(b, loc, element, kind), init)
          .getResult(0);
  SmallVector<AffineMap> maps = {
      b.getMultiDimIdentityMap(in.getRank()),
      AffineMap::get(in.getRank(), 0, outExprs, ctx)};
  auto generic = linalg::GenericOp::create(
      b, loc, outType, input, filled, maps, iterators,
      [&](OpBuilder &nb, Location nl, ValueRange args) {
        linalg::YieldOp::create(
            nb, nl, combine(nb, nl, kind, args[1], args[0], /*reassociate=*/true));
      });
  return reshapeTo(b, loc, generic.getResult(0),
                   RankedTensorType::get(keptShape, element));
}

/// Divides `v` by the number of elements each reduced position covered
/// (as unsigned integers when `isUnsigned`).
Value divideByCount(OpBuilder &b, Location loc, Value v, int64_t count,
                    bool isUnsigned = false) {
  RankedTensorType t = tensorType(v);
  return buildElementwise(b, loc, t, v, [&](OpBuilder &nb, Location nl,
                                            ValueRange a) -> Value {
    Value n = scalarConstant(nb, nl, t.getElementType(), count);
    if (isFloat(t))
      return arith::DivFOp::create(nb, nl, a[0], n);
    if (isUnsigned)
      return arith::DivUIOp::create(nb, nl, a[0], n);
    return arith::DivSIOp::create(nb, nl, a[0], n);
  });
}

int64_t reducedCount(RankedTensorType in, ArrayRef<int64_t> axes) {
  int64_t n = 1;
  for (int64_t a : axes)
    n *= in.getDimSize(a);
  return n;
}

//===----------------------------------------------------------------------===//
// Contractions
//===----------------------------------------------------------------------===//

/// out[batch.., m, n] = sum_k lhs[batch.., m, k] * rhs[batch.., k, n], with
/// NumPy broadcasting of the batch dimensions; with `rhsTransposed`, rhs is
/// [batch.., n, k]. Operands are at least 2-D. Loops are ordered so the
/// innermost runs along contiguous memory: (batch, m, k, n), or
/// (batch, m, n, k) for a transposed rhs, where the inner loop is a dot
/// product whose float additions may be reassociated (so it vectorizes).
Value buildContraction(OpBuilder &b, Location loc, Value lhs, Value rhs,
                       ArrayRef<int64_t> batch, Type element,
                       bool rhsTransposed = false) {
  MLIRContext *ctx = b.getContext();
  int64_t nb = batch.size(), loops = nb + 3;
  RankedTensorType l = tensorType(lhs), r = tensorType(rhs);
  int64_t m = l.getDimSize(l.getRank() - 2);
  int64_t n = r.getDimSize(r.getRank() - (rhsTransposed ? 2 : 1));
  auto operandMap = [&](RankedTensorType t, int64_t row, int64_t col) {
    SmallVector<AffineExpr> exprs;
    int64_t tb = t.getRank() - 2, offset = nb - tb;
    for (int64_t i = 0; i < tb; ++i)
      exprs.push_back(t.getDimSize(i) == 1 && batch[offset + i] != 1
                          ? getAffineConstantExpr(0, ctx)
                          : getAffineDimExpr(offset + i, ctx));
    exprs.push_back(getAffineDimExpr(row, ctx));
    exprs.push_back(getAffineDimExpr(col, ctx));
    return AffineMap::get(loops, 0, exprs, ctx);
  };
  int64_t mLoop = nb, kLoop = rhsTransposed ? nb + 2 : nb + 1,
          nLoop = rhsTransposed ? nb + 1 : nb + 2;
  SmallVector<AffineMap> maps = {
      operandMap(l, mLoop, kLoop),
      rhsTransposed ? operandMap(r, nLoop, kLoop) : operandMap(r, kLoop, nLoop)};
  SmallVector<AffineExpr> outExprs;
  for (int64_t i = 0; i < nb; ++i)
    outExprs.push_back(getAffineDimExpr(i, ctx));
  outExprs.push_back(getAffineDimExpr(mLoop, ctx));
  outExprs.push_back(getAffineDimExpr(nLoop, ctx));
  maps.push_back(AffineMap::get(loops, 0, outExprs, ctx));
  SmallVector<int64_t> outShape(batch);
  outShape.push_back(m);
  outShape.push_back(n);
  auto outType = RankedTensorType::get(outShape, element);
  Value init = tensor::EmptyOp::create(b, loc, outShape, element);
  Value zero =
      linalg::FillOp::create(b, loc, scalarConstant(b, loc, element, 0), init)
          .getResult(0);
  SmallVector<utils::IteratorType> iterators(loops,
                                             utils::IteratorType::parallel);
  iterators[kLoop] = utils::IteratorType::reduction;
  auto fast = arith::FastMathFlagsAttr::get(
      ctx, arith::FastMathFlags::reassoc | arith::FastMathFlags::contract);
  return linalg::GenericOp::create(
             b, loc, outType, ValueRange{lhs, rhs}, zero, maps, iterators,
             [&](OpBuilder &bb, Location bl, ValueRange a) {
               Value sum;
               if (isFloat(element)) {
                 Value prod = arith::MulFOp::create(bb, bl, a[0], a[1], fast);
                 sum = arith::AddFOp::create(bb, bl, a[2], prod, fast);
               } else {
                 sum = combine(bb, bl, Combine::Add, a[2],
                               combine(bb, bl, Combine::Mul, a[0], a[1]));
               }
               linalg::YieldOp::create(bb, bl, sum);
             })
      .getResult(0);
}

struct MatMulLowering : OpConversionPattern<MatMulOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(MatMulOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value lhs = adaptor.getLhs(), rhs = adaptor.getRhs();
    Type element = op.getType().getElementType();
    RankedTensorType l = tensorType(lhs), r = tensorType(rhs);
    if (l.getRank() == 1)
      lhs = reshapeTo(rewriter, loc, lhs,
                      RankedTensorType::get({1, l.getDimSize(0)}, element));
    if (r.getRank() == 1)
      rhs = reshapeTo(rewriter, loc, rhs,
                      RankedTensorType::get({r.getDimSize(0), 1}, element));
    auto batch = broadcastShapes(tensorType(lhs).getShape().drop_back(2),
                                 tensorType(rhs).getShape().drop_back(2));
    Value out = buildContraction(rewriter, loc, lhs, rhs, *batch, element);
    rewriter.replaceOp(op, reshapeTo(rewriter, loc, out, op.getType()));
    return success();
  }
};

struct GemmLowering : OpConversionPattern<GemmOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(GemmOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto transpose = [&](Value v) {
      RankedTensorType t = tensorType(v);
      auto type = RankedTensorType::get({t.getDimSize(1), t.getDimSize(0)},
                                        t.getElementType());
      Value init = tensor::EmptyOp::create(rewriter, loc, type.getShape(),
                                           t.getElementType());
      return linalg::TransposeOp::create(rewriter, loc, v, init,
                                         ArrayRef<int64_t>{1, 0})
          .getResult()[0];
    };
    Value a = adaptor.getA(), bm = adaptor.getB();
    if (op.getTransA())
      a = transpose(a);
    RankedTensorType type = op.getType();
    // A transposed B is read in place (no copy): the contraction's inner
    // loop runs along its rows.
    Value acc = buildContraction(rewriter, loc, a, bm, {},
                                 type.getElementType(), op.getTransB());
    double alpha = op.getAlpha().convertToDouble();
    double beta = op.getBeta().convertToDouble();
    Value c = adaptor.getC();
    if (alpha != 1.0 || c) {
      SmallVector<Value> operands = {acc};
      if (c)
        operands.push_back(c);
      acc = buildElementwise(
          rewriter, loc, type, operands,
          [&](OpBuilder &b, Location l, ValueRange v) -> Value {
            Type t = type.getElementType();
            Value x = v[0];
            if (alpha != 1.0)
              x = combine(b, l, Combine::Mul, x, scalarConstant(b, l, t, alpha));
            if (v.size() > 1) {
              Value y = v[1];
              if (beta != 1.0)
                y = combine(b, l, Combine::Mul, y, scalarConstant(b, l, t, beta));
              x = combine(b, l, Combine::Add, x, y);
            }
            return x;
          });
    }
    rewriter.replaceOp(op, acc);
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Reductions and normalisation
//===----------------------------------------------------------------------===//

template <typename OpTy, Combine kind, bool mean = false>
struct ReduceLowering : OpConversionPattern<OpTy> {
  using OpConversionPattern<OpTy>::OpConversionPattern;
  LogicalResult
  matchAndRewrite(OpTy op, typename OpTy::Adaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value input = adaptor.getInput();
    bool isUnsigned = isUnsignedOp(op);
    Value r = buildReduce(rewriter, loc, input, op.getAxes(),
                          withSignedness(kind, isUnsigned));
    if (mean)
      r = divideByCount(rewriter, loc, r,
                        reducedCount(tensorType(input), op.getAxes()), isUnsigned);
    rewriter.replaceOp(op, reshapeTo(rewriter, loc, r,
                                     cast<RankedTensorType>(op.getType())));
    return success();
  }
};

template <typename OpTy, bool log>
struct SoftmaxLowering : OpConversionPattern<OpTy> {
  using OpConversionPattern<OpTy>::OpConversionPattern;
  LogicalResult
  matchAndRewrite(OpTy op, typename OpTy::Adaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = adaptor.getInput();
    RankedTensorType type = tensorType(x);
    int64_t axis = static_cast<int64_t>(op.getAxis());
    // Subtract the maximum for stability, then normalise.
    Value max = buildReduce(rewriter, loc, x, {axis}, Combine::Max);
    Value shifted = buildElementwise(
        rewriter, loc, type, {x, max},
        [](OpBuilder &b, Location l, ValueRange a) -> Value {
          return arith::SubFOp::create(b, l, a[0], a[1]);
        });
    // exp of a shifted value is at most 1; clamping the argument where the
    // result underflows anyway (masked scores of -1e9) keeps libm's exp off
    // its slow errno path and changes results by less than the smallest
    // normal number.
    double floor = type.getElementType().isF64() ? -700.0 : -87.0;
    Value e = buildElementwise(
        rewriter, loc, type, shifted,
        [&](OpBuilder &b, Location l, ValueRange a) -> Value {
          Value lo = scalarConstant(b, l, a[0].getType(), floor);
          return math::ExpOp::create(b, l,
                                     arith::MaximumFOp::create(b, l, a[0], lo));
        });
    Value sum = buildReduce(rewriter, loc, e, {axis}, Combine::Add);
    Value y;
    if (log)
      y = buildElementwise(rewriter, loc, type, {shifted, sum},
                           [](OpBuilder &b, Location l, ValueRange a) -> Value {
                             return arith::SubFOp::create(
                                 b, l, a[0], math::LogOp::create(b, l, a[1]));
                           });
    else
      y = buildElementwise(rewriter, loc, type, {e, sum},
                           [](OpBuilder &b, Location l, ValueRange a) -> Value {
                             return arith::DivFOp::create(b, l, a[0], a[1]);
                           });
    rewriter.replaceOp(op, y);
    return success();
  }
};

/// 1 / sqrt(variance + epsilon), the scale normalisations apply.
Value inverseStdDev(OpBuilder &b, Location loc, Value variance, double eps) {
  Type t = variance.getType();
  Value shifted =
      arith::AddFOp::create(b, loc, variance, scalarConstant(b, loc, t, eps));
  return arith::DivFOp::create(b, loc, scalarConstant(b, loc, t, 1),
                               math::SqrtOp::create(b, loc, shifted));
}

struct LayerNormLowering : OpConversionPattern<LayerNormOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(LayerNormOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = adaptor.getInput();
    RankedTensorType type = tensorType(x);
    SmallVector<int64_t> axes;
    for (int64_t d = op.getAxis(); d < type.getRank(); ++d)
      axes.push_back(d);
    int64_t count = reducedCount(type, axes);
    auto sub = [](OpBuilder &b, Location l, ValueRange a) -> Value {
      return arith::SubFOp::create(b, l, a[0], a[1]);
    };
    Value mean = divideByCount(
        rewriter, loc, buildReduce(rewriter, loc, x, axes, Combine::Add), count);
    Value centered = buildElementwise(rewriter, loc, type, {x, mean}, sub);
    Value sq = buildElementwise(rewriter, loc, type, centered,
                                [](OpBuilder &b, Location l, ValueRange a) -> Value {
                                  return arith::MulFOp::create(b, l, a[0], a[0]);
                                });
    Value var = divideByCount(
        rewriter, loc, buildReduce(rewriter, loc, sq, axes, Combine::Add), count);
    double eps = op.getEpsilon().convertToDouble();
    SmallVector<Value> operands = {centered, var, adaptor.getScale()};
    if (adaptor.getBias())
      operands.push_back(adaptor.getBias());
    Value y = buildElementwise(
        rewriter, loc, type, operands,
        [&](OpBuilder &b, Location l, ValueRange a) -> Value {
          Value inv = inverseStdDev(b, l, a[1], eps);
          Value v = arith::MulFOp::create(
              b, l, arith::MulFOp::create(b, l, a[0], inv), a[2]);
          if (a.size() > 3)
            v = arith::AddFOp::create(b, l, v, a[3]);
          return v;
        });
    rewriter.replaceOp(op, y);
    return success();
  }
};

struct BatchNormLowering : OpConversionPattern<BatchNormOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(BatchNormOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    RankedTensorType type = op.getType();
    Type t = type.getElementType();
    // Parameters of shape [C] broadcast as [C, 1, ..., 1].
    SmallVector<int64_t> pshape(type.getRank() - 1, 1);
    pshape[0] = type.getDimSize(1);
    auto ptype = RankedTensorType::get(pshape, t);
    SmallVector<Value> operands = {adaptor.getInput()};
    for (Value v : {adaptor.getScale(), adaptor.getBias(), adaptor.getMean(),
                    adaptor.getVariance()})
      operands.push_back(reshapeTo(rewriter, loc, v, ptype));
    double eps = op.getEpsilon().convertToDouble();
    Value y = buildElementwise(
        rewriter, loc, type, operands,
        [&](OpBuilder &b, Location l, ValueRange a) -> Value {
          Value inv = inverseStdDev(b, l, a[4], eps);
          Value c = arith::SubFOp::create(b, l, a[0], a[3]);
          return arith::AddFOp::create(
              b, l, arith::MulFOp::create(b, l, arith::MulFOp::create(b, l, c, inv), a[1]),
              a[2]);
        });
    rewriter.replaceOp(op, y);
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Data movement
//===----------------------------------------------------------------------===//

struct ConstantLowering : OpConversionPattern<ConstantOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(ConstantOp op, OpAdaptor,
                  ConversionPatternRewriter &rewriter) const override {
    rewriter.replaceOpWithNewOp<arith::ConstantOp>(
        op, cast<TypedAttr>(op.getValue()));
    return success();
  }
};

struct ShapeLowering : OpConversionPattern<ShapeOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(ShapeOp op, OpAdaptor,
                  ConversionPatternRewriter &rewriter) const override {
    ArrayRef<int64_t> shape = op.getInput().getType().getShape();
    int64_t start = op.getStart(), end = op.getEnd();
    rewriter.replaceOpWithNewOp<arith::ConstantOp>(
        op, DenseElementsAttr::get(op.getType(),
                                   shape.slice(start, end - start)));
    return success();
  }
};

struct ReshapeLowering : OpConversionPattern<ReshapeOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(ReshapeOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    rewriter.replaceOp(op, reshapeTo(rewriter, op.getLoc(), adaptor.getInput(),
                                     op.getType()));
    return success();
  }
};

struct TransposeLowering : OpConversionPattern<TransposeOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(TransposeOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    RankedTensorType type = op.getType();
    Value init = tensor::EmptyOp::create(rewriter, op.getLoc(), type.getShape(),
                                         type.getElementType());
    rewriter.replaceOp(op, linalg::TransposeOp::create(rewriter, op.getLoc(),
                                                       adaptor.getInput(), init,
                                                       op.getPerm())
                               .getResult()[0]);
    return success();
  }
};

SmallVector<OpFoldResult> indexAttrs(OpBuilder &b, ArrayRef<int64_t> v) {
  return llvm::map_to_vector(v, [&](int64_t x) -> OpFoldResult {
    return b.getIndexAttr(x);
  });
}

struct ConcatLowering : OpConversionPattern<ConcatOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(ConcatOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    RankedTensorType type = op.getType();
    Value acc = tensor::EmptyOp::create(rewriter, loc, type.getShape(),
                                        type.getElementType());
    int64_t axis = op.getAxis(), offset = 0;
    for (Value in : adaptor.getInputs()) {
      RankedTensorType t = tensorType(in);
      // An empty piece adds nothing (and its offset may be the end).
      if (t.getNumElements() == 0)
        continue;
      SmallVector<int64_t> offsets(type.getRank(), 0);
      offsets[axis] = offset;
      acc = tensor::InsertSliceOp::create(
          rewriter, loc, in, acc, indexAttrs(rewriter, offsets),
          indexAttrs(rewriter, t.getShape()),
          indexAttrs(rewriter, SmallVector<int64_t>(type.getRank(), 1)));
      offset += t.getDimSize(axis);
    }
    rewriter.replaceOp(op, acc);
    return success();
  }
};

struct SplitLowering : OpConversionPattern<SplitOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(SplitOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    int64_t axis = op.getAxis(), offset = 0;
    SmallVector<Value> results;
    for (Value r : op.getResults()) {
      RankedTensorType t = tensorType(r);
      if (t.getNumElements() == 0) {
        results.push_back(tensor::EmptyOp::create(rewriter, loc, t.getShape(),
                                                  t.getElementType()));
        continue;
      }
      SmallVector<int64_t> offsets(t.getRank(), 0);
      offsets[axis] = offset;
      results.push_back(tensor::ExtractSliceOp::create(
          rewriter, loc, t, adaptor.getInput(), indexAttrs(rewriter, offsets),
          indexAttrs(rewriter, t.getShape()),
          indexAttrs(rewriter, SmallVector<int64_t>(t.getRank(), 1))));
      offset += t.getDimSize(axis);
    }
    rewriter.replaceOp(op, results);
    return success();
  }
};

/// Reads `source` at `indices` (index values) inside a generic body.
Value extractAt(OpBuilder &b, Location loc, Value source, ValueRange indices) {
  return tensor::ExtractOp::create(b, loc, source, indices);
}

struct SliceLowering : OpConversionPattern<SliceOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(SliceOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    RankedTensorType type = op.getType();
    if (llvm::all_of(op.getSteps(), [](int64_t s) { return s > 0; })) {
      rewriter.replaceOp(op, tensor::ExtractSliceOp::create(
                                 rewriter, loc, type, adaptor.getInput(),
                                 indexAttrs(rewriter, op.getStarts()),
                                 indexAttrs(rewriter, op.getSizes()),
                                 indexAttrs(rewriter, op.getSteps())));
      return success();
    }
    // Negative steps: out[i] = in[start + i * step], one element at a time.
    Value input = adaptor.getInput();
    SmallVector<int64_t> starts(op.getStarts()), steps(op.getSteps());
    Value result = buildIndexedGeneric(
        rewriter, loc, type, [&](OpBuilder &b, Location l) {
          SmallVector<Value> idx;
          for (int64_t d = 0; d < type.getRank(); ++d) {
            Value i = linalg::IndexOp::create(b, l, d);
            Value s = arith::ConstantIndexOp::create(b, l, starts[d]);
            Value st = arith::ConstantIndexOp::create(b, l, steps[d]);
            idx.push_back(arith::AddIOp::create(
                b, l, s, arith::MulIOp::create(b, l, i, st)));
          }
          return extractAt(b, l, input, idx);
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

/// A gather index as `index`: negative values count from the end, and a
/// value still outside [0, size) is clamped into it (ONNX leaves such
/// indices undefined; clamping keeps the read in bounds).
Value gatherIndex(OpBuilder &b, Location l, Value raw, int64_t size) {
  Value i = wrapIndex(b, l, raw, size);
  Value zero = arith::ConstantIndexOp::create(b, l, 0);
  Value last = arith::ConstantIndexOp::create(b, l, size > 0 ? size - 1 : 0);
  i = arith::MaxSIOp::create(b, l, i, zero);
  return arith::MinSIOp::create(b, l, i, last);
}

struct GatherLowering : OpConversionPattern<GatherOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(GatherOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    RankedTensorType type = op.getType();
    Value data = adaptor.getData(), indices = adaptor.getIndices();
    RankedTensorType dt = tensorType(data), it = tensorType(indices);
    int64_t axis = op.getAxis(), q = it.getRank(), rank = type.getRank();
    MLIRContext *ctx = rewriter.getContext();
    SmallVector<AffineExpr> idxExprs;
    for (int64_t i = 0; i < q; ++i)
      idxExprs.push_back(getAffineDimExpr(axis + i, ctx));
    SmallVector<AffineMap> maps = {AffineMap::get(rank, 0, idxExprs, ctx),
                                   rewriter.getMultiDimIdentityMap(rank)};
    Value init = tensor::EmptyOp::create(rewriter, loc, type.getShape(),
                                         type.getElementType());
    SmallVector<utils::IteratorType> iterators(rank,
                                               utils::IteratorType::parallel);
    int64_t axisSize = dt.getDimSize(axis);
    auto generic = linalg::GenericOp::create(
        rewriter, loc, type, indices, init, maps, iterators,
        [&](OpBuilder &b, Location l, ValueRange a) {
          Value i = gatherIndex(b, l, a[0], axisSize);
          SmallVector<Value> idx;
          for (int64_t d = 0; d < axis; ++d)
            idx.push_back(linalg::IndexOp::create(b, l, d));
          idx.push_back(i);
          for (int64_t d = axis + q; d < rank; ++d)
            idx.push_back(linalg::IndexOp::create(b, l, d));
          linalg::YieldOp::create(b, l, extractAt(b, l, data, idx));
        });
    rewriter.replaceOp(op, generic.getResult(0));
    return success();
  }
};

struct TriluLowering : OpConversionPattern<TriluOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(TriluOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    RankedTensorType type = op.getType();
    int64_t rank = type.getRank(), k = op.getK();
    bool upper = op.getUpper();
    Value result = buildElementwise(
        rewriter, op.getLoc(), type, adaptor.getInput(),
        [&](OpBuilder &b, Location l, ValueRange a) -> Value {
          // Keep where col - row >= k (upper) or col - row <= k (lower).
          Value row = arith::IndexCastOp::create(
              b, l, b.getI64Type(), linalg::IndexOp::create(b, l, rank - 2));
          Value col = arith::IndexCastOp::create(
              b, l, b.getI64Type(), linalg::IndexOp::create(b, l, rank - 1));
          Value diff = arith::SubIOp::create(b, l, col, row);
          Value kv = arith::ConstantOp::create(b, l, b.getI64IntegerAttr(k));
          Value keep = arith::CmpIOp::create(
              b, l, upper ? arith::CmpIPredicate::sge : arith::CmpIPredicate::sle,
              diff, kv);
          return arith::SelectOp::create(
              b, l, keep, a[0], scalarConstant(b, l, type.getElementType(), 0));
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

struct PadLowering : OpConversionPattern<PadOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(PadOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value input = adaptor.getInput();
    RankedTensorType in = tensorType(input);
    int64_t rank = in.getRank();
    ArrayRef<int64_t> pads = op.getPads();
    if (op.getMode() != "constant") {
      // edge: clamp the source index; reflect: mirror it at both ends.
      bool reflect = op.getMode() == "reflect";
      RankedTensorType type = op.getType();
      Value result = buildElementwise(
          rewriter, loc, type, ValueRange{},
          [&](OpBuilder &b, Location l, ValueRange) -> Value {
            SmallVector<Value> idx;
            for (int64_t d = 0; d < rank; ++d) {
              Value i = linalg::IndexOp::create(b, l, d);
              Value j = arith::SubIOp::create(
                  b, l, i, arith::ConstantIndexOp::create(b, l, pads[d]));
              Value zero = arith::ConstantIndexOp::create(b, l, 0);
              Value last = arith::ConstantIndexOp::create(b, l, in.getDimSize(d) - 1);
              if (reflect) {
                Value neg = arith::SubIOp::create(b, l, zero, j);
                j = arith::MaxSIOp::create(b, l, j, neg);
                Value mirrored = arith::SubIOp::create(
                    b, l, arith::AddIOp::create(b, l, last, last), j);
                j = arith::MinSIOp::create(b, l, j, mirrored);
              }
              j = arith::MinSIOp::create(b, l, arith::MaxSIOp::create(b, l, j, zero),
                                         last);
              idx.push_back(j);
            }
            return extractAt(b, l, input, idx);
          });
      rewriter.replaceOp(op, result);
      return success();
    }
    // Negative pads crop first.
    SmallVector<int64_t> offsets(rank, 0), sizes(in.getShape());
    SmallVector<int64_t> low(rank), high(rank);
    for (int64_t d = 0; d < rank; ++d) {
      int64_t b = pads[d], e = pads[d + rank];
      if (b < 0) {
        offsets[d] = -b;
        sizes[d] += b;
      }
      if (e < 0)
        sizes[d] += e;
      low[d] = std::max<int64_t>(b, 0);
      high[d] = std::max<int64_t>(e, 0);
    }
    if (offsets != SmallVector<int64_t>(rank, 0) ||
        ArrayRef<int64_t>(sizes) != in.getShape())
      input = tensor::ExtractSliceOp::create(
          rewriter, loc, RankedTensorType::get(sizes, in.getElementType()),
          input, indexAttrs(rewriter, offsets), indexAttrs(rewriter, sizes),
          indexAttrs(rewriter, SmallVector<int64_t>(rank, 1)));
    Value value = adaptor.getValue()
                      ? Value(tensor::ExtractOp::create(rewriter, loc,
                                                        adaptor.getValue(),
                                                        ValueRange{}))
                      : scalarConstant(rewriter, loc, in.getElementType(), 0);
    rewriter.replaceOp(op, tensor::PadOp::create(
                               rewriter, loc, op.getType(), input,
                               indexAttrs(rewriter, low),
                               indexAttrs(rewriter, high), value));
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Convolution and pooling
//===----------------------------------------------------------------------===//

/// Pads `x` with `value` by `low` / `high` elements per dimension (no-op
/// when all are zero).
Value padWith(OpBuilder &b, Location loc, Value x, ArrayRef<int64_t> low,
              ArrayRef<int64_t> high, Value value) {
  if (llvm::all_of(low, [](int64_t v) { return v == 0; }) &&
      llvm::all_of(high, [](int64_t v) { return v == 0; }))
    return x;
  RankedTensorType t = tensorType(x);
  SmallVector<int64_t> shape;
  for (int64_t d = 0; d < t.getRank(); ++d)
    shape.push_back(t.getDimSize(d) + low[d] + high[d]);
  return tensor::PadOp::create(b, loc,
                               RankedTensorType::get(shape, t.getElementType()),
                               x, indexAttrs(b, low), indexAttrs(b, high), value);
}

/// Low and high padding of an N-C-spatial tensor for a window op: the op's
/// pads on spatial dimensions, plus, at the end, what the last window reads
/// beyond them (ceil_mode).
void windowPads(RankedTensorType in, RankedTensorType out,
                ArrayRef<int64_t> kernel, ArrayRef<int64_t> strides,
                ArrayRef<int64_t> pads, ArrayRef<int64_t> dilations,
                SmallVectorImpl<int64_t> &low, SmallVectorImpl<int64_t> &high,
                SmallVectorImpl<int64_t> &extra) {
  int64_t spatial = in.getRank() - 2;
  low.assign(in.getRank(), 0);
  high.assign(in.getRank(), 0);
  extra.assign(in.getRank(), 0);
  for (int64_t i = 0; i < spatial; ++i) {
    int64_t padded = in.getDimSize(i + 2) + pads[i] + pads[i + spatial];
    int64_t need = (out.getDimSize(i + 2) - 1) * strides[i] +
                   (kernel[i] - 1) * dilations[i] + 1;
    low[i + 2] = pads[i];
    extra[i + 2] = std::max<int64_t>(0, need - padded);
    high[i + 2] = pads[i + spatial] + extra[i + 2];
  }
}

/// out[n, c, o...] = combine over k... of x[n, c, o*s + k*d] for a padded x.
Value buildPoolWindow(OpBuilder &b, Location loc, Value x,
                      RankedTensorType outType, ArrayRef<int64_t> kernel,
                      ArrayRef<int64_t> strides, ArrayRef<int64_t> dilations,
                      Combine kind) {
  MLIRContext *ctx = b.getContext();
  int64_t spatial = kernel.size(), loops = 2 + 2 * spatial;
  SmallVector<AffineExpr> inExprs = {getAffineDimExpr(0, ctx),
                                     getAffineDimExpr(1, ctx)};
  SmallVector<AffineExpr> winExprs, outExprs = inExprs;
  for (int64_t i = 0; i < spatial; ++i) {
    AffineExpr o = getAffineDimExpr(2 + i, ctx);
    AffineExpr k = getAffineDimExpr(2 + spatial + i, ctx);
    inExprs.push_back(o * strides[i] + k * dilations[i]);
    winExprs.push_back(k);
    outExprs.push_back(o);
  }
  Type element = outType.getElementType();
  Value window = tensor::EmptyOp::create(b, loc, kernel, element);
  Value init = tensor::EmptyOp::create(b, loc, outType.getShape(), element);
  Value filled =
      linalg::FillOp::create(b, loc, neutral(b, loc, element, kind), init)
          .getResult(0);
  SmallVector<utils::IteratorType> iterators(2 + spatial,
                                             utils::IteratorType::parallel);
  iterators.append(spatial, utils::IteratorType::reduction);
  SmallVector<AffineMap> maps = {AffineMap::get(loops, 0, inExprs, ctx),
                                 AffineMap::get(loops, 0, winExprs, ctx),
                                 AffineMap::get(loops, 0, outExprs, ctx)};
  return linalg::GenericOp::create(
             b, loc, outType, ValueRange{x, window}, filled, maps, iterators,
             [&](OpBuilder &bb, Location bl, ValueRange a) {
               linalg::YieldOp::create(bb, bl,
                                       combine(bb, bl, kind, a[2], a[0]));
             })
      .getResult(0);
}

struct ConvLowering : OpConversionPattern<ConvOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(ConvOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    RankedTensorType outType = op.getType();
    RankedTensorType wType = tensorType(adaptor.getWeight());
    Type element = outType.getElementType();
    int64_t spatial = outType.getRank() - 2, groups = op.getGroup();
    int64_t n = outType.getDimSize(0), m = outType.getDimSize(1);
    int64_t cg = wType.getDimSize(1), mg = m / groups;
    SmallVector<int64_t> kernel(wType.getShape().drop_front(2));
    SmallVector<int64_t> low, high, extra;
    windowPads(tensorType(adaptor.getInput()), outType, kernel, op.getStrides(),
               op.getPads(), op.getDilations(), low, high, extra);
    Value x = padWith(rewriter, loc, adaptor.getInput(), low, high,
                      scalarConstant(rewriter, loc, element, 0));
    // Explicit groups: x [N, G, Cg, H...], w [G, Mg, Cg, K...],
    // out [N, G, Mg, O...]; loops n, g, mg, o_0 .. o_{s-2}, c, k..., o_{s-1}:
    // one output row stays hot while channels and taps accumulate into it,
    // and the innermost loop runs along it.
    RankedTensorType xt = tensorType(x);
    SmallVector<int64_t> xShape = {n, groups, cg};
    llvm::append_range(xShape, xt.getShape().drop_front(2));
    SmallVector<int64_t> wShape = {groups, mg, cg};
    llvm::append_range(wShape, kernel);
    SmallVector<int64_t> oShape = {n, groups, mg};
    llvm::append_range(oShape, outType.getShape().drop_front(2));
    Value xg = reshapeTo(rewriter, loc, x, RankedTensorType::get(xShape, element));
    Value wg = reshapeTo(rewriter, loc, adaptor.getWeight(),
                         RankedTensorType::get(wShape, element));
    int64_t loops = 4 + 2 * spatial;
    auto d = [&](int64_t i) { return getAffineDimExpr(i, ctx); };
    // Loop positions: outer output dims 3 .. 3+s-2, c at 3+s-1, taps after
    // it, the last output dim last.
    int64_t cLoop = 2 + spatial;
    auto outLoop = [&](int64_t i) {
      return i + 1 < spatial ? 3 + i : loops - 1;
    };
    SmallVector<AffineExpr> xe = {d(0), d(1), d(cLoop)};
    SmallVector<AffineExpr> we = {d(1), d(2), d(cLoop)};
    SmallVector<AffineExpr> oe = {d(0), d(1), d(2)};
    for (int64_t i = 0; i < spatial; ++i) {
      AffineExpr k = d(cLoop + 1 + i), o = d(outLoop(i));
      xe.push_back(o * op.getStrides()[i] + k * op.getDilations()[i]);
      we.push_back(k);
      oe.push_back(o);
    }
    auto oType = RankedTensorType::get(oShape, element);
    Value init = tensor::EmptyOp::create(rewriter, loc, oShape, element);
    Value zero = linalg::FillOp::create(
                     rewriter, loc, scalarConstant(rewriter, loc, element, 0), init)
                     .getResult(0);
    SmallVector<utils::IteratorType> iterators(loops,
                                               utils::IteratorType::parallel);
    for (int64_t i = cLoop; i <= cLoop + spatial; ++i)
      iterators[i] = utils::IteratorType::reduction;
    SmallVector<AffineMap> maps = {AffineMap::get(loops, 0, xe, ctx),
                                   AffineMap::get(loops, 0, we, ctx),
                                   AffineMap::get(loops, 0, oe, ctx)};
    Value acc = linalg::GenericOp::create(
                    rewriter, loc, oType, ValueRange{xg, wg}, zero, maps,
                    iterators,
                    [&](OpBuilder &b, Location l, ValueRange a) {
                      Value prod = arith::MulFOp::create(b, l, a[0], a[1]);
                      Value sum = arith::AddFOp::create(b, l, a[2], prod);
                      linalg::YieldOp::create(b, l, sum);
                    })
                    .getResult(0);
    Value y = reshapeTo(rewriter, loc, acc, outType);
    if (Value bias = adaptor.getBias()) {
      SmallVector<int64_t> bShape(outType.getRank() - 1, 1);
      bShape[0] = m;
      Value b4 = reshapeTo(rewriter, loc, bias, RankedTensorType::get(bShape, element));
      y = buildElementwise(rewriter, loc, outType, {y, b4},
                           [](OpBuilder &b, Location l, ValueRange a) -> Value {
                             return arith::AddFOp::create(b, l, a[0], a[1]);
                           });
    }
    rewriter.replaceOp(op, y);
    return success();
  }
};

struct MaxPoolLowering : OpConversionPattern<MaxPoolOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(MaxPoolOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    RankedTensorType outType = op.getType();
    Type element = outType.getElementType();
    SmallVector<int64_t> low, high, extra;
    windowPads(tensorType(adaptor.getInput()), outType, op.getKernelShape(),
               op.getStrides(), op.getPads(), op.getDilations(), low, high,
               extra);
    Combine max = withSignedness(Combine::Max, isUnsignedOp(op));
    Value x = padWith(rewriter, loc, adaptor.getInput(), low, high,
                      neutral(rewriter, loc, element, max));
    rewriter.replaceOp(op, buildPoolWindow(rewriter, loc, x, outType,
                                           op.getKernelShape(), op.getStrides(),
                                           op.getDilations(), max));
    return success();
  }
};

struct AveragePoolLowering : OpConversionPattern<AveragePoolOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(AveragePoolOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    RankedTensorType outType = op.getType();
    RankedTensorType inType = tensorType(adaptor.getInput());
    Type element = outType.getElementType();
    SmallVector<int64_t> low, high, extra;
    windowPads(inType, outType, op.getKernelShape(), op.getStrides(),
               op.getPads(), op.getDilations(), low, high, extra);
    Value zero = scalarConstant(rewriter, loc, element, 0);
    Value one = scalarConstant(rewriter, loc, element, 1);
    Value x = padWith(rewriter, loc, adaptor.getInput(), low, high, zero);
    Value sum = buildPoolWindow(rewriter, loc, x, outType, op.getKernelShape(),
                                op.getStrides(), op.getDilations(), Combine::Add);
    // The divisor of each window: the elements it covers, counting explicit
    // padding when count_include_pad is set (never the ceil_mode overhang).
    Value ones = tensor::EmptyOp::create(rewriter, loc, inType.getShape(), element);
    ones = linalg::FillOp::create(rewriter, loc, one, ones).getResult(0);
    if (op.getCountIncludePad()) {
      SmallVector<int64_t> explicitHigh(high);
      for (size_t i = 0; i < high.size(); ++i)
        explicitHigh[i] -= extra[i];
      ones = padWith(rewriter, loc, ones, low, explicitHigh, one);
      SmallVector<int64_t> none(low.size(), 0);
      ones = padWith(rewriter, loc, ones, none, extra, zero);
    } else {
      ones = padWith(rewriter, loc, ones, low, high, zero);
    }
    Value count = buildPoolWindow(rewriter, loc, ones, outType,
                                  op.getKernelShape(), op.getStrides(),
                                  op.getDilations(), Combine::Add);
    rewriter.replaceOp(op, buildElementwise(
                               rewriter, loc, outType, {sum, count},
                               [](OpBuilder &b, Location l, ValueRange a) -> Value {
                                 return arith::DivFOp::create(b, l, a[0], a[1]);
                               }));
    return success();
  }
};

/// ArgMax / ArgMin: a reduction carrying (best value, its index).
template <typename OpTy, bool isMax>
struct ArgLowering : OpConversionPattern<OpTy> {
  using OpConversionPattern<OpTy>::OpConversionPattern;
  LogicalResult
  matchAndRewrite(OpTy op, typename OpTy::Adaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    Value x = adaptor.getInput();
    RankedTensorType in = tensorType(x);
    Type element = in.getElementType();
    int64_t axis = op.getAxis(), rank = in.getRank();
    bool last = op.getSelectLastIndex(), isUnsigned = isUnsignedOp(op);
    SmallVector<int64_t> shape;
    SmallVector<AffineExpr> outExprs;
    SmallVector<utils::IteratorType> iterators;
    for (int64_t d = 0; d < rank; ++d) {
      iterators.push_back(d == axis ? utils::IteratorType::reduction
                                    : utils::IteratorType::parallel);
      if (d != axis) {
        shape.push_back(in.getDimSize(d));
        outExprs.push_back(getAffineDimExpr(d, ctx));
      }
    }
    Type i64 = rewriter.getI64Type();
    Value bestEmpty = tensor::EmptyOp::create(rewriter, loc, shape, element);
    Value idxEmpty = tensor::EmptyOp::create(rewriter, loc, shape, i64);
    Value bestInit =
        linalg::FillOp::create(rewriter, loc,
                               neutral(rewriter, loc, element,
                                       isMax ? Combine::Max : Combine::Min),
                               bestEmpty)
            .getResult(0);
    Value idxInit = linalg::FillOp::create(
                        rewriter, loc, scalarConstant(rewriter, loc, i64, 0),
                        idxEmpty)
                        .getResult(0);
    AffineMap outMap = AffineMap::get(rank, 0, outExprs, ctx);
    SmallVector<AffineMap> maps = {rewriter.getMultiDimIdentityMap(rank), outMap,
                                   outMap};
    auto generic = linalg::GenericOp::create(
        rewriter, loc,
        TypeRange{RankedTensorType::get(shape, element),
                  RankedTensorType::get(shape, i64)},
        x, ValueRange{bestInit, idxInit}, maps, iterators,
        [&](OpBuilder &b, Location l, ValueRange a) {
          Value v = a[0], best = a[1], bestIdx = a[2];
          Value idx = arith::IndexCastOp::create(b, l, i64,
                                                 linalg::IndexOp::create(b, l, axis));
          Value better;
          if (isFloat(element)) {
            auto strict = isMax ? arith::CmpFPredicate::OGT : arith::CmpFPredicate::OLT;
            auto loose = isMax ? arith::CmpFPredicate::OGE : arith::CmpFPredicate::OLE;
            better = arith::CmpFOp::create(b, l, last ? loose : strict, v, best);
          } else {
            auto strict = isMax ? arith::CmpIPredicate::sgt : arith::CmpIPredicate::slt;
            auto loose = isMax ? arith::CmpIPredicate::sge : arith::CmpIPredicate::sle;
            auto pred = last ? loose : strict;
            better = arith::CmpIOp::create(
                b, l, isUnsigned ? unsignedPredicate(pred) : pred, v, best);
          }
          // The first element always wins over the initial value.
          Value first = arith::CmpIOp::create(
              b, l, arith::CmpIPredicate::eq, idx, scalarConstant(b, l, i64, 0));
          better = arith::OrIOp::create(b, l, better, first);
          linalg::YieldOp::create(
              b, l,
              ValueRange{arith::SelectOp::create(b, l, better, v, best),
                         arith::SelectOp::create(b, l, better, idx, bestIdx)});
        });
    rewriter.replaceOp(op, reshapeTo(rewriter, loc, generic.getResult(1),
                                     cast<RankedTensorType>(op.getType())));
    return success();
  }
};

struct GatherElementsLowering : OpConversionPattern<GatherElementsOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(GatherElementsOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    RankedTensorType type = op.getType();
    Value data = adaptor.getData();
    int64_t axis = op.getAxis(), rank = type.getRank();
    int64_t axisSize = tensorType(data).getDimSize(axis);
    Value result = buildElementwise(
        rewriter, op.getLoc(), type, adaptor.getIndices(),
        [&](OpBuilder &b, Location l, ValueRange a) -> Value {
          Value i = gatherIndex(b, l, a[0], axisSize);
          SmallVector<Value> idx;
          for (int64_t d = 0; d < rank; ++d)
            idx.push_back(d == axis ? i : Value(linalg::IndexOp::create(b, l, d)));
          return extractAt(b, l, data, idx);
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

struct GlobalAveragePoolLowering : OpConversionPattern<GlobalAveragePoolOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(GlobalAveragePoolOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    RankedTensorType in = tensorType(adaptor.getInput());
    SmallVector<int64_t> axes;
    for (int64_t d = 2; d < in.getRank(); ++d)
      axes.push_back(d);
    Value sum = buildReduce(rewriter, loc, adaptor.getInput(), axes, Combine::Add);
    rewriter.replaceOp(op, divideByCount(rewriter, loc, sum, reducedCount(in, axes)));
    return success();
  }
};

} // namespace

bool lowering::isFloat(Type t) { return isa<FloatType>(getElementTypeOrSelf(t)); }

Value lowering::scalarConstant(OpBuilder &b, Location loc, Type type, double value) {
  if (auto ft = dyn_cast<FloatType>(type))
    return arith::ConstantOp::create(b, loc, b.getFloatAttr(ft, value));
  return arith::ConstantOp::create(
      b, loc, b.getIntegerAttr(type, static_cast<int64_t>(value)));
}

/// The indexing map reading `operand` (right-aligned, size-1 dimensions
/// broadcast) inside loops over `resultShape`.
static AffineMap broadcastMap(MLIRContext *ctx, ArrayRef<int64_t> resultShape,
                       RankedTensorType operand) {
  int64_t rank = resultShape.size(), offset = rank - operand.getRank();
  SmallVector<AffineExpr> exprs;
  for (int64_t i = 0; i < operand.getRank(); ++i) {
    bool broadcast = operand.getDimSize(i) == 1 && resultShape[offset + i] != 1;
    exprs.push_back(broadcast ? getAffineConstantExpr(0, ctx)
                              : getAffineDimExpr(offset + i, ctx));
  }
  return AffineMap::get(rank, 0, exprs, ctx);
}

/// An elementwise `linalg.generic` over `resultType` reading `operands` with
/// NumPy broadcasting; `body` maps the operand scalars to the result scalar.
Value lowering::buildElementwise(OpBuilder &b, Location loc, RankedTensorType resultType,
                       ValueRange operands, const ElementBody &body) {
  MLIRContext *ctx = b.getContext();
  SmallVector<AffineMap> maps;
  for (Value v : operands)
    maps.push_back(broadcastMap(ctx, resultType.getShape(), tensorType(v)));
  maps.push_back(b.getMultiDimIdentityMap(resultType.getRank()));
  Value init = tensor::EmptyOp::create(b, loc, resultType.getShape(),
                                       resultType.getElementType());
  SmallVector<utils::IteratorType> iterators(resultType.getRank(),
                                             utils::IteratorType::parallel);
  auto generic = linalg::GenericOp::create(
      b, loc, resultType, operands, init, maps, iterators,
      [&](OpBuilder &nb, Location nl, ValueRange args) {
        linalg::YieldOp::create(nb, nl, body(nb, nl, args.drop_back()));
      });
  return generic.getResult(0);
}

Value lowering::combine(OpBuilder &b, Location loc, Combine kind, Value x,
                       Value y, bool reassociate) {
  bool f = isFloat(x.getType());
  switch (kind) {
  case Combine::Add:
    if (f && reassociate)
      return arith::AddFOp::create(
          b, loc, x, y,
          arith::FastMathFlagsAttr::get(b.getContext(),
                                        arith::FastMathFlags::reassoc));
    return f ? Value(arith::AddFOp::create(b, loc, x, y))
             : Value(arith::AddIOp::create(b, loc, x, y));
  case Combine::Mul:
    return f ? Value(arith::MulFOp::create(b, loc, x, y))
             : Value(arith::MulIOp::create(b, loc, x, y));
  case Combine::Max:
    return f ? Value(arith::MaximumFOp::create(b, loc, x, y))
             : Value(arith::MaxSIOp::create(b, loc, x, y));
  case Combine::Min:
    return f ? Value(arith::MinimumFOp::create(b, loc, x, y))
             : Value(arith::MinSIOp::create(b, loc, x, y));
  case Combine::UMax:
    return f ? Value(arith::MaximumFOp::create(b, loc, x, y))
             : Value(arith::MaxUIOp::create(b, loc, x, y));
  case Combine::UMin:
    return f ? Value(arith::MinimumFOp::create(b, loc, x, y))
             : Value(arith::MinUIOp::create(b, loc, x, y));
  }
  llvm_unreachable("covered switch");
}

Value lowering::wrapIndex(OpBuilder &b, Location loc, Value raw, int64_t size) {
  Value i = arith::IndexCastOp::create(b, loc, b.getIndexType(), raw);
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value n = arith::ConstantIndexOp::create(b, loc, size);
  Value neg = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, i, zero);
  return arith::SelectOp::create(b, loc, neg, arith::AddIOp::create(b, loc, i, n), i);
}

Value lowering::buildIndexedGeneric(
    OpBuilder &b, Location loc, RankedTensorType type,
    function_ref<Value(OpBuilder &, Location)> element) {
  Value init = tensor::EmptyOp::create(b, loc, type.getShape(),
                                       type.getElementType());
  SmallVector<utils::IteratorType> iterators(type.getRank(),
                                             utils::IteratorType::parallel);
  return linalg::GenericOp::create(
             b, loc, type, ValueRange{}, init,
             SmallVector<AffineMap>{b.getMultiDimIdentityMap(type.getRank())},
             iterators,
             [&](OpBuilder &nb, Location nl, ValueRange) {
               linalg::YieldOp::create(nb, nl, element(nb, nl));
             })
      .getResult(0);
}

void mlir::tessera::populateTesseraToLinalgPatterns(
    TypeConverter &converter, RewritePatternSet &patterns) {
  MLIRContext *ctx = patterns.getContext();
  populateElementwisePatterns(converter, patterns);
  populateScatterLoweringPatterns(converter, patterns);
  populateResizeToLinalgPatterns(converter, patterns);
  patterns.add<MatMulLowering, GemmLowering, LayerNormLowering,
               BatchNormLowering, ConstantLowering, ShapeLowering,
               ReshapeLowering, TransposeLowering, ConcatLowering,
               SplitLowering, SliceLowering, GatherLowering, TriluLowering,
               PadLowering, ConvLowering, MaxPoolLowering,
               AveragePoolLowering, GlobalAveragePoolLowering,
               GatherElementsLowering, ArgLowering<ArgMaxOp, true>,
               ArgLowering<ArgMinOp, false>>(converter, ctx);
  patterns.add<ReduceLowering<ReduceSumOp, Combine::Add>,
               ReduceLowering<ReduceMeanOp, Combine::Add, /*mean=*/true>,
               ReduceLowering<ReduceMaxOp, Combine::Max>,
               ReduceLowering<ReduceMinOp, Combine::Min>,
               ReduceLowering<ReduceProdOp, Combine::Mul>,
               SoftmaxLowering<SoftmaxOp, false>,
               SoftmaxLowering<LogSoftmaxOp, true>>(converter, ctx);
}
