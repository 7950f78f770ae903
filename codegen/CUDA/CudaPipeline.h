//===- CudaPipeline.h - tessera to host code plus PTX -----------*- C++ -*-===//
#ifndef TESSERA_CODEGEN_CUDA_CUDAPIPELINE_H
#define TESSERA_CODEGEN_CUDA_CUDAPIPELINE_H

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassOptions.h"

namespace mlir::tessera {

struct CudaPipelineOptions : public PassPipelineOptions<CudaPipelineOptions> {
  Option<std::string> gpuArch{
      *this, "gpu-arch",
      llvm::cl::desc("The SM architecture to generate PTX for: sm_80, sm_90"),
      llvm::cl::init("sm_90")};
  ListOption<std::string> parallel{
      *this, "parallel",
      llvm::cl::desc("Sharding strategies over the module's mesh: dp, tp "
                     "(as tessera-cpu-pipeline)")};
  Option<std::string> shardingSpec{
      *this, "sharding-spec",
      llvm::cl::desc("Manual sharding annotations (as tessera-cpu-pipeline)")};
  Option<int64_t> vectorWidth{
      *this, "vector-width",
      llvm::cl::desc("Points per thread in elementwise kernels "
                     "(tessera-cuda-form-kernels)"),
      llvm::cl::init(4)};
  Option<bool> cooperativeReductions{
      *this, "cooperative-reductions",
      llvm::cl::desc("A block of threads per output point of large reductions "
                     "(tessera-cuda-form-kernels)"),
      llvm::cl::init(true)};
};

/// The SM architectures the CUDA target accepts.
bool isSupportedGpuArch(llvm::StringRef arch);

/// The `linalg` phase of the CUDA target: the CPU target's (weights, every
/// non-splat constant too, become arguments, which live on the device).
void buildCudaLinalgPhase(OpPassManager &pm, const CudaPipelineOptions &options);

/// The `llvm` phase: bufferization; contractions to the runtime's GEMM
/// (cuBLASLt); every other linalg op a kernel (one thread per point of its
/// parallel loops); the kernels outlined into one gpu.module, lowered to
/// NVVM and compiled to PTX (the module attribute `tessera.ptx`, kernel
/// names in `tessera.kernels`); launches become `tessera_rt_launch` calls;
/// the host code to the LLVM dialect with the artifact entry point.
void buildCudaLlvmPhase(OpPassManager &pm, const CudaPipelineOptions &options);

/// For testing the kernels without a GPU: the `llvm` phase of the CUDA
/// target up to its kernels (the runtime's GEMM calls included, which a
/// CPU session runs with reference loops), the kernels then run as loops on
/// the host (tessera-cuda-emulate-launches) and the host code as the CPU
/// target's. Used after buildCudaLinalgPhase.
void buildCudaEmulationLlvmPhase(OpPassManager &pm,
                                 const CudaPipelineOptions &options);

/// Registers `tessera-cuda-pipeline` (both phases) with the pass registry.
void registerCudaPipelines();

} // namespace mlir::tessera

#endif // TESSERA_CODEGEN_CUDA_CUDAPIPELINE_H
