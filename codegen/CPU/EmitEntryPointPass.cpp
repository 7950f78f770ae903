//===- EmitEntryPointPass.cpp - The artifact ABI entry point --------------===//

#include "codegen/CPU/Passes.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"

#define DEBUG_TYPE "tessera-cpu-emit-entry-point"

namespace mlir::tessera {
#define GEN_PASS_DEF_EMITENTRYPOINTPASS
#include "codegen/CPU/Passes.h.inc"
} // namespace mlir::tessera

using namespace mlir;
using namespace mlir::tessera;

namespace {
/// artifact::kHostAbiVersion: 2, the host code carries its manifest
/// (`tessera_manifest`, added by tessera-compile with the manifest text).
constexpr int32_t kAbiVersion = 2;

struct EmitEntryPointPass
    : mlir::tessera::impl::EmitEntryPointPassBase<EmitEntryPointPass> {
  using Base::Base;
  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    auto main = module.lookupSymbol<LLVM::LLVMFuncOp>(entryName);
    if (!main) {
      module.emitError("no llvm.func @") << entryName << " to call";
      return signalPassFailure();
    }
    auto ptr = LLVM::LLVMPointerType::get(ctx);
    LLVM::LLVMFunctionType mainType = main.getFunctionType();
    if (!isa<LLVM::LLVMVoidType>(mainType.getReturnType()) ||
        llvm::any_of(mainType.getParams(),
                     [](Type t) { return !isa<LLVM::LLVMPointerType>(t); })) {
      main.emitError("the entry ABI needs bare pointer parameters and no "
                     "results (lower with out-parameters and the bare-pointer "
                     "calling convention)");
      return signalPassFailure();
    }
    OpBuilder b = OpBuilder::atBlockEnd(module.getBody());
    Location loc = main.getLoc();
    auto entry = LLVM::LLVMFuncOp::create(
        b, loc, "tessera_entry",
        LLVM::LLVMFunctionType::get(LLVM::LLVMVoidType::get(ctx), {ptr}));
    Block *block = entry.addEntryBlock(b);
    b.setInsertionPointToStart(block);
    SmallVector<Value> args;
    for (unsigned i = 0; i < mainType.getNumParams(); ++i) {
      Value slot = LLVM::GEPOp::create(b, loc, ptr, ptr, block->getArgument(0),
                                       ArrayRef<LLVM::GEPArg>{static_cast<int32_t>(i)});
      args.push_back(LLVM::LoadOp::create(b, loc, ptr, slot));
    }
    LLVM::CallOp::create(b, loc, main, args);
    LLVM::ReturnOp::create(b, loc, ValueRange{});
    b.setInsertionPointToEnd(module.getBody());
    LLVM::GlobalOp::create(b, loc, b.getI32Type(), /*isConstant=*/true,
                           LLVM::Linkage::External, "tessera_abi_version",
                           b.getI32IntegerAttr(kAbiVersion));
    main.setLinkage(LLVM::Linkage::Internal);
    // The entry function is glue (views, calls of the loop nests' own
    // functions and of the microkernels, collectives) that grows with a
    // model's layers; LLVM's optimisations gain nothing there and took
    // minutes on a 48-layer model. Compiled without them.
    main.setOptimizeNone(true);
    main.setNoInline(true);
  }
};
} // namespace
