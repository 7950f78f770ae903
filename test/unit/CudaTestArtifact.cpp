//===- CudaTestArtifact.cpp - A cuda artifact made without the compiler ---===//

#include "CudaTestArtifact.h"

#include "artifact.h"

#include <cstring>
#include <fstream>
#include <sstream>

namespace tessera::test {

namespace {
bool readFile(const std::string &path, std::string &out, std::string &error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = "cannot read " + path;
    return false;
  }
  std::ostringstream s;
  s << in.rdbuf();
  out = s.str();
  return true;
}
} // namespace

void cudaTestData(std::vector<float> &x, std::vector<float> &w,
                  std::vector<float> &y) {
  x.resize(4 * 8);
  w.resize(8 * 4);
  y.assign(4 * 4, 0.0f);
  for (int i = 0; i < 32; ++i) {
    x[i] = static_cast<float>((i * 7) % 11) / 11.0f - 0.5f;
    w[i] = static_cast<float>((i * 5) % 13) / 13.0f - 0.25f;
  }
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 4; ++j) {
      double acc = 0;
      for (int k = 0; k < 8; ++k)
        acc += static_cast<double>(x[i * 8 + k]) * w[k * 4 + j];
      y[i * 4 + j] = static_cast<float>(acc + 1.0);
    }
}

bool haveCudaTestCubin() { return std::strlen(TESSERA_CUDA_TEST_CUBIN) > 0; }

bool writeCudaTestArtifact(const std::string &path, const std::string &gpuArch,
                           bool withCubin, std::string &error) {
  std::string host, ptx, cubin;
  if (!readFile(TESSERA_CUDA_TEST_HOST, host, error) ||
      !readFile(TESSERA_CUDA_TEST_PTX, ptx, error))
    return false;
  if (withCubin && haveCudaTestCubin() &&
      !readFile(TESSERA_CUDA_TEST_CUBIN, cubin, error))
    return false;
  artifact::Manifest m;
  m.target = "cuda";
  m.gpuArch = gpuArch;
  m.kernels = {"add_one"};
  artifact::TensorSpec x, y;
  x.name = "x";
  x.dtype = artifact::DType::F32;
  x.shape = {4, 8};
  y.name = "y";
  y.dtype = artifact::DType::F32;
  y.shape = {4, 4};
  m.inputs = {x};
  m.outputs = {y};
  artifact::WeightSpec w;
  w.name = "w";
  w.dtype = artifact::DType::F32;
  w.shape = {8, 4};
  m.weights = {w};
  uint64_t bytes = artifact::layoutWeights(m.weights);
  std::vector<float> xs, ws, ys;
  cudaTestData(xs, ws, ys);
  std::vector<char> weights(bytes, 0);
  std::memcpy(weights.data() + m.weights[0].offset, ws.data(),
              ws.size() * sizeof(float));
  return artifact::write(path, m, host, weights, error, ptx, cubin);
}

} // namespace tessera::test
