//===- TesseraOps.cpp - Verifiers and type inference of tessera ops -------===//
//
// Every check that type inference or a folder relies on lives here, so an op
// that verifies can be folded and lowered without further checks.
//
//===----------------------------------------------------------------------===//

#include "dialects/Tessera/IR/TesseraOps.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/MathExtras.h"

#include <cmath>
#include <cstdio>

using namespace mlir;
using namespace mlir::tessera;

std::string mlir::tessera::formatShape(ArrayRef<int64_t> shape) {
  if (shape.empty())
    return "scalar";
  std::string s;
  llvm::raw_string_ostream os(s);
  llvm::interleave(shape, os, "x");
  return s;
}

static RankedTensorType tensorType(Value v) {
  return cast<RankedTensorType>(v.getType());
}

FailureOr<SmallVector<int64_t>>
mlir::tessera::broadcastShapes(ArrayRef<int64_t> lhs, ArrayRef<int64_t> rhs) {
  size_t rank = std::max(lhs.size(), rhs.size());
  SmallVector<int64_t> out(rank);
  for (size_t i = 0; i < rank; ++i) {
    int64_t l = i < rank - lhs.size() ? 1 : lhs[i - (rank - lhs.size())];
    int64_t r = i < rank - rhs.size() ? 1 : rhs[i - (rank - rhs.size())];
    if (l != r && l != 1 && r != 1)
      return failure();
    out[i] = l == 1 ? r : l;
  }
  return out;
}

LogicalResult mlir::tessera::inferBroadcastOp(std::optional<Location> loc,
                                              ValueRange operands,
                                              Type elementType,
                                              SmallVectorImpl<Type> &inferred) {
  SmallVector<int64_t> shape;
  for (Value v : operands) {
    auto next = broadcastShapes(shape, tensorType(v).getShape());
    if (failed(next))
      return emitOptionalError(loc, "operand shapes ", formatShape(shape),
                               " and ", formatShape(tensorType(v).getShape()),
                               " do not broadcast");
    shape = *next;
  }
  Type lhs = tensorType(operands[operands.size() - 2]).getElementType();
  Type rhs = tensorType(operands.back()).getElementType();
  if (lhs != rhs)
    return emitOptionalError(loc, "operand element types ", lhs, " and ", rhs,
                             " differ");
  inferred.push_back(RankedTensorType::get(shape, elementType));
  return success();
}

LogicalResult mlir::tessera::inferReduceOp(std::optional<Location> loc,
                                           Value input, ArrayRef<int64_t> axes,
                                           bool keepdims,
                                           SmallVectorImpl<Type> &inferred) {
  RankedTensorType type = tensorType(input);
  int64_t rank = type.getRank();
  for (auto [i, axis] : llvm::enumerate(axes)) {
    if (axis < 0 || axis >= rank)
      return emitOptionalError(loc, "reduction axis ", axis,
                               " is out of range for rank ", rank);
    if (i > 0 && axes[i - 1] >= axis)
      return emitOptionalError(loc, "reduction axes must be strictly increasing");
  }
  SmallVector<int64_t> shape;
  for (int64_t d = 0; d < rank; ++d) {
    if (!llvm::is_contained(axes, d))
      shape.push_back(type.getDimSize(d));
    else if (keepdims)
      shape.push_back(1);
  }
  inferred.push_back(RankedTensorType::get(shape, type.getElementType()));
  return success();
}

LogicalResult mlir::tessera::inferArgOp(std::optional<Location> loc,
                                        Value input, int64_t axis,
                                        bool keepdims,
                                        SmallVectorImpl<Type> &inferred) {
  RankedTensorType type = tensorType(input);
  if (axis < 0 || axis >= type.getRank())
    return emitOptionalError(loc, "axis ", axis, " is out of range for rank ",
                             type.getRank());
  SmallVector<int64_t> shape(type.getShape());
  if (keepdims)
    shape[axis] = 1;
  else
    shape.erase(shape.begin() + axis);
  inferred.push_back(
      RankedTensorType::get(shape, IntegerType::get(input.getContext(), 64)));
  return success();
}

//===----------------------------------------------------------------------===//
// ShapeOp
//===----------------------------------------------------------------------===//

