//===- CpuTarget.cpp - LLVM dialect to host shared objects ----------------===//

#include "codegen/CPU/CpuTarget.h"

#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/ADT/ScopeExit.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/TargetParser/Host.h"

using namespace mlir;
using namespace mlir::tessera;

namespace {
std::unique_ptr<llvm::TargetMachine>
createTargetMachine(const CpuTargetOptions &options, std::string &error) {
  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();
  llvm::Triple triple(llvm::sys::getDefaultTargetTriple());
  const llvm::Target *target = llvm::TargetRegistry::lookupTarget(triple, error);
  if (!target)
    return nullptr;
  std::string cpu = options.cpu;
  std::string features;
  if (cpu == "native") {
    cpu = llvm::sys::getHostCPUName().str();
    for (const auto &f : llvm::sys::getHostCPUFeatures())
      features += (features.empty() ? "" : ",") + std::string(f.second ? "+" : "-") +
                  f.first().str();
  }
  llvm::CodeGenOptLevel level = options.optLevel >= 3   ? llvm::CodeGenOptLevel::Aggressive
                                : options.optLevel == 0 ? llvm::CodeGenOptLevel::None
                                                        : llvm::CodeGenOptLevel::Default;
  std::unique_ptr<llvm::TargetMachine> tm(target->createTargetMachine(
      triple, cpu, features, llvm::TargetOptions(), llvm::Reloc::PIC_,
      std::nullopt, level));
  if (!tm)
    error = "cannot create a target machine for " + triple.str() + " (" + cpu + ")";
  return tm;
}
} // namespace

FailureOr<std::unique_ptr<llvm::Module>> mlir::tessera::translateToLLVMIR(
    ModuleOp module, llvm::LLVMContext &context,
    const CpuTargetOptions &options, std::string &error) {
  registerBuiltinDialectTranslation(*module.getContext());
  registerLLVMDialectTranslation(*module.getContext());
  std::unique_ptr<llvm::Module> llvmModule =
      mlir::translateModuleToLLVMIR(module, context, "tessera");
  if (!llvmModule) {
    error = "translation to LLVM IR failed";
    return failure();
  }
  std::unique_ptr<llvm::TargetMachine> tm = createTargetMachine(options, error);
  if (!tm)
    return failure();
  llvmModule->setDataLayout(tm->createDataLayout());
  llvmModule->setTargetTriple(tm->getTargetTriple());
  auto optimize = makeOptimizingTransformer(options.optLevel, 0, tm.get());
  if (llvm::Error e = optimize(llvmModule.get())) {
    error = "LLVM optimisation failed: " + llvm::toString(std::move(e));
    return failure();
  }
  return llvmModule;
}

FailureOr<std::string>
mlir::tessera::buildSharedObject(llvm::Module &module,
                                 const CpuTargetOptions &options,
                                 std::string &error) {
  std::unique_ptr<llvm::TargetMachine> tm = createTargetMachine(options, error);
  if (!tm)
    return failure();
  llvm::SmallVector<char, 0> object;
  {
    llvm::raw_svector_ostream os(object);
    llvm::legacy::PassManager pm;
    if (tm->addPassesToEmitFile(pm, os, nullptr,
                                llvm::CodeGenFileType::ObjectFile)) {
      error = "the target cannot emit object files";
      return failure();
    }
    pm.run(module);
  }
  // Link with ld.lld into a shared object, through temporary files.
  llvm::SmallString<128> objPath, soPath;
  if (llvm::sys::fs::createTemporaryFile("tessera", "o", objPath) ||
      llvm::sys::fs::createTemporaryFile("tessera", "so", soPath)) {
    error = "cannot create temporary files for linking";
    return failure();
  }
  auto cleanup = llvm::make_scope_exit([&] {
    llvm::sys::fs::remove(objPath);
    llvm::sys::fs::remove(soPath);
  });
  {
    std::error_code ec;
    llvm::raw_fd_ostream out(objPath, ec, llvm::sys::fs::OF_None);
    if (ec) {
      error = "cannot write " + objPath.str().str() + ": " + ec.message();
      return failure();
    }
    out.write(object.data(), object.size());
  }
  std::string lld = TESSERA_LLD_PATH;
  llvm::SmallVector<llvm::StringRef> args = {
      lld, "-shared", "--hash-style=gnu", "-o", soPath, objPath};
  std::string linkError;
  int rc = llvm::sys::ExecuteAndWait(lld, args, std::nullopt, {}, 0, 0,
                                     &linkError);
  if (rc != 0) {
    error = "linking with " + lld + " failed" +
            (linkError.empty() ? "" : ": " + linkError);
    return failure();
  }
  auto so = llvm::MemoryBuffer::getFile(soPath, /*IsText=*/false,
                                        /*RequiresNullTerminator=*/false);
  if (!so) {
    error = "cannot read the linked shared object";
    return failure();
  }
  return (*so)->getBuffer().str();
}
