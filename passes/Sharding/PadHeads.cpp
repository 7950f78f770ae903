//===- PadHeads.cpp - Uneven head counts padded for tensor parallelism ----===//
//
// A head count the tp axis does not divide (GPT-2 XL's 25 heads on 4
// devices) is padded, as GSPMD pads an uneven dimension: the column
// weights get zero columns (and their biases zeros) for the extra heads,
// the row weight zero rows, and every op between takes the padded shape.
// A padded head computes zero queries, keys and values, so its softmax is
// uniform and its context zero, and the row weight's zero rows drop it:
// the group's result is the unpadded one. The padded group then splits
// evenly, 7 heads of 28 per device.
//
//===----------------------------------------------------------------------===//

#include "passes/Sharding/TensorParallel.h"

#include "dialects/Tessera/IR/TesseraOps.h"

#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"

using namespace mlir;
using namespace mlir::tessera;

namespace {
/// Undoable type and attribute changes.
struct Changes {
  SmallVector<std::pair<Value, Type>> types;
  SmallVector<std::tuple<Operation *, StringAttr, Attribute>> attrs;
  void setType(Value v, Type t) {
    types.push_back({v, v.getType()});
    v.setType(t);
  }
  void setAttr(Operation *op, StringRef name, Attribute a) {
    StringAttr key = StringAttr::get(op->getContext(), name);
    attrs.push_back({op, key, op->getAttr(key)});
    op->setAttr(key, a);
  }
  void undo() {
    for (auto &[v, t] : llvm::reverse(types))
      v.setType(t);
    for (auto &[op, key, a] : llvm::reverse(attrs)) {
      if (a)
        op->setAttr(key, a);
      else
        op->removeAttr(key);
    }
  }
};

RankedTensorType withShape(Type t, ArrayRef<int64_t> shape) {
  return RankedTensorType::get(shape, cast<RankedTensorType>(t).getElementType());
}

/// The new result shape of a reshape from `oldIn` to `oldOut` whose input
/// is now `newIn`: the group of output dimensions that one changed input
/// dimension maps to scales its outermost dimension by the same factor.
FailureOr<SmallVector<int64_t>> reshapeShape(ArrayRef<int64_t> oldIn,
                                             ArrayRef<int64_t> newIn,
                                             ArrayRef<int64_t> oldOut) {
  // Groups of consecutive dimensions with equal products.
  SmallVector<int64_t> out(oldOut);
  size_t i = 0, o = 0;
  while (i < oldIn.size() || o < oldOut.size()) {
    size_t i0 = i, o0 = o;
    int64_t pi = 1, po = 1;
    if (i < oldIn.size())
      pi = oldIn[i++];
    if (o < oldOut.size())
      po = oldOut[o++];
    while (pi != po) {
      if (pi < po && i < oldIn.size())
        pi *= oldIn[i++];
      else if (po < pi && o < oldOut.size())
        po *= oldOut[o++];
      else
        return failure();
    }
    // Unit dimensions trail into the group.
    while (i < oldIn.size() && oldIn[i] == 1 && (o >= oldOut.size() || oldOut[o] != 1))
      ++i;
    int64_t oldProduct = 1, newProduct = 1;
    for (size_t k = i0; k < i; ++k) {
      oldProduct *= oldIn[k];
      newProduct *= newIn[k];
    }
    if (oldProduct == newProduct)
      continue;
    if (o == o0 || oldProduct == 0 || (out[o0] * newProduct) % oldProduct)
      return failure();
    out[o0] = out[o0] * newProduct / oldProduct;
  }
  return out;
}

/// Gives `op` the result type its (re-typed) operands imply.
LogicalResult retype(Operation *op, Changes &changes) {
  if (auto slice = dyn_cast<SliceOp>(op)) {
    auto in = cast<RankedTensorType>(slice->getOperand(0).getType());
    auto out = cast<RankedTensorType>(slice.getType());
    SmallVector<int64_t> sizes(slice.getSizes()), shape(out.getShape());
    ArrayRef<int64_t> starts = slice.getStarts(), steps = slice.getSteps();
    for (size_t d = 0; d < sizes.size(); ++d) {
      if (in.getDimSize(d) == shape[d])
        continue;
      // A dimension taken whole grows with its input.
      if (starts[d] != 0 || steps[d] != 1)
        return failure();
      sizes[d] = shape[d] = in.getDimSize(d);
    }
    changes.setAttr(op, "sizes", DenseI64ArrayAttr::get(op->getContext(), sizes));
    changes.setType(op->getResult(0), withShape(out, shape));
    return success();
  }
  if (auto infer = dyn_cast<InferTypeOpInterface>(op)) {
    SmallVector<Type> types;
    if (failed(infer.inferReturnTypes(op->getContext(), op->getLoc(), op->getOperands(),
                                      op->getRawDictionaryAttrs(), op->getPropertiesStorage(),
                                      op->getRegions(), types)))
      return failure();
    for (auto [r, t] : llvm::zip(op->getResults(), types))
      if (r.getType() != t)
        changes.setType(r, t);
    return success();
  }
  // Elementwise (unary, casts), softmax: the shape of the first operand.
  if (op->getNumResults() == 1 && op->getNumOperands() >= 1) {
    auto in = dyn_cast<RankedTensorType>(op->getOperand(0).getType());
    if (!in)
      return failure();
    changes.setType(op->getResult(0), withShape(op->getResult(0).getType(), in.getShape()));
    return success();
  }
  return failure();
}
} // namespace