LogicalResult ShapeOp::inferReturnTypes(MLIRContext *context,
                                        std::optional<Location> loc,
                                        Adaptor adaptor,
                                        SmallVectorImpl<Type> &inferred) {
  int64_t rank = tensorType(adaptor.getInput()).getRank();
  int64_t start = adaptor.getStart(), end = adaptor.getEnd();
  if (start < 0 || start > end || end > rank)
    return emitOptionalError(loc, "shape range [", start, ", ", end,
                             ") is not within the operand's rank ", rank);
  inferred.push_back(
      RankedTensorType::get({end - start}, IntegerType::get(context, 64)));
  return success();
}

//===----------------------------------------------------------------------===//
// Elementwise
//===----------------------------------------------------------------------===//

LogicalResult ClipOp::verify() {
  Type element = getInput().getType().getElementType();
  for (Value bound : {getMin(), getMax()}) {
    if (!bound)
      continue;
    auto type = tensorType(bound);
    if (type.getRank() != 0 || type.getElementType() != element)
      return emitOpError("bounds must be 0-d tensors of the input's element "
                         "type, got ")
             << type;
  }
  return success();
}


//===----------------------------------------------------------------------===//
// Linear algebra and convolution
//===----------------------------------------------------------------------===//

LogicalResult MatMulOp::inferReturnTypes(MLIRContext *context,
                                         std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &inferred) {
  RankedTensorType lhs = tensorType(adaptor.getLhs());
  RankedTensorType rhs = tensorType(adaptor.getRhs());
  if (lhs.getElementType() != rhs.getElementType())
    return emitOptionalError(loc, "operand element types differ");
  if (lhs.getRank() == 0 || rhs.getRank() == 0)
    return emitOptionalError(loc, "operands must have rank 1 or more");
  SmallVector<int64_t> l(lhs.getShape()), r(rhs.getShape());
  bool lhsVector = l.size() == 1, rhsVector = r.size() == 1;
  if (lhsVector)
    l.insert(l.begin(), 1);
  if (rhsVector)
    r.push_back(1);
  int64_t m = l[l.size() - 2], k = l.back(), k2 = r[r.size() - 2], n = r.back();
  if (k != k2)
    return emitOptionalError(loc, "contraction dimensions differ: ",
                             formatShape(lhs.getShape()), " and ",
                             formatShape(rhs.getShape()));
  auto batch = broadcastShapes(ArrayRef(l).drop_back(2),
                               ArrayRef(r).drop_back(2));
  if (failed(batch))
    return emitOptionalError(loc, "batch dimensions do not broadcast: ",
                             formatShape(lhs.getShape()), " and ",
                             formatShape(rhs.getShape()));
  SmallVector<int64_t> shape = *batch;
  if (!lhsVector)
    shape.push_back(m);
  if (!rhsVector)
    shape.push_back(n);
  inferred.push_back(RankedTensorType::get(shape, lhs.getElementType()));
  return success();
}

LogicalResult GemmOp::inferReturnTypes(MLIRContext *context,
                                       std::optional<Location> loc,
                                       Adaptor adaptor,
                                       SmallVectorImpl<Type> &inferred) {
  RankedTensorType a = tensorType(adaptor.getA());
  RankedTensorType b = tensorType(adaptor.getB());
  if (a.getRank() != 2 || b.getRank() != 2)
    return emitOptionalError(loc, "A and B must be 2-D");
  if (a.getElementType() != b.getElementType())
    return emitOptionalError(loc, "operand element types differ");
  int64_t m = a.getDimSize(adaptor.getTransA() ? 1 : 0);
  int64_t k = a.getDimSize(adaptor.getTransA() ? 0 : 1);
  int64_t k2 = b.getDimSize(adaptor.getTransB() ? 1 : 0);
  int64_t n = b.getDimSize(adaptor.getTransB() ? 0 : 1);
  if (k != k2)
    return emitOptionalError(loc, "contraction dimensions differ: ", k,
                             " and ", k2);
  SmallVector<int64_t> shape = {m, n};
  if (Value c = adaptor.getC()) {
    RankedTensorType ct = tensorType(c);
    auto bc = broadcastShapes(ct.getShape(), shape);
    if (ct.getElementType() != a.getElementType() || failed(bc) ||
        ArrayRef(*bc) != ArrayRef(shape))
      return emitOptionalError(loc, "C of type ", ct,
                               " does not broadcast to the result ",
                               formatShape(shape));
  }
  inferred.push_back(RankedTensorType::get(shape, a.getElementType()));
  return success();
}

