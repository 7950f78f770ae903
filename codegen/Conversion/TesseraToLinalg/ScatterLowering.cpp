//===- ScatterLowering.cpp - Lower tessera scatters to loops on tensors ---===//
//
// A scatter writes to positions read from a tensor, which a linalg indexing
// map cannot express. `scatter_elements` and `scatter_nd` therefore become
// an `scf.for` nest carrying the result tensor as an iteration argument: it
// starts as a copy of the data tensor, and every iteration reads an index,
// checks it and `tensor.insert`s the new (or combined) value. One-shot
// bufferization turns the chain of inserts into stores into the copy's
// buffer. The copy is explicit (`bufferization.alloc_tensor copy(...)`,
// which canonicalization keeps, unlike an identity `linalg.generic`)
// because one-shot bufferization treats function arguments as writable:
// without it, a scatter on a graph input would write into the caller's
// input buffer.
//
// Negative indices count from the end. An index still outside its dimension
// skips its update (`scf.if`): a bad index never writes out of bounds. ONNX
// leaves out-of-range indices undefined, so this is a choice, not a
// requirement; the check costs two compares per index.
//
//===----------------------------------------------------------------------===//

#include "codegen/Conversion/TesseraToLinalg/TesseraToLinalg.h"
#include "codegen/Conversion/TesseraToLinalg/LoweringUtils.h"
#include "dialects/Tessera/IR/TesseraOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "llvm/ADT/StringSwitch.h"

using namespace mlir;
using namespace mlir::tessera;
using namespace mlir::tessera::lowering;

namespace {

/// A copy of `v` in a new buffer.
Value copyOf(OpBuilder &b, Location loc, Value v) {
  return bufferization::AllocTensorOp::create(b, loc, tensorType(v),
                                              ValueRange{}, v);
}

/// `old` combined with `update` by `reduction`; `update` itself for none.
Value combineScatter(OpBuilder &b, Location loc, StringRef reduction, Value old,
                     Value update) {
  std::optional<Combine> kind = llvm::StringSwitch<std::optional<Combine>>(reduction)
                                    .Case("add", Combine::Add)
                                    .Case("mul", Combine::Mul)
                                    .Case("max", Combine::Max)
                                    .Case("min", Combine::Min)
                                    .Default(std::nullopt);
  return kind ? combine(b, loc, *kind, old, update) : update;
}

/// An index read from an index tensor, with negative values counted from
/// the end of a dimension of `size`, and whether it lies in [0, size).
struct CheckedIndex {
  Value index, inBounds;
};

CheckedIndex checkIndex(OpBuilder &b, Location loc, Value raw, int64_t size) {
  Value i = wrapIndex(b, loc, raw, size);
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value n = arith::ConstantIndexOp::create(b, loc, size);
  Value lo = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sge, i, zero);
  Value hi = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, i, n);
  return {i, arith::AndIOp::create(b, loc, lo, hi)};
}

/// Loops over `shape` carrying `init`; `body` maps the induction variables
/// and the carried tensor to the next tensor.
using ScatterBody =
    function_ref<Value(OpBuilder &, Location, ValueRange, Value)>;

Value loopOver(OpBuilder &b, Location loc, ArrayRef<int64_t> shape, Value init,
               ScatterBody body) {
  SmallVector<Value> lbs, ubs, steps;
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  for (int64_t size : shape) {
    lbs.push_back(zero);
    ubs.push_back(arith::ConstantIndexOp::create(b, loc, size));
    steps.push_back(one);
  }
  scf::LoopNest nest = scf::buildLoopNest(
      b, loc, lbs, ubs, steps, init,
      [&](OpBuilder &nb, Location nl, ValueRange ivs, ValueRange args) {
        return scf::ValueVector{body(nb, nl, ivs, args[0])};
      });
  return nest.results[0];
}

/// `acc` with `update` stored (or combined) at `at` when `inBounds` holds,
/// `acc` unchanged otherwise.
Value guardedStore(OpBuilder &b, Location loc, Value inBounds, Value acc,
                   ValueRange at, StringRef reduction,
                   function_ref<Value(OpBuilder &, Location)> update) {
  auto ifOp = scf::IfOp::create(
      b, loc, inBounds,
      [&](OpBuilder &tb, Location tl) {
        Value v = update(tb, tl);
        if (reduction != "none")
          v = combineScatter(tb, tl, reduction,
                             tensor::ExtractOp::create(tb, tl, acc, at), v);
        scf::YieldOp::create(
            tb, tl, Value(tensor::InsertOp::create(tb, tl, v, acc, at)));
      },
      [&](OpBuilder &eb, Location el) { scf::YieldOp::create(eb, el, acc); });
  return ifOp.getResult(0);
}

