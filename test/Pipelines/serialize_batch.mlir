// RUN: tessera-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(tessera-cpu-serialize-batch{min-batch-bytes=0}))' | FileCheck %s
// RUN: tessera-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(tessera-cpu-serialize-batch))' | FileCheck %s --check-prefix=DEFAULT

// A CNN: the convolution, ReLU, pooling and flattening run item by item;
// the classifier (one row per item against a 6x10 weight) runs on the
// batch after the loop, which carries the flattened features.
// CHECK-LABEL: func.func @cnn(
// CHECK-SAME: %[[X:[a-z0-9]+]]: tensor<4x3x8x8xf32>
// CHECK: %[[INIT:.+]] = tensor.empty() : tensor<4x6xf32>
// CHECK-DAG: %[[C0:.+]] = arith.constant 0 : index
// CHECK-DAG: %[[C1:.+]] = arith.constant 1 : index
// CHECK-DAG: %[[C4:.+]] = arith.constant 4 : index
// CHECK: %[[LOOP:.+]] = scf.for %[[I:.+]] = %[[C0]] to %[[C4]] step %[[C1]] iter_args(%[[ACC:.+]] = %[[INIT]]) -> (tensor<4x6xf32>) {
// CHECK: %[[ITEM:.+]] = tensor.extract_slice %[[X]][%[[I]], 0, 0, 0] [1, 3, 8, 8] [1, 1, 1, 1] : tensor<4x3x8x8xf32> to tensor<1x3x8x8xf32>
// CHECK: %[[C:.+]] = tessera.conv %[[ITEM]], {{.*}} -> tensor<1x6x8x8xf32>
// CHECK: %[[R:.+]] = tessera.relu %[[C]] : tensor<1x6x8x8xf32>
// CHECK: %[[P:.+]] = tessera.global_average_pool %[[R]] : tensor<1x6x8x8xf32> -> tensor<1x6x1x1xf32>
// CHECK: %[[F:.+]] = tessera.reshape %[[P]] : tensor<1x6x1x1xf32> -> tensor<1x6xf32>
// CHECK: %[[INS:.+]] = tensor.insert_slice %[[F]] into %[[ACC]][%[[I]], 0] [1, 6] [1, 1] : tensor<1x6xf32> into tensor<4x6xf32>
// CHECK: scf.yield %[[INS]] : tensor<4x6xf32>
// CHECK: } {tessera.batch_serial}
// CHECK: %[[Y:.+]] = tessera.gemm %[[LOOP]], {{.*}} -> tensor<4x10xf32>
// CHECK: return %[[Y]]
// Under the default min-batch-bytes (4 MiB) its 6 KiB batch runs at once.
// DEFAULT-LABEL: func.func @cnn(
// DEFAULT-NOT: scf.for
// DEFAULT: return
func.func @cnn(%x: tensor<4x3x8x8xf32>, %w: tensor<6x3x3x3xf32>, %b: tensor<6xf32>,
               %fc: tensor<10x6xf32>, %fcb: tensor<10xf32>) -> tensor<4x10xf32> {
  %c = tessera.conv %x, %w, %b {strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, group = 1 : i64} : (tensor<4x3x8x8xf32>, tensor<6x3x3x3xf32>, tensor<6xf32>) -> tensor<4x6x8x8xf32>
  %r = tessera.relu %c : tensor<4x6x8x8xf32>
  %p = tessera.global_average_pool %r : tensor<4x6x8x8xf32> -> tensor<4x6x1x1xf32>
  %f = tessera.reshape %p : tensor<4x6x1x1xf32> -> tensor<4x6xf32>
  %y = tessera.gemm %f, %fc, %fcb {trans_b = true} : (tensor<4x6xf32>, tensor<10x6xf32>, tensor<10xf32>) -> tensor<4x10xf32>
  return %y : tensor<4x10xf32>
}

// -----

// A batch whose activations reach 8 MiB (2 x 16 x 256 x 256 floats) is
// serialized under the default threshold too.
// DEFAULT-LABEL: func.func @large(
// DEFAULT: scf.for
// DEFAULT: tessera.conv {{.*}} -> tensor<1x16x256x256xf32>
// DEFAULT: } {tessera.batch_serial}
func.func @large(%x: tensor<2x3x256x256xf32>, %w: tensor<16x3x3x3xf32>) -> tensor<2x16x256x256xf32> {
  %c = tessera.conv %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, group = 1 : i64} : (tensor<2x3x256x256xf32>, tensor<16x3x3x3xf32>) -> tensor<2x16x256x256xf32>
  %r = tessera.relu %c : tensor<2x16x256x256xf32>
  return %r : tensor<2x16x256x256xf32>
}

// -----

// The loop stops at the first op that is not item-wise (a transpose that
// moves the batch dimension); each value read after the loop (the
// convolution's by the transpose, the ReLU's by the return) is carried.
// CHECK-LABEL: func.func @two_outputs(
// CHECK: %[[E0:.+]] = tensor.empty() : tensor<2x6x4x4xf32>
// CHECK: %[[E1:.+]] = tensor.empty() : tensor<2x6x4x4xf32>
// CHECK: %[[LOOP:.+]]:2 = scf.for {{.*}} iter_args(%{{.+}} = %[[E0]], %{{.+}} = %[[E1]]) -> (tensor<2x6x4x4xf32>, tensor<2x6x4x4xf32>)
// CHECK: tessera.conv {{.*}} -> tensor<1x6x4x4xf32>
// CHECK: tessera.relu {{.*}} : tensor<1x6x4x4xf32>
// CHECK-COUNT-2: tensor.insert_slice
// CHECK: } {tessera.batch_serial}
// CHECK: %[[T:.+]] = tessera.transpose %[[LOOP]]#0 {{.*}} : tensor<2x6x4x4xf32> -> tensor<6x2x4x4xf32>
// CHECK: return %[[LOOP]]#1, %[[T]]
func.func @two_outputs(%x: tensor<2x3x4x4xf32>, %w: tensor<6x3x1x1xf32>) -> (tensor<2x6x4x4xf32>, tensor<6x2x4x4xf32>) {
  %c = tessera.conv %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 1 : i64} : (tensor<2x3x4x4xf32>, tensor<6x3x1x1xf32>) -> tensor<2x6x4x4xf32>
  %r = tessera.relu %c : tensor<2x6x4x4xf32>
  %t = tessera.transpose %c {perm = array<i64: 1, 0, 2, 3>} : tensor<2x6x4x4xf32> -> tensor<6x2x4x4xf32>
  return %r, %t : tensor<2x6x4x4xf32>, tensor<6x2x4x4xf32>
}