/// Output size of a sliding window, or -1 when the window does not fit.
static int64_t windowOutputSize(int64_t in, int64_t kernel, int64_t stride,
                                int64_t padBegin, int64_t padEnd,
                                int64_t dilation, bool ceilMode) {
  int64_t span = dilation * (kernel - 1) + 1;
  int64_t padded = in + padBegin + padEnd;
  if (padded < span)
    return -1;
  int64_t out = ceilMode ? llvm::divideCeil(padded - span, stride) + 1
                         : (padded - span) / stride + 1;
  // A window that would start entirely in the end padding is dropped.
  if (ceilMode && (out - 1) * stride >= in + padBegin)
    --out;
  return out;
}

/// Checks the window attributes shared by convolution and pooling.
static LogicalResult verifyWindow(std::optional<Location> loc, int64_t spatial,
                                  ArrayRef<int64_t> strides,
                                  ArrayRef<int64_t> pads,
                                  ArrayRef<int64_t> dilations) {
  if (static_cast<int64_t>(strides.size()) != spatial ||
      static_cast<int64_t>(dilations.size()) != spatial ||
      static_cast<int64_t>(pads.size()) != 2 * spatial)
    return emitOptionalError(loc, "expected ", spatial, " strides and dilations and ",
                             2 * spatial, " pads for ", spatial,
                             " spatial dimensions");
  if (llvm::any_of(strides, [](int64_t s) { return s < 1; }) ||
      llvm::any_of(dilations, [](int64_t d) { return d < 1; }))
    return emitOptionalError(loc, "strides and dilations must be positive");
  if (llvm::any_of(pads, [](int64_t p) { return p < 0; }))
    return emitOptionalError(loc, "pads must be non-negative");
  return success();
}

LogicalResult ConvOp::inferReturnTypes(MLIRContext *context,
                                       std::optional<Location> loc,
                                       Adaptor adaptor,
                                       SmallVectorImpl<Type> &inferred) {
  RankedTensorType x = tensorType(adaptor.getInput());
  RankedTensorType w = tensorType(adaptor.getWeight());
  int64_t rank = x.getRank(), spatial = rank - 2, group = adaptor.getGroup();
  if (rank < 3 || w.getRank() != rank)
    return emitOptionalError(loc, "input and weight must have the same rank, "
                                  "at least 3, got ",
                             formatShape(x.getShape()), " and ",
                             formatShape(w.getShape()));
  if (x.getElementType() != w.getElementType())
    return emitOptionalError(loc, "operand element types differ");
  if (failed(verifyWindow(loc, spatial, adaptor.getStrides(), adaptor.getPads(),
                          adaptor.getDilations())))
    return failure();
  int64_t c = x.getDimSize(1), m = w.getDimSize(0);
  if (group < 1 || c % group != 0 || m % group != 0 ||
      w.getDimSize(1) * group != c)
    return emitOptionalError(loc, "channels do not match: input has ", c,
                             ", weight ", formatShape(w.getShape()),
                             " with group ", group);
  if (Value bias = adaptor.getBias()) {
    RankedTensorType b = tensorType(bias);
    if (b.getRank() != 1 || b.getDimSize(0) != m ||
        b.getElementType() != x.getElementType())
      return emitOptionalError(loc, "bias must be 1-D with ", m, " elements");
  }
  SmallVector<int64_t> shape = {x.getDimSize(0), m};
  for (int64_t i = 0; i < spatial; ++i) {
    int64_t out = windowOutputSize(
        x.getDimSize(i + 2), w.getDimSize(i + 2), adaptor.getStrides()[i],
        adaptor.getPads()[i], adaptor.getPads()[i + spatial],
        adaptor.getDilations()[i], /*ceilMode=*/false);
    if (out < 1)
      return emitOptionalError(loc, "kernel does not fit spatial dimension ",
                               i, " of the padded input");
    shape.push_back(out);
  }
  inferred.push_back(RankedTensorType::get(shape, x.getElementType()));
  return success();
}

