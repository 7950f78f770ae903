//===- OnnxOps.cpp - One converter per ONNX op type -----------------------===//
//
// Each converter reads its node through GraphImporter's helpers, normalises
// the ONNX attributes (negative axes, auto_pad, opset-dependent inputs) and
// creates tessera ops, which are verified and folded as they are made. The
// attribute-to-input changes between opsets are handled here: Split,
// Squeeze, Unsqueeze, Reduce*, Slice, Pad, Clip and Resize read either form.
//
//===----------------------------------------------------------------------===//

#include "import/onnx/ImporterImpl.h"

#include "dialects/Tessera/IR/TesseraOps.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/Support/MathExtras.h"

#include <cmath>
#include <cstdio>
#include <limits>
#include <optional>
#include <type_traits>

using namespace mlir;
using namespace mlir::tessera::onnx_import;
namespace ts = mlir::tessera;

namespace {
using GI = GraphImporter;

LogicalResult bind(GI &g, FailureOr<Value> v) {
  if (failed(v))
    return failure();
  return g.setOutputs(*v);
}

//===----------------------------------------------------------------------===//
// Elementwise
//===----------------------------------------------------------------------===//

template <typename OpTy>
LogicalResult unary(GI &g) {
  auto x = g.requiredInput(0);
  if (failed(x))
    return failure();
  return bind(g, g.create1<OpTy>(*x, {}, x->getType()));
}

template <typename OpTy>
LogicalResult alphaUnary(GI &g, float dflt) {
  auto x = g.requiredInput(0);
  if (failed(x))
    return failure();
  return bind(g, g.create1<OpTy>(
                     *x, {g.named("alpha", g.builder.getF32FloatAttr(
                                               g.attrFloat("alpha", dflt)))},
                     x->getType()));
}

LogicalResult convertGelu(GI &g) {
  auto x = g.requiredInput(0);
  if (failed(x))
    return failure();
  std::string approx = g.attrString("approximate", "none");
  if (approx != "none" && approx != "tanh")
    return g.fail("unknown approximate mode '" + approx + "'");
  return bind(g, g.create1<ts::GeluOp>(
                     *x, {g.named("tanh_approximation",
                                  g.builder.getBoolAttr(approx == "tanh"))},
                     x->getType()));
}

/// Opset < 7 elementwise ops broadcast `rhs` only when `broadcast` = 1, and
/// align it at `axis` instead of at the end. Reshape it to NumPy form.
FailureOr<Value> legacyBroadcast(GI &g, Value lhs, Value rhs) {
  if (g.opset >= 7 || g.attrInt("broadcast", 0) == 0 || !g.attr("axis"))
    return rhs;
  int64_t lrank = typeOf(lhs).getRank();
  auto axis = g.normalizeAxis(g.attrInt("axis", 0), lrank);
  if (failed(axis))
    return failure();
  llvm::SmallVector<int64_t> shape(typeOf(rhs).getShape());
  if (*axis + static_cast<int64_t>(shape.size()) > lrank)
    return g.fail("legacy broadcast axis does not fit");
  shape.append(lrank - *axis - shape.size(), 1);
  return g.reshape(rhs, shape);
}

template <typename OpTy>
LogicalResult binary(GI &g) {
  auto lhs = g.requiredInput(0);
  auto rhs = g.requiredInput(1);
  if (failed(lhs) || failed(rhs))
    return failure();
  auto r = legacyBroadcast(g, *lhs, *rhs);
  if (failed(r))
    return failure();
  return bind(g, g.create1<OpTy>({*lhs, *r}));
}

LogicalResult convertPow(GI &g) {
  auto x = g.requiredInput(0);
  auto y = g.requiredInput(1);
  if (failed(x) || failed(y))
    return failure();
  // ONNX allows an exponent of another type; compute in the base's type.
  auto e = g.castTo(*y, typeOf(*x).getElementType());
  if (failed(e))
    return failure();
  return bind(g, g.create1<ts::PowOp>({*x, *e}));
}

LogicalResult convertMod(GI &g) {
  auto a = g.requiredInput(0), b = g.requiredInput(1);
  if (failed(a) || failed(b))
    return failure();
  return bind(g, g.create1<ts::ModOp>(
                     {*a, *b}, {g.named("fmod", g.builder.getBoolAttr(
                                                    g.attrInt("fmod", 0) != 0))}));
}

/// Max, Min, Sum: variadic, folded left to right.
template <typename OpTy>
FailureOr<Value> variadic(GI &g) {
  auto acc = g.requiredInput(0);
  if (failed(acc))
    return failure();
  for (int i = 1; i < g.numInputs(); ++i) {
    auto next = g.requiredInput(i);
    if (failed(next))
      return failure();
    acc = g.create1<OpTy>({*acc, *next});
    if (failed(acc))
      return failure();
  }
  return acc;
}

template <typename OpTy>
LogicalResult convertVariadic(GI &g) {
  return bind(g, variadic<OpTy>(g));
}

LogicalResult convertMean(GI &g) {
  auto sum = variadic<ts::AddOp>(g);
  if (failed(sum))
    return failure();
  Type element = typeOf(*sum).getElementType();
  if (!isa<FloatType>(element))
    return g.unsupported("Mean of " + llvm::Twine(g.numInputs()) +
                         " integer tensors");
  auto scalar = RankedTensorType::get({}, element);
  Value n = g.constant(DenseElementsAttr::get(
      scalar, g.builder.getFloatAttr(element, g.numInputs())));
  return bind(g, g.create1<ts::DivOp>({*sum, n}));
}

LogicalResult convertWhere(GI &g) {
  auto c = g.requiredInput(0), x = g.requiredInput(1), y = g.requiredInput(2);
  if (failed(c) || failed(x) || failed(y))
    return failure();
  return bind(g, g.create1<ts::WhereOp>({*c, *x, *y}));
}

LogicalResult convertClip(GI &g) {
  auto x = g.requiredInput(0);
  if (failed(x))
    return failure();
  Type element = typeOf(*x).getElementType();
  auto scalar = RankedTensorType::get({}, element);
  Value bounds[2];
  for (int i = 0; i < 2; ++i) {
    if (g.opset < 11) {
      const char *name = i == 0 ? "min" : "max";
      if (!g.attr(name))
        continue;
      if (!isa<FloatType>(element))
        return g.fail("legacy Clip needs a float input");
      bounds[i] = g.constant(DenseElementsAttr::get(
          scalar, g.builder.getFloatAttr(element, g.attrFloat(name, 0))));
      continue;
    }
    Value v = g.input(i + 1);
    if (!v)
      continue;
    if (typeOf(v).getNumElements() != 1)
      return g.fail("Clip bounds must be scalars");
    auto r = g.reshape(v, {});
    if (failed(r))
      return failure();
    bounds[i] = *r;
  }
  llvm::SmallVector<Value> operands = {*x};
  for (Value b : bounds)
    if (b)
      operands.push_back(b);
  int32_t segments[] = {1, bounds[0] ? 1 : 0, bounds[1] ? 1 : 0};
  return bind(g, g.create1<ts::ClipOp>(
                     operands,
                     {g.named("operandSegmentSizes",
                              g.builder.getDenseI32ArrayAttr(segments))},
                     x->getType()));
}

LogicalResult convertCast(GI &g) {
  auto x = g.requiredInput(0);
  if (failed(x))
    return failure();
  if (g.opset < 6)
    return g.unsupported("Cast with a string 'to' (opset < 6)");
  int64_t to = g.attrInt("to", 0);
  Type element = convertDataType(g.ctx, static_cast<int32_t>(to));
  if (!element)
    return g.unsupported("cast to " + dataTypeName(static_cast<int32_t>(to)));
  if (g.attrString("round_mode", "up") != "up" &&
      isa<Float8E8M0FNUType>(element))
    return g.unsupported("cast to float8e8m0 with round_mode '" +
                         g.attrString("round_mode", "up") + "'");
  auto y = g.castTo(*x, element);
  if (succeeded(y) && g.attrInt("saturate", 1) == 0)
    if (auto c = y->getDefiningOp<ts::CastOp>())
      c.setSaturate(false);
  return bind(g, y);
}

LogicalResult convertIdentity(GI &g) {
  auto x = g.requiredInput(0);
  if (failed(x))
    return failure();
  return g.setOutputs(*x);
}

LogicalResult convertDropout(GI &g) {
  auto x = g.requiredInput(0);
  if (failed(x))
    return failure();
  if (g.opset < 7 && g.attrInt("is_test", 0) == 0)
    return g.unsupported("training-mode Dropout");
  if (g.input(2)) {
    auto training = g.constantScalar(2);
    if (failed(training))
      return failure();
    if (*training != 0)
      return g.unsupported("training-mode Dropout");
  }
  return g.setOutputs(*x);
}

//===----------------------------------------------------------------------===//
// Constants and shapes
//===----------------------------------------------------------------------===//

LogicalResult convertConstant(GI &g) {
  Builder &b = g.builder;
  if (const auto *a = g.attr("value")) {
    std::string error;
    auto value = convertTensor(g.ctx, a->t(), g.modelDir, g.options, error);
    if (failed(value))
      return g.fail(error);
    return g.setOutputs(g.constant(*value));
  }
  if (const auto *a = g.attr("value_float"))
    return g.setOutputs(g.constant(DenseElementsAttr::get(
        RankedTensorType::get({}, b.getF32Type()), a->f())));
  if (const auto *a = g.attr("value_int"))
    return g.setOutputs(g.constant(DenseElementsAttr::get(
        RankedTensorType::get({}, b.getI64Type()), a->i())));
  if (const auto *a = g.attr("value_floats")) {
    llvm::SmallVector<float> v(a->floats().begin(), a->floats().end());
    return g.setOutputs(g.constant(DenseElementsAttr::get(
        RankedTensorType::get({static_cast<int64_t>(v.size())}, b.getF32Type()),
        llvm::ArrayRef(v))));
  }
  if (const auto *a = g.attr("value_ints")) {
    llvm::SmallVector<int64_t> v(a->ints().begin(), a->ints().end());
    return g.setOutputs(g.constant(DenseElementsAttr::get(
        RankedTensorType::get({static_cast<int64_t>(v.size())}, b.getI64Type()),
        llvm::ArrayRef(v))));
  }
  return g.unsupported("Constant form (sparse or string value)");
}

LogicalResult convertConstantOfShape(GI &g) {
  auto shape = g.constantInts(0);
  if (failed(shape))
    return failure();
  if (!checkedNumElements(*shape, 8))
    return g.fail("shape has a negative or overflowing dimension");
  Attribute fill = g.builder.getF32FloatAttr(0);
  Type element = g.builder.getF32Type();
  if (const auto *a = g.attr("value")) {
    std::string error;
    auto value = convertTensor(g.ctx, a->t(), g.modelDir, g.options, error);
    if (failed(value))
      return g.fail(error);
    auto dense = dyn_cast<DenseElementsAttr>(*value);
    if (!dense || dense.getNumElements() != 1)
      return g.fail("value must hold one element");
    element = dense.getElementType();
    fill = *dense.getValues<Attribute>().begin();
  }
  return g.setOutputs(g.constant(DenseElementsAttr::get(
      RankedTensorType::get(*shape, element), fill)));
}

LogicalResult convertShape(GI &g) {
  auto x = g.requiredInput(0);
  if (failed(x))
    return failure();
  int64_t rank = typeOf(*x).getRank();
  auto clamp = [&](int64_t v) {
    if (v < 0)
      v += rank;
    return std::clamp<int64_t>(v, 0, rank);
  };
  int64_t start = clamp(g.attrInt("start", 0));
  int64_t end = std::max(start, clamp(g.attrInt("end", rank)));
  return bind(g, g.create1<ts::ShapeOp>(
                     *x, {g.named("start", g.builder.getI64IntegerAttr(start)),
                          g.named("end", g.builder.getI64IntegerAttr(end))}));
}

LogicalResult convertSize(GI &g) {
  auto x = g.requiredInput(0);
  if (failed(x))
    return failure();
  return g.setOutputs(g.constant(DenseElementsAttr::get(
      RankedTensorType::get({}, g.builder.getI64Type()),
      typeOf(*x).getNumElements())));
}

//===----------------------------------------------------------------------===//
// Reshapes
//===----------------------------------------------------------------------===//

LogicalResult convertReshape(GI &g) {
  auto x = g.requiredInput(0);
  if (failed(x))
    return failure();
  llvm::SmallVector<int64_t> spec;
  if (g.opset < 5 || (!g.input(1) && g.attr("shape"))) {
    spec = g.attrInts("shape").value_or(llvm::SmallVector<int64_t>{});
  } else {
    auto s = g.constantInts(1);
    if (failed(s))
      return failure();
    spec = *s;
  }
  ArrayRef<int64_t> in = typeOf(*x).getShape();
  bool allowZero = g.attrInt("allowzero", 0) != 0;
  int64_t known = 1, inferAt = -1;
  llvm::SmallVector<int64_t> shape;
  for (auto [i, d] : llvm::enumerate(spec)) {
    if (d == 0 && !allowZero) {
      if (i >= in.size())
        return g.fail("shape entry " + llvm::Twine(i) +
                      " copies a dimension the input does not have");
      d = in[i];
    }
    if (d == -1) {
      if (inferAt >= 0)
        return g.fail("shape has more than one -1");
      inferAt = i;
      shape.push_back(1);
      continue;
    }
    if (d < 0 || llvm::MulOverflow(known, d, known))
      return g.fail("shape has an invalid dimension " + llvm::Twine(d));
    shape.push_back(d);
  }
  int64_t total = typeOf(*x).getNumElements();
  if (inferAt >= 0) {
    if (known == 0 || total % known != 0)
      return g.fail("cannot reshape " + ts::formatShape(in) + " to " +
                    llvm::Twine(shape.size()) + "-d shape with -1");
    shape[inferAt] = total / known;
  } else if (known != total) {
    return g.fail("cannot reshape " + ts::formatShape(in) + " (" +
                  llvm::Twine(total) + " elements) to " +
                  ts::formatShape(shape));
  }
  return bind(g, g.reshape(*x, shape));
}

LogicalResult convertFlatten(GI &g) {
  auto x = g.requiredInput(0);
  if (failed(x))
    return failure();
  ArrayRef<int64_t> in = typeOf(*x).getShape();
  int64_t rank = in.size(), axis = g.attrInt("axis", 1);
  if (axis < -rank || axis > rank)
    return g.fail("axis " + llvm::Twine(axis) + " is out of range for rank " +
                  llvm::Twine(rank));
  if (axis < 0)
    axis += rank;
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < rank; ++d)
    (d < axis ? outer : inner) *= in[d];
  return bind(g, g.reshape(*x, {outer, inner}));
}

