// RUN: tessera-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(tessera-cpu-conv-to-gemm))' | FileCheck %s
// RUN: tessera-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(tessera-cpu-conv-to-gemm{keep-depthwise=false}))' | FileCheck %s --check-prefix=PART

// Non-overlapping windows (a ViT patch embedding: kernel 4 = stride 4): the
// patches are one reshape and one transpose of the input, no slices.
// CHECK-LABEL: func.func @patches(
// CHECK: %[[S:.+]] = tessera.reshape %{{.+}} : tensor<2x3x8x8xf32> -> tensor<2x3x2x4x2x4xf32>
// CHECK: %[[T:.+]] = tessera.transpose %[[S]] {perm = array<i64: 0, 1, 3, 5, 2, 4>} : tensor<2x3x2x4x2x4xf32> -> tensor<2x3x4x4x2x2xf32>
// CHECK: tessera.reshape %[[T]] : tensor<2x3x4x4x2x2xf32> -> tensor<2x1x48x4xf32>
// CHECK-NOT: tessera.slice
// CHECK: tessera.matmul
func.func @patches(%x: tensor<2x3x8x8xf32>, %w: tensor<5x3x4x4xf32>) -> tensor<2x5x2x2xf32> {
  %0 = tessera.conv %x, %w {strides = array<i64: 4, 4>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 1 : i64} : (tensor<2x3x8x8xf32>, tensor<5x3x4x4xf32>) -> tensor<2x5x2x2xf32>
  return %0 : tensor<2x5x2x2xf32>
}

// -----

// Overlapping windows take one strided slice per kernel offset.
// CHECK-LABEL: func.func @overlapping(
// CHECK-COUNT-4: tessera.slice
// CHECK: tessera.concat
// CHECK-NOT: tessera.transpose
func.func @overlapping(%x: tensor<1x1x5x5xf32>, %w: tensor<1x1x2x2xf32>) -> tensor<1x1x4x4xf32> {
  %0 = tessera.conv %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 1 : i64} : (tensor<1x1x5x5xf32>, tensor<1x1x2x2xf32>) -> tensor<1x1x4x4xf32>
  return %0 : tensor<1x1x4x4xf32>
}

// -----

// Depthwise (a group per channel, one output channel each) is left to the
// direct lowering: no patches, no matmul. Partitioned compiles
// (keep-depthwise=false: partitioning cannot split the direct lowering's
// window reads) take the patches and a one-row matmul per channel.
// CHECK-LABEL: func.func @depthwise(
// CHECK-NOT: tessera.slice
// CHECK: tessera.conv
// CHECK-NOT: tessera.matmul
// PART-LABEL: func.func @depthwise(
// PART: tessera.concat
// PART: tessera.matmul %{{.+}}, %{{.+}} : (tensor<4x1x4xf32>, tensor<1x4x4x16xf32>) -> tensor<1x4x1x16xf32>
// PART-NOT: tessera.conv
func.func @depthwise(%x: tensor<1x4x5x5xf32>, %w: tensor<4x1x2x2xf32>) -> tensor<1x4x4x4xf32> {
  %0 = tessera.conv %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 4 : i64} : (tensor<1x4x5x5xf32>, tensor<4x1x2x2xf32>) -> tensor<1x4x4x4xf32>
  return %0 : tensor<1x4x4x4xf32>
}

// -----

// A batch against a weight larger than an item's patches (few output
// positions, many channels): the batch joins the GEMM's columns, one
// transpose of the patches before and one of the result after.
// CHECK-LABEL: func.func @batch_folded(
// CHECK: %[[P:.+]] = tessera.reshape %{{.+}} : tensor<2x8x9x9xf32> -> tensor<2x1x72x9xf32>
// CHECK: %[[T:.+]] = tessera.transpose %[[P]] {perm = array<i64: 1, 2, 0, 3>} : tensor<2x1x72x9xf32> -> tensor<1x72x2x9xf32>
// CHECK: %[[B:.+]] = tessera.reshape %[[T]] : tensor<1x72x2x9xf32> -> tensor<1x72x18xf32>
// CHECK: %[[M:.+]] = tessera.matmul %{{.+}}, %[[B]] : (tensor<1x16x72xf32>, tensor<1x72x18xf32>) -> tensor<1x16x18xf32>
// CHECK: %[[R:.+]] = tessera.reshape %[[M]] : tensor<1x16x18xf32> -> tensor<1x16x2x9xf32>
// CHECK: tessera.transpose %[[R]] {perm = array<i64: 2, 0, 1, 3>} : tensor<1x16x2x9xf32> -> tensor<2x1x16x9xf32>
func.func @batch_folded(%x: tensor<2x8x3x3xf32>, %w: tensor<16x8x3x3xf32>) -> tensor<2x16x3x3xf32> {
  %0 = tessera.conv %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, group = 1 : i64} : (tensor<2x8x3x3xf32>, tensor<16x8x3x3xf32>) -> tensor<2x16x3x3xf32>
  return %0 : tensor<2x16x3x3xf32>
}
