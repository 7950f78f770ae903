//===- Passes.td - Collectives to runtime calls ------------*- tablegen -*-===//

#ifndef TESSERA_CODEGEN_COLLECTIVES_PASSES
#define TESSERA_CODEGEN_COLLECTIVES_PASSES

include "mlir/Pass/PassBase.td"

def LowerCollectivesPass : Pass<"tessera-lower-collectives", "ModuleOp"> {
  let summary = "Lower shard collectives and process indices to runtime calls";
  let description = [{
    Runs on the partitioned (per-device) program, on tensors. `shard.all_slice`
    and `shard.process_multi_index` use upstream's lowerings (a slice at the
    process's index); then

    * `shard.all_reduce %t` becomes a copy of `%t` into a new buffer and
      `tessera_rt_all_reduce(addr, count, dtype, reduction, axes_mask)`;
    * `shard.all_gather %t` becomes
      `tessera_rt_all_gather(send, recv, outer, inner_bytes, axes_mask)`
      with `recv` laid out [outer, group, inner];
    * `shard.process_linear_index` becomes `tessera_rt_process_linear_index()`;
    * `shard.grid_shape` becomes constants and `shard.grid` is removed.

    The calls go to the runtime's communicator for the ranks that share the
    coordinates off the given mesh axes (the same calls for every backend).
    Other collectives are reported as unsupported.
  }];
  let dependentDialects = ["::mlir::func::FuncDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::bufferization::BufferizationDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::tensor::TensorDialect",
                           "::mlir::affine::AffineDialect"];
}

#endif // TESSERA_CODEGEN_COLLECTIVES_PASSES
