//===- OnnxCompositeTensor.cpp - Layout and indexing ops, composed --------===//
//
// ONNX ops that are data movement or indexing, imported as the tessera ops
// that compute them (static shapes; the shape-defining inputs constant):
//
//   DepthToSpace  reshape, transpose (DCR or CRD order), reshape
//   SpaceToDepth  reshape, transpose, reshape
//   Tile          reshape to [1, d0, 1, d1, ...], expand to [r0, d0, ...],
//                 reshape to [r0 * d0, ...]
//   OneHot        where(indices (negatives + depth) == iota, on, off)
//   CumSum        reduce_sum over i of where(i <= j, x[i], 0): a select, not
//                 a product with a 0/1 matrix, so infinities stay exact
//   CumProd       the same with reduce_prod and 1
//   EyeLike       a constant: ones where column = row + k
//   HannWindow, HammingWindow, BlackmanWindow  constants (`size` constant)
//   ReverseSequence  gather_elements along the time axis at
//                 where(t < len[b], len[b] - 1 - t, t)
//   TensorScatter a cache position p of batch b takes update[p - w[b]]
//                 (mod the cache length when circular) where that lies in
//                 the update, else keeps the cache: a gather and a select
//   CenterCropPad one pad whose negative entries crop (the extra element of
//                 an odd difference on the end side)
//   GatherND      a gather along the first axis of the data flattened over
//                 its batch and indexed dimensions, at the linear index of
//                 each index tuple (negatives wrapped)
//   TopK          each element's rank along the axis (how many elements
//                 come before it: larger, or equal at a lower index), then
//                 output r gathers the element of rank r: exact, stable
//                 (ties keep index order) and quadratic in the axis length
//   InstanceNormalization  (x - mean) / sqrt(var + eps) * scale + bias over
//                 the spatial axes, per sample and channel
//   Einsum        one or two operands: labels summed out, then one batched
//                 matmul over [batch, left, contracted] x [batch,
//                 contracted, right], transposed to the output's order
//
//===----------------------------------------------------------------------===//

#include "import/onnx/ImporterImpl.h"

#include "dialects/Tessera/IR/TesseraOps.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringMap.h"

#include <cmath>

using namespace mlir;
using namespace mlir::tessera::onnx_import;
namespace ts = mlir::tessera;