template <typename PoolAdaptor>
static LogicalResult inferPool(std::optional<Location> loc,
                               PoolAdaptor adaptor,
                               SmallVectorImpl<Type> &inferred) {
  RankedTensorType x = tensorType(adaptor.getInput());
  int64_t rank = x.getRank(), spatial = rank - 2;
  if (rank < 3)
    return emitOptionalError(loc, "input must have rank 3 or more");
  ArrayRef<int64_t> kernel = adaptor.getKernelShape();
  if (static_cast<int64_t>(kernel.size()) != spatial ||
      llvm::any_of(kernel, [](int64_t k) { return k < 1; }))
    return emitOptionalError(loc, "expected ", spatial,
                             " positive kernel sizes");
  if (failed(verifyWindow(loc, spatial, adaptor.getStrides(), adaptor.getPads(),
                          adaptor.getDilations())))
    return failure();
  SmallVector<int64_t> shape = {x.getDimSize(0), x.getDimSize(1)};
  for (int64_t i = 0; i < spatial; ++i) {
    int64_t out = windowOutputSize(
        x.getDimSize(i + 2), kernel[i], adaptor.getStrides()[i],
        adaptor.getPads()[i], adaptor.getPads()[i + spatial],
        adaptor.getDilations()[i], adaptor.getCeilMode());
    if (out < 1)
      return emitOptionalError(loc, "kernel does not fit spatial dimension ",
                               i, " of the padded input");
    shape.push_back(out);
  }
  inferred.push_back(RankedTensorType::get(shape, x.getElementType()));
  return success();
}

LogicalResult MaxPoolOp::inferReturnTypes(MLIRContext *,
                                          std::optional<Location> loc,
                                          Adaptor adaptor,
                                          SmallVectorImpl<Type> &inferred) {
  return inferPool(loc, adaptor, inferred);
}

LogicalResult AveragePoolOp::inferReturnTypes(MLIRContext *,
                                              std::optional<Location> loc,
                                              Adaptor adaptor,
                                              SmallVectorImpl<Type> &inferred) {
  return inferPool(loc, adaptor, inferred);
}

LogicalResult GlobalAveragePoolOp::inferReturnTypes(
    MLIRContext *, std::optional<Location> loc, Adaptor adaptor,
    SmallVectorImpl<Type> &inferred) {
  RankedTensorType x = tensorType(adaptor.getInput());
  if (x.getRank() < 3)
    return emitOptionalError(loc, "input must have rank 3 or more");
  SmallVector<int64_t> shape(x.getShape());
  std::fill(shape.begin() + 2, shape.end(), 1);
  inferred.push_back(RankedTensorType::get(shape, x.getElementType()));
  return success();
}

//===----------------------------------------------------------------------===//
// Normalisation
//===----------------------------------------------------------------------===//

LogicalResult BatchNormOp::verify() {
  RankedTensorType x = getInput().getType();
  if (x.getRank() < 2)
    return emitOpError("input must have rank 2 or more");
  for (Value v : {getScale(), getBias(), getMean(), getVariance()}) {
    RankedTensorType t = tensorType(v);
    if (t.getRank() != 1 || t.getDimSize(0) != x.getDimSize(1) ||
        t.getElementType() != x.getElementType())
      return emitOpError("parameters must be 1-D with ")
             << x.getDimSize(1) << " elements of " << x.getElementType()
             << ", got " << t;
  }
  return success();
}

LogicalResult LayerNormOp::verify() {
  RankedTensorType x = getInput().getType();
  int64_t axis = getAxis();
  if (axis < 0 || axis >= x.getRank())
    return emitOpError("axis ") << axis << " is out of range for rank "
                                << x.getRank();
  ArrayRef<int64_t> normalized = x.getShape().drop_front(axis);
  for (Value v : {getScale(), getBias()}) {
    if (!v)
      continue;
    RankedTensorType t = tensorType(v);
    auto bc = broadcastShapes(t.getShape(), normalized);
    if (t.getElementType() != x.getElementType() || failed(bc) ||
        ArrayRef(*bc) != normalized)
      return emitOpError("scale and bias must broadcast to the normalized "
                         "shape ")
             << formatShape(normalized) << ", got " << t;
  }
  return success();
}

