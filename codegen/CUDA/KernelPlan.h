//===- KernelPlan.h - how a linalg op maps onto a launch --------*- C++ -*-===//
//
// tessera-cuda-form-kernels decides, for each linalg.generic on buffers,
// how its iteration space maps onto blocks and threads, and records the
// decision on the gpu.launch; tessera-cuda-distribute-loops reads it back
// and writes the threads' code. The two passes share the analysis here.
//
//===----------------------------------------------------------------------===//
#ifndef TESSERA_CODEGEN_CUDA_KERNELPLAN_H
#define TESSERA_CODEGEN_CUDA_KERNELPLAN_H

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"

#include <optional>

namespace mlir::tessera::cuda {

/// The launch attribute naming a cooperative reduction (a block per
/// parallel point).
constexpr llvm::StringLiteral kCooperativeAttr = "tessera.cooperative";
/// The launch attribute giving the points of the last parallel loop each
/// thread handles (absent: one).
constexpr llvm::StringLiteral kVectorWidthAttr = "tessera.vector_width";

/// The launch attribute giving a reduction's outputs' initial values (the
/// constants they were filled with just before), one per output, UnitAttr
/// where the kernel loads the output's value.
constexpr llvm::StringLiteral kInitValuesAttr = "tessera.init_values";

/// The launch attribute saying that the launch's second linalg.generic is
/// its reduction's epilogue: an elementwise op of the reduction's output
/// alone (through reshapes), computed where each output value is stored.
constexpr llvm::StringLiteral kEpilogueAttr = "tessera.epilogue";

/// Launch shapes the planner may choose from.
struct KernelPlanOptions {
  /// Consecutive points of the last parallel loop per thread in kernels
  /// without reduction loops (loads and stores of that many elements at
  /// once); 1 turns vectorization off.
  int64_t vectorWidth = 4;
  /// Whether reductions over at least `kMinCooperativeReduction` points
  /// run on a block of threads per output point.
  bool cooperativeReductions = true;
};

/// How one linalg.generic (parallel loops first, static ranges) runs.
struct KernelPlan {
  enum class Kind {
    /// A thread per parallel point (per `vectorWidth` points of the last
    /// parallel loop); reduction loops sequential in the thread.
    PerPoint,
    /// A block per parallel point: its threads stride over the reduction
    /// points, then combine their partial values (gpu.all_reduce).
    Cooperative,
  };
  Kind kind = Kind::PerPoint;
  unsigned numParallel = 0;
  /// Points of the parallel loops and of the reduction loops.
  int64_t points = 1;
  int64_t reductionPoints = 1;
  int64_t vectorWidth = 1;
  int64_t gridSize = 0;
  int64_t blockSize = 0;
};

/// The smallest reduction a block of threads shares.
constexpr int64_t kMinCooperativeReduction = 32;

/// The plan for `op`, whose loops are parallel first with static ranges.
KernelPlan planKernel(linalg::GenericOp op, const KernelPlanOptions &options);

/// For a cooperative reduction: per output, the body op that combines the
/// output's value with the point's contribution (`%out ⊕ x`, the only use
/// of the output's block argument, yielded and used nowhere else).
/// Failure when some output is not such a reduction.
FailureOr<SmallVector<Operation *>> reductionCombiners(linalg::GenericOp op);

/// The gpu.all_reduce operation for a combining op, if it has one.
std::optional<gpu::AllReduceOperation> allReduceOperation(Operation *combiner);

/// Whether loads and stores of `vectorWidth` consecutive elements of the
/// last parallel loop can be single vector accesses of `operand` (its map
/// ends in that loop, used nowhere else; unit innermost stride; offset and
/// strides multiples of the width).
bool isContiguousInLastLoop(linalg::GenericOp op, OpOperand &operand,
                            unsigned numParallel, int64_t vectorWidth);

} // namespace mlir::tessera::cuda

#endif // TESSERA_CODEGEN_CUDA_KERNELPLAN_H
