//===- OnnxConvTranspose.cpp - ConvTranspose as a convolution -------------===//
//
// A transposed convolution is the convolution, with stride 1, of the input
// upsampled by the strides (s - 1 zeros between elements), padded by
// dilation * (k - 1) - pad_begin before and correspondingly after, with
// the kernel flipped in every spatial dimension and its channel axes
// swapped per group:
//
//   x [N, C, D...]
//     --reshape--> [N, C, D_1, 1, D_2, 1, ...]
//     --pad (s - 1 at the end of each size-1 dimension)-->
//                  [N, C, D_1, s_1, D_2, s_2, ...]
//     --reshape--> [N, C, D_1 s_1, ...]
//     --slice (crop, where a pad exceeds the kernel's reach)-->
//     conv(w', stride 1, dilation d, pads, group)
//
//   w [C, M/group, K...] --> w' [M, C/group, K...],
//     w'[g M/g + m, c, k] = w[g C/g + c, m, K - 1 - k]
//
// A constant weight is rearranged here into a new constant; a weight
// computed at run time goes through reshape, transpose and a slice with
// negative steps.
//
// Output size and pads follow the ONNX spec: without `output_shape` and
// `auto_pad`, the explicit `pads` (default 0) give the size. With
// `output_shape`, or with `auto_pad` SAME_UPPER / SAME_LOWER (which aim at
// input size times stride), the pads are generated: total = natural size -
// output size, split in half with the odd element at the end for
// SAME_UPPER and at the beginning otherwise, halves rounded down as in
// ONNX's reference implementation (a negative total adds output elements).
// Where ONNX's implementations disagree, the importer refuses the node as
// unsupported rather than pick one:
//  * a negative total with SAME (a kernel narrower than the stride), or
//    below -1 otherwise: ONNX Runtime puts every extra element at the end,
//    rejects the model or computes a smaller output, the spec's halving of
//    a negative odd total is ambiguous, and the reference splits them;
//  * explicit non-zero pads that differ from the generated ones: ONNX
//    Runtime ignores them, ONNX's reference implementation does not.
// A total of -1 without SAME (one extra element, at the end) is the one
// negative case all three agree on, and ONNX's node tests use it.
//
//===----------------------------------------------------------------------===//

#include "import/onnx/ImporterImpl.h"

#include "dialects/Tessera/IR/TesseraOps.h"

#include "mlir/IR/DialectResourceBlobManager.h"

using namespace mlir;
using namespace mlir::tessera::onnx_import;
namespace ts = mlir::tessera;

namespace {
using GI = GraphImporter;

int64_t floorDiv2(int64_t v) { return v >= 0 ? v / 2 : -((-v + 1) / 2); }

/// The bytes of a constant's elements (splats expanded), or failure for a
/// resource without a blob.
FailureOr<SmallVector<char>> constantBytes(ElementsAttr value,
                                           int64_t elementBytes) {
  if (auto dense = dyn_cast<DenseElementsAttr>(value)) {
    ArrayRef<char> raw = dense.getRawData();
    if (!dense.isSplat())
      return SmallVector<char>(raw.begin(), raw.end());
    SmallVector<char> out;
    for (int64_t i = 0, n = dense.getNumElements(); i < n; ++i)
      out.append(raw.begin(), raw.begin() + elementBytes);
    return out;
  }
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(value))
    if (AsmResourceBlob *blob = resource.getRawHandle().getBlob()) {
      ArrayRef<char> raw = blob->getData();
      return SmallVector<char>(raw.begin(), raw.end());
    }
  return failure();
}