FailureOr<std::optional<llvm::SmallVector<int64_t>>> axesOf(GI &g, int i) {
  return g.axesInput(i);
}

LogicalResult convertSqueeze(GI &g) {
  auto x = g.requiredInput(0);
  auto axes = axesOf(g, 1);
  if (failed(x) || failed(axes))
    return failure();
  ArrayRef<int64_t> in = typeOf(*x).getShape();
  int64_t rank = in.size();
  llvm::SmallVector<bool> drop(rank, false);
  if (!*axes) {
    for (int64_t d = 0; d < rank; ++d)
      drop[d] = in[d] == 1;
  }
  for (int64_t a : axes->value_or(llvm::SmallVector<int64_t>{})) {
    auto axis = g.normalizeAxis(a, rank);
    if (failed(axis))
      return failure();
    if (in[*axis] != 1)
      return g.fail("cannot squeeze dimension " + llvm::Twine(*axis) +
                    " of size " + llvm::Twine(in[*axis]));
    drop[*axis] = true;
  }
  llvm::SmallVector<int64_t> shape;
  for (int64_t d = 0; d < rank; ++d)
    if (!drop[d])
      shape.push_back(in[d]);
  return bind(g, g.reshape(*x, shape));
}

LogicalResult convertUnsqueeze(GI &g) {
  auto x = g.requiredInput(0);
  auto axes = axesOf(g, 1);
  if (failed(x) || failed(axes))
    return failure();
  if (!*axes)
    return g.fail("missing axes");
  ArrayRef<int64_t> in = typeOf(*x).getShape();
  int64_t rank = in.size() + (*axes)->size();
  llvm::SmallVector<bool> inserted(rank, false);
  for (int64_t a : **axes) {
    auto axis = g.normalizeAxis(a, rank);
    if (failed(axis))
      return failure();
    if (inserted[*axis])
      return g.fail("axis " + llvm::Twine(a) + " is repeated");
    inserted[*axis] = true;
  }
  llvm::SmallVector<int64_t> shape;
  for (int64_t d = 0, j = 0; d < rank; ++d)
    shape.push_back(inserted[d] ? 1 : in[j++]);
  return bind(g, g.reshape(*x, shape));
}