namespace {
using GI = GraphImporter;


/// A constant i64 tensor 0, 1, ..., n-1 with `shape` (n elements along
/// `axis`, 1 elsewhere).
Value iota(GI &g, int64_t n, ArrayRef<int64_t> shape) {
  SmallVector<int64_t> values(n);
  for (int64_t i = 0; i < n; ++i)
    values[i] = i;
  auto type = RankedTensorType::get(shape, g.builder.getI64Type());
  return g.constant(DenseElementsAttr::get(type, ArrayRef<int64_t>(values)));
}

template <bool toSpace>
LogicalResult convertDepthSpace(GI &g) {
  TRY(x, g.requiredInput(0));
  RankedTensorType t = typeOf(*x);
  int64_t b = g.attrInt("blocksize", 0);
  if (t.getRank() != 4)
    return g.fail("the input must be 4-D [N, C, H, W], got rank " +
                  llvm::Twine(t.getRank()));
  if (b < 1)
    return g.fail("blocksize must be positive, got " + llvm::Twine(b));
  int64_t n = t.getDimSize(0), c = t.getDimSize(1), h = t.getDimSize(2),
          w = t.getDimSize(3);
  // DepthToSpace has both modes; SpaceToDepth gained CRD in opset 28.
  std::string mode = g.attrString("mode", "DCR");
  if (mode != "DCR" && mode != "CRD")
    return g.fail("mode must be DCR or CRD, got '" + mode + "'");
  bool crd = mode == "CRD";
  if (toSpace) {
    if (c % (b * b) != 0)
      return g.fail("channels (" + llvm::Twine(c) +
                    ") are not divisible by blocksize^2 (" + llvm::Twine(b * b) +
                    ")");
    int64_t cc = c / (b * b);
    TRY(r, crd ? g.reshape(*x, {n, cc, b, b, h, w}) : g.reshape(*x, {n, b, b, cc, h, w}));
    TRY(p, crd ? transpose(g, *r, {0, 1, 4, 2, 5, 3})
               : transpose(g, *r, {0, 3, 4, 1, 5, 2}));
    TRY(y, g.reshape(*p, {n, cc, h * b, w * b}));
    return g.setOutputs(*y);
  }
  if (h % b != 0 || w % b != 0)
    return g.fail("height and width (" + llvm::Twine(h) + ", " + llvm::Twine(w) +
                  ") are not divisible by blocksize " + llvm::Twine(b));
  TRY(r, g.reshape(*x, {n, c, h / b, b, w / b, b}));
  TRY(p, crd ? transpose(g, *r, {0, 1, 3, 5, 2, 4}) : transpose(g, *r, {0, 3, 5, 1, 2, 4}));
  TRY(y, g.reshape(*p, {n, c * b * b, h / b, w / b}));
  return g.setOutputs(*y);
}

LogicalResult convertTile(GI &g) {
  TRY(x, g.requiredInput(0));
  TRY(repeats, g.constantInts(1));
  RankedTensorType t = typeOf(*x);
  if (static_cast<int64_t>(repeats->size()) != t.getRank())
    return g.fail("repeats has " + llvm::Twine(repeats->size()) +
                  " values for an input of rank " + llvm::Twine(t.getRank()));
  SmallVector<int64_t> spread, expanded, out;
  for (auto [d, r] : llvm::zip(t.getShape(), *repeats)) {
    if (r < 0)
      return g.fail("repeats must not be negative, got " + llvm::Twine(r));
    int64_t tiled;
    if (__builtin_mul_overflow(r, d, &tiled))
      return g.fail("the tiled tensor is too large");
    spread.append({1, d});
    expanded.append({r, d});
    out.push_back(tiled);
  }
  if (!checkedNumElements(out))
    return g.fail("the tiled tensor is too large");
  TRY(s, g.reshape(*x, spread));
  TRY(e, g.create1<ts::ExpandOp>(
             *s, {}, RankedTensorType::get(expanded, t.getElementType())));
  TRY(y, g.reshape(*e, out));
  return g.setOutputs(*y);
}

LogicalResult convertOneHot(GI &g) {
  TRY(indices, g.requiredInput(0));
  TRY(depthValue, g.constantScalar(1));
  TRY(values, g.requiredInput(2));
  RankedTensorType it = typeOf(*indices), vt = typeOf(*values);
  if (vt.getRank() != 1 || vt.getDimSize(0) != 2)
    return g.fail("values must be [off, on], a 1-D tensor of 2 elements");
  int64_t depth = static_cast<int64_t>(*depthValue);
  if (depth < 1)
    return g.fail("depth must be positive, got " + llvm::Twine(depth));
  int64_t rank = it.getRank() + 1;
  SmallVector<int64_t> outShape(it.getShape());
  outShape.push_back(depth);
  if (!checkedNumElements(outShape))
    return g.fail("the one-hot tensor (depth " + llvm::Twine(depth) + ") is too large");
  int64_t axis = g.attrInt("axis", -1);
  if (axis < -rank || axis >= rank)
    return g.fail("axis " + llvm::Twine(axis) + " is out of range for rank " +
                  llvm::Twine(rank) + " output");
  if (axis < 0)
    axis += rank;
  // Indices as i64 (float indices truncate), negatives counted from depth.
  Type i64 = g.builder.getI64Type();
  TRY(idx, g.castTo(*indices, i64));
  TRY(neg, g.create1<ts::LessOp>({*idx, g.scalar(i64, 0)}));
  TRY(wrapped, g.create1<ts::AddOp>({*idx, g.scalar(i64, static_cast<double>(depth))}));
  TRY(norm, g.create1<ts::WhereOp>({*neg, *wrapped, *idx}));
  SmallVector<int64_t> idxShape(it.getShape()), iotaShape(rank, 1);
  idxShape.insert(idxShape.begin() + axis, 1);
  iotaShape[axis] = depth;
  TRY(col, g.reshape(*norm, idxShape));
  TRY(hit, g.create1<ts::EqualOp>({*col, iota(g, depth, iotaShape)}));
  auto pick = [&](int64_t i) -> FailureOr<Value> {
    TRY(s, g.create1<ts::SliceOp>(
               *values, {g.named("starts", g.builder.getDenseI64ArrayAttr({i})),
                         g.named("sizes", g.builder.getDenseI64ArrayAttr({1})),
                         g.named("steps", g.builder.getDenseI64ArrayAttr({1}))}));
    return g.reshape(*s, {});
  };
  TRY(off, pick(0));
  TRY(on, pick(1));
  TRY(y, g.create1<ts::WhereOp>({*hit, *on, *off}));
  return g.setOutputs(*y);
}

/// CumSum (`product` false) and CumProd (true, opset 26).
template <bool product>
LogicalResult convertCumulative(GI &g) {
  TRY(x, g.requiredInput(0));
  TRY(axisValue, g.constantScalar(1));
  RankedTensorType t = typeOf(*x);
  if (t.getRank() == 0)
    return g.fail("the input must have rank 1 or more");
  TRY(axis, g.normalizeAxis(static_cast<int64_t>(*axisValue), t.getRank()));
  bool exclusive = g.attrInt("exclusive", 0) != 0;
  bool reverse = g.attrInt("reverse", 0) != 0;
  int64_t n = t.getDimSize(*axis), rank = t.getRank();
  // The masked sum is quadratic in the axis length.
  constexpr int64_t kMaxAxis = 4096;
  if (n > kMaxAxis)
    return g.unsupported(llvm::Twine(product ? "CumProd" : "CumSum") + " over an axis of " +
                         llvm::Twine(n) +
                         " elements (at most " + llvm::Twine(kMaxAxis) + ")");
  SmallVector<int64_t> spreadShape(t.getShape());
  spreadShape.push_back(n);
  if (!checkedNumElements(spreadShape))
    return g.fail(llvm::Twine("the input is too large for ") +
                  (product ? "CumProd" : "CumSum"));
  // take[i][j]: whether x[i] contributes to y[j].
  SmallVector<bool> take(n * n);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j)
      take[i * n + j] = reverse ? (exclusive ? i > j : i >= j)
                                : (exclusive ? i < j : i <= j);
  // x with a unit dimension after the axis: [.., n(i), 1, ..] against the
  // mask [.., n(i), n(j), ..]; the sum over i leaves [.., n(j), ..].
  SmallVector<int64_t> spread(t.getShape()), maskShape(rank + 1, 1);
  spread.insert(spread.begin() + *axis + 1, 1);
  maskShape[*axis] = n;
  maskShape[*axis + 1] = n;
  auto maskType = RankedTensorType::get(maskShape, g.builder.getI1Type());
  Value mask = g.constant(DenseElementsAttr::get(maskType, ArrayRef<bool>(take)));
  TRY(s, g.reshape(*x, spread));
  TRY(picked, g.create1<ts::WhereOp>(
                  {mask, *s, g.scalar(t.getElementType(), product ? 1 : 0)}));
  auto y = product ? g.reduce<ts::ReduceProdOp>(*picked, {*axis}, /*keepdims=*/false)
                   : g.reduce<ts::ReduceSumOp>(*picked, {*axis}, /*keepdims=*/false);
  if (failed(y))
    return failure();
  return g.setOutputs(*y);
}

