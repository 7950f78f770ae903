//===- EmulateLaunchesPass.cpp - gpu.launch as loops on the host ----------===//
//
// Runs the kernels tessera-cuda-distribute-loops writes on the CPU, for
// testing the kernel-forming passes where there is no GPU: each launch
// becomes loops over its blocks and threads, and a block's gpu.all_reduce
// folds the value of every thread of the block, recomputing each thread's
// value (the code the value depends on reads memory only).
//
//===----------------------------------------------------------------------===//

#include "codegen/CUDA/Passes.h"

#include "mlir/Analysis/SliceAnalysis.h"
#include "mlir/Analysis/TopologicalSortUtils.h"
#include "mlir/Dialect/GPU/Utils/GPUUtils.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

namespace mlir::tessera {
#define GEN_PASS_DEF_EMULATELAUNCHESPASS
#include "codegen/CUDA/Passes.h.inc"
} // namespace mlir::tessera

using namespace mlir;

namespace {

/// Replaces `reduce` by a loop over the block's threads (x) that
/// recomputes the reduced value for each.
LogicalResult emulateAllReduce(gpu::LaunchOp launch, gpu::AllReduceOp reduce) {
  if (!reduce.getOp())
    return reduce.emitError("cannot emulate an all-reduce with a region");
  Value thread = launch.getThreadIds().x;
  BackwardSliceOptions options;
  options.omitBlockArguments = true;
  options.omitUsesFromAbove = false;
  options.filter = [&](Operation *op) { return launch->isProperAncestor(op); };
  SetVector<Operation *> slice;
  // Without block arguments to follow, the slice always exists.
  LogicalResult sliced = getBackwardSlice(reduce.getValue(), &slice, options);
  assert(succeeded(sliced) && "a backward slice without block arguments");
  (void)sliced;
  // The slice of a value leaves out the op defining it.
  if (Operation *def = reduce.getValue().getDefiningOp();
      def && launch->isProperAncestor(def))
    slice.insert(def);
  for (Operation *op : slice) {
    bool writes = op->walk([](Operation *inner) {
                      return hasEffect<MemoryEffects::Write>(inner) ||
                                     (!isa<MemoryEffectOpInterface>(inner) &&
                                      !inner->hasTrait<OpTrait::HasRecursiveMemoryEffects>())
                                 ? WalkResult::interrupt()
                                 : WalkResult::advance();
                    }).wasInterrupted();
    if (writes)
      return reduce.emitError("cannot emulate an all-reduce of a value "
                              "computed with side effects");
  }
  slice = topologicalSort(slice);
  OpBuilder b(reduce);
  Location loc = reduce.getLoc();
  // The value of thread `t`, the slice cloned with `t` as the thread.
  auto valueOf = [&](OpBuilder &nb, Value t) {
    IRMapping map;
    map.map(thread, t);
    for (Operation *op : slice)
      nb.clone(*op, map);
    return map.lookupOrDefault(reduce.getValue());
  };
  gpu::AllReduceOperation kind = *reduce.getOp();
  Value first = valueOf(b, arith::ConstantIndexOp::create(b, loc, 0));
  auto loop = scf::ForOp::create(
      b, loc, arith::ConstantIndexOp::create(b, loc, 1), launch.getBlockSize().x,
      arith::ConstantIndexOp::create(b, loc, 1), ValueRange{first},
      [&](OpBuilder &lb, Location, Value t, ValueRange acc) {
        scf::YieldOp::create(
            lb, loc,
            vector::makeArithReduction(lb, loc, gpu::convertReductionKind(kind),
                                       acc[0], valueOf(lb, t)));
      });
  reduce.replaceAllUsesWith(loop.getResult(0));
  reduce.erase();
  return success();
}

/// The launch as loops over blocks (z, y, x) and threads (z, y, x).
void emulateLaunch(gpu::LaunchOp launch) {
  OpBuilder b(launch);
  Location loc = launch.getLoc();
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  gpu::KernelDim3 grid = launch.getGridSizeOperandValues();
  gpu::KernelDim3 block = launch.getBlockSizeOperandValues();
  Value bounds[6] = {grid.z, grid.y, grid.x, block.z, block.y, block.x};
  gpu::KernelDim3 blockIds = launch.getBlockIds(), threadIds = launch.getThreadIds();
  Value ids[6] = {blockIds.z, blockIds.y, blockIds.x,
                  threadIds.z, threadIds.y, threadIds.x};
  SmallVector<Value> ivs;
  for (Value bound : bounds) {
    auto loop = scf::ForOp::create(b, loc, zero, bound, one);
    ivs.push_back(loop.getInductionVar());
    b.setInsertionPoint(loop.getBody()->getTerminator());
  }
  Block &body = launch.getBody().front();
  for (auto [id, iv] : llvm::zip(ids, ivs))
    id.replaceAllUsesWith(iv);
  gpu::KernelDim3 gridArgs = launch.getGridSize(), blockArgs = launch.getBlockSize();
  gridArgs.x.replaceAllUsesWith(grid.x);
  gridArgs.y.replaceAllUsesWith(grid.y);
  gridArgs.z.replaceAllUsesWith(grid.z);
  blockArgs.x.replaceAllUsesWith(block.x);
  blockArgs.y.replaceAllUsesWith(block.y);
  blockArgs.z.replaceAllUsesWith(block.z);
  Operation *yield = b.getInsertionBlock()->getTerminator();
  for (Operation &op : llvm::make_early_inc_range(body.without_terminator()))
    op.moveBefore(yield);
  launch.erase();
}

struct EmulateLaunchesPass
    : mlir::tessera::impl::EmulateLaunchesPassBase<EmulateLaunchesPass> {
  void runOnOperation() override {
    SmallVector<gpu::LaunchOp> launches;
    getOperation().walk([&](gpu::LaunchOp l) { launches.push_back(l); });
    for (gpu::LaunchOp launch : launches) {
      if (launch.getAsyncToken() || launch.getDynamicSharedMemorySize() ||
          launch.hasClusterSize()) {
        launch.emitError("cannot emulate an asynchronous, clustered or "
                         "shared-memory launch");
        return signalPassFailure();
      }
      SmallVector<gpu::AllReduceOp> reduces;
      launch.getBody().walk([&](gpu::AllReduceOp r) { reduces.push_back(r); });
      for (gpu::AllReduceOp reduce : reduces)
        if (failed(emulateAllReduce(launch, reduce)))
          return signalPassFailure();
      bool unsupported = launch.getBody()
                             .walk([](Operation *op) {
                               return isa<gpu::BarrierOp, gpu::ShuffleOp,
                                          gpu::SubgroupReduceOp>(op)
                                          ? WalkResult::interrupt()
                                          : WalkResult::advance();
                             })
                             .wasInterrupted();
      if (unsupported) {
        launch.emitError("cannot emulate a launch whose threads communicate "
                         "other than by gpu.all_reduce");
        return signalPassFailure();
      }
      emulateLaunch(launch);
    }
  }
};
} // namespace
