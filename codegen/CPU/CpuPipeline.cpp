//===- CpuPipeline.cpp - tessera to LLVM for the host CPU -----------------===//

#include "codegen/CPU/CpuPipeline.h"
#include "codegen/CPU/Passes.h"
#include "codegen/Collectives/Passes.h"
#include "codegen/Conversion/Passes.h"
#include "passes/Sharding/Passes.h"
#include "mlir/Dialect/Shard/Transforms/Passes.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Arith/Transforms/Passes.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Pass/PassRegistry.h"
#include "llvm/ADT/ScopeExit.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

void mlir::tessera::buildCpuLinalgPhase(OpPassManager &pm,
                                        const CpuPipelineOptions &options) {
  bool partition = !options.parallel.empty() || !options.shardingSpec.empty();
  // A CNN's early layers item by item (their batch's activations would not
  // stay in cache), before the convolutions become GEMMs.
  if (!partition && options.ukernels)
    pm.addNestedPass<func::FuncOp>(createSerializeBatchPass());
  // Weights are transposed while still constants, then become arguments
  // (the artifact's weights section; shardable per device).
  pm.addNestedPass<func::FuncOp>(createPretransposeWeightsPass());
  if (options.artifactAbi) {
    OutlineWeightsPassOptions outline;
    outline.allConstants = partition || options.outlineAllConstants;
    pm.addNestedPass<func::FuncOp>(createOutlineWeightsPass(outline));
  }
  if (!options.shardingSpec.empty()) {
    ApplyShardingSpecPassOptions spec;
    spec.path = options.shardingSpec;
    pm.addPass(createApplyShardingSpecPass(spec));
  }
  for (const std::string &strategy : options.parallel) {
    if (strategy == "dp")
      pm.addPass(createShardDataParallelPass());
    else if (strategy == "tp")
      pm.addPass(createShardTensorParallelPass());
  }
  ConvToGemmPassOptions convs;
  convs.keepDepthwise = !partition;
  // Only the CPU GEMM microkernel reads the windows from the input; the
  // other targets keep the patches the slices build.
  convs.windowPatches = !partition && options.ukernels;
  pm.addNestedPass<func::FuncOp>(createConvToGemmPass(convs));
  // Gathers (embeddings) keep their own sharding rule through
  // partitioning and are lowered after it.
  ConvertTesseraToLinalgPassOptions lower;
  lower.keepGathers = partition;
  pm.addNestedPass<func::FuncOp>(createConvertTesseraToLinalgPass(lower));
  pm.addPass(createCanonicalizerPass());
  if (partition) {
    pm.addNestedPass<func::FuncOp>(createDropBroadcastUnitDimsPass());
    pm.addNestedPass<func::FuncOp>(createUnrollWindowsPass());
    pm.addPass(createCanonicalizerPass());
    pm.addNestedPass<func::FuncOp>(createReplicateCapturesPass());
    // Forward first, so the strategies' splits of the inputs (dp) reach
    // the ops before the weights' splits (tp) are pulled back into them:
    // the upstream default (backward first) gathers the batch before a
    // tensor-parallel group. Twice: one pass leaves a fill whose only
    // sharding is on its user unannotated, which shard-partition then
    // crashes on (LLVM 22).
    shard::ShardingPropagationOptions propagation;
    propagation.traversal = shard::TraversalOrder::ForwardBackward;
    pm.addNestedPass<func::FuncOp>(shard::createShardingPropagation(propagation));
    pm.addNestedPass<func::FuncOp>(shard::createShardingPropagation(propagation));
    pm.addNestedPass<func::FuncOp>(createPreparePartitionPass());
    pm.addPass(createRecordShardingsPass());
    pm.addNestedPass<func::FuncOp>(shard::createPartition());
    pm.addNestedPass<func::FuncOp>(createConvertTesseraToLinalgPass());
    pm.addPass(createCanonicalizerPass());
    pm.addPass(createLowerCollectivesPass());
    pm.addPass(createCanonicalizerPass());
  }
  pm.addNestedPass<func::FuncOp>(createFuseElementwisePass());
}