BlockArgument mlir::tessera::copyWeight(func::FuncOp func, BlockArgument arg,
                                        int64_t dim, int64_t begin, int64_t count,
                                        int64_t size, StringRef suffix) {
  auto attr = cast<DenseResourceElementsAttr>(
      func.getArgAttr(arg.getArgNumber(), kWeightAttrName));
  auto type = cast<RankedTensorType>(arg.getType());
  ArrayRef<char> data = attr.getRawHandle().getBlob()->getData();
  // Rows of `outer` blocks, each `whole` indices along `dim` of `inner`
  // bytes.
  int64_t outer = 1, inner = type.getElementTypeBitWidth() / 8;
  for (int64_t d = 0; d < dim; ++d)
    outer *= type.getDimSize(d);
  for (int64_t d = dim + 1; d < type.getRank(); ++d)
    inner *= type.getDimSize(d);
  int64_t whole = type.getDimSize(dim);
  std::vector<char> out(static_cast<size_t>(outer * size * inner), 0);
  for (int64_t o = 0; o < outer; ++o)
    std::memcpy(out.data() + o * size * inner,
                data.data() + (o * whole + begin) * inner,
                static_cast<size_t>(count * inner));
  SmallVector<int64_t> shape(type.getShape());
  shape[dim] = size;
  auto copyType = RankedTensorType::get(shape, type.getElementType());
  std::string name = (attr.getRawHandle().getKey() + suffix).str();
  auto value = DenseResourceElementsAttr::get(
      copyType, name,
      HeapAsmResourceBlob::allocateAndCopyWithAlign(ArrayRef<char>(out),
                                                    alignof(uint64_t)));
  unsigned index = func.getNumArguments();
  (void)func.insertArgument(
      index, copyType,
      DictionaryAttr::get(func.getContext(), {NamedAttribute(kWeightAttrName, value)}),
      arg.getLoc());
  return func.getArgument(index);
}

LogicalResult mlir::tessera::padHeads(func::FuncOp func, const HeadPadding &p) {
  // A failed attempt is not an error: its diagnostics (an op that cannot
  // take the padded shape) are dropped and the IR restored.
  ScopedDiagnosticHandler quiet(func.getContext(), [](Diagnostic &) { return success(); });
  Changes changes;
  int64_t newColumns = p.paddedHeads * p.headDim;
  // The weights first: zero columns (and biases), zero rows of the row
  // weight.
  SmallVector<std::tuple<OpOperand *, Value, BlockArgument>> replaced;
  auto pad = [&](OpOperand *operand, int64_t dim) {
    auto arg = cast<BlockArgument>(operand->get());
    int64_t whole = cast<RankedTensorType>(arg.getType()).getDimSize(dim);
    replaced.push_back({operand, arg,
                        copyWeight(func, arg, dim, 0, whole, newColumns, ".padded")});
  };
  for (auto [operand, dim] : p.columnWeights)
    pad(operand, dim);
  pad(p.rowWeight, p.rowDim);
  for (auto &[operand, old, padded] : replaced)
    operand->set(padded);
  auto restore = [&]() {
    llvm::BitVector added(func.getNumArguments());
    for (auto &[operand, old, padded] : replaced) {
      operand->set(old);
      added.set(padded.getArgNumber());
    }
    changes.undo();
    (void)func.eraseArguments(added);
    return failure();
  };
  // The columns' results, then every op between in program order.
  llvm::DenseMap<Value, SmallVector<int64_t>> oldShapes;
  for (Operation *c : p.columnOps) {
    auto t = cast<RankedTensorType>(c->getResult(0).getType());
    oldShapes[c->getResult(0)] = SmallVector<int64_t>(t.getShape());
    SmallVector<int64_t> shape(t.getShape());
    shape.back() = newColumns;
    changes.setType(c->getResult(0), withShape(t, shape));
    if (failed(verify(c, /*verifyRecursively=*/false)))
      return restore();
  }
  SmallVector<Operation *> region(p.region.begin(), p.region.end());
  llvm::sort(region, [](Operation *a, Operation *b) { return a->isBeforeInBlock(b); });
  for (Operation *op : region) {
    size_t before = changes.types.size();
    LogicalResult ok = failure();
    if (auto reshape = dyn_cast<ReshapeOp>(op)) {
      Value in = reshape->getOperand(0);
      auto it = oldShapes.find(in);
      auto out = cast<RankedTensorType>(reshape.getType());
      if (it != oldShapes.end()) {
        FailureOr<SmallVector<int64_t>> shape = reshapeShape(
            it->second, cast<RankedTensorType>(in.getType()).getShape(), out.getShape());
        if (succeeded(shape)) {
          changes.setType(reshape->getResult(0), withShape(out, *shape));
          ok = success();
        }
      } else {
        ok = success(); // its input did not change
      }
    } else if (auto expand = dyn_cast<ExpandOp>(op)) {
      // A broadcast: the input's grown dimensions, the rest as it was.
      auto in = cast<RankedTensorType>(expand->getOperand(0).getType());
      auto out = cast<RankedTensorType>(expand.getType());
      SmallVector<int64_t> shape(out.getShape());
      int64_t off = out.getRank() - in.getRank();
      for (int64_t d = 0; d < in.getRank(); ++d)
        if (in.getDimSize(d) != 1)
          shape[off + d] = in.getDimSize(d);
      changes.setType(expand->getResult(0), withShape(out, shape));
      ok = success();
    } else {
      ok = retype(op, changes);
    }
    if (failed(ok) || failed(verify(op, /*verifyRecursively=*/false)))
      return restore();
    for (size_t k = before; k < changes.types.size(); ++k)
      oldShapes[changes.types[k].first] =
          SmallVector<int64_t>(cast<RankedTensorType>(changes.types[k].second).getShape());
  }
  if (failed(verify(p.rowWeight->getOwner(), /*verifyRecursively=*/false)))
    return restore();
  return success();
}