LogicalResult convertGatherND(GI &g) {
  TRY(data, g.requiredInput(0));
  TRY(indices, g.requiredInput(1));
  RankedTensorType dt = typeOf(*data), it = typeOf(*indices);
  int64_t r = dt.getRank(), q = it.getRank(), b = g.attrInt("batch_dims", 0);
  if (r < 1 || q < 1 || b < 0 || b >= std::min(q, r))
    return g.fail("batch_dims must be below the ranks of data and indices");
  if (!it.getElementType().isSignlessInteger(64))
    return g.fail("indices must be int64");
  int64_t k = it.getDimSize(q - 1);
  if (k < 1 || k > r - b)
    return g.fail("the index tuples have " + llvm::Twine(k) + " elements, at most " +
                  llvm::Twine(r - b) + " fit");
  for (int64_t d = 0; d < b; ++d)
    if (it.getDimSize(d) != dt.getDimSize(d))
      return g.fail("the batch dimensions of data and indices differ");
  Type i64 = g.builder.getI64Type();
  // Strides of the indexed dimensions, and their sizes (to wrap negatives).
  SmallVector<int64_t> strides(k), sizes(k);
  int64_t indexed = 1;
  for (int64_t i = k - 1; i >= 0; --i) {
    strides[i] = indexed;
    sizes[i] = dt.getDimSize(b + i);
    indexed *= sizes[i];
  }
  SmallVector<int64_t> lastShape(q, 1);
  lastShape[q - 1] = k;
  auto vec = [&](ArrayRef<int64_t> v) {
    return g.constant(DenseElementsAttr::get(RankedTensorType::get(lastShape, i64), v));
  };
  TRY(negative, g.create1<ts::LessOp>({*indices, g.scalar(i64, 0)}));
  TRY(shifted, g.create1<ts::AddOp>({*indices, vec(sizes)}));
  TRY(wrapped, g.create1<ts::WhereOp>({*negative, *shifted, *indices}));
  TRY(scaled, g.create1<ts::MulOp>({*wrapped, vec(strides)}));
  TRY(linear, g.reduce<ts::ReduceSumOp>(*scaled, {q - 1}, /*keepdims=*/false));
  Value index = *linear;
  int64_t batch = 1;
  for (int64_t d = 0; d < b; ++d)
    batch *= dt.getDimSize(d);
  if (b > 0) {
    // Each batch's block of `indexed` rows.
    SmallVector<int64_t> batchShape(q - 1, 1), offsets;
    for (int64_t d = 0; d < b; ++d)
      batchShape[d] = dt.getDimSize(d);
    for (int64_t i = 0; i < batch; ++i)
      offsets.push_back(i * indexed);
    Value offset = g.constant(DenseElementsAttr::get(RankedTensorType::get(batchShape, i64),
                                                     ArrayRef<int64_t>(offsets)));
    TRY(sum, g.create1<ts::AddOp>({index, offset}));
    index = *sum;
  }
  SmallVector<int64_t> flatShape = {batch * indexed};
  flatShape.append(dt.getShape().begin() + b + k, dt.getShape().end());
  TRY(flat, g.reshape(*data, flatShape));
  TRY(y, g.create1<ts::GatherOp>({*flat, index},
                                 {g.named("axis", g.builder.getI64IntegerAttr(0))}));
  return g.setOutputs(*y);
}

enum class WindowKind { Hann, Hamming, Blackman };

