//===- Collectives.cpp - Collective calls from compiled code --------------===//
//
// The compiled SPMD program calls these (see tessera-lower-collectives);
// they forward to the runtime through the hook table it installs after
// loading the host code (`tessera_rt_hooks`), so the host code needs no
// symbol from the runtime library. The runtime knows which rank the
// calling thread runs, and records a failed collective for the run to
// report.
//
// A `target cuda` artifact's host code also launches its kernels and runs
// its GEMMs through the table (`launch`, `gemmEx`); a CPU session runs
// GEMMs with reference loops (code compiled with --emulate-cuda-kernels)
// and has no `launch`. The table only grows at its end, so older artifacts keep
// working with newer runtimes.
//
//===----------------------------------------------------------------------===//

#include <stdint.h>

extern "C" {
struct TesseraRtHooks {
  void (*allReduce)(intptr_t buffer, int64_t count, int64_t dtype, int64_t op,
                    int64_t axesMask);
  void (*allGather)(intptr_t send, intptr_t recv, int64_t outer,
                    int64_t innerBytes, int64_t axesMask);
  int64_t (*processLinearIndex)();
  /// Enqueues kernel `kernel` (the manifest's kernel list index) on the
  /// calling rank's stream. `args` holds `numArgs` 8-byte parameters (device
  /// addresses and index values: the expanded memref descriptors of the
  /// kernel's operands, in the kernel's parameter order).
  void (*launch)(int64_t kernel, int64_t gridX, int64_t gridY, int64_t gridZ,
                 int64_t blockX, int64_t blockY, int64_t blockZ,
                 int64_t sharedBytes, const int64_t *args, int64_t numArgs);
  /// C[b0,b1,b2][m,n] += A[..][m,k] * B[..][k,n] on the calling rank's
  /// stream: device addresses, element strides (0: a broadcast batch
  /// dimension); `dtype` a tsr_dtype_t (f32, f16, bf16). One of each
  /// matrix's two inner strides is 1.
  void (*gemm)(int64_t dtype, int64_t b0, int64_t b1, int64_t b2, int64_t m,
               int64_t n, int64_t k, intptr_t a, int64_t ab0, int64_t ab1,
               int64_t ab2, int64_t am, int64_t ak, intptr_t b, int64_t bb0,
               int64_t bb1, int64_t bb2, int64_t bk, int64_t bn, intptr_t c,
               int64_t cb0, int64_t cb1, int64_t cb2, int64_t cm, int64_t cn);
  /// As `gemm`, plus `flags` (runtime/src/gemm_hook.h): 1, C is overwritten
  /// (beta = 0); 2, `bias` (a contiguous vector over n, C's element type)
  /// is added; 4, then the ReLU. What the compiler calls now; `gemm` stays for older
  /// artifacts.
  void (*gemmEx)(int64_t dtype, int64_t b0, int64_t b1, int64_t b2, int64_t m,
                 int64_t n, int64_t k, intptr_t a, int64_t ab0, int64_t ab1,
                 int64_t ab2, int64_t am, int64_t ak, intptr_t b, int64_t bb0,
                 int64_t bb1, int64_t bb2, int64_t bk, int64_t bn, intptr_t c,
                 int64_t cb0, int64_t cb1, int64_t cb2, int64_t cm, int64_t cn,
                 intptr_t bias, int64_t flags);
};

__attribute__((visibility("default"))) const TesseraRtHooks *tessera_rt_hooks = nullptr;

__attribute__((visibility("hidden"))) void
tessera_rt_all_reduce(intptr_t buffer, int64_t count, int64_t dtype, int64_t op,
                      int64_t axesMask) {
  if (tessera_rt_hooks)
    tessera_rt_hooks->allReduce(buffer, count, dtype, op, axesMask);
}

__attribute__((visibility("hidden"))) void
tessera_rt_all_gather(intptr_t send, intptr_t recv, int64_t outer,
                      int64_t innerBytes, int64_t axesMask) {
  if (tessera_rt_hooks)
    tessera_rt_hooks->allGather(send, recv, outer, innerBytes, axesMask);
}

__attribute__((visibility("hidden"))) int64_t tessera_rt_process_linear_index() {
  return tessera_rt_hooks ? tessera_rt_hooks->processLinearIndex() : 0;
}

__attribute__((visibility("hidden"))) void
tessera_rt_launch(int64_t kernel, int64_t gridX, int64_t gridY, int64_t gridZ,
                  int64_t blockX, int64_t blockY, int64_t blockZ,
                  int64_t sharedBytes, const int64_t *args, int64_t numArgs) {
  if (tessera_rt_hooks && tessera_rt_hooks->launch)
    tessera_rt_hooks->launch(kernel, gridX, gridY, gridZ, blockX, blockY,
                             blockZ, sharedBytes, args, numArgs);
}

__attribute__((visibility("hidden"))) void
tessera_rt_gemm(int64_t dtype, int64_t b0, int64_t b1, int64_t b2, int64_t m,
                int64_t n, int64_t k, intptr_t a, int64_t ab0, int64_t ab1,
                int64_t ab2, int64_t am, int64_t ak, intptr_t b, int64_t bb0,
                int64_t bb1, int64_t bb2, int64_t bk, int64_t bn, intptr_t c,
                int64_t cb0, int64_t cb1, int64_t cb2, int64_t cm, int64_t cn,
                intptr_t bias, int64_t flags) {
  if (tessera_rt_hooks && tessera_rt_hooks->gemmEx)
    tessera_rt_hooks->gemmEx(dtype, b0, b1, b2, m, n, k, a, ab0, ab1, ab2, am,
                             ak, b, bb0, bb1, bb2, bk, bn, c, cb0, cb1, cb2, cm,
                             cn, bias, flags);
}
}
