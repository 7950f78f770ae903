//===- CpuPipeline.h - tessera to LLVM for the host CPU ---------*- C++ -*-===//
#ifndef TESSERA_CODEGEN_CPU_CPUPIPELINE_H
#define TESSERA_CODEGEN_CPU_CPUPIPELINE_H

#include "mlir/Pass/PassManager.h"

namespace mlir::tessera {

/// tessera → linalg on tensors → elementwise fusion → one-shot
/// bufferization (function boundaries included) → buffer deallocation →
/// scalar loops → LLVM dialect. This is the correctness (reference) lowering:
/// tiling, vectorization and threading come with the optimising CPU pipeline.
void buildCpuLoweringPipeline(OpPassManager &pm);

/// Registers `tessera-cpu-pipeline` with the pass registry, so
/// `tessera-opt --tessera-cpu-pipeline` replays what the driver runs.
void registerCpuPipelines();

} // namespace mlir::tessera

#endif // TESSERA_CODEGEN_CPU_CPUPIPELINE_H