template <WindowKind kind>
LogicalResult convertWindow(GI &g) {
  TRY(size, g.constantInts(0));
  if (size->size() != 1 || (*size)[0] < 0)
    return g.fail("size must be one non-negative value");
  int64_t n = (*size)[0];
  Type e = convertDataType(g.ctx, static_cast<int32_t>(g.attrInt("output_datatype", 1)));
  if (!e)
    return g.unsupported("output_datatype " +
                         dataTypeName(static_cast<int32_t>(g.attrInt("output_datatype", 1))));
  double denom = g.attrInt("periodic", 1) != 0 ? static_cast<double>(n)
                                                : static_cast<double>(n - 1);
  SmallVector<double> w;
  for (int64_t i = 0; i < n; ++i) {
    double x = static_cast<double>(i) * M_PI / denom;
    switch (kind) {
    case WindowKind::Hann: w.push_back(std::sin(x) * std::sin(x)); break;
    case WindowKind::Hamming: w.push_back(25.0 / 46.0 - 21.0 / 46.0 * std::cos(2 * x)); break;
    case WindowKind::Blackman:
      w.push_back(0.42 - 0.5 * std::cos(2 * x) + 0.08 * std::cos(4 * x));
      break;
    }
  }
  Value f64 = g.constant(DenseElementsAttr::get(
      RankedTensorType::get({n}, g.builder.getF64Type()), ArrayRef<double>(w)));
  TRY(y, g.castTo(f64, e));
  return g.setOutputs(*y);
}

LogicalResult convertCenterCropPad(GI &g) {
  TRY(x, g.requiredInput(0));
  TRY(shape, g.constantInts(1));
  RankedTensorType t = typeOf(*x);
  int64_t rank = t.getRank();
  SmallVector<int64_t> axes;
  if (auto a = g.attrInts("axes")) {
    for (int64_t v : *a) {
      TRY(axis, g.normalizeAxis(v, rank));
      axes.push_back(*axis);
    }
  } else {
    for (int64_t d = 0; d < rank; ++d)
      axes.push_back(d);
  }
  if (shape->size() != axes.size())
    return g.fail("shape has " + llvm::Twine(shape->size()) + " entries for " +
                  llvm::Twine(axes.size()) + " axes");
  SmallVector<int64_t> pads(2 * rank, 0);
  for (auto [a, target] : llvm::zip(axes, *shape)) {
    if (target < 0)
      return g.fail("shape entries must not be negative");
    int64_t d = target - t.getDimSize(a); // > 0 pads, < 0 crops
    int64_t begin = d >= 0 ? d / 2 : -((-d) / 2);
    pads[a] = begin;
    pads[a + rank] = d - begin;
  }
  TRY(y, g.create1<ts::PadOp>(*x, {g.named("pads", g.builder.getDenseI64ArrayAttr(pads)),
                                   g.named("mode", g.builder.getStringAttr("constant"))}));
  return g.setOutputs(*y);
}

/// `v` broadcast to `shape` (an expand, or `v` itself).
FailureOr<Value> expandTo(GI &g, Value v, ArrayRef<int64_t> shape) {
  if (typeOf(v).getShape() == shape)
    return v;
  return g.create1<ts::ExpandOp>(
      v, {}, RankedTensorType::get(shape, typeOf(v).getElementType()));
}

/// A constant 0, 1, ..., n - 1 along dimension `d` of a rank-`rank` i64
/// tensor whose other dimensions are 1.
Value iotaAlong(GI &g, int64_t rank, int64_t d, int64_t n) {
  SmallVector<int64_t> shape(rank, 1), values;
  shape[d] = n;
  for (int64_t i = 0; i < n; ++i)
    values.push_back(i);
  return g.constant(DenseElementsAttr::get(RankedTensorType::get(shape, g.builder.getI64Type()),
                                           ArrayRef<int64_t>(values)));
}

LogicalResult convertReverseSequence(GI &g) {
  TRY(x, g.requiredInput(0));
  TRY(lens, g.requiredInput(1));
  RankedTensorType t = typeOf(*x);
  int64_t rank = t.getRank();
  if (rank < 2)
    return g.fail("the input must have rank 2 or more");
  TRY(batchAxis, g.normalizeAxis(g.attrInt("batch_axis", 1), rank));
  TRY(timeAxis, g.normalizeAxis(g.attrInt("time_axis", 0), rank));
  if (*batchAxis == *timeAxis)
    return g.fail("batch_axis and time_axis must differ");
  RankedTensorType lt = typeOf(*lens);
  if (lt.getRank() != 1 || lt.getDimSize(0) != t.getDimSize(*batchAxis))
    return g.fail("sequence_lens must be a vector of the batch size");
  Type i64 = g.builder.getI64Type();
  SmallVector<int64_t> lenShape(rank, 1);
  lenShape[*batchAxis] = t.getDimSize(*batchAxis);
  TRY(l64, g.castTo(*lens, i64));
  TRY(l, g.reshape(*l64, lenShape));
  Value time = iotaAlong(g, rank, *timeAxis, t.getDimSize(*timeAxis));
  TRY(inside, g.create1<ts::LessOp>({time, *l}));
  TRY(last, g.create1<ts::SubOp>({*l, g.scalar(i64, 1)}));
  TRY(mirrored, g.create1<ts::SubOp>({*last, time}));
  TRY(index, g.create1<ts::WhereOp>({*inside, *mirrored, time}));
  TRY(full, expandTo(g, *index, t.getShape()));
  TRY(y, g.create1<ts::GatherElementsOp>(
             {*x, *full}, {g.named("axis", g.builder.getI64IntegerAttr(*timeAxis))}));
  return g.setOutputs(*y);
}

