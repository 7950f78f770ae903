// RUN: tessera-opt %s --split-input-file --canonicalize | FileCheck %s

// The shape arithmetic an exporter emits for x.view(x.size(0), -1) folds
// away: Shape -> Gather -> Unsqueeze -> Concat -> Reshape.
// CHECK-LABEL: func @shape_chain
// CHECK-NOT: tessera.shape
// CHECK-NOT: tessera.gather
// CHECK-NOT: tessera.concat
// CHECK: %[[C:.+]] = tessera.constant dense<[2, 12]> : tensor<2xi64>
// CHECK: return %[[C]]
func.func @shape_chain(%x: tensor<2x3x4xf32>) -> tensor<2xi64> {
  %s = tessera.shape %x {start = 0 : i64, end = 3 : i64} : tensor<2x3x4xf32> -> tensor<3xi64>
  %i0 = tessera.constant dense<0> : tensor<i64>
  %d0 = tessera.gather %s, %i0 {axis = 0 : i64} : (tensor<3xi64>, tensor<i64>) -> tensor<i64>
  %u0 = tessera.reshape %d0 : tensor<i64> -> tensor<1xi64>
  %i12 = tessera.constant dense<[1, 2]> : tensor<2xi64>
  %d12 = tessera.gather %s, %i12 {axis = 0 : i64} : (tensor<3xi64>, tensor<2xi64>) -> tensor<2xi64>
  %p = tessera.reduce_prod %d12 {axes = array<i64: 0>} : tensor<2xi64> -> tensor<1xi64>
  %c = tessera.concat %u0, %p {axis = 0 : i64} : (tensor<1xi64>, tensor<1xi64>) -> tensor<2xi64>
  return %c : tensor<2xi64>
}

// -----

// CHECK-LABEL: func @arith_on_constants
// CHECK-DAG: dense<[5, 7, 9]> : tensor<3xi64>
// CHECK-DAG: dense<-3> : tensor<3xi64>
// CHECK-DAG: dense<[4, 10, 18]> : tensor<3xi64>
// CHECK-DAG: dense<[0, 0, 1]> : tensor<3xi64>
// CHECK-DAG: dense<[1.500000e+00, 3.000000e+00]> : tensor<2xf32>
// CHECK-DAG: dense<[false, true, false]> : tensor<3xi1>
// CHECK-DAG: dense<[4, 5, 6]> : tensor<3xi64>
func.func @arith_on_constants() -> (tensor<3xi64>, tensor<3xi64>, tensor<3xi64>, tensor<3xi64>, tensor<2xf32>, tensor<3xi1>, tensor<3xi64>) {
  %a = tessera.constant dense<[1, 2, 3]> : tensor<3xi64>
  %b = tessera.constant dense<[4, 5, 6]> : tensor<3xi64>
  %f = tessera.constant dense<[3.0, 6.0]> : tensor<2xf32>
  %h = tessera.constant dense<2.0> : tensor<f32>
  %0 = tessera.add %a, %b : (tensor<3xi64>, tensor<3xi64>) -> tensor<3xi64>
  %1 = tessera.sub %a, %b : (tensor<3xi64>, tensor<3xi64>) -> tensor<3xi64>
  %2 = tessera.mul %a, %b : (tensor<3xi64>, tensor<3xi64>) -> tensor<3xi64>
  // Integer division truncates; by a broadcast scalar.
  %three = tessera.constant dense<3> : tensor<i64>
  %3 = tessera.div %a, %three : (tensor<3xi64>, tensor<i64>) -> tensor<3xi64>
  %4 = tessera.div %f, %h : (tensor<2xf32>, tensor<f32>) -> tensor<2xf32>
  %two = tessera.constant dense<2> : tensor<i64>
  %5 = tessera.equal %a, %two : (tensor<3xi64>, tensor<i64>) -> tensor<3xi1>
  %6 = tessera.max %a, %b : (tensor<3xi64>, tensor<3xi64>) -> tensor<3xi64>
  return %0, %1, %2, %3, %4, %5, %6 : tensor<3xi64>, tensor<3xi64>, tensor<3xi64>, tensor<3xi64>, tensor<2xf32>, tensor<3xi1>, tensor<3xi64>
}

// -----