//===----------------------------------------------------------------------===//
// Data movement
//===----------------------------------------------------------------------===//

LogicalResult convertTranspose(GI &g) {
  auto x = g.requiredInput(0);
  if (failed(x))
    return failure();
  int64_t rank = typeOf(*x).getRank();
  llvm::SmallVector<int64_t> perm;
  if (auto p = g.attrInts("perm"))
    perm = *p;
  else
    for (int64_t d = rank - 1; d >= 0; --d)
      perm.push_back(d);
  return bind(g, g.create1<ts::TransposeOp>(
                     *x, {g.named("perm", g.builder.getDenseI64ArrayAttr(perm))}));
}

LogicalResult convertConcat(GI &g) {
  llvm::SmallVector<Value> inputs;
  for (int i = 0; i < g.numInputs(); ++i) {
    auto v = g.requiredInput(i);
    if (failed(v))
      return failure();
    inputs.push_back(*v);
  }
  if (inputs.empty())
    return g.fail("Concat needs at least one input");
  if (!g.attr("axis") && g.opset >= 4)
    return g.fail("missing attribute 'axis'");
  auto axis = g.normalizeAxis(g.attrInt("axis", 1), typeOf(inputs[0]).getRank());
  if (failed(axis))
    return failure();
  return bind(g, g.create1<ts::ConcatOp>(
                     inputs, {g.named("axis", g.builder.getI64IntegerAttr(*axis))}));
}

LogicalResult convertSplit(GI &g) {
  auto x = g.requiredInput(0);
  if (failed(x))
    return failure();
  auto axis = g.normalizeAxis(g.attrInt("axis", 0), typeOf(*x).getRank());
  if (failed(axis))
    return failure();
  int64_t dim = typeOf(*x).getDimSize(*axis);
  llvm::SmallVector<int64_t> sizes;
  if (g.opset >= 13 && g.input(1)) {
    auto s = g.constantInts(1);
    if (failed(s))
      return failure();
    sizes = *s;
  } else if (auto s = g.attrInts("split")) {
    sizes = *s;
  } else {
    int64_t n = g.opset >= 18 && g.attr("num_outputs")
                    ? g.attrInt("num_outputs", 1)
                    : g.node->output_size();
    if (n < 1)
      return g.fail("Split needs at least one output");
    // Equal parts; since opset 18 the last part may be smaller.
    int64_t chunk = llvm::divideCeil(dim, n);
    if (g.opset < 18 && dim % n != 0)
      return g.fail("dimension " + llvm::Twine(dim) +
                    " does not split into " + llvm::Twine(n) + " equal parts");
    for (int64_t i = 0, left = dim; i < n; ++i, left -= chunk)
      sizes.push_back(std::clamp<int64_t>(left, 0, chunk));
  }
  auto r = g.create(ts::SplitOp::getOperationName(), *x,
                    {g.named("axis", g.builder.getI64IntegerAttr(*axis)),
                     g.named("sizes", g.builder.getDenseI64ArrayAttr(sizes))},
                    {}, sizes.size());
  if (failed(r))
    return failure();
  return g.setOutputs(*r);
}