LogicalResult convertTensorScatter(GI &g) {
  TRY(cache, g.requiredInput(0));
  TRY(update, g.requiredInput(1));
  RankedTensorType ct = typeOf(*cache), ut = typeOf(*update);
  int64_t rank = ct.getRank();
  if (rank < 2 || ut.getRank() != rank || ct.getElementType() != ut.getElementType())
    return g.fail("past_cache and update must have one rank (2 or more) and element type");
  TRY(axis, g.normalizeAxis(g.attrInt("axis", -2), rank));
  if (*axis == 0)
    return g.fail("axis must not be the batch axis");
  for (int64_t d = 0; d < rank; ++d)
    if (d != *axis ? ut.getDimSize(d) != ct.getDimSize(d)
                   : ut.getDimSize(d) > ct.getDimSize(d))
      return g.fail("the update's shape does not fit the cache's");
  std::string mode = g.attrString("mode", "linear");
  if (mode != "linear" && mode != "circular")
    return g.fail("mode must be linear or circular, not '" + mode + "'");
  Type i64 = g.builder.getI64Type();
  int64_t cacheLen = ct.getDimSize(*axis), updateLen = ut.getDimSize(*axis);
  SmallVector<int64_t> batchShape(rank, 1);
  batchShape[0] = ct.getDimSize(0);
  Value w = g.scalar(i64, 0);
  if (Value wi = g.input(2)) {
    if (typeOf(wi).getRank() != 1 || typeOf(wi).getDimSize(0) != ct.getDimSize(0))
      return g.fail("write_indices must be a vector of the batch size");
    TRY(w64, g.castTo(wi, i64));
    TRY(wr, g.reshape(*w64, batchShape));
    w = *wr;
  }
  Value p = iotaAlong(g, rank, *axis, cacheLen);
  TRY(j, g.create1<ts::SubOp>({p, w}));
  Value offset = *j;
  if (mode == "circular") {
    TRY(m, g.create1<ts::ModOp>({*j, g.scalar(i64, static_cast<double>(cacheLen))},
                                {g.named("fmod", g.builder.getBoolAttr(false))}));
    offset = *m;
  }
  TRY(low, g.create1<ts::GreaterEqualOp>({offset, g.scalar(i64, 0)}));
  TRY(high, g.create1<ts::LessOp>({offset, g.scalar(i64, static_cast<double>(updateLen))}));
  TRY(valid, g.create1<ts::AndOp>({*low, *high}));
  TRY(safe, g.create1<ts::WhereOp>({*valid, offset, g.scalar(i64, 0)}));
  TRY(index, expandTo(g, *safe, ct.getShape()));
  TRY(taken, g.create1<ts::GatherElementsOp>(
                 {*update, *index}, {g.named("axis", g.builder.getI64IntegerAttr(*axis))}));
  TRY(y, g.create1<ts::WhereOp>({*valid, *taken, *cache}));
  return g.setOutputs(*y);
}

LogicalResult convertEyeLike(GI &g) {
  TRY(x, g.requiredInput(0));
  RankedTensorType t = typeOf(*x);
  if (t.getRank() != 2)
    return g.fail("the input must be 2-D, got rank " + llvm::Twine(t.getRank()));
  Type e = t.getElementType();
  if (g.attr("dtype")) {
    e = convertDataType(g.ctx, static_cast<int32_t>(g.attrInt("dtype", 0)));
    if (!e)
      return g.unsupported("EyeLike of " +
                           dataTypeName(static_cast<int32_t>(g.attrInt("dtype", 0))));
  }
  int64_t rows = t.getDimSize(0), cols = t.getDimSize(1), k = g.attrInt("k", 0);
  if (!checkedNumElements({rows, cols}))
    return g.fail("the output is too large");
  SmallVector<bool> eye(rows * cols);
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j)
      eye[i * cols + j] = j == i + k;
  Value mask = g.constant(DenseElementsAttr::get(
      RankedTensorType::get({rows, cols}, g.builder.getI1Type()), ArrayRef<bool>(eye)));
  TRY(y, g.castTo(mask, e));
  return g.setOutputs(*y);
}