template <typename SoftmaxLike>
static LogicalResult verifySoftmax(SoftmaxLike op) {
  int64_t rank = op.getInput().getType().getRank();
  auto axis = static_cast<int64_t>(op.getAxis());
  if (axis < 0 || axis >= rank)
    return op.emitOpError("axis ") << axis << " is out of range for rank "
                                   << rank;
  return success();
}
LogicalResult SoftmaxOp::verify() { return verifySoftmax(*this); }
LogicalResult LogSoftmaxOp::verify() { return verifySoftmax(*this); }

//===----------------------------------------------------------------------===//
// Data movement
//===----------------------------------------------------------------------===//

LogicalResult ReshapeOp::verify() {
  RankedTensorType in = getInput().getType(), out = getOutput().getType();
  if (in.getElementType() != out.getElementType())
    return emitOpError("element types differ");
  if (in.getNumElements() != out.getNumElements())
    return emitOpError("cannot reshape ")
           << formatShape(in.getShape()) << " (" << in.getNumElements()
           << " elements) to " << formatShape(out.getShape()) << " ("
           << out.getNumElements() << " elements)";
  return success();
}

LogicalResult TransposeOp::inferReturnTypes(MLIRContext *,
                                            std::optional<Location> loc,
                                            Adaptor adaptor,
                                            SmallVectorImpl<Type> &inferred) {
  RankedTensorType x = tensorType(adaptor.getInput());
  ArrayRef<int64_t> perm = adaptor.getPerm();
  SmallVector<bool> seen(x.getRank(), false);
  if (static_cast<int64_t>(perm.size()) != x.getRank())
    return emitOptionalError(loc, "perm has ", perm.size(),
                             " entries for rank ", x.getRank());
  SmallVector<int64_t> shape;
  for (int64_t p : perm) {
    if (p < 0 || p >= x.getRank() || seen[p])
      return emitOptionalError(loc, "perm is not a permutation of [0, ",
                               x.getRank(), ")");
    seen[p] = true;
    shape.push_back(x.getDimSize(p));
  }
  inferred.push_back(RankedTensorType::get(shape, x.getElementType()));
  return success();
}

LogicalResult ConcatOp::inferReturnTypes(MLIRContext *,
                                         std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &inferred) {
  ValueRange inputs = adaptor.getInputs();
  if (inputs.empty())
    return emitOptionalError(loc, "expected at least one input");
  RankedTensorType first = tensorType(inputs.front());
  int64_t axis = adaptor.getAxis(), rank = first.getRank();
  if (axis < 0 || axis >= rank)
    return emitOptionalError(loc, "axis ", axis, " is out of range for rank ",
                             rank);
  SmallVector<int64_t> shape(first.getShape());
  shape[axis] = 0;
  for (Value v : inputs) {
    RankedTensorType t = tensorType(v);
    if (t.getRank() != rank || t.getElementType() != first.getElementType())
      return emitOptionalError(loc, "inputs must have one rank and element type");
    for (int64_t d = 0; d < rank; ++d)
      if (d != axis && t.getDimSize(d) != first.getDimSize(d))
        return emitOptionalError(loc, "inputs differ in dimension ", d,
                                 ": ", formatShape(first.getShape()), " and ",
                                 formatShape(t.getShape()));
    if (llvm::AddOverflow(shape[axis], t.getDimSize(axis), shape[axis]))
      return emitOptionalError(loc, "concatenated dimension overflows");
  }
  inferred.push_back(RankedTensorType::get(shape, first.getElementType()));
  return success();
}

LogicalResult SplitOp::inferReturnTypes(MLIRContext *,
                                        std::optional<Location> loc,
                                        Adaptor adaptor,
                                        SmallVectorImpl<Type> &inferred) {
  RankedTensorType x = tensorType(adaptor.getInput());
  int64_t axis = adaptor.getAxis();
  if (axis < 0 || axis >= x.getRank())
    return emitOptionalError(loc, "axis ", axis, " is out of range for rank ",
                             x.getRank());
  int64_t total = 0;
  for (int64_t size : adaptor.getSizes()) {
    if (size < 0 || llvm::AddOverflow(total, size, total))
      return emitOptionalError(loc, "split sizes must be non-negative");
  }
  if (total != x.getDimSize(axis))
    return emitOptionalError(loc, "split sizes add up to ", total,
                             " but dimension ", axis, " has ",
                             x.getDimSize(axis));
  for (int64_t size : adaptor.getSizes()) {
    SmallVector<int64_t> shape(x.getShape());
    shape[axis] = size;
    inferred.push_back(RankedTensorType::get(shape, x.getElementType()));
  }
  return success();
}