LogicalResult convertSlice(GI &g) {
  auto x = g.requiredInput(0);
  if (failed(x))
    return failure();
  ArrayRef<int64_t> in = typeOf(*x).getShape();
  int64_t rank = in.size();
  llvm::SmallVector<int64_t> starts, ends, axes, steps;
  if (g.opset < 10) {
    starts = g.attrInts("starts").value_or(llvm::SmallVector<int64_t>{});
    ends = g.attrInts("ends").value_or(llvm::SmallVector<int64_t>{});
    if (auto a = g.attrInts("axes"))
      axes = *a;
  } else {
    auto s = g.constantInts(1), e = g.constantInts(2);
    if (failed(s) || failed(e))
      return failure();
    starts = *s;
    ends = *e;
    if (g.input(3)) {
      auto a = g.constantInts(3);
      if (failed(a))
        return failure();
      axes = *a;
    }
    if (g.input(4)) {
      auto st = g.constantInts(4);
      if (failed(st))
        return failure();
      steps = *st;
    }
  }
  if (axes.empty())
    for (int64_t d = 0; d < static_cast<int64_t>(starts.size()); ++d)
      axes.push_back(d);
  if (steps.empty())
    steps.assign(starts.size(), 1);
  if (ends.size() != starts.size() || axes.size() != starts.size() ||
      steps.size() != starts.size())
    return g.fail("starts, ends, axes and steps differ in length");
  llvm::SmallVector<int64_t> oStarts(rank, 0), oSizes(in), oSteps(rank, 1);
  llvm::SmallVector<bool> seen(rank, false);
  for (auto [i, a] : llvm::enumerate(axes)) {
    auto axis = g.normalizeAxis(a, rank);
    if (failed(axis))
      return failure();
    if (seen[*axis])
      return g.fail("axis " + llvm::Twine(a) + " is repeated");
    seen[*axis] = true;
    int64_t dim = in[*axis], step = steps[i];
    if (step == 0)
      return g.fail("slice step is zero");
    // ONNX clamps starts and ends into the dimension; ends may be +-inf.
    auto adjust = [&](int64_t v, int64_t lo, int64_t hi) {
      if (v < 0)
        v = v < -dim ? lo : v + dim;
      return std::clamp(v, lo, hi);
    };
    int64_t start, end, size;
    if (step > 0) {
      start = adjust(starts[i], 0, dim);
      end = adjust(ends[i], 0, dim);
      size = end > start ? (end - start - 1) / step + 1 : 0;
    } else {
      start = adjust(starts[i], -1, dim - 1);
      end = adjust(ends[i], -1, dim - 1);
      int64_t magnitude = step == std::numeric_limits<int64_t>::min()
                              ? std::numeric_limits<int64_t>::max()
                              : -step;
      size = start > end ? (start - end - 1) / magnitude + 1 : 0;
    }
    oStarts[*axis] = size == 0 ? 0 : start;
    oSizes[*axis] = size;
    // A step only matters when more than one element is read.
    oSteps[*axis] = size <= 1 ? 1 : step;
  }
  Builder &b = g.builder;
  return bind(g, g.create1<ts::SliceOp>(
                     *x, {g.named("starts", b.getDenseI64ArrayAttr(oStarts)),
                          g.named("sizes", b.getDenseI64ArrayAttr(oSizes)),
                          g.named("steps", b.getDenseI64ArrayAttr(oSteps))}));
}

/// Gather and GatherElements: data, indices and a normalised axis.
template <typename OpTy>
LogicalResult convertGather(GI &g) {
  auto data = g.requiredInput(0), indices = g.requiredInput(1);
  if (failed(data) || failed(indices))
    return failure();
  auto axis = g.normalizeAxis(g.attrInt("axis", 0), typeOf(*data).getRank());
  if (failed(axis))
    return failure();
  return bind(g, g.create1<OpTy>(
                     {*data, *indices},
                     {g.named("axis", g.builder.getI64IntegerAttr(*axis))}));
}

/// ScatterElements (and opset 9-10 Scatter, its earlier name) and ScatterND:
/// data, indices, updates and the reduction (none before opset 16; the
/// verifier rejects unknown ones).
template <typename OpTy> LogicalResult convertScatter(GI &g) {
  auto data = g.requiredInput(0), indices = g.requiredInput(1),
       updates = g.requiredInput(2);
  if (failed(data) || failed(indices) || failed(updates))
    return failure();
  llvm::SmallVector<NamedAttribute> attrs = {g.named(
      "reduction", g.builder.getStringAttr(g.attrString("reduction", "none")))};
  if constexpr (std::is_same_v<OpTy, ts::ScatterElementsOp>) {
    auto axis = g.normalizeAxis(g.attrInt("axis", 0), typeOf(*data).getRank());
    if (failed(axis))
      return failure();
    attrs.push_back(g.named("axis", g.builder.getI64IntegerAttr(*axis)));
  }
  return bind(g, g.create1<OpTy>({*data, *indices, *updates}, attrs));
}

LogicalResult convertExpand(GI &g) {
  auto x = g.requiredInput(0);
  auto shape = g.constantInts(1);
  if (failed(x) || failed(shape))
    return failure();
  auto out = ts::broadcastShapes(typeOf(*x).getShape(), *shape);
  if (failed(out) || !checkedNumElements(*out, 8))
    return g.fail("cannot expand " + ts::formatShape(typeOf(*x).getShape()) +
                  " to " + ts::formatShape(*shape));
  return bind(g, g.create1<ts::ExpandOp>(
                     *x, {}, RankedTensorType::get(*out, typeOf(*x).getElementType())));
}

LogicalResult convertPad(GI &g) {
  auto x = g.requiredInput(0);
  if (failed(x))
    return failure();
  RankedTensorType type = typeOf(*x);
  int64_t rank = type.getRank();
  std::string mode = g.attrString("mode", "constant");
  if (mode != "constant" && mode != "reflect" && mode != "edge")
    return g.unsupported("pad mode '" + mode + "'");
  llvm::SmallVector<int64_t> pads;
  Value value;
  if (g.opset < 11) {
    pads = g.attrInts(g.opset < 2 ? "paddings" : "pads")
               .value_or(llvm::SmallVector<int64_t>{});
    if (float v = g.attrFloat("value", 0); v != 0) {
      if (!isa<FloatType>(type.getElementType()))
        return g.fail("legacy Pad value needs a float input");
      value = g.constant(DenseElementsAttr::get(
          RankedTensorType::get({}, type.getElementType()),
          g.builder.getFloatAttr(type.getElementType(), v)));
    }
  } else {
    auto p = g.constantInts(1);
    if (failed(p))
      return failure();
    pads = *p;
    if (Value v = g.input(2)) {
      if (typeOf(v).getNumElements() != 1)
        return g.fail("constant_value must be a scalar");
      auto r = g.reshape(v, {});
      if (failed(r))
        return failure();
      value = *r;
    }
    if (g.input(3)) {
      auto axes = g.constantInts(3);
      if (failed(axes))
        return failure();
      if (pads.size() != 2 * axes->size())
        return g.fail("pads must have two entries per axis");
      llvm::SmallVector<int64_t> full(2 * rank, 0);
      for (auto [i, a] : llvm::enumerate(*axes)) {
        auto axis = g.normalizeAxis(a, rank);
        if (failed(axis))
          return failure();
        full[*axis] = pads[i];
        full[*axis + rank] = pads[i + axes->size()];
      }
      pads = full;
    }
  }
  llvm::SmallVector<Value> operands = {*x};
  if (value)
    operands.push_back(value);
  return bind(g, g.create1<ts::PadOp>(
                     operands, {g.named("pads", g.builder.getDenseI64ArrayAttr(pads)),
                                g.named("mode", g.builder.getStringAttr(mode))}));
}

LogicalResult convertTrilu(GI &g) {
  auto x = g.requiredInput(0);
  if (failed(x))
    return failure();
  int64_t k = 0;
  if (g.input(1)) {
    auto kv = g.constantInts(1);
    if (failed(kv))
      return failure();
    if (kv->size() != 1)
      return g.fail("k must be a scalar");
    k = (*kv)[0];
  }
  return bind(g, g.create1<ts::TriluOp>(
                     *x, {g.named("upper", g.builder.getBoolAttr(g.attrInt("upper", 1) != 0)),
                          g.named("k", g.builder.getI64IntegerAttr(k))},
                     x->getType()));
}

