/*===- CudaTestHost.c - Host code of the runtime's cuda test artifact -----===*
 *
 * Stands in for what tessera-compile --target=cuda emits, so the runtime's
 * cuda path is tested without the compiler: y = x * w + 1 for x f32[4,8],
 * w f32[8,4] (a weight), y f32[4,4]. The entry runs on the host with device
 * addresses and only calls the runtime's hooks: a gemm into y (which the
 * runtime zeroes) and kernel 0 of Inputs/cuda_test_kernels.ptx, which adds
 * one to each of y's 16 elements.
 *===----------------------------------------------------------------------===*/
#include <stdint.h>

struct TesseraRtHooks {
  void (*allReduce)(intptr_t, int64_t, int64_t, int64_t, int64_t);
  void (*allGather)(intptr_t, intptr_t, int64_t, int64_t, int64_t);
  int64_t (*processLinearIndex)(void);
  void (*launch)(int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t,
                 int64_t, const int64_t *, int64_t);
  void (*gemm)(int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t,
               intptr_t, int64_t, int64_t, int64_t, int64_t, int64_t, intptr_t,
               int64_t, int64_t, int64_t, int64_t, int64_t, intptr_t, int64_t,
               int64_t, int64_t, int64_t, int64_t);
};

__attribute__((visibility("default"))) const int32_t tessera_abi_version = 2;
/* The manifest CudaTestArtifact.cpp writes, as the host code carries it
 * (artifact::Manifest::codeText: no gpu-arch line). */
__attribute__((visibility("default"))) const char tessera_manifest[] =
    "tessera-artifact 1\n"
    "target cuda\n"
    "input x f32 4x8\n"
    "output y f32 4x4\n"
    "weight w f32 8x4 0 128\n"
    "kernel add_one\n";
__attribute__((visibility("default"))) const struct TesseraRtHooks *tessera_rt_hooks = 0;

__attribute__((visibility("default"))) void tessera_entry(void **buffers) {
  intptr_t x = (intptr_t)buffers[0], w = (intptr_t)buffers[1],
           y = (intptr_t)buffers[2];
  if (!tessera_rt_hooks || !tessera_rt_hooks->gemm || !tessera_rt_hooks->launch)
    return;
  /* y[4,4] += x[4,8] * w[8,4], all row-major. */
  tessera_rt_hooks->gemm(1 /* f32 */, 1, 1, 1, 4, 4, 8, x, 0, 0, 0, 8, 1, w, 0,
                         0, 0, 4, 1, y, 0, 0, 0, 4, 1);
  int64_t args[2] = {(int64_t)y, 16};
  tessera_rt_hooks->launch(0, 1, 1, 1, 32, 1, 1, 0, args, 2);
}
