//===- CudaTarget.h - PTX to cubin with the CUDA toolkit's ptxas -*- C++ -*-===//
#ifndef TESSERA_CODEGEN_CUDA_CUDATARGET_H
#define TESSERA_CODEGEN_CUDA_CUDATARGET_H

#include "mlir/Support/LLVM.h"

#include <string>

namespace mlir::tessera {

/// The ptxas to assemble with: $TESSERA_PTXAS, else the one found when
/// Tessera was built, else `ptxas` on PATH; "" when there is none.
std::string findPtxas();

/// Assembles `ptx` for `gpuArch` (sm_90) with `ptxas`; returns the cubin,
/// or failure with ptxas's first error line in `error`.
FailureOr<std::string> assembleCubin(const std::string &ptxas,
                                     StringRef ptx, StringRef gpuArch,
                                     std::string &error);

} // namespace mlir::tessera

#endif // TESSERA_CODEGEN_CUDA_CUDATARGET_H
