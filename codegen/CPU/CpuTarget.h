//===- CpuTarget.h - LLVM dialect to host shared objects --------*- C++ -*-===//
#ifndef TESSERA_CODEGEN_CPU_CPUTARGET_H
#define TESSERA_CODEGEN_CPU_CPUTARGET_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"

#include <memory>
#include <string>

namespace mlir::tessera {

struct CpuTargetOptions {
  /// An LLVM CPU name (`skylake-avx512`, `x86-64-v3`) or `native` for the
  /// machine the compiler runs on.
  std::string cpu = "native";
  /// LLVM optimisation level, 0 to 3.
  unsigned optLevel = 3;
};

/// Translates an LLVM-dialect module to LLVM IR, optimised for the target.
FailureOr<std::unique_ptr<llvm::Module>>
translateToLLVMIR(ModuleOp module, llvm::LLVMContext &context,
                  const CpuTargetOptions &options, std::string &error);

/// Compiles LLVM IR to an object and links it (ld.lld -shared) into an ELF
/// shared object, returned as bytes.
FailureOr<std::string> buildSharedObject(llvm::Module &module,
                                         const CpuTargetOptions &options,
                                         std::string &error);

} // namespace mlir::tessera

#endif // TESSERA_CODEGEN_CPU_CPUTARGET_H
