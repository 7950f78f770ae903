//===- FormKernelsPass.cpp - linalg ops on buffers to gpu.launch ----------===//
//
// tessera-cuda-form-kernels wraps each linalg op in a launch shaped by its
// KernelPlan (a thread per parallel point or per few points, or a block per
// point of a reduction); tessera-cuda-distribute-loops writes the threads'
// code.
//
//===----------------------------------------------------------------------===//

#include "codegen/Common/BufferBytes.h"
#include "codegen/CUDA/KernelPlan.h"
#include "codegen/CUDA/Passes.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/PatternMatch.h"

namespace mlir::tessera {
#define GEN_PASS_DEF_FORMKERNELSPASS
#include "codegen/CUDA/Passes.h.inc"
} // namespace mlir::tessera

using namespace mlir;

namespace {
/// The op as a linalg.generic whose parallel loops come first.
FailureOr<linalg::GenericOp> parallelFirst(RewriterBase &rewriter,
                                           linalg::LinalgOp op) {
  linalg::GenericOp generic = dyn_cast<linalg::GenericOp>(op.getOperation());
  if (!generic) {
    rewriter.setInsertionPoint(op);
    FailureOr<linalg::GenericOp> g = linalg::generalizeNamedOp(rewriter, op);
    if (failed(g))
      return failure();
    generic = *g;
  }
  SmallVector<unsigned> order;
  auto iterators = generic.getIteratorTypesArray();
  for (auto [d, kind] : llvm::enumerate(iterators))
    if (kind == utils::IteratorType::parallel)
      order.push_back(d);
  for (auto [d, kind] : llvm::enumerate(iterators))
    if (kind != utils::IteratorType::parallel)
      order.push_back(d);
  if (llvm::equal(order, llvm::seq<unsigned>(0, order.size())))
    return generic;
  return linalg::interchangeGenericOp(rewriter, generic, order);
}

/// Whether `v` is `target` itself, or the result of scf.for / scf.if ops
/// that only pass `target` on (a buffer updated in place).
bool forwards(Value v, Value target) {
  if (v == target)
    return true;
  auto result = dyn_cast<OpResult>(v);
  if (!result)
    return false;
  unsigned i = result.getResultNumber();
  if (auto loop = dyn_cast<scf::ForOp>(result.getOwner())) {
    auto yield = cast<scf::YieldOp>(loop.getBody()->getTerminator());
    return forwards(loop.getInitArgs()[i], target) &&
           forwards(yield.getOperand(i), loop.getRegionIterArgs()[i]);
  }
  if (auto branch = dyn_cast<scf::IfOp>(result.getOwner())) {
    if (!branch.elseBlock())
      return false;
    return forwards(branch.thenYield().getOperand(i), target) &&
           forwards(branch.elseYield().getOperand(i), target);
  }
  return false;
}

/// Moves a top-level scf.for / scf.if that works on buffers (a scatter's
/// sequential loop) into a launch of one thread. Its buffer results must
/// be its operands updated in place; their users then read the operands.
LogicalResult formSequentialKernel(RewriterBase &rewriter, Operation *op) {
  for (OpResult r : op->getResults()) {
    Value init;
    if (auto loop = dyn_cast<scf::ForOp>(op))
      init = loop.getInitArgs()[r.getResultNumber()];
    if (auto branch = dyn_cast<scf::IfOp>(op)) {
      // Both branches yield the same outside value.
      Value v = branch.thenYield().getOperand(r.getResultNumber());
      if (!v.getParentRegion()->isProperAncestor(&branch.getThenRegion()))
        init = v;
    }
    if (!isa<MemRefType>(r.getType()) || !init || !forwards(r, init))
      return op->emitError("a sequential loop whose results are not its "
                           "buffers updated in place");
    rewriter.replaceAllUsesWith(r, init);
  }
  Location loc = op->getLoc();
  rewriter.setInsertionPoint(op);
  Value one = arith::ConstantIndexOp::create(rewriter, loc, 1);
  auto launch = gpu::LaunchOp::create(rewriter, loc, one, one, one, one, one, one);
  rewriter.setInsertionPointToStart(&launch.getBody().front());
  gpu::TerminatorOp::create(rewriter, loc);
  op->moveBefore(launch.getBody().front().getTerminator());
  return success();
}

/// The fills of a reduction's outputs just before it, when each writes a
/// constant to a whole output that the reduction writes every element of
/// and reads only as its accumulator: the kernel starts from the constant
/// instead (tessera.init_values; UnitAttr for an output it loads), and the
/// fills (in `fills`) can go.
ArrayAttr initFills(linalg::LinalgOp op, SmallVectorImpl<Operation *> &fills) {
  if (op.getNumReductionLoops() == 0)
    return {};
  SmallVector<Attribute> values(op.getNumDpsInits(), UnitAttr::get(op.getContext()));
  for (Operation *prev = op->getPrevNode(); prev; prev = prev->getPrevNode()) {
    if (isMemoryEffectFree(prev))
      continue;
    auto fill = dyn_cast<linalg::FillOp>(prev);
    if (!fill)
      break;
    Value buffer = fill.getOutputs()[0];
    Attribute value;
    OpOperand *init = nullptr;
    for (OpOperand &o : op.getDpsInitsMutable())
      if (o.get() == buffer)
        init = &o;
    if (!init || !matchPattern(fill.getInputs()[0], m_Constant(&value)) ||
        llvm::is_contained(op.getDpsInputs(), buffer))
      break;
    // Every element of the output is written once: its map reads every
    // parallel loop once and the output has their shape.
    AffineMap map = op.getMatchingIndexingMap(init);
    auto type = cast<MemRefType>(buffer.getType());
    if (!map.isProjectedPermutation() ||
        map.getNumResults() != op.getNumParallelLoops() || !type.hasStaticShape())
      break;
    SmallVector<int64_t> ranges = op.getStaticLoopRanges();
    auto iterators = op.getIteratorTypesArray();
    bool whole = true;
    for (auto [r, e] : llvm::enumerate(map.getResults())) {
      unsigned d = cast<AffineDimExpr>(e).getPosition();
      whole &= iterators[d] == utils::IteratorType::parallel &&
               ranges[d] == type.getDimSize(r);
    }
    unsigned j = init->getOperandNumber() - op.getNumDpsInputs();
    if (!whole || !isa<UnitAttr>(values[j]))
      break;
    values[j] = value;
    fills.push_back(fill);
  }
  if (fills.empty())
    return {};
  return ArrayAttr::get(op.getContext(), values);
}

/// `v` without the reshapes (expand/collapse_shape) applied to it.
Value withoutReshapes(Value v) {
  while (Operation *def = v.getDefiningOp()) {
    if (auto e = dyn_cast<memref::ExpandShapeOp>(def))
      v = e.getSrc();
    else if (auto c = dyn_cast<memref::CollapseShapeOp>(def))
      v = c.getSrc();
    else
      break;
  }
  return v;
}

/// The elementwise op right after reduction `op` that reads only `op`'s
/// output (through reshapes; scalars besides) at the point it writes, into
/// another buffer: it can run where the reduction stores each output value
/// (LayerNorm's mean = sum / n). Its output must share no bytes with what
/// the reduction reads, as it is now written while other points still read.
linalg::GenericOp reductionEpilogue(linalg::LinalgOp op) {
  if (op.getNumReductionLoops() == 0 || op.getNumDpsInits() != 1)
    return {};
  Value out = op.getDpsInits()[0];
  auto next = dyn_cast_or_null<linalg::GenericOp>(
      mlir::tessera::memoryNeighbour(op, /*before=*/false));
  if (!next || !next.hasPureBufferSemantics() || next.getNumReductionLoops() ||
      next.getNumDpsInits() != 1)
    return {};
  OpOperand *in = nullptr;
  for (OpOperand *input : next.getDpsInputOperands()) {
    if (!isa<MemRefType>(input->get().getType()))
      continue;
    if (in)
      return {};
    in = input;
  }
  OpOperand *result = next.getDpsInitOperand(0);
  Value dest = result->get();
  auto outType = cast<MemRefType>(out.getType());
  auto destType = cast<MemRefType>(dest.getType());
  if (!in || withoutReshapes(in->get()) != out || !outType.hasStaticShape() ||
      !destType.hasStaticShape() ||
      destType.getNumElements() != outType.getNumElements() ||
      !next.getMatchingIndexingMap(in).isIdentity() ||
      !next.getMatchingIndexingMap(result).isIdentity() ||
      !next.getMatchingBlockArgument(result).use_empty() ||
      mlir::tessera::mayShareBytes(dest, out) ||
      !llvm::all_of(next->getOperands(), [&](Value v) {
        return mlir::tessera::availableAt(v, op);
      }))
    return {};
  for (Value input : op.getDpsInputs())
    if (isa<MemRefType>(input.getType()) &&
        mlir::tessera::mayShareBytes(dest, input))
      return {};
  return next;
}

struct FormKernelsPass
    : mlir::tessera::impl::FormKernelsPassBase<FormKernelsPass> {
  using FormKernelsPassBase::FormKernelsPassBase;

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    SmallVector<linalg::LinalgOp> ops;
    func.walk([&](linalg::LinalgOp op) {
      if (!op->getParentOfType<gpu::LaunchOp>())
        ops.push_back(op);
    });
    // Fills of reductions' outputs become the kernels' initial values.
    DenseMap<Operation *, ArrayAttr> initValues;
    DenseSet<Operation *> folded;
    for (linalg::LinalgOp op : ops) {
      SmallVector<Operation *> fills;
      if (op.hasPureBufferSemantics())
        if (ArrayAttr values = initFills(op, fills)) {
          initValues[op] = values;
          folded.insert(fills.begin(), fills.end());
        }
    }
    SmallVector<linalg::LinalgOp> kept;
    for (linalg::LinalgOp op : ops) {
      if (folded.contains(op))
        op->erase();
      else
        kept.push_back(op);
    }
    ops = std::move(kept);
    // Elementwise ops of a reduction's output alone run in its kernel.
    DenseMap<Operation *, linalg::GenericOp> epilogues;
    DenseSet<Operation *> fused;
    for (linalg::LinalgOp op : ops)
      if (op.hasPureBufferSemantics() && !fused.contains(op))
        if (linalg::GenericOp next = reductionEpilogue(op)) {
          epilogues[op] = next;
          fused.insert(next);
        }
    llvm::erase_if(ops, [&](linalg::LinalgOp op) { return fused.contains(op); });
    IRRewriter rewriter(&getContext());
    for (linalg::LinalgOp named : ops) {
      ArrayAttr init = initValues.lookup(named);
      linalg::GenericOp epilogue = epilogues.lookup(named);
      if (!named.hasPureBufferSemantics()) {
        named.emitError("a linalg op on tensors is left after bufferization");
        return signalPassFailure();
      }
      FailureOr<linalg::GenericOp> generic = parallelFirst(rewriter, named);
      if (failed(generic)) {
        named.emitError("cannot form a kernel of this op");
        return signalPassFailure();
      }
      linalg::GenericOp op = *generic;
      for (int64_t range : op.getStaticLoopRanges())
        if (ShapedType::isDynamic(range)) {
          op.emitError("a kernel over a dynamic shape (give the model's "
                       "input shapes with --input-shape)");
          return signalPassFailure();
        }
      tessera::cuda::KernelPlanOptions options;
      options.vectorWidth = vectorWidth;
      options.cooperativeReductions = cooperativeReductions;
      tessera::cuda::KernelPlan plan = tessera::cuda::planKernel(op, options);
      if (plan.points == 0) {
        rewriter.eraseOp(op);
        continue;
      }
      Location loc = op.getLoc();
      rewriter.setInsertionPoint(op);
      auto index = [&](int64_t v) -> Value {
        return arith::ConstantIndexOp::create(rewriter, loc, v);
      };
      Value one = index(1);
      auto launch = gpu::LaunchOp::create(rewriter, loc, index(plan.gridSize),
                                          one, one, index(plan.blockSize), one,
                                          one);
      if (plan.kind == tessera::cuda::KernelPlan::Kind::Cooperative)
        launch->setAttr(tessera::cuda::kCooperativeAttr, rewriter.getUnitAttr());
      if (plan.vectorWidth > 1)
        launch->setAttr(tessera::cuda::kVectorWidthAttr,
                        rewriter.getI64IntegerAttr(plan.vectorWidth));
      if (init)
        launch->setAttr(tessera::cuda::kInitValuesAttr, init);
      rewriter.setInsertionPointToStart(&launch.getBody().front());
      gpu::TerminatorOp::create(rewriter, loc);
      op->moveBefore(launch.getBody().front().getTerminator());
      if (epilogue) {
        // What the epilogue reads (a reshape of the output, the view of its
        // destination) may come after the reduction.
        for (Value v : epilogue->getOperands())
          mlir::tessera::makeAvailableAt(v, launch);
        epilogue->moveBefore(launch.getBody().front().getTerminator());
        launch->setAttr(tessera::cuda::kEpilogueAttr, rewriter.getUnitAttr());
      }
    }
    // What still reads or writes buffers on the host is sequential code
    // (a scatter's loop): one thread runs it.
    for (Block &block : func.getBody())
      for (Operation &op : llvm::make_early_inc_range(block)) {
        if (!isa<scf::ForOp, scf::IfOp>(op))
          continue;
        bool touchesMemory = op.walk([](Operation *inner) {
                                 if (isa<gpu::LaunchOp>(inner))
                                   return WalkResult::skip();
                                 return isa<memref::LoadOp, memref::StoreOp>(inner)
                                            ? WalkResult::interrupt()
                                            : WalkResult::advance();
                               }).wasInterrupted();
        if (touchesMemory && failed(formSequentialKernel(rewriter, &op)))
          return signalPassFailure();
      }
  }
};

} // namespace
