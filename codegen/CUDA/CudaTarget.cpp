//===- CudaTarget.cpp - PTX to cubin with the CUDA toolkit's ptxas --------===//

#include "codegen/CUDA/CudaTarget.h"

#include "llvm/ADT/ScopeExit.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdlib>

using namespace mlir;

std::string mlir::tessera::findPtxas() {
  if (const char *env = std::getenv("TESSERA_PTXAS")) {
    if (llvm::StringRef(env).contains('/'))
      return env;
    llvm::ErrorOr<std::string> p = llvm::sys::findProgramByName(env);
    return p ? *p : env;
  }
  std::string built = TESSERA_PTXAS_PATH;
  if (!built.empty() && llvm::sys::fs::can_execute(built))
    return built;
  if (llvm::ErrorOr<std::string> p = llvm::sys::findProgramByName("ptxas"))
    return *p;
  return "";
}

FailureOr<std::string> mlir::tessera::assembleCubin(const std::string &ptxas,
                                                    StringRef ptx,
                                                    StringRef gpuArch,
                                                    std::string &error) {
  llvm::SmallString<128> in, out, log;
  if (llvm::sys::fs::createTemporaryFile("tessera", "ptx", in) ||
      llvm::sys::fs::createTemporaryFile("tessera", "cubin", out) ||
      llvm::sys::fs::createTemporaryFile("tessera-ptxas", "log", log)) {
    error = "cannot create a temporary file for ptxas";
    return failure();
  }
  llvm::scope_exit cleanup([&] {
    llvm::sys::fs::remove(in);
    llvm::sys::fs::remove(out);
    llvm::sys::fs::remove(log);
  });
  {
    std::error_code ec;
    llvm::raw_fd_ostream os(in, ec);
    if (ec) {
      error = "cannot write '" + in.str().str() + "': " + ec.message();
      return failure();
    }
    os << ptx;
  }
  std::string arch = ("-arch=" + gpuArch).str();
  std::string inPath = in.str().str(), outPath = out.str().str();
  llvm::SmallVector<llvm::StringRef> args = {ptxas, arch, "-O3", inPath, "-o",
                                             outPath};
  std::optional<llvm::StringRef> redirects[] = {std::nullopt, log.str(), log.str()};
  std::string message;
  int rc = llvm::sys::ExecuteAndWait(ptxas, args, std::nullopt, redirects,
                                     /*SecondsToWait=*/300, 0, &message);
  if (rc != 0) {
    std::string first;
    if (auto text = llvm::MemoryBuffer::getFile(log))
      first = (*text)->getBuffer().split('\n').first.trim().str();
    error = "ptxas " + arch + " failed: " +
            (!first.empty() ? first : message.empty() ? "exit " + std::to_string(rc)
                                                      : message);
    return failure();
  }
  auto cubin = llvm::MemoryBuffer::getFile(out, /*IsText=*/false);
  if (!cubin) {
    error = "ptxas wrote no cubin";
    return failure();
  }
  return (*cubin)->getBuffer().str();
}