LogicalResult convertTopK(GI &g) {
  TRY(x, g.requiredInput(0));
  int64_t k;
  if (g.opset < 10) {
    k = g.attrInt("k", -1);
  } else {
    TRY(kv, g.constantInts(1));
    if (kv->size() != 1)
      return g.fail("K must hold one value");
    k = (*kv)[0];
  }
  RankedTensorType t = typeOf(*x);
  if (t.getRank() == 0)
    return g.fail("the input must have rank 1 or more");
  TRY(axis, g.normalizeAxis(g.attrInt("axis", -1), t.getRank()));
  int64_t n = t.getDimSize(*axis), a = *axis, rank = t.getRank();
  if (k < 0 || k > n)
    return g.fail("K is " + llvm::Twine(k) + ", the axis has " + llvm::Twine(n) +
                  " elements");
  bool largest = g.attrInt("largest", 1) != 0;
  // Every pair along the axis is compared: keep that bounded.
  constexpr int64_t kMaxAxis = 4096, kMaxPairs = int64_t(1) << 26;
  SmallVector<int64_t> pairShape(t.getShape());
  pairShape.insert(pairShape.begin() + a + 1, n);
  std::optional<int64_t> pairs = checkedNumElements(pairShape);
  if (n > kMaxAxis || !pairs || *pairs > kMaxPairs)
    return g.unsupported("TopK over " + llvm::Twine(n) + " elements per row (at most " +
                         llvm::Twine(kMaxAxis) + ", and 2^26 compared pairs)");
  Type i64 = g.builder.getI64Type(), e = t.getElementType();
  // x_i on dimension a, x_j on dimension a + 1.
  SmallVector<int64_t> iShape(t.getShape()), jShape(t.getShape());
  iShape.insert(iShape.begin() + a + 1, 1);
  jShape.insert(jShape.begin() + a, 1);
  TRY(xi, g.reshape(*x, iShape));
  TRY(xj, g.reshape(*x, jShape));
  auto before = largest ? g.create1<ts::GreaterOp>({*xi, *xj})
                        : g.create1<ts::LessOp>({*xi, *xj});
  if (failed(before))
    return failure();
  TRY(same, g.create1<ts::EqualOp>({*xi, *xj}));
  // Ties: i before j when i < j.
  SmallVector<int64_t> pairMask(rank + 1, 1);
  pairMask[a] = n;
  pairMask[a + 1] = n;
  SmallVector<bool> lower(n * n);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j)
      lower[i * n + j] = i < j;
  Value lowerMask = g.constant(DenseElementsAttr::get(
      RankedTensorType::get(pairMask, g.builder.getI1Type()), ArrayRef<bool>(lower)));
  TRY(tie, g.create1<ts::AndOp>({*same, lowerMask}));
  TRY(ahead, g.create1<ts::OrOp>({*before, *tie}));
  TRY(count, g.castTo(*ahead, i64));
  TRY(rankOf, g.reduce<ts::ReduceSumOp>(*count, {a}, /*keepdims=*/true)); // [.., 1, n, ..]
  // Output r takes the element of rank r.
  SmallVector<int64_t> rShape(rank + 1, 1), jIotaShape(rank + 1, 1);
  rShape[a] = k;
  jIotaShape[a + 1] = n;
  SmallVector<int64_t> rs, js;
  for (int64_t r = 0; r < k; ++r)
    rs.push_back(r);
  for (int64_t j = 0; j < n; ++j)
    js.push_back(j);
  Value rIota = g.constant(DenseElementsAttr::get(RankedTensorType::get(rShape, i64),
                                                  ArrayRef<int64_t>(rs)));
  Value jIota = g.constant(DenseElementsAttr::get(RankedTensorType::get(jIotaShape, i64),
                                                  ArrayRef<int64_t>(js)));
  TRY(hit, g.create1<ts::EqualOp>({*rankOf, rIota})); // [.., k, n, ..]
  TRY(pickedValues, g.create1<ts::WhereOp>({*hit, *xj, g.scalar(e, 0)}));
  TRY(pickedIndices, g.create1<ts::WhereOp>({*hit, jIota, g.scalar(i64, 0)}));
  TRY(values, g.reduce<ts::ReduceSumOp>(*pickedValues, {a + 1}, /*keepdims=*/false));
  TRY(indices, g.reduce<ts::ReduceSumOp>(*pickedIndices, {a + 1}, /*keepdims=*/false));
  return g.setOutputs({*values, *indices});
}

