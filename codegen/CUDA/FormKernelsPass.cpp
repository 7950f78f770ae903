//===- FormKernelsPass.cpp - linalg ops on buffers to gpu.launch ----------===//
//
// tessera-cuda-form-kernels wraps each linalg op in a launch sized to its
// parallel iteration space; tessera-cuda-distribute-loops, after
// convert-linalg-to-parallel-loops, maps that space onto the threads.
//
//===----------------------------------------------------------------------===//

#include "codegen/CUDA/Passes.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/PatternMatch.h"

namespace mlir::tessera {
#define GEN_PASS_DEF_FORMKERNELSPASS
#define GEN_PASS_DEF_DISTRIBUTELOOPSPASS
#include "codegen/CUDA/Passes.h.inc"
} // namespace mlir::tessera

using namespace mlir;

namespace {
constexpr int64_t kBlockSize = 256;

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

struct FormKernelsPass
    : mlir::tessera::impl::FormKernelsPassBase<FormKernelsPass> {
  void runOnOperation() override {
    func::FuncOp func = getOperation();
    SmallVector<linalg::LinalgOp> ops;
    func.walk([&](linalg::LinalgOp op) {
      if (!op->getParentOfType<gpu::LaunchOp>())
        ops.push_back(op);
    });
    IRRewriter rewriter(&getContext());
    for (linalg::LinalgOp named : ops) {
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
      int64_t points = 1;
      for (auto [range, kind] : llvm::zip(op.getStaticLoopRanges(),
                                          op.getIteratorTypesArray())) {
        if (ShapedType::isDynamic(range)) {
          op.emitError("a kernel over a dynamic shape (give the model's "
                       "input shapes with --input-shape)");
          return signalPassFailure();
        }
        if (kind == utils::IteratorType::parallel)
          points *= range;
      }
      if (points == 0) {
        rewriter.eraseOp(op);
        continue;
      }
      Location loc = op.getLoc();
      rewriter.setInsertionPoint(op);
      auto index = [&](int64_t v) -> Value {
        return arith::ConstantIndexOp::create(rewriter, loc, v);
      };
      int64_t block = std::min(points, kBlockSize);
      Value one = index(1);
      auto launch = gpu::LaunchOp::create(rewriter, loc,
                                          index((points + block - 1) / block),
                                          one, one, index(block), one, one);
      rewriter.setInsertionPointToStart(&launch.getBody().front());
      gpu::TerminatorOp::create(rewriter, loc);
      op->moveBefore(launch.getBody().front().getTerminator());
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

struct DistributeLoopsPass
    : mlir::tessera::impl::DistributeLoopsPassBase<DistributeLoopsPass> {
  void runOnOperation() override {
    SmallVector<gpu::LaunchOp> launches;
    getOperation().walk([&](gpu::LaunchOp l) { launches.push_back(l); });
    for (gpu::LaunchOp launch : launches)
      if (failed(distribute(launch)))
        return signalPassFailure();
  }

  /// Clones the constants the launch reads from outside into it, so they
  /// are not kernel parameters.
  void sinkConstants(gpu::LaunchOp launch) {
    Block &body = launch.getBody().front();
    OpBuilder b = OpBuilder::atBlockBegin(&body);
    launch.getBody().walk([&](Operation *op) {
      for (OpOperand &use : op->getOpOperands()) {
        Operation *def = use.get().getDefiningOp();
        if (def && isa<arith::ConstantOp>(def) && !launch->isAncestor(def))
          use.set(b.clone(*def)->getResult(0));
      }
    });
  }

  /// The indices `map` gives for the loop values `ivs`.
  static SmallVector<Value> indices(OpBuilder &b, Location loc, AffineMap map,
                                    ValueRange ivs) {
    SmallVector<Value> out;
    for (unsigned r = 0; r < map.getNumResults(); ++r)
      out.push_back(affine::AffineApplyOp::create(b, loc, map.getSubMap({r}), ivs));
    return out;
  }

  /// One point of `op`'s parallel space per thread; the reduction loops
  /// sequential in the thread, the outputs' values carried in registers
  /// (loaded once, stored once).
  LogicalResult distribute(gpu::LaunchOp launch) {
    sinkConstants(launch);
    Block &body = launch.getBody().front();
    SmallVector<linalg::GenericOp> generics;
    for (Operation &op : body)
      if (auto g = dyn_cast<linalg::GenericOp>(op))
        generics.push_back(g);
    OpBuilder b(&getContext());
    Location loc = launch.getLoc();
    b.setInsertionPointToStart(&body);
    Value linear = arith::AddIOp::create(
        b, loc,
        arith::MulIOp::create(b, loc, launch.getBlockIds().x, launch.getBlockSize().x),
        launch.getThreadIds().x);
    auto index = [&](int64_t v) -> Value {
      return arith::ConstantIndexOp::create(b, loc, v);
    };
    if (generics.empty()) {
      // Sequential code (tessera-cuda-form-kernels): thread 0 runs it.
      Value first = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, linear,
                                          index(0));
      auto guard = scf::IfOp::create(b, loc, first, /*withElseRegion=*/false);
      while (guard->getNextNode() != body.getTerminator())
        guard->getNextNode()->moveBefore(guard.thenBlock()->getTerminator());
      return success();
    }
    if (generics.size() > 1)
      return launch.emitError("a kernel of more than one linalg op");
    linalg::GenericOp op = generics.front();
    SmallVector<int64_t> ranges = op.getStaticLoopRanges();
    auto iterators = op.getIteratorTypesArray();
    unsigned numParallel = 0;
    while (numParallel < iterators.size() &&
           iterators[numParallel] == utils::IteratorType::parallel)
      ++numParallel;
    int64_t total = 1;
    for (unsigned d = 0; d < numParallel; ++d)
      total *= ranges[d];
    b.setInsertionPoint(op);
    Value inRange = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, linear,
                                          index(total));
    auto guard = scf::IfOp::create(b, loc, inRange, /*withElseRegion=*/false);
    b.setInsertionPoint(guard.thenBlock()->getTerminator());
    // The thread's point, last loop fastest.
    SmallVector<Value> ivs(numParallel);
    Value rest = linear;
    for (int64_t d = static_cast<int64_t>(numParallel) - 1; d >= 0; --d) {
      ivs[d] = d == 0 ? rest : arith::RemUIOp::create(b, loc, rest, index(ranges[d]));
      if (d > 0)
        rest = arith::DivUIOp::create(b, loc, rest, index(ranges[d]));
    }
    SmallVector<AffineMap> maps = op.getIndexingMapsArray();
    unsigned numInputs = op.getNumDpsInputs();
    SmallVector<SmallVector<Value>> outIndices;
    SmallVector<Value> accs;
    for (OpOperand &init : op.getDpsInitsMutable()) {
      AffineMap map = maps[init.getOperandNumber()];
      // Output maps read only parallel loops (the thread's point).
      SmallVector<Value> padded(ivs);
      for (unsigned d = numParallel; d < iterators.size(); ++d)
        padded.push_back(index(0));
      outIndices.push_back(indices(b, loc, map, padded));
      accs.push_back(memref::LoadOp::create(b, loc, init.get(), outIndices.back()));
    }
    // The body at one full point `all`, over the carried `current` values.
    auto emitBody = [&](OpBuilder &nb, ValueRange all,
                        ValueRange current) -> SmallVector<Value> {
      IRMapping map;
      Block *block = op.getBlock();
      for (unsigned i = 0; i < numInputs; ++i) {
        Value in = op.getDpsInputOperand(i)->get();
        Value v = isa<MemRefType>(in.getType())
                      ? memref::LoadOp::create(nb, loc, in, indices(nb, loc, maps[i], all))
                            .getResult()
                      : in;
        map.map(block->getArgument(i), v);
      }
      for (auto [j, v] : llvm::enumerate(current))
        map.map(block->getArgument(numInputs + j), v);
      for (Operation &inner : block->without_terminator()) {
        if (auto idx = dyn_cast<linalg::IndexOp>(inner)) {
          map.map(idx.getResult(), all[idx.getDim()]);
          continue;
        }
        nb.clone(inner, map);
      }
      SmallVector<Value> results;
      for (Value y : block->getTerminator()->getOperands())
        results.push_back(map.lookupOrDefault(y));
      return results;
    };
    // Reduction loops, innermost last, carrying the outputs' values.
    std::function<SmallVector<Value>(OpBuilder &, unsigned, SmallVector<Value>,
                                     ValueRange)>
        loopNest = [&](OpBuilder &nb, unsigned d, SmallVector<Value> all,
                       ValueRange current) -> SmallVector<Value> {
      if (d == iterators.size())
        return emitBody(nb, all, current);
      auto loop = scf::ForOp::create(
          nb, loc, arith::ConstantIndexOp::create(nb, loc, 0),
          arith::ConstantIndexOp::create(nb, loc, ranges[d]),
          arith::ConstantIndexOp::create(nb, loc, 1), current,
          [&](OpBuilder &lb, Location, Value iv, ValueRange carried) {
            SmallVector<Value> inner(all);
            inner.push_back(iv);
            scf::YieldOp::create(lb, loc, loopNest(lb, d + 1, inner, carried));
          });
      return SmallVector<Value>(loop.getResults());
    };
    SmallVector<Value> results = loopNest(b, numParallel, ivs, accs);
    for (auto [j, init] : llvm::enumerate(op.getDpsInits()))
      memref::StoreOp::create(b, loc, results[j], init, outIndices[j]);
    op.erase();
    return success();
  }
};
} // namespace