// Division by zero is left for run time.
// CHECK-LABEL: func @no_fold_div_by_zero
// CHECK: tessera.div
func.func @no_fold_div_by_zero() -> tensor<2xi64> {
  %a = tessera.constant dense<[1, 2]> : tensor<2xi64>
  %z = tessera.constant dense<[1, 0]> : tensor<2xi64>
  %0 = tessera.div %a, %z : (tensor<2xi64>, tensor<2xi64>) -> tensor<2xi64>
  return %0 : tensor<2xi64>
}

// -----

// CHECK-LABEL: func @cast_and_where
// CHECK-DAG: dense<[1.000000e+00, -2.000000e+00]> : tensor<2xf32>
// CHECK-DAG: dense<[2, -1]> : tensor<2xi32>
// CHECK-DAG: dense<[7, 2]> : tensor<2xi64>
func.func @cast_and_where() -> (tensor<2xf32>, tensor<2xi32>, tensor<2xi64>) {
  %i = tessera.constant dense<[1, -2]> : tensor<2xi64>
  %0 = tessera.cast %i : tensor<2xi64> -> tensor<2xf32>
  // Float to int truncates toward zero.
  %f = tessera.constant dense<[2.7, -1.5]> : tensor<2xf32>
  %1 = tessera.cast %f : tensor<2xf32> -> tensor<2xi32>
  %c = tessera.constant dense<[true, false]> : tensor<2xi1>
  %x = tessera.constant dense<7> : tensor<i64>
  %y = tessera.constant dense<[1, 2]> : tensor<2xi64>
  %2 = tessera.where %c, %x, %y : (tensor<2xi1>, tensor<i64>, tensor<2xi64>) -> tensor<2xi64>
  return %0, %1, %2 : tensor<2xf32>, tensor<2xi32>, tensor<2xi64>
}

// -----

// CHECK-LABEL: func @data_movement_constants
// CHECK-DAG: dense<{{\[}}[1, 4], [2, 5], [3, 6]]> : tensor<3x2xi64>
// CHECK-DAG: dense<[6, 4]> : tensor<2xi64>
// CHECK-DAG: dense<[3, 1, 2]> : tensor<3xi64>
func.func @data_movement_constants() -> (tensor<3x2xi64>, tensor<2xi64>, tensor<3xi64>) {
  %m = tessera.constant dense<[[1, 2, 3], [4, 5, 6]]> : tensor<2x3xi64>
  %0 = tessera.transpose %m {perm = array<i64: 1, 0>} : tensor<2x3xi64> -> tensor<3x2xi64>
  %v = tessera.reshape %m : tensor<2x3xi64> -> tensor<6xi64>
  %1 = tessera.slice %v {starts = array<i64: 5>, sizes = array<i64: 2>, steps = array<i64: -2>} : tensor<6xi64> -> tensor<2xi64>
  %idx = tessera.constant dense<[-1, 0, 1]> : tensor<3xi64>
  %r = tessera.constant dense<[1, 2, 3]> : tensor<3xi64>
  %2 = tessera.gather %r, %idx {axis = 0 : i64} : (tensor<3xi64>, tensor<3xi64>) -> tensor<3xi64>
  return %0, %1, %2 : tensor<3x2xi64>, tensor<2xi64>, tensor<3xi64>
}

// -----

// Reshape of reshape and transpose of transpose compose; identities vanish.
// CHECK-LABEL: func @compose
// CHECK-SAME: (%[[X:.+]]: tensor<2x3x4xf32>)
// CHECK: %[[R:.+]] = tessera.reshape %[[X]] : tensor<2x3x4xf32> -> tensor<24xf32>
// CHECK: %[[T:.+]] = tessera.transpose %[[X]] {perm = array<i64: 2, 1, 0>}
// CHECK: return %[[R]], %[[T]], %[[X]]
func.func @compose(%x: tensor<2x3x4xf32>) -> (tensor<24xf32>, tensor<4x3x2xf32>, tensor<2x3x4xf32>) {
  %0 = tessera.reshape %x : tensor<2x3x4xf32> -> tensor<6x4xf32>
  %1 = tessera.reshape %0 : tensor<6x4xf32> -> tensor<24xf32>
  %2 = tessera.transpose %x {perm = array<i64: 1, 0, 2>} : tensor<2x3x4xf32> -> tensor<3x2x4xf32>
  %3 = tessera.transpose %2 {perm = array<i64: 2, 0, 1>} : tensor<3x2x4xf32> -> tensor<4x3x2xf32>
  %4 = tessera.transpose %x {perm = array<i64: 0, 1, 2>} : tensor<2x3x4xf32> -> tensor<2x3x4xf32>
  %5 = tessera.slice %4 {starts = array<i64: 0, 0, 0>, sizes = array<i64: 2, 3, 4>, steps = array<i64: 1, 1, 1>} : tensor<2x3x4xf32> -> tensor<2x3x4xf32>
  %6 = tessera.cast %5 : tensor<2x3x4xf32> -> tensor<2x3x4xf32>
  return %1, %3, %6 : tensor<24xf32>, tensor<4x3x2xf32>, tensor<2x3x4xf32>
}