void mlir::tessera::buildBufferizationPhase(OpPassManager &pm,
                                            bool artifactAbi,
                                            bool cpuUkernels) {
  bufferization::OneShotBufferizePassOptions bufferize;
  bufferize.bufferizeFunctionBoundaries = true;
  bufferize.functionBoundaryTypeConversion =
      bufferization::LayoutMapOption::IdentityLayoutMap;
  pm.addPass(bufferization::createOneShotBufferizePass(bufferize));
  if (artifactAbi) {
    bufferization::BufferResultsToOutParamsPassOptions outParams;
    outParams.hoistStaticAllocs = true;
    outParams.modifyPublicFunctions = true;
    pm.addPass(bufferization::createBufferResultsToOutParamsPass(outParams));
  }
  // Before the memory plan: a call that takes over the elementwise op
  // after it writes that op's output while it reads its own operands,
  // which the plan would let share bytes (each dies at its op).
  if (cpuUkernels) {
    pm.addPass(createContractionsToUkernelsPass());
    pm.addPass(createDepthwiseToUkernelsPass());
    pm.addPass(createMaxPoolToUkernelsPass());
  }
  if (artifactAbi) {
    pm.addPass(createPlanMemoryPass());
  }
  bufferization::buildBufferDeallocationPipeline(pm);
  pm.addPass(createConvertBufferizationToMemRefPass());
}

void mlir::tessera::buildCpuLlvmPhase(OpPassManager &pm,
                                      const CpuPipelineOptions &options) {
  buildBufferizationPhase(pm, options.artifactAbi, options.ukernels);
  pm.addNestedPass<func::FuncOp>(createLowerStridedCopiesPass());
  // Parallel dimensions become scf.parallel, which the outliner hands to
  // the runtime's thread pool (through a microkernel: with ukernels only).
  pm.addNestedPass<func::FuncOp>(createConvertLinalgToParallelLoopsPass());
  if (options.ukernels)
    pm.addPass(createMathToUkernelsPass());
  OutlineLoopsPassOptions outline;
  outline.parallel = options.ukernels;
  pm.addPass(createOutlineLoopsPass(outline));
  buildHostToLlvmPhase(pm, options.artifactAbi);
  if (options.ukernels)
    pm.addPass(createParallelCallsPass());
}

void mlir::tessera::buildHostToLlvmPhase(OpPassManager &pm, bool artifactAbi) {
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createSCFToControlFlowPass());
  pm.addPass(createConvertMathToFuncs());
  pm.addPass(createConvertMathToLibmPass());
  // bf16 arithmetic in f32, and the conversions between them (libm's
  // promotions included) as integer bit operations: the host code needs no
  // compiler-rt (__truncsfbf2).
  arith::ArithEmulateUnsupportedFloatsOptions emulate;
  emulate.sourceTypeStrs = {"bf16"};
  pm.addPass(arith::createArithEmulateUnsupportedFloats(emulate));
  // arith-expand's patterns but the max/min ones (vectorizable reductions).
  pm.addPass(createHostArithExpandPass());
  if (artifactAbi) {
    pm.addPass(createFinalizeMemRefToLLVMConversionPass());
    ConvertFuncToLLVMPassOptions funcOptions;
    funcOptions.useBarePtrCallConv = true;
    pm.addPass(createConvertFuncToLLVMPass(funcOptions));
  }
  pm.addPass(createConvertToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
  if (artifactAbi)
    pm.addPass(createEmitEntryPointPass());
}

void mlir::tessera::buildCpuLoweringPipeline(
    OpPassManager &pm, const CpuPipelineOptions &options) {
  buildCpuLinalgPhase(pm, options);
  buildCpuLlvmPhase(pm, options);
}

void mlir::tessera::registerCpuPipelines() {
  PassPipelineRegistration<CpuPipelineOptions>(
      "tessera-cpu-pipeline",
      "Lower tessera to the LLVM dialect for the host CPU (reference loops)",
      [](OpPassManager &pm, const CpuPipelineOptions &options) {
        buildCpuLoweringPipeline(pm, options);
      });
}
