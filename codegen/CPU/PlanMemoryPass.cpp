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
// Lifetimes are positions in the body: from the allocation to the last op
// that uses the buffer or a view of it (through view-like ops, uses nested
// in regions counting at their top-level op; a microkernel call that takes
// its address, `memref.extract_aligned_pointer_as_index`, uses it). A
// buffer that escapes (is returned, passed to a call, stored) keeps its
// allocation.
//
//===----------------------------------------------------------------------===//

#include "codegen/CPU/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
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

/// The last top-level position at which `value` or a view of it is used;
/// nullopt if it escapes.
std::optional<unsigned>
lastUse(func::FuncOp func, Value value, Block &body,
        const llvm::DenseMap<Operation *, unsigned> &position) {
  unsigned last = 0;
  SmallVector<Value> worklist = {value};
  while (!worklist.empty()) {
    Value v = worklist.pop_back_val();
    for (OpOperand &use : v.getUses()) {
      Operation *user = use.getOwner();
      // A memref passed on escapes; an index derived from one (a
      // microkernel call's strides) is only used there.
      if (isa<func::ReturnOp, func::CallOp, memref::StoreOp>(user) &&
          isa<BaseMemRefType>(v.getType()))
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
      if (isa<memref::ExtractAlignedPointerAsIndexOp>(user)) {
        // An address handed to a microkernel: the buffer is used where
        // the address (or arithmetic on it) is.
        SmallVector<Value> addresses = {user->getResult(0)};
        while (!addresses.empty()) {
          Value a = addresses.pop_back_val();
          for (Operation *u : a.getUsers()) {
            if (Operation *top = body.findAncestorOpInBlock(*u))
              last = std::max(last, position.lookup(top));
            if (isa<arith::ArithDialect>(u->getDialect()))
              llvm::append_range(addresses, u->getResults());
          }
        }
      }
      if (auto view = dyn_cast<ViewLikeOpInterface>(user);
          view && view.getViewSource() == v)
        for (Value r : user->getResults())
          worklist.push_back(r);
      Operation *top = body.findAncestorOpInBlock(*user);
      if (!top)
        return std::nullopt;
      last = std::max(last, position.lookup(top));
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
    Block &body = func.getBody().front();
    llvm::DenseMap<Operation *, unsigned> position;
    unsigned index = 0;
    for (Operation &op : body)
      position[&op] = index++;

    // Allocations anywhere in the body (in an scf.if too); one nested in a
    // region lives from its top-level op on.
    SmallVector<memref::AllocOp> allocs;
    func.walk([&](memref::AllocOp a) { allocs.push_back(a); });
    std::vector<Buffer> buffers;
    for (memref::AllocOp alloc : allocs) {
      Operation *top = body.findAncestorOpInBlock(*alloc);
      if (!top)
        continue;
      MemRefType type = alloc.getType();
      if (!type.hasStaticShape() || !type.getLayout().isIdentity() ||
          !type.getElementType().isIntOrFloat() ||
          type.getMemorySpace())
        continue;
      std::optional<unsigned> end = lastUse(func, alloc, body, position);
      if (!end)
        continue;
      // A byte per element at least: LLVM stores an i1 in a byte.
      int64_t bytes =
          type.getNumElements() *
          ((type.getElementType().getIntOrFloatBitWidth() + 7) / 8);
      bytes = std::max<int64_t>(kAlignment,
                                (bytes + kAlignment - 1) / kAlignment * kAlignment);
      buffers.push_back({alloc, bytes, position[top], std::max(*end, position[top])});
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
    Value ws = body.getArgument(argIndex);
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
