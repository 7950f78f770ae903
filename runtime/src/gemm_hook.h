//===- gemm_hook.h - The gemm hook's call, and its CPU reference ----*- C++ -*-===//
//
// Compiled code (the CUDA target's, and tessera-compile
// --emulate-cuda-kernels) calls the runtime's `gemm` hook for
//
//   C[b0,b1,b2][m,n] = relu?((overwrite ? 0 : C) + A[..][m,k] * B[..][k,n]
//                            (+ bias[n] when given))
//
// with element strides (codegen/CPU/ukernels/Collectives.cpp). On a CUDA
// device it runs cuBLASLt (cuda/gemm.h); on a CPU device the reference
// loops here.
//
//===----------------------------------------------------------------------===//
#ifndef TESSERA_RUNTIME_GEMM_HOOK_H
#define TESSERA_RUNTIME_GEMM_HOOK_H

#include <cstdint>
#include <string>

namespace tessera::runtime {

/// `GemmCall::flags` bits.
enum GemmFlags : int64_t {
  /// C's previous values are not read (beta = 0): the first product
  /// written to each C matrix replaces it.
  kGemmOverwrite = 1,
  /// bias[n] (contiguous, of C's element type) is added once to each C
  /// matrix.
  kGemmBias = 2,
  /// max(x, 0) of each result, after the bias.
  kGemmRelu = 4,
};

/// The hook's arguments.
struct GemmCall {
  int64_t dtype = 0; // tsr_dtype_t
  int64_t batch[3] = {1, 1, 1};
  int64_t m = 0, n = 0, k = 0;
  uint64_t a = 0;
  int64_t aBatch[3] = {0, 0, 0}, am = 0, ak = 0;
  uint64_t b = 0;
  int64_t bBatch[3] = {0, 0, 0}, bk = 0, bn = 0;
  uint64_t c = 0;
  int64_t cBatch[3] = {0, 0, 0}, cm = 0, cn = 0;
  uint64_t bias = 0;
  int64_t flags = 0;
};

/// Runs `call` on host memory: f32, f16 and bf16 accumulate in f32, f64 in
/// f64. False with `error` for another element type, a bias or ReLU
/// without the overwrite flag, or one with a C that several products
/// accumulate into (a zero batch stride).
bool referenceGemm(const GemmCall &call, std::string &error);

} // namespace tessera::runtime

#endif // TESSERA_RUNTIME_GEMM_HOOK_H
