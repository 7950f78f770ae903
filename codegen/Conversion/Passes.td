//===- Passes.td - Tessera conversion passes ---------------*- tablegen -*-===//

#ifndef TESSERA_CODEGEN_CONVERSION_PASSES
#define TESSERA_CODEGEN_CONVERSION_PASSES

include "mlir/Pass/PassBase.td"

def ConvertTesseraToLinalgPass : Pass<"tessera-convert-to-linalg", "func::FuncOp"> {
  let summary = "Lower tessera ops to linalg, tensor, arith and math on tensors";
  let description = [{
    Rewrites every tessera op into upstream ops on tensors: elementwise ops
    (with NumPy broadcasting) and contractions become `linalg.generic`,
    reshapes become `tensor.collapse_shape` / `tensor.expand_shape`, slices
    `tensor.extract_slice`, constants `arith.constant`; scatters become
    `scf.for` nests of `tensor.insert`. An op without a
    lowering is reported as "failed to legalize" and the pass fails.

    ```mlir
    %0 = tessera.relu %x : tensor<4xf32>
    // becomes
    %e = tensor.empty() : tensor<4xf32>
    %0 = linalg.generic {...} ins(%x : tensor<4xf32>) outs(%e : tensor<4xf32>) {
    ^bb0(%in: f32, %out: f32):
      %c0 = arith.constant 0.0 : f32
      %m = arith.maximumf %in, %c0 : f32
      linalg.yield %m : f32
    } -> tensor<4xf32>
    ```
  }];
  let options = [
    Option<"keepGathers", "keep-gathers", "bool", "false",
           "Leave tessera.gather on float tensors as it is (a mesh compile "
           "shards it with its own rule, then lowers it after partitioning)">
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::bufferization::BufferizationDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect", "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect"
  ];
}

#endif // TESSERA_CODEGEN_CONVERSION_PASSES
