//===- ParallelCallsPass.cpp - Parallel loop nests on the thread pool -----===//
//
// tessera-cpu-parallel-calls: see Passes.td.
//
//===----------------------------------------------------------------------===//

#include "codegen/CPU/Passes.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/SymbolTable.h"

#define DEBUG_TYPE "tessera-cpu-parallel-calls"

namespace mlir::tessera {
#define GEN_PASS_DEF_PARALLELCALLSPASS
#include "codegen/CPU/Passes.h.inc"
} // namespace mlir::tessera

using namespace mlir;

namespace {
constexpr StringLiteral kRangeHelper = "tessera_uk_parallel_range";

/// Whether a value of type `t` fits an 8-byte argument slot.
bool fitsSlot(Type t) {
  if (isa<LLVM::LLVMPointerType>(t))
    return true;
  if (t.isIntOrFloat())
    return t.getIntOrFloatBitWidth() <= 64;
  return false;
}

struct ParallelCallsPass
    : mlir::tessera::impl::ParallelCallsPassBase<ParallelCallsPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SymbolTable symbols(module);
    SmallVector<std::pair<LLVM::CallOp, LLVM::LLVMFuncOp>> calls;
    module.walk([&](LLVM::CallOp call) {
      std::optional<StringRef> name = call.getCallee();
      if (!name)
        return;
      auto kernel = symbols.lookup<LLVM::LLVMFuncOp>(*name);
      if (!kernel || !kernel->hasAttr("tessera.parallel"))
        return;
      LLVM::LLVMFunctionType type = kernel.getFunctionType();
      if (type.getNumParams() < 2 || type.isVarArg() ||
          !llvm::all_of(type.getParams(), fitsSlot))
        return;
      calls.emplace_back(call, kernel);
    });
    if (calls.empty())
      return;

    MLIRContext *ctx = &getContext();
    auto ptr = LLVM::LLVMPointerType::get(ctx);
    auto i64 = IntegerType::get(ctx, 64);
    auto voidType = LLVM::LLVMVoidType::get(ctx);
    OpBuilder top = OpBuilder::atBlockEnd(module.getBody());
    auto helper = symbols.lookup<LLVM::LLVMFuncOp>(kRangeHelper);
    if (!helper) {
      helper = LLVM::LLVMFuncOp::create(
          top, module.getLoc(), kRangeHelper,
          LLVM::LLVMFunctionType::get(voidType, {i64, i64, ptr, ptr}));
      symbols.insert(helper);
    }

    // One frame of argument slots per caller, in its entry block (so a
    // call inside a loop reuses it), as large as its widest call needs.
    llvm::DenseMap<Operation *, unsigned> frameSlots;
    for (auto [call, kernel] : calls) {
      unsigned &n = frameSlots[call->getParentOfType<LLVM::LLVMFuncOp>()];
      n = std::max(n, std::max(1u, call.getNumOperands() - 2));
    }
    llvm::DenseMap<Operation *, Value> frames;
    for (auto [caller, n] : frameSlots) {
      auto func = cast<LLVM::LLVMFuncOp>(caller);
      OpBuilder entry = OpBuilder::atBlockBegin(&func.getBody().front());
      Value count = LLVM::ConstantOp::create(entry, func.getLoc(), i64,
                                             entry.getI64IntegerAttr(n));
      frames[caller] = LLVM::AllocaOp::create(entry, func.getLoc(), ptr, i64,
                                              count, /*alignment=*/8);
    }

    llvm::DenseMap<Operation *, LLVM::LLVMFuncOp> tasks;
    for (auto [call, kernel] : calls) {
      LLVM::LLVMFuncOp &task = tasks[kernel];
      if (!task)
        task = buildTask(top, symbols, kernel);
      Value frame = frames[call->getParentOfType<LLVM::LLVMFuncOp>()];
      Location loc = call.getLoc();
      unsigned slots = call.getNumOperands() - 2;
      OpBuilder b(call);
      for (unsigned i = 0; i < slots; ++i) {
        Value slot = LLVM::GEPOp::create(b, loc, ptr, i64, frame,
                                         ArrayRef<LLVM::GEPArg>{int32_t(i)});
        LLVM::StoreOp::create(b, loc, call.getOperand(2 + i), slot);
      }
      Value fn = LLVM::AddressOfOp::create(b, loc, task);
      Value begin = call.getOperand(0), end = call.getOperand(1);
      LLVM::CallOp::create(b, loc, helper, ValueRange{begin, end, fn, frame});
      call.erase();
      ++numCalls;
    }
  }

  /// `<kernel>_task(args, begin, end)`: loads the slots and calls the
  /// kernel on [begin, end).
  LLVM::LLVMFuncOp buildTask(OpBuilder &top, SymbolTable &symbols,
                             LLVM::LLVMFuncOp kernel) {
    MLIRContext *ctx = &getContext();
    auto ptr = LLVM::LLVMPointerType::get(ctx);
    auto i64 = IntegerType::get(ctx, 64);
    Location loc = kernel.getLoc();
    auto task = LLVM::LLVMFuncOp::create(
        top, loc, (kernel.getSymName() + "_task").str(),
        LLVM::LLVMFunctionType::get(LLVM::LLVMVoidType::get(ctx),
                                    {ptr, i64, i64}),
        LLVM::Linkage::Internal);
    symbols.insert(task);
    Block *block = task.addEntryBlock(top);
    OpBuilder b = OpBuilder::atBlockBegin(block);
    ArrayRef<Type> params = kernel.getFunctionType().getParams();
    SmallVector<Value> args;
    for (unsigned i = 0; i < 2; ++i) {
      Value bound = block->getArgument(1 + i);
      if (params[i] != i64)
        bound = LLVM::TruncOp::create(b, loc, params[i], bound);
      args.push_back(bound);
    }
    for (unsigned i = 2; i < params.size(); ++i) {
      Value slot = LLVM::GEPOp::create(b, loc, ptr, i64, block->getArgument(0),
                                       ArrayRef<LLVM::GEPArg>{int32_t(i - 2)});
      args.push_back(LLVM::LoadOp::create(b, loc, params[i], slot));
    }
    LLVM::CallOp::create(b, loc, kernel, args);
    LLVM::ReturnOp::create(b, loc, ValueRange{});
    return task;
  }
};
} // namespace