//===----------------------------------------------------------------------===//
// Resize
//===----------------------------------------------------------------------===//

/// A double for messages, shortest form ("0.6", "1e+14").
std::string formatDouble(double v) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%g", v);
  return buffer;
}

/// Resize (opsets 10 to 19) and Upsample (7 to 9). Scales or sizes (and a
/// roi) must be constants; they become one scale per dimension and the
/// result shape. Before opset 11 the coordinates are asymmetric and nearest
/// rounds down. Forms on which ONNX's text and its reference implementation
/// (which computes the backend tests' data) disagree are unsupported.
LogicalResult convertResize(GI &g) {
  auto x = g.requiredInput(0);
  if (failed(x))
    return failure();
  RankedTensorType type = typeOf(*x);
  int64_t rank = type.getRank();
  ArrayRef<int64_t> in = type.getShape();
  bool upsample = g.node->op_type() == "Upsample";
  bool legacy = upsample || g.opset < 11;
  if (upsample && g.opset < 7)
    return g.unsupported("Upsample before opset 7");
  std::string mode = g.attrString("mode", "nearest");
  std::string coords =
      legacy ? "asymmetric"
             : g.attrString("coordinate_transformation_mode", "half_pixel");
  std::string nearest = g.attrString("nearest_mode", "round_prefer_floor");
  bool excludeOutside = g.attrInt("exclude_outside", 0) != 0;
  if (g.attrInt("antialias", 0) != 0)
    return g.unsupported("antialias=1");
  if (mode == "nearest" && excludeOutside)
    return g.unsupported("exclude_outside=1 with mode 'nearest'");

  // The axes that scales, sizes and roi refer to (opset 18); all by default.
  llvm::SmallVector<int64_t> axes;
  if (auto a = g.attrInts("axes")) {
    llvm::SmallVector<bool> seen(rank, false);
    for (int64_t v : *a) {
      auto axis = g.normalizeAxis(v, rank);
      if (failed(axis))
        return failure();
      if (seen[*axis])
        return g.fail("axis " + llvm::Twine(v) + " is repeated");
      seen[*axis] = true;
      axes.push_back(*axis);
    }
  } else {
    for (int64_t d = 0; d < rank; ++d)
      axes.push_back(d);
  }
  size_t n = axes.size();

  // Inputs: X, scales before opset 11 (an attribute in Upsample-7); X, roi,
  // scales, sizes since, where an empty tensor counts as absent.
  auto given = [&](int i) {
    Value v = g.input(i);
    return v && typeOf(v).getNumElements() > 0;
  };
  llvm::SmallVector<double> roi, scales;
  llvm::SmallVector<int64_t> sizes;
  bool bySizes = false;
  if (upsample && g.opset < 9) {
    const auto *a = g.attr("scales");
    if (!a)
      return g.fail("missing attribute 'scales'");
    scales.assign(a->floats().begin(), a->floats().end());
  } else if (legacy) {
    auto s = g.constantFloats(1);
    if (failed(s))
      return failure();
    scales = *s;
  } else {
    if (given(1) && coords == "tf_crop_and_resize") {
      auto r = g.constantFloats(1);
      if (failed(r))
        return failure();
      roi = *r;
    }
    if (given(3)) {
      auto s = g.constantInts(3);
      if (failed(s))
        return failure();
      sizes = *s;
      bySizes = true;
    }
    if (given(2) == bySizes)
      return g.fail("exactly one of scales and sizes must be given");
    if (!bySizes) {
      auto s = g.constantFloats(2);
      if (failed(s))
        return failure();
      scales = *s;
    }
  }
  if ((bySizes ? sizes.size() : scales.size()) != n)
    return g.fail("expected " + llvm::Twine(n) +
                  (bySizes ? " sizes" : " scales") + ", got " +
                  llvm::Twine(bySizes ? sizes.size() : scales.size()));

  // One scale per dimension and the result shape, computed in double as
  // ONNX's reference does.
  llvm::SmallVector<double> fullScales(rank, 1.0);
  llvm::SmallVector<int64_t> shape(in);
  for (auto [i, d] : llvm::enumerate(axes)) {
    if (bySizes) {
      if (sizes[i] < 1 || in[d] < 1)
        return g.fail("cannot resize dimension " + llvm::Twine(d) + " from " +
                      llvm::Twine(in[d]) + " to " + llvm::Twine(sizes[i]));
      fullScales[d] =
          static_cast<double>(sizes[i]) / static_cast<double>(in[d]);
      shape[d] = sizes[i];
      continue;
    }
    double s = scales[i], size = s * static_cast<double>(in[d]);
    if (!(s > 0) || !(size < 1e15))
      return g.fail("invalid scale " + formatDouble(s) + " for dimension " +
                    llvm::Twine(d));
    fullScales[d] = s;
    shape[d] = static_cast<int64_t>(size);
  }
  std::string policy = g.attrString("keep_aspect_ratio_policy", "stretch");
  if (bySizes && policy != "stretch") {
    if (policy != "not_larger" && policy != "not_smaller")
      return g.fail("unknown keep_aspect_ratio_policy '" + policy + "'");
    double s = fullScales[axes[0]];
    for (int64_t d : axes)
      s = policy == "not_larger" ? std::min(s, fullScales[d])
                                 : std::max(s, fullScales[d]);
    for (int64_t d : axes) {
      double size = s * static_cast<double>(in[d]) + 0.5;
      if (!(size < 1e15))
        return g.fail("invalid scale " + formatDouble(s) + " for dimension " +
                      llvm::Twine(d));
      fullScales[d] = s;
      shape[d] = static_cast<int64_t>(size);
    }
  }
  if (!checkedNumElements(shape, 8))
    return g.fail("result shape " + ts::formatShape(shape) + " overflows");

  llvm::SmallVector<NamedAttribute> attrs;
  if (coords == "tf_crop_and_resize") {
    if (roi.size() != 2 * n)
      return g.fail("tf_crop_and_resize needs a roi of " + llvm::Twine(2 * n) +
                    " values, got " + llvm::Twine(roi.size()));
    llvm::SmallVector<double> fullRoi(rank, 0.0);
    fullRoi.append(rank, 1.0);
    for (auto [i, d] : llvm::enumerate(axes)) {
      fullRoi[d] = roi[i];
      fullRoi[d + rank] = roi[i + n];
      // The spec sizes the output by scale * (end - start), the reference
      // by the scale alone.
      if (!bySizes && roi[i + n] - roi[i] != 1.0)
        return g.unsupported("tf_crop_and_resize with scales and a cropping "
                             "roi (ONNX's spec and reference differ on the "
                             "output size)");
    }
    attrs.push_back(g.named("roi", g.builder.getDenseF64ArrayAttr(fullRoi)));
  }
  for (int64_t d = 0; d < rank; ++d) {
    bool identity = fullScales[d] == 1.0 && shape[d] == in[d];
    // For a size-1 result the spec reads x = 0, the reference x = -0.5 when
    // scale * in is exactly 1 (else the half-pixel formula); only nearest
    // and linear at exactly 1 agree.
    if (coords == "pytorch_half_pixel" && shape[d] == 1 && !identity &&
        (mode == "cubic" || fullScales[d] * static_cast<double>(in[d]) != 1.0))
      return g.unsupported("pytorch_half_pixel resize of dimension " +
                           llvm::Twine(d) +
                           " to size 1 (ONNX's spec and reference differ)");
    // Before opset 11 nearest means floor (PyTorch, and ONNX's Upsample
    // reference for integer scales); runtimes differ when a downsampled
    // coordinate is fractional.
    if (legacy && mode == "nearest" && fullScales[d] < 1.0)
      for (int64_t y = 0; y < shape[d]; ++y) {
        double src = static_cast<double>(y) / fullScales[d];
        if (src != std::floor(src))
          return g.unsupported("nearest downsampling by a non-integer factor "
                               "before opset 11");
      }
  }
  if (legacy)
    nearest = "floor";

  Builder &b = g.builder;
  attrs.append(
      {g.named("scales", b.getDenseF64ArrayAttr(fullScales)),
       g.named("mode", b.getStringAttr(mode)),
       g.named("coordinate_transformation_mode", b.getStringAttr(coords)),
       g.named("nearest_mode", b.getStringAttr(nearest)),
       g.named("cubic_coeff_a",
               b.getF32FloatAttr(g.attrFloat("cubic_coeff_a", -0.75f))),
       g.named("exclude_outside", b.getBoolAttr(excludeOutside)),
       g.named("extrapolation_value",
               b.getF32FloatAttr(g.attrFloat("extrapolation_value", 0.0f)))});
  return bind(
      g, g.create1<ts::ResizeOp>(
             *x, attrs, RankedTensorType::get(shape, type.getElementType())));
}