LogicalResult SliceOp::inferReturnTypes(MLIRContext *,
                                        std::optional<Location> loc,
                                        Adaptor adaptor,
                                        SmallVectorImpl<Type> &inferred) {
  RankedTensorType x = tensorType(adaptor.getInput());
  ArrayRef<int64_t> starts = adaptor.getStarts(), sizes = adaptor.getSizes(),
                    steps = adaptor.getSteps();
  int64_t rank = x.getRank();
  if (static_cast<int64_t>(starts.size()) != rank ||
      static_cast<int64_t>(sizes.size()) != rank ||
      static_cast<int64_t>(steps.size()) != rank)
    return emitOptionalError(loc, "starts, sizes and steps need ", rank,
                             " entries each");
  for (int64_t d = 0; d < rank; ++d) {
    int64_t dim = x.getDimSize(d);
    if (steps[d] == 0 || sizes[d] < 0)
      return emitOptionalError(loc, "dimension ", d,
                               ": step must be non-zero and size non-negative");
    if (sizes[d] == 0)
      continue;
    // The last index read is starts + (sizes - 1) * steps; both ends must be
    // inside the dimension. Work in 128 bits: the operands are arbitrary.
    __int128 last = static_cast<__int128>(starts[d]) +
                    static_cast<__int128>(sizes[d] - 1) * steps[d];
    if (starts[d] < 0 || starts[d] >= dim || last < 0 || last >= dim)
      return emitOptionalError(loc, "dimension ", d,
                               ": slice reads outside [0, ", dim, ")");
  }
  inferred.push_back(RankedTensorType::get(sizes, x.getElementType()));
  return success();
}

LogicalResult GatherOp::inferReturnTypes(MLIRContext *,
                                         std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &inferred) {
  RankedTensorType data = tensorType(adaptor.getData());
  RankedTensorType indices = tensorType(adaptor.getIndices());
  int64_t axis = adaptor.getAxis();
  if (axis < 0 || axis >= data.getRank())
    return emitOptionalError(loc, "axis ", axis, " is out of range for rank ",
                             data.getRank());
  SmallVector<int64_t> shape(data.getShape().take_front(axis));
  llvm::append_range(shape, indices.getShape());
  llvm::append_range(shape, data.getShape().drop_front(axis + 1));
  inferred.push_back(RankedTensorType::get(shape, data.getElementType()));
  return success();
}

LogicalResult GatherElementsOp::inferReturnTypes(
    MLIRContext *, std::optional<Location> loc, Adaptor adaptor,
    SmallVectorImpl<Type> &inferred) {
  RankedTensorType data = tensorType(adaptor.getData());
  RankedTensorType indices = tensorType(adaptor.getIndices());
  int64_t axis = adaptor.getAxis(), rank = data.getRank();
  if (indices.getRank() != rank)
    return emitOptionalError(loc, "data and indices must have one rank, got ",
                             rank, " and ", indices.getRank());
  if (axis < 0 || axis >= rank)
    return emitOptionalError(loc, "axis ", axis, " is out of range for rank ",
                             rank);
  for (int64_t d = 0; d < rank; ++d)
    if (d != axis && indices.getDimSize(d) > data.getDimSize(d))
      return emitOptionalError(loc, "indices dimension ", d, " (",
                               indices.getDimSize(d), ") exceeds the data's (",
                               data.getDimSize(d), ")");
  inferred.push_back(indices.clone(data.getElementType()));
  return success();
}

/// Checks what both scatters share: the updates' element type and the
/// reduction, which needs a numeric element type unless it is `none`.
static LogicalResult verifyScatter(std::optional<Location> loc,
                                   RankedTensorType data,
                                   RankedTensorType updates,
                                   StringRef reduction) {
  if (updates.getElementType() != data.getElementType())
    return emitOptionalError(loc, "updates have element type ",
                             updates.getElementType(), ", the data ",
                             data.getElementType());
  if (reduction != "none" && reduction != "add" && reduction != "mul" &&
      reduction != "max" && reduction != "min")
    return emitOptionalError(loc, "unknown reduction '", reduction, "'");
  if (reduction != "none" && data.getElementType().isInteger(1))
    return emitOptionalError(loc, "reduction '", reduction,
                             "' needs a numeric element type");
  return success();
}

