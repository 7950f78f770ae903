//===- PlanMemoryPass.cpp - Intermediate buffers in one workspace ---------===//
//
// After bufferization, every intermediate tensor of `@main` is a
// `memref.alloc` in the function's body. This pass gives each statically
// shaped one an offset in a single workspace buffer, sharing bytes between
// buffers whose lifetimes do not overlap, and replaces the allocations by
// `memref.view`s of a new trailing function argument (the workspace, which
// the runtime provides and reuses across runs). The workspace size is
// recorded on the module as `tessera.workspace_bytes`.
//
// Lifetimes are positions in the body, every op numbered in program order
// (nested ones too): from the allocation to the last op that uses the
// buffer or a view of it in the allocation's block (through view-like ops,
// an op with regions counting to the last op nested in it; a microkernel
// call that takes its address, `memref.extract_aligned_pointer_as_index`,
// uses it; a buffer a loop carries lives through the loop and where its
// result is used). A buffer allocated in a loop's body (the batch loop of
// tessera-cpu-serialize-batch) lives in one iteration, so it shares bytes
// with the body's other buffers; one allocated outside and used inside
// lives through the whole loop. A buffer that escapes (is returned, passed
// to a call, yielded out of the loop body it was allocated in) keeps its
// allocation; one yielded out of an scf.if lives from the scf.if on.
//
//===----------------------------------------------------------------------===//

#include "codegen/CPU/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Interfaces/ViewLikeInterface.h"

#define DEBUG_TYPE "tessera-cpu-plan-memory"

namespace mlir::tessera {
#define GEN_PASS_DEF_PLANMEMORYPASS
#include "codegen/CPU/Passes.h.inc"
} // namespace mlir::tessera

using namespace mlir;