// -----

// CHECK-LABEL: func @unary_and_reduce
// CHECK-DAG: dense<[-1, 2]> : tensor<2xi64>
// CHECK-DAG: dense<[false, true]> : tensor<2xi1>
// CHECK-DAG: dense<[4.000000e+00, 6.000000e+00]> : tensor<2xf32>
// CHECK-DAG: dense<2.500000e+00> : tensor<f32>
// CHECK-DAG: dense<3.000000e+00> : tensor<2x3xf32>
func.func @unary_and_reduce() -> (tensor<2xi64>, tensor<2xi1>, tensor<2xf32>, tensor<f32>, tensor<2x3xf32>) {
  %a = tessera.constant dense<[1, -2]> : tensor<2xi64>
  %0 = tessera.neg %a : tensor<2xi64>
  %b = tessera.constant dense<[true, false]> : tensor<2xi1>
  %1 = tessera.not %b : tensor<2xi1>
  %m = tessera.constant dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>
  %2 = tessera.reduce_sum %m {axes = array<i64: 0>, keepdims = false} : tensor<2x2xf32> -> tensor<2xf32>
  %3 = tessera.reduce_mean %m {axes = array<i64: 0, 1>, keepdims = false} : tensor<2x2xf32> -> tensor<f32>
  %s = tessera.constant dense<3.0> : tensor<1x3xf32>
  %4 = tessera.expand %s : tensor<1x3xf32> -> tensor<2x3xf32>
  return %0, %1, %2, %3, %4 : tensor<2xi64>, tensor<2xi1>, tensor<2xf32>, tensor<f32>, tensor<2x3xf32>
}

// -----

// A resize with scale 1 and unchanged sizes is the identity, unless
// tf_half_pixel_for_nn shifts it or tf_crop_and_resize crops.
// CHECK-LABEL: func @resize_identity
// CHECK-SAME: (%[[X:.+]]: tensor<2x4xf32>)
// CHECK-NOT: tessera.resize {{.*}}"linear"
// CHECK: %[[NN:.+]] = tessera.resize %[[X]] {coordinate_transformation_mode = "tf_half_pixel_for_nn"
// CHECK: %[[CROP:.+]] = tessera.resize %[[X]] {coordinate_transformation_mode = "tf_crop_and_resize"
// CHECK: return %[[X]], %[[NN]], %[[CROP]]
func.func @resize_identity(%x: tensor<2x4xf32>) -> (tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>) {
  %0 = tessera.resize %x {mode = "linear", scales = array<f64: 1.0, 1.0>} : tensor<2x4xf32> -> tensor<2x4xf32>
  %1 = tessera.resize %x {coordinate_transformation_mode = "tf_half_pixel_for_nn", scales = array<f64: 1.0, 1.0>} : tensor<2x4xf32> -> tensor<2x4xf32>
  %2 = tessera.resize %x {coordinate_transformation_mode = "tf_crop_and_resize", roi = array<f64: 0.0, 0.0, 1.0, 0.5>, scales = array<f64: 1.0, 1.0>} : tensor<2x4xf32> -> tensor<2x4xf32>
  return %0, %1, %2 : tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>
}

// -----

