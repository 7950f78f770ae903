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
    Finds pairs of contractions (`tessera.matmul` / `tessera.gemm` with a
    2-D weight) where the first one's result reaches the second one's left
    operand only through pointwise ops (bias, activation, GELU however
    decomposed). The first weight is split by columns (column-parallel, with
    its bias), the second by rows (row-parallel), so the pair needs one
    all-reduce, after the second contraction. Everything else is left to
    `sharding-propagation` (replicated unless a split reaches it).
  }];
  let options = [
    Option<"axisName", "axis", "std::string", "\"tp\"", "The mesh axis">
  ];
  let statistics = [Statistic<"numPairs", "pairs", "Column/row pairs split">];
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

#endif // TESSERA_PASSES_SHARDING_PASSES
