// RUN: tessera-opt %s --tessera-cpu-pipeline | FileCheck %s --implicit-check-not=tessera. --implicit-check-not=linalg. --implicit-check-not=memref. --implicit-check-not=tensor.

// The CPU pipeline leaves only the LLVM dialect; erf is a libm call.
// CHECK: llvm.func @erff(f32) -> f32
// CHECK-LABEL: llvm.func @main
// CHECK: llvm.call @erff
func.func @main(%x: tensor<4x8xf32>, %w: tensor<8x2xf32>) -> tensor<4x2xf32> {
  %0 = tessera.matmul %x, %w : (tensor<4x8xf32>, tensor<8x2xf32>) -> tensor<4x2xf32>
  %1 = tessera.erf %0 : tensor<4x2xf32>
  return %1 : tensor<4x2xf32>
}