// A gather that reads every row once, in order (Hugging Face's attention
// mask through a flattened view), is a reshape; negative indices count
// from the end. Out of order, repeated or partial index lists stay gathers.
// CHECK-LABEL: func @gather_of_iota
// CHECK-NOT: tessera.gather
// CHECK: %[[A:.+]] = tessera.reshape %arg0 : tensor<6x1xi1> -> tensor<2x1x3x1xi1>
// CHECK: %[[B:.+]] = tessera.reshape %arg1 : tensor<2x4x5xf32> -> tensor<2x2x2x5xf32>
// CHECK: return %[[A]], %[[B]]
func.func @gather_of_iota(%m: tensor<6x1xi1>, %x: tensor<2x4x5xf32>)
    -> (tensor<2x1x3x1xi1>, tensor<2x2x2x5xf32>) {
  %i = tessera.constant dense<[[[0, 1, 2]], [[3, 4, 5]]]> : tensor<2x1x3xi64>
  %g = tessera.gather %m, %i {axis = 0 : i64} : (tensor<6x1xi1>, tensor<2x1x3xi64>) -> tensor<2x1x3x1xi1>
  %j = tessera.constant dense<[[0, 1], [2, -1]]> : tensor<2x2xi64>
  %h = tessera.gather %x, %j {axis = 1 : i64} : (tensor<2x4x5xf32>, tensor<2x2xi64>) -> tensor<2x2x2x5xf32>
  return %g, %h : tensor<2x1x3x1xi1>, tensor<2x2x2x5xf32>
}

// -----

// CHECK-LABEL: func @gather_not_iota
// CHECK-COUNT-3: tessera.gather
func.func @gather_not_iota(%x: tensor<4x5xf32>)
    -> (tensor<4x5xf32>, tensor<4x5xf32>, tensor<3x5xf32>) {
  %swap = tessera.constant dense<[1, 0, 2, 3]> : tensor<4xi64>
  %a = tessera.gather %x, %swap {axis = 0 : i64} : (tensor<4x5xf32>, tensor<4xi64>) -> tensor<4x5xf32>
  %rep = tessera.constant dense<[0, 1, 1, 3]> : tensor<4xi64>
  %b = tessera.gather %x, %rep {axis = 0 : i64} : (tensor<4x5xf32>, tensor<4xi64>) -> tensor<4x5xf32>
  %part = tessera.constant dense<[0, 1, 2]> : tensor<3xi64>
  %c = tessera.gather %x, %part {axis = 0 : i64} : (tensor<4x5xf32>, tensor<3xi64>) -> tensor<3x5xf32>
  return %a, %b, %c : tensor<4x5xf32>, tensor<4x5xf32>, tensor<3x5xf32>
}

// -----

// Kᵀ as the dynamo exporter writes it: batch and heads merged, the last two
// dimensions swapped, the merge undone. One transpose of the 4-D tensor.
// CHECK-LABEL: func @transpose_of_merged_dims
// CHECK-NEXT: %[[T:.+]] = tessera.transpose %arg0 {perm = array<i64: 0, 1, 3, 2>} : tensor<2x12x32x64xf32> -> tensor<2x12x64x32xf32>
// CHECK-NEXT: return %[[T]]
func.func @transpose_of_merged_dims(%k: tensor<2x12x32x64xf32>) -> tensor<2x12x64x32xf32> {
  %m = tessera.reshape %k : tensor<2x12x32x64xf32> -> tensor<24x32x64xf32>
  %t = tessera.transpose %m {perm = array<i64: 0, 2, 1>} : tensor<24x32x64xf32> -> tensor<24x64x32xf32>
  %r = tessera.reshape %t : tensor<24x64x32xf32> -> tensor<2x12x64x32xf32>
  return %r : tensor<2x12x64x32xf32>
}

// -----

// Split back differently (or the merged dimension moved): left alone.
// CHECK-LABEL: func @transpose_of_merged_dims_other
// CHECK-COUNT-2: tessera.transpose
func.func @transpose_of_merged_dims_other(%k: tensor<2x12x32x64xf32>)
    -> (tensor<4x6x64x32xf32>, tensor<64x24x32xf32>) {
  %m = tessera.reshape %k : tensor<2x12x32x64xf32> -> tensor<24x32x64xf32>
  %t = tessera.transpose %m {perm = array<i64: 0, 2, 1>} : tensor<24x32x64xf32> -> tensor<24x64x32xf32>
  %r = tessera.reshape %t : tensor<24x64x32xf32> -> tensor<4x6x64x32xf32>
  %u = tessera.transpose %m {perm = array<i64: 2, 0, 1>} : tensor<24x32x64xf32> -> tensor<64x24x32xf32>
  return %r, %u : tensor<4x6x64x32xf32>, tensor<64x24x32xf32>
}
