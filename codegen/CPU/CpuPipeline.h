//===- CpuPipeline.h - tessera to LLVM for the host CPU ---------*- C++ -*-===//
#ifndef TESSERA_CODEGEN_CPU_CPUPIPELINE_H
#define TESSERA_CODEGEN_CPU_CPUPIPELINE_H

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassOptions.h"

namespace mlir::tessera {

struct CpuPipelineOptions : public PassPipelineOptions<CpuPipelineOptions> {
  Option<bool> artifactAbi{
      *this, "artifact-abi",
      llvm::cl::desc("Lower for an artifact: results become out-parameters, "
                     "memrefs bare pointers, plus the tessera_entry entry "
                     "point (otherwise MLIR's descriptor ABI, as mlir-runner "
                     "expects)"),
      llvm::cl::init(false)};
  Option<bool> ukernels{
      *this, "ukernels",
      llvm::cl::desc("Run f32 contractions through the GEMM microkernel "
                     "(tessera_uk_sgemm_f32, linked by tessera-compile; "
                     "otherwise scalar loops)"),
      llvm::cl::init(false)};
  ListOption<std::string> parallel{
      *this, "parallel",
      llvm::cl::desc("Sharding strategies to apply over the module's mesh "
                     "(`shard.grid @mesh`), in order: dp, tp. Then the "
                     "annotations are propagated, the program partitioned "
                     "per device and its collectives lowered to runtime "
                     "calls")};
  Option<bool> outlineAllConstants{
      *this, "outline-all-constants",
      llvm::cl::desc("With artifact-abi, make every non-splat constant a "
                     "weight argument, not only the large ones (always when "
                     "partitioning; the CUDA target's host code cannot hold "
                     "tensors)"),
      llvm::cl::init(false)};
  Option<std::string> shardingSpec{
      *this, "sharding-spec",
      llvm::cl::desc("A file of manual sharding annotations by ONNX tensor "
                     "name (docs/parallelism.md), applied before the "
                     "strategies; partitions even without strategies")};
};

/// The `linalg` phase: Gemm weights stored transposed; with `artifact-abi`
/// weights become arguments (every small constant too when partitioning);
/// the `parallel` strategies; tessera → linalg/tensor/arith/math on
/// tensors; with strategies, propagation, partition and collectives;
/// canonicalization and elementwise fusion (without recomputation).
void buildCpuLinalgPhase(OpPassManager &pm,
                         const CpuPipelineOptions &options = {});

/// One-shot bufferization (function boundaries included); with
/// `artifactAbi` results become out-parameters and intermediate buffers one
/// planned workspace (with `cpuUkernels`, contractions and depthwise
/// convolutions become microkernel calls first, taking over the ops
/// around them); deallocation; bufferization ops to memref.
void buildBufferizationPhase(OpPassManager &pm, bool artifactAbi,
                             bool cpuUkernels = false);

/// Host code on buffers to the LLVM dialect: strided metadata, affine, scf,
/// math (functions, libm); with `artifactAbi` bare-pointer memrefs and the
/// `tessera_entry` entry point. The end of both targets' `llvm` phase.
void buildHostToLlvmPhase(OpPassManager &pm, bool artifactAbi);

/// The `llvm` phase: one-shot bufferization (function boundaries included),
/// buffer deallocation, f32 contractions to the GEMM microkernel (with
/// `ukernels`), loops for the rest, LLVM dialect.
void buildCpuLlvmPhase(OpPassManager &pm, const CpuPipelineOptions &options);

/// Both phases: what `tessera-compile --target=cpu` runs after import.
void buildCpuLoweringPipeline(OpPassManager &pm,
                              const CpuPipelineOptions &options);

/// Registers `tessera-cpu-pipeline` with the pass registry, so
/// `tessera-opt --tessera-cpu-pipeline` replays what the driver runs.
void registerCpuPipelines();

} // namespace mlir::tessera

#endif // TESSERA_CODEGEN_CPU_CPUPIPELINE_H
