//===- gemm.h - The gemm hook on cuBLASLt -----------------------*- C++ -*-===//
//
// Compiled code calls `gemm` for C[b0,b1,b2][m,n] += A[..][m,k] * B[..][k,n]
// with element strides (gemm_hook.h; beta = 0 with kGemmOverwrite, cuBLASLt's
// bias epilogue with kGemmBias); each matrix is row- or column-major (one of its
// two inner strides is 1) and a batch stride may be 0 (broadcast). This
// maps the call onto cublasLtMatmul, which is column-major: C is D (when
// column-major) or D^T (when row-major: then D^T = B^T A^T), A and B become
// its operands with or without a transpose, the innermost batch dimension a
// strided batch and the outer ones a loop.
//
// f32 computes in f32 (CUBLAS_COMPUTE_32F; TF32 only when the environment
// sets TESSERA_CUDA_ALLOW_TF32=1), f16 and bf16 in f32, f64 in f64. The
// plans (descriptors, layouts, the heuristic's algorithm) are cached per
// device and shape; the workspace is 32 MiB per device.
//
//===----------------------------------------------------------------------===//
#ifndef TESSERA_RUNTIME_CUDA_GEMM_H
#define TESSERA_RUNTIME_CUDA_GEMM_H

#include "cuda/device.h"
#include "gemm_hook.h"

#include <cstdint>
#include <string>

namespace tessera::runtime::cuda {

/// The hook's arguments (gemm_hook.h).
using runtime::GemmCall;

/// A column-major matrix as cuBLASLt stores it, and whether the product
/// uses it transposed.
struct LtOperand {
  bool transpose = false;
  int64_t rows = 0, cols = 0, ld = 0;
};

/// D (M x N) += op(X) (M x K) * op(Y) (K x N), column-major. Not swapped:
/// X = A, Y = B, D = C. Swapped (C row-major): X = B^T, Y = A^T, D = C^T.
struct LtShape {
  bool swapped = false;
  int64_t M = 0, N = 0, K = 0;
  LtOperand x, y, d;
  /// The innermost batch dimension as cuBLASLt's strided batch (count 1
  /// when it is looped instead), strides in elements.
  int64_t batchCount = 1, xStride = 0, yStride = 0, dStride = 0;
  /// The loops around the matmul: b0, b1, and b2 when not a strided batch.
  int64_t loops[3] = {1, 1, 1};
  size_t elementSize = 0;
};

/// Plans `call`; false with `error` when a matrix is neither row- nor
/// column-major, or the element type is not f32, f16, bf16 or f64.
bool planGemm(const GemmCall &call, LtShape &out, std::string &error);

/// The addresses of X, Y and D at loop indices (i0, i1, i2).
void ltAddresses(const GemmCall &call, const LtShape &shape, int64_t i0,
                 int64_t i1, int64_t i2, uint64_t &x, uint64_t &y,
                 uint64_t &d);

/// Enqueues the gemm on the device's stream.
Status gemm(Device &device, const GemmCall &call);

} // namespace tessera::runtime::cuda

#endif // TESSERA_RUNTIME_CUDA_GEMM_H