LogicalResult
ScatterElementsOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                    Adaptor adaptor,
                                    SmallVectorImpl<Type> &inferred) {
  RankedTensorType data = tensorType(adaptor.getData());
  RankedTensorType indices = tensorType(adaptor.getIndices());
  RankedTensorType updates = tensorType(adaptor.getUpdates());
  int64_t axis = adaptor.getAxis(), rank = data.getRank();
  if (indices.getRank() != rank || updates.getRank() != rank)
    return emitOptionalError(loc,
                             "data, indices and updates must have one "
                             "rank, got ",
                             rank, ", ", indices.getRank(), " and ",
                             updates.getRank());
  if (indices.getShape() != updates.getShape())
    return emitOptionalError(loc,
                             "indices and updates must have one shape, "
                             "got ",
                             formatShape(indices.getShape()), " and ",
                             formatShape(updates.getShape()));
  if (axis < 0 || axis >= rank)
    return emitOptionalError(loc, "axis ", axis, " is out of range for rank ",
                             rank);
  for (int64_t d = 0; d < rank; ++d)
    if (d != axis && indices.getDimSize(d) > data.getDimSize(d))
      return emitOptionalError(loc, "indices dimension ", d, " (",
                               indices.getDimSize(d), ") exceeds the data's (",
                               data.getDimSize(d), ")");
  if (failed(verifyScatter(loc, data, updates, adaptor.getReduction())))
    return failure();
  inferred.push_back(data);
  return success();
}

LogicalResult ScatterNDOp::inferReturnTypes(MLIRContext *,
                                            std::optional<Location> loc,
                                            Adaptor adaptor,
                                            SmallVectorImpl<Type> &inferred) {
  RankedTensorType data = tensorType(adaptor.getData());
  RankedTensorType indices = tensorType(adaptor.getIndices());
  RankedTensorType updates = tensorType(adaptor.getUpdates());
  if (indices.getRank() < 1)
    return emitOptionalError(loc, "indices must have rank 1 or more");
  int64_t k = indices.getShape().back();
  if (k > data.getRank())
    return emitOptionalError(loc, "index tuples of ", k,
                             " entries do not fit the data's rank ",
                             data.getRank());
  SmallVector<int64_t> shape(indices.getShape().drop_back());
  llvm::append_range(shape, data.getShape().drop_front(k));
  if (updates.getShape() != ArrayRef<int64_t>(shape))
    return emitOptionalError(loc, "updates must have shape ",
                             formatShape(shape), ", got ",
                             formatShape(updates.getShape()));
  if (failed(verifyScatter(loc, data, updates, adaptor.getReduction())))
    return failure();
  inferred.push_back(data);
  return success();
}

LogicalResult ExpandOp::verify() {
  RankedTensorType in = getInput().getType(), out = getOutput().getType();
  auto bc = broadcastShapes(in.getShape(), out.getShape());
  if (in.getElementType() != out.getElementType() || failed(bc) ||
      ArrayRef(*bc) != out.getShape())
    return emitOpError("cannot broadcast ")
           << in << " to " << out;
  return success();
}

LogicalResult PadOp::inferReturnTypes(MLIRContext *,
                                      std::optional<Location> loc,
                                      Adaptor adaptor,
                                      SmallVectorImpl<Type> &inferred) {
  RankedTensorType x = tensorType(adaptor.getInput());
  ArrayRef<int64_t> pads = adaptor.getPads();
  int64_t rank = x.getRank();
  if (static_cast<int64_t>(pads.size()) != 2 * rank)
    return emitOptionalError(loc, "expected ", 2 * rank, " pads, got ",
                             pads.size());
  StringRef mode = adaptor.getMode();
  if (mode != "constant" && mode != "reflect" && mode != "edge")
    return emitOptionalError(loc, "unknown pad mode '", mode, "'");
  if (Value value = adaptor.getValue()) {
    RankedTensorType vt = tensorType(value);
    if (vt.getRank() != 0 || vt.getElementType() != x.getElementType())
      return emitOptionalError(loc, "pad value must be a 0-d tensor of ",
                               x.getElementType());
  }
  SmallVector<int64_t> shape;
  for (int64_t d = 0; d < rank; ++d) {
    int64_t size = x.getDimSize(d);
    if (llvm::AddOverflow(size, pads[d], size) ||
        llvm::AddOverflow(size, pads[d + rank], size) || size < 0)
      return emitOptionalError(loc, "pads make dimension ", d, " negative");
    if (mode != "constant" && x.getDimSize(d) == 0 &&
        (pads[d] > 0 || pads[d + rank] > 0))
      return emitOptionalError(loc, "cannot pad an empty dimension in mode '",
                               mode, "'");
    shape.push_back(size);
  }
  inferred.push_back(RankedTensorType::get(shape, x.getElementType()));
  return success();
}