LogicalResult convertInstanceNorm(GI &g) {
  TRY(x, g.requiredInput(0));
  TRY(scale, g.requiredInput(1));
  TRY(bias, g.requiredInput(2));
  RankedTensorType t = typeOf(*x);
  if (t.getRank() < 3)
    return g.fail("the input must be [N, C, D1, ...], got rank " +
                  llvm::Twine(t.getRank()));
  int64_t c = t.getDimSize(1);
  for (Value p : {*scale, *bias})
    if (typeOf(p).getRank() != 1 || typeOf(p).getDimSize(0) != c)
      return g.fail("scale and B must be 1-D with " + llvm::Twine(c) +
                    " elements (the channels)");
  SmallVector<int64_t> axes;
  for (int64_t d = 2; d < t.getRank(); ++d)
    axes.push_back(d);
  Type e = t.getElementType();
  TRY(mean, g.reduce<ts::ReduceMeanOp>(*x, axes, true));
  TRY(d, g.create1<ts::SubOp>({*x, *mean}));
  TRY(sq, g.create1<ts::MulOp>({*d, *d}));
  TRY(var, g.reduce<ts::ReduceMeanOp>(*sq, axes, true));
  TRY(shifted, g.create1<ts::AddOp>({*var, g.scalar(e, g.attrFloat("epsilon", 1e-5f))}));
  TRY(sd, g.create1<ts::SqrtOp>(*shifted, {}, shifted->getType()));
  TRY(normed, g.create1<ts::DivOp>({*d, *sd}));
  SmallVector<int64_t> perChannel(t.getRank() - 1, 1);
  perChannel[0] = c;
  TRY(s, g.reshape(*scale, perChannel));
  TRY(b, g.reshape(*bias, perChannel));
  TRY(scaled, g.create1<ts::MulOp>({*normed, *s}));
  TRY(y, g.create1<ts::AddOp>({*scaled, *b}));
  return g.setOutputs(*y);
}

//===----------------------------------------------------------------------===//
// Einsum
//===----------------------------------------------------------------------===//

/// One operand's labels, one character per dimension ('.'-expanded
/// ellipsis dimensions get the characters '0'..'9').
struct Term {
  Value value;
  std::string labels;
};

/// Expands "..." in `spec` for an operand of `rank`; fails on bad labels.
FailureOr<std::string> expandEllipsis(GI &g, StringRef spec, int64_t rank,
                                      int64_t &ellipsisRank) {
  size_t dots = spec.find("...");
  std::string labels;
  for (char ch : spec)
    if (ch != '.' && !llvm::isAlpha(ch))
      return g.fail("equation label '" + Twine(ch) + "' is not a letter");
  if (dots == StringRef::npos) {
    if (static_cast<int64_t>(spec.size()) != rank)
      return g.fail("equation term '" + spec + "' has " + Twine(spec.size()) +
                    " labels for an operand of rank " + Twine(rank));
    return spec.str();
  }
  if (spec.substr(dots + 3).contains('.'))
    return g.fail("equation term '" + spec + "' has more than one ellipsis");
  int64_t n = rank - static_cast<int64_t>(spec.size() - 3);
  if (n < 0 || n > 10)
    return g.fail("equation term '" + spec + "' does not fit an operand of rank " +
                  Twine(rank));
  if (ellipsisRank >= 0 && ellipsisRank != n)
    return g.fail("the operands' ellipses cover different ranks; unsupported "
                  "broadcast");
  ellipsisRank = n;
  labels = spec.substr(0, dots).str();
  for (int64_t i = 0; i < n; ++i)
    labels += static_cast<char>('0' + i);
  labels += spec.substr(dots + 3).str();
  return labels;
}

/// Sums `term` over the labels `keep` does not contain.
LogicalResult sumOut(GI &g, Term &term, llvm::function_ref<bool(char)> keep) {
  SmallVector<int64_t> axes;
  std::string kept;
  for (auto [i, l] : llvm::enumerate(term.labels)) {
    if (keep(l))
      kept += l;
    else
      axes.push_back(static_cast<int64_t>(i));
  }
  if (axes.empty())
    return success();
  TRY(r, g.reduce<ts::ReduceSumOp>(term.value, axes, false));
  term = {*r, kept};
  return success();
}

/// Transposes `term` to the label order `order` (a permutation of its own).
FailureOr<Value> arrange(GI &g, const Term &term, StringRef order) {
  SmallVector<int64_t> perm;
  for (char l : order)
    perm.push_back(static_cast<int64_t>(term.labels.find(l)));
  return transpose(g, term.value, perm);
}