// -----

// An operand that is not batched but spans the batch dimension (a
// constant with a leading 2) would need its own slice per item: the loop
// stops before the add that reads it.
// CHECK-LABEL: func.func @spans_batch(
// CHECK: scf.for
// CHECK: tessera.conv
// CHECK-NOT: tessera.add
// CHECK: } {tessera.batch_serial}
// CHECK: tessera.add {{.*}} : (tensor<2x6x4x4xf32>, tensor<2x1x1x1xf32>) -> tensor<2x6x4x4xf32>
func.func @spans_batch(%x: tensor<2x3x4x4xf32>, %w: tensor<6x3x1x1xf32>) -> tensor<2x6x4x4xf32> {
  %k = tessera.constant dense<[[[[1.0]]], [[[2.0]]]]> : tensor<2x1x1x1xf32>
  %c = tessera.conv %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 1 : i64} : (tensor<2x3x4x4xf32>, tensor<6x3x1x1xf32>) -> tensor<2x6x4x4xf32>
  %y = tessera.add %c, %k : (tensor<2x6x4x4xf32>, tensor<2x1x1x1xf32>) -> tensor<2x6x4x4xf32>
  return %y : tensor<2x6x4x4xf32>
}

// -----

// No convolution (a transformer's batched GEMMs read their weights once
// per batch): unchanged.
// CHECK-LABEL: func.func @no_conv(
// CHECK-NOT: scf.for
// CHECK: tessera.matmul {{.*}} -> tensor<2x16x8xf32>
func.func @no_conv(%x: tensor<2x16x4xf32>, %w: tensor<4x8xf32>) -> tensor<2x16x8xf32> {
  %y = tessera.matmul %x, %w : (tensor<2x16x4xf32>, tensor<4x8xf32>) -> tensor<2x16x8xf32>
  %r = tessera.relu %y : tensor<2x16x8xf32>
  return %r : tensor<2x16x8xf32>
}

// -----

// A batched operand of lower rank than the result (an input [2, 1, 4]
// with the batch's size, broadcast along the result's channels) would put
// its leading dimension on the channels: the loop stops before it.
// CHECK-LABEL: func.func @lower_rank(
// CHECK: scf.for
// CHECK: tessera.conv
// CHECK: tessera.conv {{.*}} -> tensor<1x2x4x4xf32>
// CHECK-NOT: tessera.add
// CHECK: } {tessera.batch_serial}
// CHECK: tessera.add {{.*}} : (tensor<2x2x4x4xf32>, tensor<2x1x4xf32>) -> tensor<2x2x4x4xf32>
func.func @lower_rank(%x: tensor<2x3x4x4xf32>, %y: tensor<2x1x4xf32>, %w: tensor<5x3x1x1xf32>) -> tensor<2x2x4x4xf32> {
  %w2 = tessera.constant dense<1.0> : tensor<2x5x1x1xf32>
  %c = tessera.conv %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 1 : i64} : (tensor<2x3x4x4xf32>, tensor<5x3x1x1xf32>) -> tensor<2x5x4x4xf32>
  %d = tessera.conv %c, %w2 {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 1 : i64} : (tensor<2x5x4x4xf32>, tensor<2x5x1x1xf32>) -> tensor<2x2x4x4xf32>
  %z = tessera.add %d, %y : (tensor<2x2x4x4xf32>, tensor<2x1x4xf32>) -> tensor<2x2x4x4xf32>
  return %z : tensor<2x2x4x4xf32>
}

// -----

// A convolution onto a 7x7 map (49 rows per item, under 64) against a
// weight larger than the item's data (k * n = 256 * 128 > 49 * (256 +
// 128)) ends the loop: ResNet-50's last stage runs on the batch. The one
// before it, onto an 8x8 map (64 rows), runs item by item.
// CHECK-LABEL: func.func @late_stage(
// CHECK: scf.for
// CHECK: tessera.conv {{.*}} -> tensor<1x64x8x8xf32>
// CHECK-NOT: tessera.conv
// CHECK: } {tessera.batch_serial}
// CHECK: tessera.conv {{.*}} -> tensor<2x128x7x7xf32>
func.func @late_stage(%x: tensor<2x64x16x16xf32>, %w1: tensor<64x64x3x3xf32>, %w2: tensor<128x64x2x2xf32>) -> tensor<2x128x7x7xf32> {
  %c = tessera.conv %x, %w1 {strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, group = 1 : i64} : (tensor<2x64x16x16xf32>, tensor<64x64x3x3xf32>) -> tensor<2x64x8x8xf32>
  %d = tessera.conv %c, %w2 {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 1 : i64} : (tensor<2x64x8x8xf32>, tensor<128x64x2x2xf32>) -> tensor<2x128x7x7xf32>
  return %d : tensor<2x128x7x7xf32>
}