/// out[p0, .., indices[p], ..] (op)= updates[p] for every p of updates.
struct ScatterElementsLowering : OpConversionPattern<ScatterElementsOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(ScatterElementsOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Value data = adaptor.getData(), indices = adaptor.getIndices(),
          updates = adaptor.getUpdates();
    int64_t axis = op.getAxis();
    int64_t axisSize = tensorType(data).getDimSize(axis);
    StringRef reduction = op.getReduction();
    Value result = loopOver(
        rewriter, op.getLoc(), tensorType(updates).getShape(),
        copyOf(rewriter, op.getLoc(), data),
        [&](OpBuilder &b, Location l, ValueRange ivs, Value acc) {
          CheckedIndex i = checkIndex(
              b, l, tensor::ExtractOp::create(b, l, indices, ivs), axisSize);
          SmallVector<Value> at(ivs);
          at[axis] = i.index;
          return guardedStore(b, l, i.inBounds, acc, at, reduction,
                              [&](OpBuilder &tb, Location tl) -> Value {
                                return tensor::ExtractOp::create(tb, tl,
                                                                 updates, ivs);
                              });
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

/// For every row r of indices (shape I x k): out[indices[r], ...] (op)=
/// updates[r, ...]. The row is read and checked once, then its slice is
/// copied by an inner loop nest.
struct ScatterNDLowering : OpConversionPattern<ScatterNDOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(ScatterNDOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Value data = adaptor.getData(), indices = adaptor.getIndices(),
          updates = adaptor.getUpdates();
    RankedTensorType dataType = tensorType(data);
    ArrayRef<int64_t> indexShape = tensorType(indices).getShape();
    int64_t k = indexShape.back();
    StringRef reduction = op.getReduction();
    ArrayRef<int64_t> rows = indexShape.drop_back();
    ArrayRef<int64_t> slice = dataType.getShape().drop_front(k);
    Value result = loopOver(
        rewriter, op.getLoc(), rows, copyOf(rewriter, op.getLoc(), data),
        [&](OpBuilder &b, Location l, ValueRange row, Value acc) {
          SmallVector<Value> prefix;
          Value inBounds;
          for (int64_t j = 0; j < k; ++j) {
            SmallVector<Value> at(row);
            at.push_back(arith::ConstantIndexOp::create(b, l, j));
            CheckedIndex i =
                checkIndex(b, l, tensor::ExtractOp::create(b, l, indices, at),
                           dataType.getDimSize(j));
            prefix.push_back(i.index);
            inBounds = inBounds
                           ? arith::AndIOp::create(b, l, inBounds, i.inBounds)
                           : i.inBounds;
          }
          if (!inBounds) // k = 0: every row updates the whole tensor.
            inBounds = arith::ConstantIntOp::create(b, l, 1, 1);
          auto ifOp = scf::IfOp::create(
              b, l, inBounds,
              [&](OpBuilder &tb, Location tl) {
                Value copied = loopOver(
                    tb, tl, slice, acc,
                    [&](OpBuilder &ib, Location il, ValueRange ivs,
                        Value inner) -> Value {
                      SmallVector<Value> at(prefix), from(row);
                      llvm::append_range(at, ivs);
                      llvm::append_range(from, ivs);
                      Value v =
                          tensor::ExtractOp::create(ib, il, updates, from);
                      if (reduction != "none")
                        v = combineScatter(
                            ib, il, reduction,
                            tensor::ExtractOp::create(ib, il, inner, at), v);
                      return tensor::InsertOp::create(ib, il, v, inner, at);
                    });
                scf::YieldOp::create(tb, tl, copied);
              },
              [&](OpBuilder &eb, Location el) {
                scf::YieldOp::create(eb, el, acc);
              });
          return ifOp.getResult(0);
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

} // namespace

void mlir::tessera::populateScatterLoweringPatterns(
    TypeConverter &converter, RewritePatternSet &patterns) {
  patterns.add<ScatterElementsLowering, ScatterNDLowering>(
      converter, patterns.getContext());
}
