//===- CudaTestArtifact.h - A cuda artifact made without the compiler -----===//
//
// y = x * w + 1 (x f32[4,8], weight w f32[8,4], y f32[4,4]): host code from
// CudaTestHost.c, device code Inputs/cuda_test_kernels.ptx and, when the
// build found ptxas, its sm_90 cubin. Used by the unit tests (no GPU) and
// tessera-cuda-check (GPU).
//
//===----------------------------------------------------------------------===//
#ifndef TESSERA_TEST_UNIT_CUDATESTARTIFACT_H
#define TESSERA_TEST_UNIT_CUDATESTARTIFACT_H

#include <string>
#include <vector>

namespace tessera::test {

/// The input, the weight and the expected output (computed here in double).
void cudaTestData(std::vector<float> &x, std::vector<float> &w,
                  std::vector<float> &y);

/// Whether the build compiled the test kernels to a cubin.
bool haveCudaTestCubin();

/// Writes the artifact for `gpuArch` ("sm_90"), with the cubin when
/// `withCubin` and the build has one.
bool writeCudaTestArtifact(const std::string &path, const std::string &gpuArch,
                           bool withCubin, std::string &error);

} // namespace tessera::test

#endif // TESSERA_TEST_UNIT_CUDATESTARTIFACT_H