//===----------------------------------------------------------------------===//
// Linear algebra and convolution
//===----------------------------------------------------------------------===//

LogicalResult convertMatMul(GI &g) {
  auto a = g.requiredInput(0), b = g.requiredInput(1);
  if (failed(a) || failed(b))
    return failure();
  return bind(g, g.create1<ts::MatMulOp>({*a, *b}));
}

LogicalResult convertGemm(GI &g) {
  auto a = g.requiredInput(0), b = g.requiredInput(1);
  if (failed(a) || failed(b))
    return failure();
  llvm::SmallVector<Value> operands = {*a, *b};
  if (Value c = g.input(2))
    operands.push_back(c);
  Builder &bd = g.builder;
  return bind(g, g.create1<ts::GemmOp>(
                     operands,
                     {g.named("alpha", bd.getF32FloatAttr(g.attrFloat("alpha", 1))),
                      g.named("beta", bd.getF32FloatAttr(g.attrFloat("beta", 1))),
                      g.named("trans_a", bd.getBoolAttr(g.attrInt("transA", 0))),
                      g.named("trans_b", bd.getBoolAttr(g.attrInt("transB", 0)))}));
}

} // namespace

FailureOr<Window> mlir::tessera::onnx_import::readWindow(GI &g, RankedTensorType input,
                                                         llvm::SmallVector<int64_t> kernel) {
  int64_t spatial = input.getRank() - 2;
  if (spatial < 1)
    return g.fail("input must have rank 3 or more");
  Window w;
  w.kernel = std::move(kernel);
  w.strides = g.attrInts("strides").value_or(llvm::SmallVector<int64_t>(spatial, 1));
  w.dilations =
      g.attrInts("dilations").value_or(llvm::SmallVector<int64_t>(spatial, 1));
  w.pads = g.attrInts("pads").value_or(llvm::SmallVector<int64_t>(2 * spatial, 0));
  if (static_cast<int64_t>(w.kernel.size()) != spatial ||
      static_cast<int64_t>(w.strides.size()) != spatial ||
      static_cast<int64_t>(w.dilations.size()) != spatial ||
      static_cast<int64_t>(w.pads.size()) != 2 * spatial)
    return g.fail("kernel_shape, strides, dilations and pads do not match " +
                  llvm::Twine(spatial) + " spatial dimensions");
  for (int64_t i = 0; i < spatial; ++i)
    if (w.strides[i] < 1 || w.dilations[i] < 1 || w.kernel[i] < 1)
      return g.fail("kernel sizes, strides and dilations must be positive");
  std::string autoPad = g.attrString("auto_pad", "NOTSET");
  if (autoPad == "VALID") {
    std::fill(w.pads.begin(), w.pads.end(), 0);
  } else if (autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER") {
    for (int64_t i = 0; i < spatial; ++i) {
      int64_t in = input.getDimSize(i + 2);
      int64_t out = llvm::divideCeil(in, w.strides[i]);
      int64_t span = (w.kernel[i] - 1) * w.dilations[i] + 1;
      int64_t total = std::max<int64_t>(0, (out - 1) * w.strides[i] + span - in);
      int64_t small = total / 2, large = total - small;
      w.pads[i] = autoPad == "SAME_UPPER" ? small : large;
      w.pads[i + spatial] = autoPad == "SAME_UPPER" ? large : small;
    }
  } else if (autoPad != "NOTSET") {
    return g.fail("unknown auto_pad '" + autoPad + "'");
  }
  return w;
}

