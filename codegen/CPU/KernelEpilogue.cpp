//===- KernelEpilogue.cpp - What a microkernel call takes over ------------===//

#include "codegen/CPU/KernelEpilogue.h"
#include "codegen/Common/BufferBytes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/Matchers.h"

using namespace mlir;
using namespace mlir::tessera;

namespace {
/// The value `v` views through reshapes (expand and collapse shapes).
Value throughReshapes(Value v) {
  while (Operation *def = v.getDefiningOp()) {
    if (!isa<memref::ExpandShapeOp, memref::CollapseShapeOp>(def))
      break;
    v = def->getOperand(0);
  }
  return v;
}

/// Whether `buffers` are read after `op` before being filled again.
bool readAfter(Operation *op, ArrayRef<Value> buffers) {
  for (Operation *next = op->getNextNode(); next; next = next->getNextNode()) {
    bool uses = llvm::any_of(buffers, [&](Value buffer) {
      return llvm::any_of(buffer.getUsers(),
                          [&](Operation *user) { return next->isAncestor(user); });
    });
    if (!uses)
      continue;
    auto fill = dyn_cast<linalg::FillOp>(next);
    return !fill || !llvm::is_contained(buffers, fill.getOutputs()[0]);
  }
  return false;
}

/// A constant f32 scalar's value.
std::optional<float> constantF32(Value v) {
  FloatAttr attr;
  if (!matchPattern(v, m_Constant(&attr)) || !attr.getType().isF32())
    return std::nullopt;
  return static_cast<float>(attr.getValueAsDouble());
}

/// Which of `shapes` reads `in` of `op` as bias[channel]: a contiguous
/// [channels] vector (through reshapes) read at the loop that runs over
/// the channels, every other dimension of the view of size 1.
std::optional<unsigned> biasShape(linalg::GenericOp op, OpOperand *in,
                                  ArrayRef<int64_t> loops,
                                  ArrayRef<AccumulatorShape> shapes) {
  Value root = throughReshapes(in->get());
  if (!isContiguousF32(root) || !isContiguousF32(in->get()) ||
      cast<MemRefType>(root.getType()).getRank() != 1)
    return std::nullopt;
  auto type = cast<MemRefType>(in->get().getType());
  std::optional<unsigned> channel;
  for (auto [i, expr] : llvm::enumerate(op.getMatchingIndexingMap(in).getResults())) {
    if (type.getDimSize(i) == 1)
      continue;
    auto dim = dyn_cast<AffineDimExpr>(expr);
    if (!dim || channel)
      return std::nullopt;
    channel = dim.getPosition();
  }
  if (!channel)
    return std::nullopt;
  int64_t outer = 1, inner = 1;
  for (unsigned i = 0; i < loops.size(); ++i)
    if (i != *channel)
      (i < *channel ? outer : inner) *= loops[i];
  for (auto [k, shape] : llvm::enumerate(shapes))
    if (loops[*channel] == shape.channels && outer == shape.outer &&
        inner == shape.inner && cast<MemRefType>(root.getType()).getDimSize(0) == shape.channels)
      return k;
  return std::nullopt;
}
} // namespace

bool mlir::tessera::isContiguousF32(Value v) {
  auto type = dyn_cast<MemRefType>(v.getType());
  return type && type.hasStaticShape() && type.getElementType().isF32() &&
         type.getLayout().isIdentity();
}

Operation *mlir::tessera::memoryNeighbourPastAllocs(Operation *op, bool before) {
  for (Operation *p = memoryNeighbour(op, before); p; p = memoryNeighbour(p, before))
    if (!isa<memref::AllocOp>(p))
      return p;
  return nullptr;
}

linalg::FillOp mlir::tessera::zeroFillBefore(Operation *op, Value acc) {
  auto fill = dyn_cast_or_null<linalg::FillOp>(memoryNeighbourPastAllocs(op, true));
  if (fill && fill.getOutputs()[0] == acc &&
      matchPattern(fill.getInputs()[0], m_AnyZeroFloat()))
    return fill;
  return {};
}