namespace {
constexpr int64_t kAlignment = 64;

struct Buffer {
  memref::AllocOp alloc;
  int64_t bytes;
  unsigned start, end;
  int64_t offset = -1;
};

/// Program-order positions: each op's own, and the last of the ops nested
/// in it.
struct Positions {
  llvm::DenseMap<Operation *, std::pair<unsigned, unsigned>> span;
  unsigned count = 0;
  void number(Region &region) {
    for (Block &block : region)
      for (Operation &op : block) {
        unsigned begin = count++;
        for (Region &r : op.getRegions())
          number(r);
        span[&op] = {begin, count - 1};
      }
  }
};

/// The last position at which `value` (allocated in `home`) or a view of
/// it is used; nullopt if it escapes.
std::optional<unsigned> lastUse(func::FuncOp func, Value value, Block &home,
                                const Positions &positions) {
  unsigned last = 0;
  auto useAt = [&](Operation *user) {
    Operation *top = home.findAncestorOpInBlock(*user);
    if (!top)
      return false;
    last = std::max(last, positions.span.lookup(top).second);
    return true;
  };
  SmallVector<Value> worklist = {value};
  while (!worklist.empty()) {
    Value v = worklist.pop_back_val();
    for (OpOperand &use : v.getUses()) {
      Operation *user = use.getOwner();
      // A memref passed on escapes; an index derived from one (a
      // microkernel call's strides) is only used there. A store into the
      // buffer is a use.
      if (isa<func::ReturnOp, func::CallOp>(user) && isa<BaseMemRefType>(v.getType()))
        return std::nullopt;
      if (user->hasTrait<OpTrait::IsTerminator>()) {
        // Yielded out of a region (scf.if, scf.for): the parent's result
        // in that position aliases the buffer.
        Operation *parent = user->getParentOp();
        if (!parent || parent == func.getOperation() ||
            parent->getNumResults() != user->getNumOperands())
          return std::nullopt;
        worklist.push_back(parent->getResult(use.getOperandNumber()));
      }
      if (auto loop = dyn_cast<scf::ForOp>(user);
          loop && use.getOperandNumber() >= loop.getNumControlOperands()) {
        // Carried by a loop: its iteration argument and its result alias
        // the buffer.
        worklist.push_back(loop.getTiedLoopRegionIterArg(&use));
        worklist.push_back(loop.getTiedLoopResult(&use));
      }
      if (isa<memref::ExtractAlignedPointerAsIndexOp>(user)) {
        // An address handed to a microkernel: the buffer is used where
        // the address (or arithmetic on it) is.
        SmallVector<Value> addresses = {user->getResult(0)};
        while (!addresses.empty()) {
          Value a = addresses.pop_back_val();
          for (Operation *u : a.getUsers()) {
            if (!useAt(u))
              return std::nullopt;
            if (isa<arith::ArithDialect>(u->getDialect()))
              llvm::append_range(addresses, u->getResults());
          }
        }
      }
      if (auto view = dyn_cast<ViewLikeOpInterface>(user);
          view && view.getViewSource() == v)
        for (Value r : user->getResults())
          worklist.push_back(r);
      if (!useAt(user))
        return std::nullopt;
    }
  }
  return last;
}

struct PlanMemoryPass
    : mlir::tessera::impl::PlanMemoryPassBase<PlanMemoryPass> {
  using Base::Base;
  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto func = module.lookupSymbol<func::FuncOp>(entryName);
    if (!func || func.isExternal())
      return;
    Positions positions;
    positions.number(func.getBody());
    unsigned index = positions.count;

    // Allocations anywhere in the body (in an scf.if or scf.for too).
    SmallVector<memref::AllocOp> allocs;
    func.walk([&](memref::AllocOp a) { allocs.push_back(a); });
    std::vector<Buffer> buffers;
    for (memref::AllocOp alloc : allocs) {
      MemRefType type = alloc.getType();
      if (!type.hasStaticShape() || !type.getLayout().isIdentity() ||
          !type.getElementType().isIntOrFloat() ||
          type.getMemorySpace())
        continue;
      // In the allocation's block, or, yielded out of an scf.if (whose
      // regions run once, unlike a loop's), from the scf.if on.
      Operation *at = alloc;
      std::optional<unsigned> end;
      while (!(end = lastUse(func, alloc, *at->getBlock(), positions)) &&
             isa<scf::IfOp>(at->getParentOp()))
        at = at->getParentOp();
      if (!end)
        continue;
      unsigned start = positions.span.lookup(at).first;
      // A byte per element at least: LLVM stores an i1 in a byte.
      int64_t bytes =
          type.getNumElements() *
          ((type.getElementType().getIntOrFloatBitWidth() + 7) / 8);
      bytes = std::max<int64_t>(kAlignment,
                                (bytes + kAlignment - 1) / kAlignment * kAlignment);
      buffers.push_back({alloc, bytes, start, std::max(*end, start)});
    }
    if (buffers.empty())
      return;

    // Greedy by size: each buffer at the lowest offset that no buffer
    // already placed and alive at the same time occupies.
    std::vector<Buffer *> order;
    for (Buffer &b : buffers)
      order.push_back(&b);
    llvm::stable_sort(order, [](Buffer *a, Buffer *b) { return a->bytes > b->bytes; });
    int64_t workspace = 0;
    std::vector<Buffer *> placed;
    for (Buffer *b : order) {
      std::vector<std::pair<int64_t, int64_t>> taken;
      for (Buffer *p : placed)
        if (p->start <= b->end && b->start <= p->end)
          taken.emplace_back(p->offset, p->offset + p->bytes);
      llvm::sort(taken);
      int64_t offset = 0;
      for (auto [lo, hi] : taken) {
        if (offset + b->bytes <= lo)
          break;
        offset = std::max(offset, hi);
      }
      b->offset = offset;
      workspace = std::max(workspace, offset + b->bytes);
      placed.push_back(b);
    }

    // The lower bound: the most bytes alive at any one position.
    int64_t liveMax = 0;
    for (unsigned p = 0; p < index; ++p) {
      int64_t live = 0;
      for (Buffer &b : buffers)
        if (b.start <= p && p <= b.end)
          live += b.bytes;
      liveMax = std::max(liveMax, live);
    }
    int64_t total = 0;
    for (Buffer &b : buffers)
      total += b.bytes;

    MLIRContext *ctx = &getContext();
    auto wsType = MemRefType::get({workspace}, IntegerType::get(ctx, 8));
    unsigned argIndex = func.getNumArguments();
    if (failed(func.insertArgument(
            argIndex, wsType,
            DictionaryAttr::get(ctx, {NamedAttribute(StringAttr::get(ctx, "tessera.workspace"),
                                                     UnitAttr::get(ctx))}),
            func.getLoc())))
      return signalPassFailure();
    Value ws = func.getArgument(argIndex);
    for (Buffer &b : buffers) {
      OpBuilder builder(b.alloc);
      Location loc = b.alloc.getLoc();
      Value offset = arith::ConstantIndexOp::create(builder, loc, b.offset);
      auto view = memref::ViewOp::create(builder, loc, b.alloc.getType(), ws,
                                         offset, ValueRange{});
      b.alloc.replaceAllUsesWith(view.getResult());
      b.alloc.erase();
    }
    auto i64 = IntegerType::get(ctx, 64);
    module->setAttr("tessera.workspace_bytes", IntegerAttr::get(i64, workspace));
    module->setAttr("tessera.buffer_bytes", IntegerAttr::get(i64, total));
    module->setAttr("tessera.live_max_bytes", IntegerAttr::get(i64, liveMax));
    numBuffers += buffers.size();
  }
};
} // namespace