/// The convolution weight of a transposed convolution with weight `w`
/// [C, M/group, K...] computed at run time: reshape, transpose and a slice
/// with negative steps.
FailureOr<Value> convWeightOps(GI &g, Value w, int64_t group) {
  RankedTensorType type = typeOf(w);
  ArrayRef<int64_t> kernel = type.getShape().drop_front(2);
  int64_t c = type.getDimSize(0), mg = type.getDimSize(1), cg = c / group;
  SmallVector<int64_t> grouped = {group, cg, mg}, perm = {0, 2, 1};
  llvm::append_range(grouped, kernel);
  for (int64_t d = 3; d < static_cast<int64_t>(grouped.size()); ++d)
    perm.push_back(d);
  auto r = g.reshape(w, grouped);
  if (failed(r))
    return failure();
  auto t = g.create1<ts::TransposeOp>(
      *r, {g.named("perm", g.builder.getDenseI64ArrayAttr(perm))});
  if (failed(t))
    return failure();
  SmallVector<int64_t> shape = {group * mg, cg};
  llvm::append_range(shape, kernel);
  auto merged = g.reshape(*t, shape);
  if (failed(merged))
    return failure();
  SmallVector<int64_t> starts = {0, 0}, steps = {1, 1};
  for (int64_t k : kernel) {
    starts.push_back(k > 1 ? k - 1 : 0);
    steps.push_back(k > 1 ? -1 : 1);
  }
  if (llvm::all_of(steps, [](int64_t s) { return s == 1; }))
    return merged;
  return g.create1<ts::SliceOp>(
      *merged, {g.named("starts", g.builder.getDenseI64ArrayAttr(starts)),
                g.named("sizes", g.builder.getDenseI64ArrayAttr(shape)),
                g.named("steps", g.builder.getDenseI64ArrayAttr(steps))});
}

/// The convolution weight of a transposed convolution with weight `w`
/// [C, M/group, K...]: [M, C/group, K...], flipped spatially. A constant
/// weight is rearranged here into a new constant.
FailureOr<Value> convWeight(GI &g, Value w, int64_t group) {
  auto op = w.getDefiningOp<ts::ConstantOp>();
  RankedTensorType type = typeOf(w);
  int64_t width = type.getElementTypeBitWidth() / 8;
  int64_t count = type.getNumElements();
  FailureOr<SmallVector<char>> bytes = failure();
  if (op)
    bytes = constantBytes(op.getValue(), width);
  if (failed(bytes) || static_cast<int64_t>(bytes->size()) != count * width)
    return convWeightOps(g, w, group);
  int64_t c = type.getDimSize(0), mg = type.getDimSize(1), cg = c / group;
  int64_t k = count / std::max<int64_t>(1, c * mg);
  SmallVector<char> out(bytes->size());
  for (int64_t gi = 0; gi < group; ++gi)
    for (int64_t m = 0; m < mg; ++m)
      for (int64_t ci = 0; ci < cg; ++ci)
        for (int64_t t = 0; t < k; ++t) {
          int64_t to = (((gi * mg + m) * cg + ci) * k + t) * width;
          int64_t from = (((gi * cg + ci) * mg + m) * k + (k - 1 - t)) * width;
          std::memcpy(out.data() + to, bytes->data() + from, width);
        }
  SmallVector<int64_t> shape = {group * mg, cg};
  llvm::append_range(shape, type.getShape().drop_front(2));
  auto outType = RankedTensorType::get(shape, type.getElementType());
  if (count <= g.options.resourceThreshold)
    return g.constant(DenseElementsAttr::getFromRawBuffer(outType, out));
  std::string name = "convtranspose_weight";
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(op.getValue()))
    name = (resource.getRawHandle().getKey() + ".flipped").str();
  return g.constant(DenseResourceElementsAttr::get(
      outType, name,
      HeapAsmResourceBlob::allocateAndCopyWithAlign(out, width)));
}

/// Attribute `name` with `n` entries, `dflt` when absent.
FailureOr<SmallVector<int64_t>> spatialInts(GI &g, StringRef name, int64_t n,
                                            int64_t dflt) {
  auto v = g.attrInts(name);
  if (!v)
    return SmallVector<int64_t>(n, dflt);
  if (static_cast<int64_t>(v->size()) != n)
    return g.fail(name + " has " + llvm::Twine(v->size()) + " entries for " +
                  llvm::Twine(n / (name == "pads" ? 2 : 1)) +
                  " spatial dimensions");
  return *v;
}
} // namespace