namespace {

LogicalResult convertConv(GI &g) {
  auto x = g.requiredInput(0), wt = g.requiredInput(1);
  if (failed(x) || failed(wt))
    return failure();
  RankedTensorType wType = typeOf(*wt);
  llvm::SmallVector<int64_t> kernel;
  if (auto k = g.attrInts("kernel_shape"))
    kernel = *k;
  else if (wType.getRank() >= 2)
    kernel.assign(wType.getShape().begin() + 2, wType.getShape().end());
  auto w = readWindow(g, typeOf(*x), kernel);
  if (failed(w))
    return failure();
  if (wType.getRank() == typeOf(*x).getRank() &&
      ArrayRef<int64_t>(w->kernel) != wType.getShape().drop_front(2))
    return g.fail("kernel_shape does not match the weight's shape");
  llvm::SmallVector<Value> operands = {*x, *wt};
  if (Value b = g.input(2))
    operands.push_back(b);
  Builder &b = g.builder;
  return bind(g, g.create1<ts::ConvOp>(
                     operands, {g.named("strides", b.getDenseI64ArrayAttr(w->strides)),
                                g.named("pads", b.getDenseI64ArrayAttr(w->pads)),
                                g.named("dilations", b.getDenseI64ArrayAttr(w->dilations)),
                                g.named("group", b.getI64IntegerAttr(g.attrInt("group", 1)))}));
}

template <typename PoolOp>
LogicalResult convertPool(GI &g) {
  auto x = g.requiredInput(0);
  if (failed(x))
    return failure();
  if (!isa<FloatType>(typeOf(*x).getElementType())) {
    std::string t;
    llvm::raw_string_ostream os(t);
    typeOf(*x).getElementType().print(os);
    return g.unsupported("pooling of " + t + " (float inputs only)");
  }
  auto kernel = g.attrInts("kernel_shape");
  if (!kernel)
    return g.fail("missing attribute 'kernel_shape'");
  auto w = readWindow(g, typeOf(*x), *kernel);
  if (failed(w))
    return failure();
  Builder &b = g.builder;
  llvm::SmallVector<NamedAttribute> attrs = {
      g.named("kernel_shape", b.getDenseI64ArrayAttr(w->kernel)),
      g.named("strides", b.getDenseI64ArrayAttr(w->strides)),
      g.named("pads", b.getDenseI64ArrayAttr(w->pads)),
      g.named("dilations", b.getDenseI64ArrayAttr(w->dilations)),
      g.named("ceil_mode", b.getBoolAttr(g.attrInt("ceil_mode", 0)))};
  if constexpr (std::is_same_v<PoolOp, ts::AveragePoolOp>)
    attrs.push_back(g.named("count_include_pad",
                            b.getBoolAttr(g.attrInt("count_include_pad", 0))));
  return bind(g, g.create1<PoolOp>(*x, attrs));
}

LogicalResult convertGlobalAveragePool(GI &g) {
  auto x = g.requiredInput(0);
  if (failed(x))
    return failure();
  return bind(g, g.create1<ts::GlobalAveragePoolOp>(*x));
}

//===----------------------------------------------------------------------===//
// Normalisation
//===----------------------------------------------------------------------===//

LogicalResult convertBatchNorm(GI &g) {
  llvm::SmallVector<Value> operands;
  for (int i = 0; i < 5; ++i) {
    auto v = g.requiredInput(i);
    if (failed(v))
      return failure();
    operands.push_back(*v);
  }
  if (g.attrInt("training_mode", 0) != 0 ||
      (g.opset < 9 && g.attrInt("spatial", 1) == 0))
    return g.unsupported("training-mode or non-spatial BatchNormalization");
  Type element = typeOf(operands[0]).getElementType();
  for (Value &v : llvm::drop_begin(operands)) {
    auto c = g.castTo(v, element);
    if (failed(c))
      return failure();
    v = *c;
  }
  return bind(g, g.create1<ts::BatchNormOp>(
                     operands,
                     {g.named("epsilon", g.builder.getF32FloatAttr(
                                             g.attrFloat("epsilon", 1e-5f)))},
                     operands[0].getType()));
}

LogicalResult convertLayerNorm(GI &g) {
  auto x = g.requiredInput(0), scale = g.requiredInput(1);
  if (failed(x) || failed(scale))
    return failure();
  auto axis = g.normalizeAxis(g.attrInt("axis", -1), typeOf(*x).getRank());
  if (failed(axis))
    return failure();
  llvm::SmallVector<Value> operands = {*x, *scale};
  if (Value b = g.input(2))
    operands.push_back(b);
  float epsilon = g.attrFloat("epsilon", 1e-5f);
  auto y = g.create1<ts::LayerNormOp>(
      operands,
      {g.named("axis", g.builder.getI64IntegerAttr(*axis)),
       g.named("epsilon", g.builder.getF32FloatAttr(epsilon))},
      x->getType());
  if (failed(y))
    return failure();
  llvm::SmallVector<Value> results = {*y};
  // Optional outputs Mean and InvStdDev (kept dimensions), computed from the
  // same statistics: mean(x) and 1 / sqrt(mean((x - mean)^2) + epsilon).
  if (g.node->output_size() > 1) {
    RankedTensorType type = typeOf(*x);
    llvm::SmallVector<int64_t> axes;
    for (int64_t d = *axis; d < type.getRank(); ++d)
      axes.push_back(d);
    llvm::SmallVector<NamedAttribute> reduce = {
        g.named("axes", g.builder.getDenseI64ArrayAttr(axes)),
        g.named("keepdims", g.builder.getBoolAttr(true))};
    auto mean = g.create1<ts::ReduceMeanOp>(*x, reduce);
    if (failed(mean))
      return failure();
    auto centered = g.create1<ts::SubOp>({*x, *mean});
    if (failed(centered))
      return failure();
    auto squared = g.create1<ts::MulOp>({*centered, *centered});
    if (failed(squared))
      return failure();
    auto variance = g.create1<ts::ReduceMeanOp>(*squared, reduce);
    if (failed(variance))
      return failure();
    Type element = type.getElementType();
    Value eps = g.constant(DenseElementsAttr::get(
        RankedTensorType::get({}, element),
        g.builder.getFloatAttr(element, epsilon)));
    auto shifted = g.create1<ts::AddOp>({*variance, eps});
    if (failed(shifted))
      return failure();
    auto root = g.create1<ts::SqrtOp>(*shifted, {}, shifted->getType());
    if (failed(root))
      return failure();
    auto inv = g.create1<ts::ReciprocalOp>(*root, {}, root->getType());
    if (failed(inv))
      return failure();
    results.push_back(*mean);
    results.push_back(*inv);
  }
  return g.setOutputs(results);
}

template <typename SoftmaxOp>
LogicalResult convertSoftmax(GI &g) {
  auto x = g.requiredInput(0);
  if (failed(x))
    return failure();
  RankedTensorType type = typeOf(*x);
  int64_t rank = type.getRank();
  auto axis = g.normalizeAxis(g.attrInt("axis", g.opset >= 13 ? -1 : 1), rank);
  if (failed(axis))
    return failure();
  Builder &b = g.builder;
  if (g.opset >= 13 || *axis == rank - 1)
    return bind(g, g.create1<SoftmaxOp>(
                       *x, {g.named("axis", b.getI64IntegerAttr(*axis))}, type));
  // Before opset 13 the input is viewed as 2-D [outer, inner] at `axis`.
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < rank; ++d)
    (d < *axis ? outer : inner) *= type.getDimSize(d);
  auto flat = g.reshape(*x, {outer, inner});
  if (failed(flat))
    return failure();
  auto s = g.create1<SoftmaxOp>(*flat, {g.named("axis", b.getI64IntegerAttr(1))},
                                flat->getType());
  if (failed(s))
    return failure();
  return bind(g, g.reshape(*s, type.getShape()));
}

//===----------------------------------------------------------------------===//
// Reductions
//===----------------------------------------------------------------------===//

template <typename ArgOp>
LogicalResult convertArg(GI &g) {
  auto x = g.requiredInput(0);
  if (failed(x))
    return failure();
  auto axis = g.normalizeAxis(g.attrInt("axis", 0), typeOf(*x).getRank());
  if (failed(axis))
    return failure();
  Builder &b = g.builder;
  return bind(g, g.create1<ArgOp>(
                     *x, {g.named("axis", b.getI64IntegerAttr(*axis)),
                          g.named("keepdims", b.getBoolAttr(g.attrInt("keepdims", 1) != 0)),
                          g.named("select_last_index",
                                  b.getBoolAttr(g.attrInt("select_last_index", 0) != 0))}));
}

/// The value a reduction over no elements gives (ONNX's empty-set tests).
template <typename ReduceOp>
std::optional<double> reduceIdentity() {
  double inf = std::numeric_limits<double>::infinity();
  if (std::is_same_v<ReduceOp, ts::ReduceSumOp>)
    return 0.0;
  if (std::is_same_v<ReduceOp, ts::ReduceProdOp>)
    return 1.0;
  if (std::is_same_v<ReduceOp, ts::ReduceMaxOp>)
    return -inf;
  if (std::is_same_v<ReduceOp, ts::ReduceMinOp>)
    return inf;
  return std::nullopt; // ReduceMean: 0 / 0
}

