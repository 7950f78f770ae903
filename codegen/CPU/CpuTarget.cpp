//===- CpuTarget.cpp - LLVM dialect to host shared objects ----------------===//

#include "codegen/CPU/CpuTarget.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"

#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/ADT/ScopeExit.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/Bitcode/BitcodeReader.h"
#include "llvm/IR/Constants.h"
#include "llvm/Linker/Linker.h"
#include "llvm/MC/MCSubtargetInfo.h"
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

// codegen/CPU/ukernels compiled to bitcode (UkernelBitcode.cpp, generated).
extern const unsigned char tessera_ukernel_bitcode[];
extern const unsigned long tessera_ukernel_bitcode_size;

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
  // Gathers and scatters are microcoded on AMD's AVX-512 cores (a strided
  // store loop vectorized into vscatterdps ran 10x slower than scalar
  // stores in a transpose); shuffles and scalar accesses win everywhere.
  if (triple.isX86())
    features += std::string(features.empty() ? "" : ",") +
                "+prefer-no-gather,+prefer-no-scatter";
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
/// The widest float vector the target runs well, in bits.
int vectorBits(const llvm::TargetMachine &tm) {
  const llvm::MCSubtargetInfo *sti = tm.getMCSubtargetInfo();
  if (!tm.getTargetTriple().isX86())
    return 128;
  if (sti->checkFeatures("+avx512f"))
    return 512;
  if (sti->checkFeatures("+avx2") && sti->checkFeatures("+fma"))
    return 256;
  return 128;
}

/// Links the microkernels the module calls (`tessera_uk_*`) from the
/// embedded bitcode, compiled for this target: the bitcode's own target
/// attributes are dropped so the target machine's CPU and features apply,
/// and `tessera_uk_vector_bits` is defined for the target.
LogicalResult linkUkernels(llvm::Module &module, const llvm::TargetMachine &tm,
                           std::string &error) {
  bool needed = llvm::any_of(module.functions(), [](llvm::Function &f) {
    return f.isDeclaration() && (f.getName().starts_with("tessera_uk_") ||
                                 f.getName().starts_with("tessera_rt_"));
  });
  if (!needed)
    return success();
  llvm::MemoryBufferRef buffer(
      llvm::StringRef(reinterpret_cast<const char *>(tessera_ukernel_bitcode),
                      tessera_ukernel_bitcode_size),
      "tessera-ukernels");
  llvm::Expected<std::unique_ptr<llvm::Module>> ukernels =
      llvm::parseBitcodeFile(buffer, module.getContext());
  if (!ukernels) {
    error = "cannot read the embedded microkernels: " +
            llvm::toString(ukernels.takeError());
    return failure();
  }
  (*ukernels)->setDataLayout(module.getDataLayout());
  (*ukernels)->setTargetTriple(module.getTargetTriple());
  for (llvm::Function &f : **ukernels) {
    f.removeFnAttr("target-cpu");
    f.removeFnAttr("target-features");
    f.removeFnAttr("tune-cpu");
  }
  if (llvm::Linker::linkModules(module, std::move(*ukernels),
                                llvm::Linker::Flags::LinkOnlyNeeded)) {
    error = "cannot link the microkernels into the module";
    return failure();
  }
  if (llvm::GlobalVariable *bits =
          module.getGlobalVariable("tessera_uk_vector_bits")) {
    bits->setInitializer(llvm::ConstantInt::get(bits->getValueType(),
                                                 vectorBits(tm)));
    bits->setConstant(true);
    bits->setLinkage(llvm::GlobalValue::InternalLinkage);
  }
  return success();
}
} // namespace

FailureOr<std::unique_ptr<llvm::Module>> mlir::tessera::translateToLLVMIR(
    ModuleOp module, llvm::LLVMContext &context,
    const CpuTargetOptions &options, std::string &error) {
  registerBuiltinDialectTranslation(*module.getContext());
  registerLLVMDialectTranslation(*module.getContext());
  // Tessera's own argument and result attributes (tessera.name,
  // tessera.weight, tessera.split) have served the manifest by now. LLVM's
  // translation warns about each one it does not know, and every warning
  // prints the whole function: minutes on a 48-layer model.
  module.walk([](LLVM::LLVMFuncOp f) {
    auto keep = [](DictionaryAttr attrs) {
      SmallVector<NamedAttribute> kept;
      if (attrs)
        for (NamedAttribute a : attrs)
          if (!a.getName().getValue().starts_with("tessera."))
            kept.push_back(a);
      return DictionaryAttr::get(attrs ? attrs.getContext() : nullptr, kept);
    };
    for (unsigned i = 0; i < f.getNumArguments(); ++i)
      if (DictionaryAttr d = f.getArgAttrDict(i))
        f.setArgAttrs(i, keep(d));
    for (unsigned i = 0; i < f.getNumResults(); ++i)
      if (DictionaryAttr d = f.getResultAttrDict(i))
        f.setResultAttrs(i, keep(d));
  });
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
  if (failed(linkUkernels(*llvmModule, *tm, error)))
    return failure();
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
  llvm::scope_exit cleanup([&] {
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