LogicalResult mlir::tessera::onnx_import::convertConvTranspose(GI &g) {
  auto x = g.requiredInput(0), w = g.requiredInput(1);
  if (failed(x) || failed(w))
    return failure();
  RankedTensorType xt = typeOf(*x), wt = typeOf(*w);
  int64_t rank = xt.getRank(), spatial = rank - 2;
  if (spatial < 1)
    return g.fail("input must have rank 3 or more");
  int64_t group = g.attrInt("group", 1), c = xt.getDimSize(1);
  if (wt.getRank() != rank || group < 1 || c % group != 0 ||
      wt.getDimSize(0) != c)
    return g.fail("weight " + ts::formatShape(wt.getShape()) +
                  " does not match input " + ts::formatShape(xt.getShape()) +
                  " with group " + llvm::Twine(group));
  ArrayRef<int64_t> kernel = wt.getShape().drop_front(2);
  if (auto k = g.attrInts("kernel_shape"); k && ArrayRef<int64_t>(*k) != kernel)
    return g.fail("kernel_shape does not match the weight's shape");
  auto strides = spatialInts(g, "strides", spatial, 1);
  if (failed(strides))
    return failure();
  auto dilations = spatialInts(g, "dilations", spatial, 1);
  if (failed(dilations))
    return failure();
  auto outPad = spatialInts(g, "output_padding", spatial, 0);
  if (failed(outPad))
    return failure();
  auto pads = spatialInts(g, "pads", 2 * spatial, 0);
  if (failed(pads))
    return failure();
  for (int64_t i = 0; i < spatial; ++i)
    if ((*strides)[i] < 1 || (*dilations)[i] < 1 || (*outPad)[i] < 0 ||
        (*pads)[i] < 0 || (*pads)[i + spatial] < 0)
      return g.fail("strides and dilations must be positive, pads and "
                    "output_padding non-negative");
  std::string autoPad = g.attrString("auto_pad", "NOTSET");
  bool same = autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER";
  if (!same && autoPad != "NOTSET" && autoPad != "VALID")
    return g.fail("unknown auto_pad '" + autoPad + "'");
  // Explicit zero pads are the default, not a choice.
  bool explicitPads = llvm::any_of(*pads, [](int64_t p) { return p != 0; });
  if (autoPad != "NOTSET" && explicitPads)
    return g.fail("pads and auto_pad " + autoPad + " are both given");
  std::optional<SmallVector<int64_t>> outShape = g.attrInts("output_shape");
  if (outShape) {
    // Either the spatial sizes or the whole shape.
    if (static_cast<int64_t>(outShape->size()) == rank)
      outShape->erase(outShape->begin(), outShape->begin() + 2);
    if (static_cast<int64_t>(outShape->size()) != spatial)
      return g.fail("output_shape has " + llvm::Twine(outShape->size()) +
                    " entries for " + llvm::Twine(spatial) +
                    " spatial dimensions");
  }

  // Per spatial dimension: the output size, then the convolution's view of
  // the upsampled input (length in * s with s - 1 trailing zeros): crop
  // `cropLo` / `cropHi`, then pad `lo` / `hi`.
  bool upsample = false, crop = false;
  SmallVector<int64_t> out, lo, hi, cropLo, cropHi;
  for (int64_t i = 0; i < spatial; ++i) {
    int64_t in = xt.getDimSize(i + 2), s = (*strides)[i], d = (*dilations)[i];
    int64_t reach = d * (kernel[i] - 1);
    int64_t natural = s * (in - 1) + (*outPad)[i] + reach + 1;
    int64_t begin = (*pads)[i], size;
    if (same || outShape) {
      size = outShape ? (*outShape)[i] : in * s;
      int64_t total = natural - size;
      begin =
          autoPad == "SAME_UPPER" ? floorDiv2(total) : total - floorDiv2(total);
      if (explicitPads &&
          (begin != (*pads)[i] || total - begin != (*pads)[i + spatial]))
        return g.unsupported("pads that differ from those output_shape "
                             "implies");
      if (total < (same ? 0 : -1))
        return g.unsupported("output size " + llvm::Twine(size) +
                             " in dimension " + llvm::Twine(i) +
                             ", beyond the computed " + llvm::Twine(natural) +
                             " (ONNX implementations place the extra "
                             "elements differently)");
    } else {
      size = natural - begin - (*pads)[i + spatial];
    }
    if (size < 1)
      return g.fail("output dimension " + llvm::Twine(i) + " would have size " +
                    llvm::Twine(size));
    int64_t before = reach - begin;
    int64_t after = size + reach - before - (s * (in - 1) + 1) - (s - 1);
    upsample |= s > 1;
    out.push_back(size);
    lo.push_back(std::max<int64_t>(0, before));
    hi.push_back(std::max<int64_t>(0, after));
    cropLo.push_back(std::max<int64_t>(0, -before));
    cropHi.push_back(std::max<int64_t>(0, -after));
    crop |= cropLo.back() > 0 || cropHi.back() > 0;
    if (cropLo.back() + cropHi.back() >= in * s)
      return g.unsupported("pads that crop away the whole input");
  }

  Value input = *x;
  int64_t n = xt.getDimSize(0);
  if (upsample) {
    // A size-1 dimension after each strided one, padded to the stride.
    SmallVector<int64_t> split = {n, c}, wide = {n, c}, ends;
    for (int64_t i = 0; i < spatial; ++i) {
      int64_t in = xt.getDimSize(i + 2), s = (*strides)[i];
      split.push_back(in);
      wide.push_back(in * s);
      ends.push_back(0);
      if (s > 1) {
        split.push_back(1);
        ends.push_back(s - 1);
      }
    }
    SmallVector<int64_t> padSpec(split.size(), 0);
    padSpec.append({0, 0});
    llvm::append_range(padSpec, ends);
    auto r = g.reshape(input, split);
    if (failed(r))
      return failure();
    auto p = g.create1<ts::PadOp>(
        *r, {g.named("pads", g.builder.getDenseI64ArrayAttr(padSpec))});
    if (failed(p))
      return failure();
    auto back = g.reshape(*p, wide);
    if (failed(back))
      return failure();
    input = *back;
  }
  if (crop) {
    RankedTensorType it = typeOf(input);
    SmallVector<int64_t> starts(rank, 0), sizes(it.getShape());
    for (int64_t i = 0; i < spatial; ++i) {
      starts[i + 2] = cropLo[i];
      sizes[i + 2] -= cropLo[i] + cropHi[i];
    }
    auto sl = g.create1<ts::SliceOp>(
        input, {g.named("starts", g.builder.getDenseI64ArrayAttr(starts)),
                g.named("sizes", g.builder.getDenseI64ArrayAttr(sizes)),
                g.named("steps", g.builder.getDenseI64ArrayAttr(
                                     SmallVector<int64_t>(rank, 1)))});
    if (failed(sl))
      return failure();
    input = *sl;
  }

  auto weight = convWeight(g, *w, group);
  if (failed(weight))
    return failure();
  SmallVector<Value> operands = {input, *weight};
  if (Value b = g.input(2))
    operands.push_back(b);
  SmallVector<int64_t> convPads(lo);
  llvm::append_range(convPads, hi);
  Builder &b = g.builder;
  auto y = g.create1<ts::ConvOp>(
      operands, {g.named("strides", b.getDenseI64ArrayAttr(
                                        SmallVector<int64_t>(spatial, 1))),
                 g.named("pads", b.getDenseI64ArrayAttr(convPads)),
                 g.named("dilations", b.getDenseI64ArrayAttr(*dilations)),
                 g.named("group", b.getI64IntegerAttr(group))});
  if (failed(y))
    return failure();
  assert(typeOf(*y).getShape().drop_front(2) == ArrayRef<int64_t>(out) &&
         "the convolution computes another output size");
  (void)out;
  return g.setOutputs(*y);
}