/// A double for diagnostics, shortest form ("0.6", "2").
static std::string formatNumber(double v) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%g", v);
  return buffer;
}

bool ResizeOp::isIdentityDim(int64_t d) {
  StringRef coords = getCoordinateTransformationMode();
  if (getScales()[d] != 1.0 ||
      getInput().getType().getDimSize(d) != getType().getDimSize(d) ||
      coords == "tf_half_pixel_for_nn")
    return false;
  if (coords != "tf_crop_and_resize")
    return true;
  ArrayRef<double> roi = *getRoi();
  return roi[d] == 0.0 && roi[d + getType().getRank()] == 1.0;
}

LogicalResult ResizeOp::verify() {
  RankedTensorType in = getInput().getType(), out = getType();
  int64_t rank = in.getRank();
  if (out.getRank() != rank || out.getElementType() != in.getElementType())
    return emitOpError("result must have the input's rank and element type, "
                       "got ")
           << out;
  ArrayRef<double> scales = getScales();
  if (static_cast<int64_t>(scales.size()) != rank)
    return emitOpError("expected ") << rank << " scales, got " << scales.size();
  for (int64_t d = 0; d < rank; ++d) {
    double s = scales[d];
    if (!(s > 0) || !std::isfinite(s))
      return emitOpError("scales must be positive and finite, got ")
             << formatNumber(s);
    // floor(s * in) when the scale is given, floor(s * in + 0.5) when a
    // size with a kept aspect ratio defines the scale.
    double exact = s * static_cast<double>(in.getDimSize(d));
    double size = static_cast<double>(out.getDimSize(d));
    if (size < std::floor(exact) || size > std::floor(exact + 0.5))
      return emitOpError("result dimension ")
             << d << " has size " << out.getDimSize(d) << ", but scale "
             << formatNumber(s) << " times input size " << in.getDimSize(d)
             << " is " << formatNumber(exact);
  }
  StringRef mode = getMode(), coords = getCoordinateTransformationMode(),
            nearest = getNearestMode();
  if (mode != "nearest" && mode != "linear" && mode != "cubic")
    return emitOpError("unknown mode '") << mode << "'";
  if (!llvm::is_contained({"half_pixel", "half_pixel_symmetric",
                           "pytorch_half_pixel", "align_corners", "asymmetric",
                           "tf_half_pixel_for_nn", "tf_crop_and_resize"},
                          coords))
    return emitOpError("unknown coordinate_transformation_mode '")
           << coords << "'";
  if (!llvm::is_contained(
          {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"},
          nearest))
    return emitOpError("unknown nearest_mode '") << nearest << "'";
  if (mode != "nearest" && !isa<FloatType>(in.getElementType()))
    return emitOpError("mode '")
           << mode << "' needs a floating-point element type, got "
           << in.getElementType();
  if (mode == "nearest" && getExcludeOutside())
    return emitOpError("exclude_outside needs mode 'linear' or 'cubic'");
  std::optional<ArrayRef<double>> roi = getRoi();
  if (coords == "tf_crop_and_resize") {
    if (!roi || static_cast<int64_t>(roi->size()) != 2 * rank)
      return emitOpError("tf_crop_and_resize needs a roi of ")
             << 2 * rank << " values";
  } else if (roi) {
    return emitOpError("roi is only used by tf_crop_and_resize");
  }
  return success();
}

LogicalResult TriluOp::verify() {
  if (getInput().getType().getRank() < 2)
    return emitOpError("input must have rank 2 or more");
  return success();
}

#define GET_OP_CLASSES
#include "dialects/Tessera/IR/TesseraOps.cpp.inc"