template <typename ReduceOp>
LogicalResult convertReduce(GI &g) {
  auto x = g.requiredInput(0);
  if (failed(x))
    return failure();
  auto axes = g.reductionAxes(typeOf(*x).getRank());
  if (failed(axes))
    return failure();
  if (!*axes)
    return g.setOutputs(*x);
  bool keepdims = g.attrInt("keepdims", 1) != 0;
  if (std::optional<double> identity = reduceIdentity<ReduceOp>())
    if (Value empty = g.emptyReduction(*x, **axes, keepdims, *identity))
      return g.setOutputs(empty);
  // ReduceMax and ReduceMin take bool since opset 20: any / all, reduced
  // over i8.
  Type element = typeOf(*x).getElementType();
  if (element.isInteger(1)) {
    auto wide = g.castTo(*x, g.builder.getI8Type());
    if (failed(wide))
      return failure();
    auto r = g.reduce<ReduceOp>(*wide, **axes, keepdims);
    if (failed(r))
      return failure();
    return bind(g, g.castTo(*r, element));
  }
  return bind(g, g.reduce<ReduceOp>(*x, **axes, keepdims));
}

//===----------------------------------------------------------------------===//
// The table
//===----------------------------------------------------------------------===//

LogicalResult convertLeakyRelu(GI &g) { return alphaUnary<ts::LeakyReluOp>(g, 0.01f); }
LogicalResult convertElu(GI &g) { return alphaUnary<ts::EluOp>(g, 1.0f); }

const llvm::StringMap<OpConverter> &converters() {
  static const llvm::StringMap<OpConverter> table = {
      // Elementwise unary
      {"Sqrt", unary<ts::SqrtOp>},
      {"Exp", unary<ts::ExpOp>},
      {"Log", unary<ts::LogOp>},
      {"Tanh", unary<ts::TanhOp>},
      {"Erf", unary<ts::ErfOp>},
      {"Sigmoid", unary<ts::SigmoidOp>},
      {"Relu", unary<ts::ReluOp>},
      {"Neg", unary<ts::NegOp>},
      {"Abs", unary<ts::AbsOp>},
      {"Reciprocal", unary<ts::ReciprocalOp>},
      {"Floor", unary<ts::FloorOp>},
      {"Ceil", unary<ts::CeilOp>},
      {"Not", unary<ts::NotOp>},
      {"Sin", unary<ts::SinOp>},
      {"Cos", unary<ts::CosOp>},
      {"Tan", unary<ts::TanOp>},
      {"Asin", unary<ts::AsinOp>},
      {"Acos", unary<ts::AcosOp>},
      {"Atan", unary<ts::AtanOp>},
      {"Sinh", unary<ts::SinhOp>},
      {"Cosh", unary<ts::CoshOp>},
      {"Asinh", unary<ts::AsinhOp>},
      {"Acosh", unary<ts::AcoshOp>},
      {"Atanh", unary<ts::AtanhOp>},
      {"Round", unary<ts::RoundOp>},
      {"LeakyRelu", convertLeakyRelu},
      {"Elu", convertElu},
      {"Gelu", convertGelu},
      {"Clip", convertClip},
      {"Cast", convertCast},
      {"Identity", convertIdentity},
      {"Dropout", convertDropout},
      // Elementwise binary and ternary
      {"Add", binary<ts::AddOp>},
      {"Sub", binary<ts::SubOp>},
      {"Mul", binary<ts::MulOp>},
      {"Div", binary<ts::DivOp>},
      {"Pow", convertPow},
      {"Mod", convertMod},
      {"Equal", binary<ts::EqualOp>},
      {"Less", binary<ts::LessOp>},
      {"LessOrEqual", binary<ts::LessEqualOp>},
      {"Greater", binary<ts::GreaterOp>},
      {"GreaterOrEqual", binary<ts::GreaterEqualOp>},
      {"And", binary<ts::AndOp>},
      {"Or", binary<ts::OrOp>},
      {"Xor", binary<ts::XorOp>},
      {"Max", convertVariadic<ts::MaxOp>},
      {"Min", convertVariadic<ts::MinOp>},
      {"Sum", convertVariadic<ts::AddOp>},
      {"Mean", convertMean},
      {"Where", convertWhere},
      // Constants and shapes
      {"Constant", convertConstant},
      {"ConstantOfShape", convertConstantOfShape},
      {"Shape", convertShape},
      {"Size", convertSize},
      // Reshapes and data movement
      {"Reshape", convertReshape},
      {"Flatten", convertFlatten},
      {"Squeeze", convertSqueeze},
      {"Unsqueeze", convertUnsqueeze},
      {"Transpose", convertTranspose},
      {"Concat", convertConcat},
      {"Split", convertSplit},
      {"Slice", convertSlice},
      {"Gather", convertGather<ts::GatherOp>},
      {"GatherElements", convertGather<ts::GatherElementsOp>},
      {"ScatterElements", convertScatter<ts::ScatterElementsOp>},
      {"Scatter", convertScatter<ts::ScatterElementsOp>},
      {"ScatterND", convertScatter<ts::ScatterNDOp>},
      {"Expand", convertExpand},
      {"Pad", convertPad},
      {"Trilu", convertTrilu},
      {"Resize", convertResize},
      {"Upsample", convertResize},
      // Linear algebra, convolution, pooling
      {"MatMul", convertMatMul},
      {"Gemm", convertGemm},
      {"Conv", convertConv},
      {"MaxPool", convertPool<ts::MaxPoolOp>},
      {"AveragePool", convertPool<ts::AveragePoolOp>},
      {"GlobalAveragePool", convertGlobalAveragePool},
      // Normalisation
      {"BatchNormalization", convertBatchNorm},
      {"LayerNormalization", convertLayerNorm},
      {"Softmax", convertSoftmax<ts::SoftmaxOp>},
      {"LogSoftmax", convertSoftmax<ts::LogSoftmaxOp>},
      // Reductions
      {"ArgMax", convertArg<ts::ArgMaxOp>},
      {"ArgMin", convertArg<ts::ArgMinOp>},
      {"ReduceSum", convertReduce<ts::ReduceSumOp>},
      {"ReduceMean", convertReduce<ts::ReduceMeanOp>},
      {"ReduceMax", convertReduce<ts::ReduceMaxOp>},
      {"ReduceMin", convertReduce<ts::ReduceMinOp>},
      {"ReduceProd", convertReduce<ts::ReduceProdOp>},
  };
  return table;
}
} // namespace

OpConverter tessera::onnx_import::lookupConverter(llvm::StringRef opType) {
  if (OpConverter c = converters().lookup(opType))
    return c;
  if (OpConverter c = lookupCompositeConverter(opType))
    return c;
  if (OpConverter c = lookupTensorCompositeConverter(opType))
    return c;
  if (OpConverter c = lookupQuantizeConverter(opType))
    return c;
  if (OpConverter c = lookupPoolNormConverter(opType))
    return c;
  if (OpConverter c = lookupSignalConverter(opType))
    return c;
  return lookupNNCompositeConverter(opType);
}