std::optional<KernelEpilogue>
mlir::tessera::matchKernelEpilogue(Operation *kernel, Value acc,
                                   ArrayRef<Value> reads,
                                   ArrayRef<AccumulatorShape> shapes) {
  auto op = dyn_cast_or_null<linalg::GenericOp>(memoryNeighbourPastAllocs(kernel, false));
  if (!op || !op.hasPureBufferSemantics() || !isContiguousF32(acc) ||
      op.getNumParallelLoops() != op.getNumLoops() || op.getNumDpsInits() != 1 ||
      op.getNumDpsInputs() > 3)
    return std::nullopt;
  OpOperand *out = op.getDpsInitOperand(0);
  if (!isContiguousF32(out->get()) || !op.getMatchingIndexingMap(out).isIdentity())
    return std::nullopt;
  ArrayRef<int64_t> loops = cast<MemRefType>(out->get().getType()).getShape();
  // A buffer read in the output's order (the accumulator, an addend).
  auto elementwise = [&](OpOperand *in) {
    return isContiguousF32(in->get()) &&
           cast<MemRefType>(in->get().getType()).getShape() == loops &&
           op.getMatchingIndexingMap(in).isIdentity();
  };
  OpOperand *accIn = nullptr;
  for (OpOperand *in : op.getDpsInputOperands())
    if (throughReshapes(in->get()) == acc && elementwise(in)) {
      if (accIn)
        return std::nullopt;
      accIn = in;
    }
  if (!accIn || readAfter(op, {acc, accIn->get()}))
    return std::nullopt;
  KernelEpilogue e;
  e.op = op;
  e.output = out->get();
  Value value = op.getMatchingBlockArgument(accIn);
  auto next = [&]() -> Operation * {
    return value.hasOneUse() ? *value.getUsers().begin() : nullptr;
  };
  size_t ops = 1, inputs = 1; // the yield; the accumulator
  // Adds of the bias and an addend, in either order.
  while (auto add = dyn_cast_or_null<arith::AddFOp>(next())) {
    auto arg = dyn_cast<BlockArgument>(add.getLhs() == value ? add.getRhs() : add.getLhs());
    if (!arg || arg.getOwner() != op.getBlock() || arg.getArgNumber() >= op.getNumDpsInputs())
      return std::nullopt;
    OpOperand *in = op.getDpsInputOperand(arg.getArgNumber());
    if (std::optional<unsigned> k = biasShape(op, in, loops, shapes); k && !e.bias) {
      e.bias = in->get();
      e.biasShape = *k;
    } else if (elementwise(in) && in != accIn && !e.addend) {
      e.addend = in->get();
    } else {
      return std::nullopt;
    }
    value = add.getResult();
    ++ops;
    ++inputs;
  }
  if (auto max = dyn_cast_or_null<arith::MaximumFOp>(next())) {
    std::optional<float> lo = constantF32(max.getLhs() == value ? max.getRhs() : max.getLhs());
    if (!lo)
      return std::nullopt;
    e.lo = *lo;
    value = max.getResult();
    ++ops;
  }
  if (auto min = dyn_cast_or_null<arith::MinimumFOp>(next())) {
    std::optional<float> hi = constantF32(min.getLhs() == value ? min.getRhs() : min.getLhs());
    if (!hi)
      return std::nullopt;
    e.hi = *hi;
    value = min.getResult();
    ++ops;
  }
  if (op.getBlock()->getTerminator()->getOperand(0) != value ||
      op.getBlock()->getOperations().size() != ops ||
      inputs != static_cast<size_t>(op.getNumDpsInputs()) || !(e.lo <= e.hi))
    return std::nullopt;
  // The call writes the output while it reads its operands, the bias and
  // the addend (a GEMM writes partial sums before it reads the addend):
  // none may share bytes with it. Everything must be movable before the
  // call.
  auto movable = [&](Value v) {
    if (auto alloc = v.getDefiningOp<memref::AllocOp>())
      return alloc->getNumOperands() == 0 && alloc->getBlock() == kernel->getBlock();
    return availableAt(v, kernel);
  };
  SmallVector<Value> others(reads);
  for (Value v : {e.bias, e.addend})
    if (v) {
      others.push_back(v);
      if (!availableAt(v, kernel))
        return std::nullopt;
    }
  if (!movable(e.output) ||
      llvm::any_of(others, [&](Value v) { return mayShareBytes(e.output, v); }))
    return std::nullopt;
  return e;
}

void mlir::tessera::prepareKernelEpilogue(const KernelEpilogue &e, Operation *kernel) {
  if (auto alloc = e.output.getDefiningOp<memref::AllocOp>()) {
    if (kernel->isBeforeInBlock(alloc))
      alloc->moveBefore(kernel);
  } else {
    makeAvailableAt(e.output, kernel);
  }
  for (Value v : {e.bias, e.addend})
    if (v)
      makeAvailableAt(v, kernel);
}

void mlir::tessera::eraseKernelEpilogue(const KernelEpilogue &e, Value acc) {
  e.op->erase();
  SmallVector<Operation *> views;
  for (Operation *user : acc.getUsers())
    if (isa<memref::ExpandShapeOp, memref::CollapseShapeOp>(user) && user->use_empty())
      views.push_back(user);
  for (Operation *view : views)
    view->erase();
  if (auto alloc = acc.getDefiningOp<memref::AllocOp>(); alloc && alloc->use_empty())
    alloc->erase();
}

linalg::FillOp mlir::tessera::fillBefore(Operation *op, Value acc, float value) {
  auto fill = dyn_cast_or_null<linalg::FillOp>(memoryNeighbourPastAllocs(op, true));
  if (!fill || fill.getOutputs()[0] != acc)
    return {};
  std::optional<float> v = constantF32(fill.getInputs()[0]);
  if (!v || llvm::bit_cast<uint32_t>(*v) != llvm::bit_cast<uint32_t>(value))
    return {};
  return fill;
}