LogicalResult convertEinsum(GI &g) {
  std::string equation;
  for (char ch : g.attrString("equation", ""))
    if (!llvm::isSpace(ch))
      equation += ch;
  if (equation.empty())
    return g.fail("the equation attribute is missing or empty");
  StringRef eq(equation);
  auto [lhs, rhs] = eq.split("->");
  bool explicitOutput = eq.contains("->");
  SmallVector<StringRef> specs;
  lhs.split(specs, ',');
  if (static_cast<int64_t>(specs.size()) != g.numInputs())
    return g.fail("the equation has " + Twine(specs.size()) + " terms for " +
                  Twine(g.numInputs()) + " inputs");
  if (specs.size() > 2)
    return g.unsupported("Einsum with more than two operands");
  int64_t ellipsisRank = -1;
  SmallVector<Term> terms;
  llvm::DenseMap<char, int64_t> sizes, counts;
  for (auto [i, spec] : llvm::enumerate(specs)) {
    TRY(v, g.requiredInput(static_cast<int>(i)));
    RankedTensorType t = typeOf(*v);
    TRY(labels, expandEllipsis(g, spec, t.getRank(), ellipsisRank));
    for (auto [d, l] : llvm::enumerate(*labels)) {
      if (labels->find(l) != d)
        return g.unsupported("Einsum with a label repeated in one operand "
                             "(a diagonal)");
      int64_t size = t.getDimSize(d);
      auto [it, inserted] = sizes.try_emplace(l, size);
      if (!inserted && it->second != size)
        return g.fail("label '" + Twine(l) + "' has sizes " + Twine(it->second) +
                      " and " + Twine(size));
      ++counts[l];
    }
    terms.push_back({*v, *labels});
  }
  std::string out;
  if (explicitOutput) {
    out = rhs.str();
    if (size_t dots = out.find("..."); dots != std::string::npos) {
      if (ellipsisRank < 0)
        return g.fail("the output has an ellipsis the inputs do not");
      std::string dims;
      for (int64_t i = 0; i < ellipsisRank; ++i)
        dims += static_cast<char>('0' + i);
      out.replace(dots, 3, dims);
    } else if (ellipsisRank > 0) {
      return g.fail("the output drops the inputs' ellipsis dimensions; "
                    "unsupported");
    }
    for (auto [i, l] : llvm::enumerate(out)) {
      if (!sizes.count(l))
        return g.fail("output label '" + Twine(l) + "' is in no input");
      if (out.find(l) != i)
        return g.fail("output label '" + Twine(l) + "' is repeated");
    }
  } else {
    // Implicit: the ellipsis dimensions, then the labels used once, sorted.
    for (int64_t i = 0; i < std::max<int64_t>(ellipsisRank, 0); ++i)
      out += static_cast<char>('0' + i);
    std::string once;
    for (auto &[l, n] : counts)
      if (n == 1 && llvm::isAlpha(l))
        once += l;
    llvm::sort(once);
    out += once;
  }
  auto inOut = [&](char l) { return out.find(l) != std::string::npos; };

  if (terms.size() == 1) {
    if (failed(sumOut(g, terms[0], inOut)))
      return failure();
    TRY(y, arrange(g, terms[0], out));
    return g.setOutputs(*y);
  }
  Term &a = terms[0], &b = terms[1];
  auto inA = [&](char l) { return a.labels.find(l) != std::string::npos; };
  auto inB = [&](char l) { return b.labels.find(l) != std::string::npos; };
  // Labels only one operand has and the output drops are summed first.
  if (failed(sumOut(g, a, [&](char l) { return inOut(l) || inB(l); })) ||
      failed(sumOut(g, b, [&](char l) { return inOut(l) || inA(l); })))
    return failure();
  std::string batch, left, right, contracted;
  for (char l : a.labels) {
    if (inB(l))
      (inOut(l) ? batch : contracted) += l;
    else
      left += l;
  }
  for (char l : b.labels)
    if (!inA(l))
      right += l;
  auto product = [&](StringRef labels) {
    int64_t n = 1;
    for (char l : labels)
      n *= sizes[l];
    return n;
  };
  int64_t nb = product(batch), nl = product(left), nr = product(right),
          nk = product(contracted);
  TRY(at, arrange(g, a, batch + left + contracted));
  TRY(bt, arrange(g, b, batch + contracted + right));
  TRY(a3, g.reshape(*at, {nb, nl, nk}));
  TRY(b3, g.reshape(*bt, {nb, nk, nr}));
  TRY(mm, g.create1<ts::MatMulOp>({*a3, *b3}));
  std::string labels = batch + left + right;
  SmallVector<int64_t> shape;
  for (char l : labels)
    shape.push_back(sizes[l]);
  TRY(r, g.reshape(*mm, shape));
  TRY(y, arrange(g, Term{*r, labels}, out));
  return g.setOutputs(*y);
}

} // namespace

FailureOr<Value> mlir::tessera::onnx_import::transpose(GraphImporter &g, Value x,
                                                    llvm::ArrayRef<int64_t> perm) {
  bool identity = true;
  for (auto [i, p] : llvm::enumerate(perm))
    identity &= static_cast<int64_t>(i) == p;
  if (identity)
    return x;
  return g.create1<ts::TransposeOp>(
      x, {g.named("perm", g.builder.getDenseI64ArrayAttr(perm))});
}

OpConverter
mlir::tessera::onnx_import::lookupTensorCompositeConverter(llvm::StringRef opType) {
  static const llvm::StringMap<OpConverter> table = {
      {"DepthToSpace", convertDepthSpace<true>},
      {"SpaceToDepth", convertDepthSpace<false>},
      {"Tile", convertTile},
      {"OneHot", convertOneHot},
      {"CumSum", convertCumulative<false>},
      {"CumProd", convertCumulative<true>},
      {"TopK", convertTopK},
      {"EyeLike", convertEyeLike},
      {"HannWindow", convertWindow<WindowKind::Hann>},
      {"HammingWindow", convertWindow<WindowKind::Hamming>},
      {"BlackmanWindow", convertWindow<WindowKind::Blackman>},
      {"CenterCropPad", convertCenterCropPad},
      {"ReverseSequence", convertReverseSequence},
      {"TensorScatter", convertTensorScatter},
      {"GatherND", convertGatherND},
      {"InstanceNormalization", convertInstanceNorm},
      {"Einsum", convertEinsum},
  };
  return table.lookup(opType);
}
