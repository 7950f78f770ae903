//===- Passes.td - CPU codegen passes ----------------------*- tablegen -*-===//

#ifndef TESSERA_CODEGEN_CPU_PASSES
#define TESSERA_CODEGEN_CPU_PASSES

include "mlir/Pass/PassBase.td"

def OutlineWeightsPass : Pass<"tessera-cpu-outline-weights", "func::FuncOp"> {
  let summary = "Turn weight constants into trailing function arguments";
  let description = [{
    Every `tessera.constant` holding a dense resource (a weight) becomes a new
    trailing argument of the function, annotated with
    `tessera.weight = <the resource attribute>`, so the weight bytes travel
    in the artifact's weights section (mapped per rank) instead of the code.
    Small `dense<...>` constants stay in the code.

    ```mlir
    %w = tessera.constant dense_resource<fc.weight> : tensor<16x4xf32>
    // becomes an argument:
    func.func @main(%x: ..., %w: tensor<16x4xf32> {tessera.weight = dense_resource<fc.weight> : tensor<16x4xf32>})
    ```
  }];
  let statistics = [
    Statistic<"numWeights", "weights", "Number of weights outlined">
  ];
}

def EmitEntryPointPass : Pass<"tessera-cpu-emit-entry-point", "ModuleOp"> {
  let summary = "Add the artifact ABI entry `tessera_entry(void **buffers)`";
  let description = [{
    Runs on the LLVM dialect after lowering with bare-pointer memrefs and
    results as out-parameters. Adds `llvm.func @tessera_entry(%buffers: !llvm.ptr)`,
    which loads one pointer per parameter of `@main` (inputs, weights,
    outputs) and calls it, and the constant `tessera_abi_version = 1`.
    `@main` becomes internal.
  }];
  let options = [
    Option<"entryName", "entry", "std::string", "\"main\"",
           "The function the entry point calls">
  ];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
}

def LowerStridedCopiesPass : Pass<"tessera-cpu-lower-strided-copies", "func::FuncOp"> {
  let summary = "Turn memref.copy between strided buffers into linalg.copy";
  let description = [{
    Bufferization copies into subviews (tensor.pad, insert_slice) with
    `memref.copy`, which LLVM lowering turns into a call to MLIR's C runner
    library when a side is not contiguous. Artifacts do not link that
    library, so such copies become `linalg.copy` and then loops. Copies
    between contiguous buffers stay `memref.copy` (an LLVM memcpy).
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect"];
}

def FuseElementwisePass : Pass<"tessera-cpu-fuse-elementwise", "func::FuncOp"> {
  let summary = "Fuse elementwise producers into consumers that read each element once";
  let description = [{
    linalg's elementwise fusion, restricted to consumers whose indexing map
    for the fused operand is a permutation of their loops. A producer is
    never fused into a contraction or a broadcast that would recompute it
    per output element (GELU fused into the next matmul would evaluate erf
    N times per element).
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect"];
}

#endif // TESSERA_CODEGEN_CPU_PASSES