namespace {
/// Whether `op` writes `value` to all of `buffer` (a fill, or a generic
/// without inputs yielding `value` from outside its body: padWith's).
bool fillsWith(Operation *op, Value buffer, float value) {
  auto same = [&](Value v) {
    std::optional<float> c = constantF32(v);
    return c && llvm::bit_cast<uint32_t>(*c) == llvm::bit_cast<uint32_t>(value);
  };
  if (auto fill = dyn_cast<linalg::FillOp>(op))
    return fill.getOutputs()[0] == buffer && same(fill.getInputs()[0]);
  auto linalgOp = dyn_cast<linalg::LinalgOp>(op);
  if (!linalgOp || linalgOp.getNumDpsInputs() != 0 || linalgOp.getNumDpsInits() != 1 ||
      linalgOp.getDpsInits()[0] != buffer || op->getNumRegions() != 1 ||
      !linalgOp.getMatchingIndexingMap(linalgOp.getDpsInitOperand(0)).isIdentity())
    return false;
  Block *body = linalgOp.getBlock();
  Value yielded = body->getTerminator()->getOperand(0);
  return yielded.getParentBlock() != body && same(yielded);
}
} // namespace

std::optional<Padding> mlir::tessera::matchPadding(Operation *consumer, Value padded,
                                                   Operation *view, int64_t n,
                                                   int64_t c, float padValue) {
  Padding pad;
  if (view && !view->hasOneUse())
    return std::nullopt;
  pad.view = view;
  pad.alloc = padded.getDefiningOp<memref::AllocOp>();
  if (!pad.alloc || pad.alloc->getBlock() != consumer->getBlock())
    return std::nullopt;
  pad.fill = pad.subview = pad.copy = nullptr;
  Operation *reader = view ? view : consumer;
  for (Operation *user : padded.getUsers()) {
    if (user == reader)
      continue;
    if (isa<memref::SubViewOp>(user) && !pad.subview) {
      pad.subview = user;
      continue;
    }
    if (fillsWith(user, padded, padValue) && !pad.fill) {
      pad.fill = user;
      continue;
    }
    return std::nullopt;
  }
  if (!pad.fill || !pad.subview || !pad.subview->hasOneUse())
    return std::nullopt;
  auto subview = cast<memref::SubViewOp>(pad.subview);
  auto copy = dyn_cast<memref::CopyOp>(*subview->getUsers().begin());
  if (!copy || copy.getTarget() != subview.getResult() ||
      !isContiguousF32(copy.getSource()))
    return std::nullopt;
  pad.copy = copy;
  pad.source = copy.getSource();
  ArrayRef<int64_t> offsets = subview.getStaticOffsets(),
                    sizes = subview.getStaticSizes(),
                    strides = subview.getStaticStrides();
  if (offsets.size() != 4 || offsets[0] != 0 || offsets[1] != 0 ||
      sizes[0] != n || sizes[1] != c ||
      llvm::any_of(strides, [](int64_t s) { return s != 1; }) ||
      llvm::any_of(offsets, ShapedType::isDynamic) ||
      llvm::any_of(sizes, ShapedType::isDynamic))
    return std::nullopt;
  pad.top = offsets[2];
  pad.left = offsets[3];
  pad.srcH = sizes[2];
  pad.srcW = sizes[3];
  // The fill, then the copy, then the consumer with no other write in
  // between (a fill of the consumer's own output aside): the source the
  // call reads is what was copied.
  Operation *before = memoryNeighbourPastAllocs(consumer, true);
  if (auto fill = dyn_cast_or_null<linalg::FillOp>(before))
    if (llvm::is_contained(consumer->getOperands(), fill.getOutputs()[0]))
      before = memoryNeighbourPastAllocs(before, true);
  if (before != pad.copy || !pad.fill->isBeforeInBlock(pad.copy) ||
      pad.fill->getBlock() != consumer->getBlock())
    return std::nullopt;
  return pad;
}

void mlir::tessera::erasePadding(const Padding &padding) {
  for (Operation *dead : {padding.view, padding.copy, padding.subview, padding.fill})
    if (dead)
      dead->erase();
  padding.alloc->erase();
}

Value mlir::tessera::f32Address(OpBuilder &b, Location loc, Value buffer) {
  auto meta = memref::ExtractStridedMetadataOp::create(b, loc, buffer);
  Value base = memref::ExtractAlignedPointerAsIndexOp::create(b, loc, buffer);
  Value four = arith::ConstantIndexOp::create(b, loc, sizeof(float));
  Value bytes = arith::MulIOp::create(b, loc, meta.getOffset(), four);
  return arith::AddIOp::create(b, loc, base, bytes);
}
