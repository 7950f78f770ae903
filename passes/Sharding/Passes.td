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
    row-parallel contraction: two per transformer block. A head count the
    axis does not divide is padded to the next multiple (zero columns and
    rows, every op between re-typed; recorded in the module attribute
    `tessera.padded`).

    Embedding tables (a weight gathered along axis 0) tied to an LM head
    (their other uses transposes) split over the vocabulary: each device
    looks up the ids in its block of rows and one all-reduce sums the
    blocks; the head is then column-parallel, its logits all-gathered
    (rows are padded with zeros, and the logits sliced back, when the axis
    does not divide the vocabulary). Other tables split over their hidden
    dimension, the lookup gathered whole right after (one all-gather). A
    large weight contraction in no group (an untied LM head, a classifier)
    is column-parallel, its result left split (a MatMul's columns padded
    with zeros and its result sliced back when the axis does not divide
    them), else row-parallel (one all-reduce of its result). Everything
    else is left to `sharding-propagation` (replicated unless a split
    reaches it).
  }];
  let options = [
    Option<"axisName", "axis", "std::string", "\"tp\"", "The mesh axis">
  ];
  let statistics = [
    Statistic<"numGroups", "groups", "Column/row groups split">,
    Statistic<"numEmbeddings", "embeddings", "Embedding tables split over hidden">,
    Statistic<"numVocabEmbeddings", "vocab-embeddings",
              "Embedding tables tied to an LM head split over the vocabulary">,
    Statistic<"numHeads", "heads", "Lone large contractions split (column- or row-parallel)">,
    Statistic<"numPadded", "padded", "Attention groups whose heads were padded">
  ];
  let dependentDialects = ["::mlir::shard::ShardDialect"];
}

def RecordShardingsPass : Pass<"tessera-record-shardings", "ModuleOp"> {
  let summary = "Keep the boundary shardings of @main as attributes";
  let description = [{
    Runs between `sharding-propagation` and `shard-partition`, which turns
    arguments and results into their local shards: each argument's and
    result's split axes are stored as `tessera.split = [[axes], ...]`
    (an array of i16 arrays, one per dimension), for the artifact's
    manifest and the runtime's slicing. Runs after
    `tessera-shard-prepare-partition`, which leaves each argument one
    annotation.
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

def ReplicateCapturesPass
    : Pass<"tessera-shard-replicate-captures", "func::FuncOp"> {
  let summary = "Make the tensors an op's body reads from outside visible to sharding";
  let description = [{
    A Gather lowers to a `linalg.generic` whose body reads the table with
    `tensor.extract` of a value defined outside the op (a capture), not
    through an operand. Sharding propagation and partitioning only see
    operands: a captured table computed from a split value (BERT's
    attention mask gathered by token position) would be read as the local
    shard, with global indices, and a captured value nothing else uses
    would stay unannotated (shard-partition crashes on it). This pass gives
    each captured ranked tensor a replicated `shard.shard ...
    annotate_for_users` just before the op and makes the body read that:
    propagation annotates the capture's producers, and partitioning
    gathers the capture whole where its producer is split.

    ```mlir
    %t = ... : tensor<64x1xi1>
    %r = linalg.generic ... { tensor.extract %t[%i, %c0] ... }
    // becomes
    %s = shard.sharding @mesh split_axes = [[]] : !shard.sharding
    %t1 = shard.shard %t to %s annotate_for_users : tensor<64x1xi1>
    %r = linalg.generic ... { tensor.extract %t1[%i, %c0] ... }
    ```

    Runs before `sharding-propagation`.
  }];
  let statistics = [Statistic<"numCaptures", "captures", "Captured tensors annotated">];
  let dependentDialects = ["::mlir::shard::ShardDialect"];
}

def PreparePartitionPass
    : Pass<"tessera-shard-prepare-partition", "func::FuncOp"> {
  let summary = "Bring annotated IR into the form shard-partition handles";
  let description = [{
    Runs between `sharding-propagation` and `shard-partition`. Upstream
    partitioning (LLVM 22) asserts, crashes or silently miscompiles on
    IR that propagation can leave behind; this pass rewrites those cases:

    * Every ranked tensor argument gets exactly one use, a `shard.shard`:
      annotations of one argument with the same sharding are merged; an
      argument with differing annotations (a weight shared by two layers
      that shard it differently), or none, or uses no annotation covers,
      gets one annotation of its own (replicated when its users disagree),
      and its users reshard from it.
    * Every ranked tensor operand and result of an op has its annotation
      (a replicated one where propagation left none), and an op without a
      sharding rule reads and writes replicated values (it runs whole on
      every device).
    * Every resharding (a `shard.shard` of a `shard.shard` with another
      sharding) is one step upstream implements (split one more axis,
      unsplit the last axis, move the last axis to another dimension);
      a longer one, or a move (an all-to-all, which the runtime has no
      collective for), becomes a chain of unsplit and split steps.
  }];
  let statistics = [
    Statistic<"numArguments", "arguments", "Argument annotations rewritten">,
    Statistic<"numOperations", "operations", "Operand and result annotations added or replicated">,
    Statistic<"numReshards", "reshards", "Reshardings split into steps">
  ];
  let dependentDialects = ["::mlir::shard::ShardDialect"];
}

#endif // TESSERA_PASSES_SHARDING_PASSES
