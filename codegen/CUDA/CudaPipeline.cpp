//===- CudaPipeline.cpp - tessera to host code plus PTX -------------------===//

#include "codegen/CUDA/CudaPipeline.h"
#include "codegen/CPU/CpuPipeline.h"
#include "codegen/CPU/Passes.h"
#include "codegen/CUDA/Passes.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

bool mlir::tessera::isSupportedGpuArch(llvm::StringRef arch) {
  return arch == "sm_80" || arch == "sm_86" || arch == "sm_89" ||
         arch == "sm_90" || arch == "sm_90a";
}

void mlir::tessera::buildCudaLinalgPhase(OpPassManager &pm,
                                         const CudaPipelineOptions &options) {
  CpuPipelineOptions linalg;
  linalg.artifactAbi = true;
  linalg.outlineAllConstants = true;
  linalg.parallel = options.parallel;
  linalg.shardingSpec = options.shardingSpec;
  buildCpuLinalgPhase(pm, linalg);
  pm.addNestedPass<func::FuncOp>(createOutlineConstantsPass());
}

namespace {
/// Kernels: one per linalg op left (KernelPlan.h says how each runs).
void addKernelPasses(OpPassManager &pm,
                     const mlir::tessera::CudaPipelineOptions &options) {
  using namespace mlir::tessera;
  LowerStridedCopiesPassOptions copies;
  copies.allCopies = true;
  pm.addNestedPass<func::FuncOp>(createLowerStridedCopiesPass(copies));
  FormKernelsPassOptions form;
  form.vectorWidth = options.vectorWidth;
  form.cooperativeReductions = options.cooperativeReductions;
  pm.addNestedPass<func::FuncOp>(createFormKernelsPass(form));
  pm.addNestedPass<func::FuncOp>(createDistributeLoopsPass());
  pm.addNestedPass<func::FuncOp>(createCanonicalizerPass());
  pm.addNestedPass<func::FuncOp>(createSinkConstantsPass());
}
} // namespace

void mlir::tessera::buildCudaEmulationLlvmPhase(
    OpPassManager &pm, const CudaPipelineOptions &options) {
  buildBufferizationPhase(pm, /*artifactAbi=*/true);
  ContractionsToUkernelsPassOptions gemm;
  gemm.runtimeGemm = true;
  pm.addPass(createContractionsToUkernelsPass(gemm));
  addKernelPasses(pm, options);
  pm.addNestedPass<func::FuncOp>(createEmulateLaunchesPass());
  pm.addNestedPass<func::FuncOp>(createCanonicalizerPass());
  pm.addPass(createMathToUkernelsPass());
  buildHostToLlvmPhase(pm, /*artifactAbi=*/true);
}

void mlir::tessera::buildCudaLlvmPhase(OpPassManager &pm,
                                       const CudaPipelineOptions &options) {
  buildBufferizationPhase(pm, /*artifactAbi=*/true);
  ContractionsToUkernelsPassOptions gemm;
  gemm.runtimeGemm = true;
  pm.addPass(createContractionsToUkernelsPass(gemm));

  addKernelPasses(pm, options);
  // Math ops NVVM has no lowering for (integer powers) become functions,
  // which outlining copies into the kernel module.
  pm.addPass(createConvertMathToFuncs());
  pm.addPass(createGpuKernelOutliningPass());
  pm.addPass(createMergeKernelModulesPass());

  // Device code: NVVM, then PTX through LLVM's NVPTX backend.
  GpuNVVMAttachTargetOptions target;
  target.chip = options.gpuArch;
  target.optLevel = 3;
  pm.addPass(createGpuNVVMAttachTarget(target));
  OpPassManager &device = pm.nest<gpu::GPUModuleOp>();
  device.addPass(memref::createExpandStridedMetadataPass());
  device.addPass(createLowerAffinePass());
  device.addPass(createSCFToControlFlowPass());
  device.addPass(createConvertGpuOpsToNVVMOps());
  device.addPass(createCanonicalizerPass());
  device.addPass(createCSEPass());
  device.addPass(createReconcileUnrealizedCastsPass());
  GpuModuleToBinaryPassOptions binary;
  binary.compilationTarget = "isa";
  pm.addPass(createGpuModuleToBinaryPass(binary));
  pm.addPass(createLowerLaunchesPass());

  // Host code: as the CPU target's.
  buildHostToLlvmPhase(pm, /*artifactAbi=*/true);
}

void mlir::tessera::registerCudaPipelines() {
  PassPipelineRegistration<CudaPipelineOptions>(
      "tessera-cuda-pipeline",
      "Lower tessera to host LLVM dialect plus PTX for NVIDIA GPUs "
      "(tessera-compile --target=cuda)",
      [](OpPassManager &pm, const CudaPipelineOptions &options) {
        buildCudaLinalgPhase(pm, options);
        buildCudaLlvmPhase(pm, options);
      });
}
