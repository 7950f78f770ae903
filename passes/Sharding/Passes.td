//===- Passes.td - Sharding strategies ---------------------*- tablegen -*-===//

#ifndef TESSERA_PASSES_SHARDING_PASSES
#define TESSERA_PASSES_SHARDING_PASSES

include "mlir/Pass/PassBase.td"

def ShardDataParallelPass : Pass<"tessera-shard-data-parallel", "ModuleOp"> {
  let summary = "Split the batch dimension of every input over a mesh axis";
  let description = [{
    Data parallelism: each input of `@main` (an argument with
    `tessera.name`) whose dimension 0 the axis divides is annotated
    `shard.shard ... split_axes = [[axis]] annotate_for_users`; weights stay
    replicated. `sharding-propagation` then carries the split through the
    graph; inference needs no collective.
  }];
  let options = [
    Option<"axisName", "axis", "std::string", "\"dp\"", "The mesh axis">
  ];
  let statistics = [Statistic<"numInputs", "inputs", "Inputs split">];
  let dependentDialects = ["::mlir::shard::ShardDialect"];
}

def ShardTensorParallelPass : Pass<"tessera-shard-tensor-parallel", "ModuleOp"> {
  let summary = "Megatron-style tensor parallelism found from the graph";
  let description = [{
    Finds groups of contractions (`tessera.matmul` / `tessera.gemm` with a
    2-D weight): column-parallel ones whose results reach one row-parallel
    contraction's left operand only through ops that carry a column split.
    These are pointwise ops (bias, activation, GELU however decomposed),
    head reshapes and transposes, softmax along the last axis, and
    contractions of two split values (the attention products, whose other
    operand leads back to another projection of the group).

    An MLP is one such pair; attention is Q, K and V with the output
    projection. The column weights are split by columns (with their biases),
    the row weight by rows, so each group needs one all-reduce, after the
    row-parallel contraction: two per transformer block. Everything else is
    left to `sharding-propagation` (replicated unless a split reaches it).
  }];
  let options = [
    Option<"axisName", "axis", "std::string", "\"tp\"", "The mesh axis">
  ];
  let statistics = [Statistic<"numGroups", "groups", "Column/row groups split">];
  let dependentDialects = ["::mlir::shard::ShardDialect"];
}

def RecordShardingsPass : Pass<"tessera-record-shardings", "ModuleOp"> {
  let summary = "Keep the boundary shardings of @main as attributes";
  let description = [{
    Runs between `sharding-propagation` and `shard-partition`, which turns
    arguments and results into their local shards: each argument's and
    result's split axes are stored as `tessera.split = [[axes], ...]`
    (an array of i16 arrays, one per dimension), for the artifact's
    manifest and the runtime's slicing. An argument nothing uses gets a
    replicated annotation of its own: upstream `shard-partition` (LLVM 22)
    crashes on an unannotated, unused argument.
  }];
}

def DropBroadcastUnitDimsPass
    : Pass<"tessera-drop-broadcast-unit-dims", "func::FuncOp"> {
  let summary = "Read broadcast size-1 dimensions without a constant index";
  let description = [{
    A `linalg.generic` input that broadcasts a size-1 dimension reads it
    through a constant `0` in its indexing map (a reduced [b, s, 1] value
    against [b, s, h]). Sharding needs projected-permutation maps, so such
    generics get no sharding option. This pass collapses the size-1
    dimensions out of the operand (`tensor.collapse_shape`) and drops them
    from the map; canonicalization then folds the collapse into the
    `tensor.expand_shape` that usually made them. Runs before
    `sharding-propagation`.
  }];
  let dependentDialects = ["::mlir::tensor::TensorDialect",
                           "::mlir::linalg::LinalgDialect"];
}

def UnrollWindowsPass : Pass<"tessera-unroll-windows", "func::FuncOp"> {
  let summary = "Pooling windows as strided slices combined pointwise";
  let description = [{
    A window reduction (max or average pooling: an input read at
    `oh * stride + kh`) has no projected-permutation indexing map, so it
    has no sharding option. This pass rewrites such a `linalg.generic` with
    a static window of at most 64 positions into one strided
    `tensor.extract_slice` per window position and a parallel generic that
    folds them in the original body's order. The slices and the generic
    shard over batch and channels. Runs before `sharding-propagation`.
  }];
  let dependentDialects = ["::mlir::tensor::TensorDialect",
                           "::mlir::linalg::LinalgDialect"];
}

def ApplyShardingSpecPass : Pass<"tessera-apply-sharding-spec", "ModuleOp"> {
  let summary = "Manual sharding annotations by ONNX tensor name";
  let description = [{
    Reads a sharding spec: one line per tensor, its ONNX name and the mesh
    axes each dimension is split over (`-` for whole), e.g.

    ```
    # name          split per dimension
    x               dp, -
    fc1.weight      -, tp
    hidden          dp, tp
    ```

    An input or a weight (an initializer) is annotated on its argument of
    `@main`; a node output on the value the node computes. Gemm weights
    stored transposed (`NAME.T`) take the spec in ONNX's layout. Every
    error names the file and line: a malformed line, an unknown name, an
    unknown or repeated axis, a dimension count that does not match, or a
    dimension the axes do not divide.
  }];
  let options = [
    Option<"path", "path", "std::string", "", "The spec file">
  ];
  let statistics = [Statistic<"numAnnotations", "annotations", "Tensors annotated">];
  let dependentDialects = ["::mlir::shard::ShardDialect"];
}

#endif // TESSERA_PASSES_SHARDING_PASSES
