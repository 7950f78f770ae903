//===- TensorParallel.h - Pieces of the tensor-parallel strategy -*- C++ -*-===//
//
// Shared by Strategies.cpp (the groups) and PadHeads.cpp (uneven heads).
//
//===----------------------------------------------------------------------===//
#ifndef TESSERA_PASSES_SHARDING_TENSORPARALLEL_H
#define TESSERA_PASSES_SHARDING_TENSORPARALLEL_H

#include "passes/Sharding/Passes.h"

namespace mlir::tessera {

/// A new weight argument holding indices [begin, begin + count) of weight
/// `arg` along `dim`, in a dimension of `size` (>= count; zeros after
/// them), named `<name><suffix>`: a slice of a weight (size == count) or
/// the weight padded (begin 0, count its whole dimension).
BlockArgument copyWeight(func::FuncOp func, BlockArgument arg, int64_t dim,
                         int64_t begin, int64_t count, int64_t size,
                         StringRef suffix);

/// `ids` with each negative index i replaced by i + `size` (ONNX's Gather
/// counts negative indices from the end of the axis): for a lookup whose
/// table is padded or split, where the end is no longer the table's.
Value wrapNegativeIndices(OpBuilder &builder, Location loc, Value ids, int64_t size);

/// An attention group whose head count the tp axis does not divide.
struct HeadPadding {
  int64_t heads = 0, paddedHeads = 0, headDim = 0;
  /// The column contractions (their results [..., heads * headDim]).
  SmallVector<Operation *> columnOps;
  /// Operands to pad and the dimension: column weights (N), their biases
  /// and per-column vectors.
  SmallVector<std::pair<OpOperand *, int64_t>> columnWeights;
  /// The row weight's operand and its K dimension.
  OpOperand *rowWeight = nullptr;
  int64_t rowDim = 0;
  /// The ops between the columns and the row contraction.
  SmallVector<Operation *> region;
};

/// Pads the group's heads: zero columns, zero rows, every op between
/// re-typed. Fails, changing nothing, when an op between cannot take the
/// padded shape.
LogicalResult padHeads(func::FuncOp func, const HeadPadding &padding);

} // namespace mlir::tessera

#endif // TESSERA_PASSES_SHARDING_TENSORPARALLEL_H
