// RUN: tessera-opt %s | tessera-opt | FileCheck %s
// RUN: tessera-opt %s --mlir-print-op-generic | tessera-opt | FileCheck %s

// CHECK-LABEL: func @elementwise
func.func @elementwise(%x: tensor<2x3xf32>, %y: tensor<3xf32>, %b: tensor<2x3xi1>,
                       %lo: tensor<f32>, %hi: tensor<f32>) -> tensor<2x3xf32> {
  // CHECK: tessera.sqrt %{{.*}} : tensor<2x3xf32>
  %0 = tessera.sqrt %x : tensor<2x3xf32>
  %1 = tessera.exp %0 : tensor<2x3xf32>
  %2 = tessera.log %1 : tensor<2x3xf32>
  %3 = tessera.tanh %2 : tensor<2x3xf32>
  %4 = tessera.erf %3 : tensor<2x3xf32>
  %5 = tessera.sigmoid %4 : tensor<2x3xf32>
  %6 = tessera.relu %5 : tensor<2x3xf32>
  %7 = tessera.reciprocal %6 : tensor<2x3xf32>
  %8 = tessera.floor %7 : tensor<2x3xf32>
  %9 = tessera.ceil %8 : tensor<2x3xf32>
  %10 = tessera.neg %9 : tensor<2x3xf32>
  %11 = tessera.abs %10 : tensor<2x3xf32>
  // CHECK: tessera.leaky_relu %{{.*}} {alpha = 2.000000e-01 : f32} : tensor<2x3xf32>
  %12 = tessera.leaky_relu %11 {alpha = 0.2 : f32} : tensor<2x3xf32>
  %13 = tessera.elu %12 : tensor<2x3xf32>
  // CHECK: tessera.gelu %{{.*}} {tanh_approximation = true} : tensor<2x3xf32>
  %14 = tessera.gelu %13 {tanh_approximation = true} : tensor<2x3xf32>
  // CHECK: tessera.clip %{{.*}} min(%{{.*}} : tensor<f32>) max(%{{.*}} : tensor<f32>) : tensor<2x3xf32>
  %15 = tessera.clip %14 min(%lo : tensor<f32>) max(%hi : tensor<f32>) : tensor<2x3xf32>
  // CHECK: tessera.clip %{{.*}} max(%{{.*}} : tensor<f32>) : tensor<2x3xf32>
  %16 = tessera.clip %15 max(%hi : tensor<f32>) : tensor<2x3xf32>
  // CHECK: tessera.add %{{.*}}, %{{.*}} : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  %17 = tessera.add %16, %y : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  %18 = tessera.sub %17, %y : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  %19 = tessera.mul %18, %y : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  %20 = tessera.div %19, %y : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  %21 = tessera.pow %20, %y : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  %22 = tessera.max %21, %y : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  %23 = tessera.min %22, %y : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  // CHECK: tessera.less %{{.*}}, %{{.*}} : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xi1>
  %c0 = tessera.equal %23, %y : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xi1>
  %c1 = tessera.less %23, %y : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xi1>
  %c2 = tessera.less_equal %23, %y : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xi1>
  %c3 = tessera.greater %23, %y : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xi1>
  %c4 = tessera.greater_equal %23, %y : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xi1>
  %c5 = tessera.and %c0, %c1 : (tensor<2x3xi1>, tensor<2x3xi1>) -> tensor<2x3xi1>
  %c6 = tessera.or %c5, %c2 : (tensor<2x3xi1>, tensor<2x3xi1>) -> tensor<2x3xi1>
  %c7 = tessera.xor %c6, %c3 : (tensor<2x3xi1>, tensor<2x3xi1>) -> tensor<2x3xi1>
  %c8 = tessera.not %c7 : tensor<2x3xi1>
  // CHECK: tessera.where %{{.*}}, %{{.*}}, %{{.*}} : (tensor<2x3xi1>, tensor<2x3xf32>, tensor<f32>) -> tensor<2x3xf32>
  %24 = tessera.where %c8, %23, %lo : (tensor<2x3xi1>, tensor<2x3xf32>, tensor<f32>) -> tensor<2x3xf32>
  // CHECK: tessera.cast %{{.*}} : tensor<2x3xf32> -> tensor<2x3xbf16>
  %25 = tessera.cast %24 : tensor<2x3xf32> -> tensor<2x3xbf16>
  %26 = tessera.cast %25 : tensor<2x3xbf16> -> tensor<2x3xf32>
  // Float8, float4 and 4-bit integers: cast to and from, and moved.
  // CHECK: tessera.cast %{{.*}} {saturate = false} : tensor<2x3xf32> -> tensor<2x3xf8E4M3FN>
  %27 = tessera.cast %26 {saturate = false} : tensor<2x3xf32> -> tensor<2x3xf8E4M3FN>
  // CHECK: tessera.reshape %{{.*}} : tensor<2x3xf8E4M3FN> -> tensor<6xf8E4M3FN>
  %28 = tessera.reshape %27 : tensor<2x3xf8E4M3FN> -> tensor<6xf8E4M3FN>
  %29 = tessera.cast %28 : tensor<6xf8E4M3FN> -> tensor<6xf4E2M1FN>
  %30 = tessera.cast %29 : tensor<6xf4E2M1FN> -> tensor<6xi4>
  return %26 : tensor<2x3xf32>
}

// CHECK-LABEL: func @linear_algebra
func.func @linear_algebra(%a: tensor<8x2x4xf32>, %b: tensor<4x3xf32>, %v: tensor<4xf32>,
                          %g: tensor<3x4xf32>, %c: tensor<3xf32>) {
  // CHECK: tessera.matmul %{{.*}}, %{{.*}} : (tensor<8x2x4xf32>, tensor<4x3xf32>) -> tensor<8x2x3xf32>
  %0 = tessera.matmul %a, %b : (tensor<8x2x4xf32>, tensor<4x3xf32>) -> tensor<8x2x3xf32>
  // CHECK: tessera.matmul %{{.*}}, %{{.*}} : (tensor<4xf32>, tensor<4x3xf32>) -> tensor<3xf32>
  %1 = tessera.matmul %v, %b : (tensor<4xf32>, tensor<4x3xf32>) -> tensor<3xf32>
  // CHECK: tessera.gemm %{{.*}}, %{{.*}}, %{{.*}} {alpha = 5.000000e-01 : f32, trans_b = true}
  %2 = tessera.gemm %g, %g, %c {alpha = 0.5 : f32, trans_b = true} : (tensor<3x4xf32>, tensor<3x4xf32>, tensor<3xf32>) -> tensor<3x3xf32>
  %3 = tessera.gemm %g, %b : (tensor<3x4xf32>, tensor<4x3xf32>) -> tensor<3x3xf32>
  return
}

// CHECK-LABEL: func @conv_pool
func.func @conv_pool(%x: tensor<1x4x8x8xf32>, %w: tensor<8x2x3x3xf32>, %b: tensor<8xf32>) -> tensor<1x8x1x1xf32> {
  // CHECK: tessera.conv %{{.*}}, %{{.*}}, %{{.*}} {dilations = array<i64: 1, 1>, group = 2 : i64, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>}
  // CHECK-SAME: -> tensor<1x8x4x4xf32>
  %0 = tessera.conv %x, %w, %b {strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, group = 2 : i64}
       : (tensor<1x4x8x8xf32>, tensor<8x2x3x3xf32>, tensor<8xf32>) -> tensor<1x8x4x4xf32>
  // CHECK: tessera.max_pool {{.*}} -> tensor<1x8x2x2xf32>
  %1 = tessera.max_pool %0 {kernel_shape = array<i64: 3, 3>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, ceil_mode = true}
       : tensor<1x8x4x4xf32> -> tensor<1x8x2x2xf32>
  %2 = tessera.average_pool %1 {kernel_shape = array<i64: 2, 2>, strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 1, 1>, dilations = array<i64: 1, 1>, count_include_pad = true}
       : tensor<1x8x2x2xf32> -> tensor<1x8x2x2xf32>
  // CHECK: tessera.global_average_pool %{{.*}} : tensor<1x8x2x2xf32> -> tensor<1x8x1x1xf32>
  %3 = tessera.global_average_pool %2 : tensor<1x8x2x2xf32> -> tensor<1x8x1x1xf32>
  return %3 : tensor<1x8x1x1xf32>
}

// CHECK-LABEL: func @normalization
func.func @normalization(%x: tensor<2x8x4xf32>, %p: tensor<8xf32>, %g: tensor<4xf32>) {
  // CHECK: tessera.batch_norm {{.*}} {epsilon = 1.000000e-03 : f32} : tensor<2x8x4xf32>, tensor<8xf32>
  %0 = tessera.batch_norm %x, %p, %p, %p, %p {epsilon = 1.0e-3 : f32} : tensor<2x8x4xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>
  // CHECK: tessera.layer_norm %{{.*}}, %{{.*}}, %{{.*}} {axis = 2 : i64} : tensor<2x8x4xf32>, tensor<4xf32>, tensor<4xf32>
  %1 = tessera.layer_norm %0, %g, %g {axis = 2 : i64} : tensor<2x8x4xf32>, tensor<4xf32>, tensor<4xf32>
  %2 = tessera.layer_norm %1, %g {axis = 2 : i64} : tensor<2x8x4xf32>, tensor<4xf32>
  // CHECK: tessera.softmax %{{.*}} {axis = 1 : i64} : tensor<2x8x4xf32>
  %3 = tessera.softmax %2 {axis = 1 : i64} : tensor<2x8x4xf32>
  %4 = tessera.log_softmax %3 {axis = 2 : i64} : tensor<2x8x4xf32>
  return
}

// CHECK-LABEL: func @reductions
func.func @reductions(%x: tensor<2x8x4xf32>, %i: tensor<5xi64>) {
  // CHECK: tessera.reduce_sum %{{.*}} {axes = array<i64: 1, 2>, keepdims = false} : tensor<2x8x4xf32> -> tensor<2xf32>
  %0 = tessera.reduce_sum %x {axes = array<i64: 1, 2>, keepdims = false} : tensor<2x8x4xf32> -> tensor<2xf32>
  // CHECK: tessera.reduce_mean %{{.*}} {axes = array<i64: 1>} : tensor<2x8x4xf32> -> tensor<2x1x4xf32>
  %1 = tessera.reduce_mean %x {axes = array<i64: 1>} : tensor<2x8x4xf32> -> tensor<2x1x4xf32>
  %2 = tessera.reduce_max %x {axes = array<i64: 0>} : tensor<2x8x4xf32> -> tensor<1x8x4xf32>
  %3 = tessera.reduce_min %x {axes = array<i64: 2>} : tensor<2x8x4xf32> -> tensor<2x8x1xf32>
  %4 = tessera.reduce_prod %i {axes = array<i64: 0>, keepdims = false} : tensor<5xi64> -> tensor<i64>
  return
}

// CHECK-LABEL: func @data_movement
func.func @data_movement(%x: tensor<2x3x4xf32>, %ids: tensor<2x5xi64>, %pv: tensor<f32>) {
  // CHECK: tessera.constant dense<[1, 2]> : tensor<2xi64>
  %c = tessera.constant dense<[1, 2]> : tensor<2xi64>
  // CHECK: tessera.shape %{{.*}} {end = 3 : i64, start = 1 : i64} : tensor<2x3x4xf32> -> tensor<2xi64>
  %s = tessera.shape %x {start = 1 : i64, end = 3 : i64} : tensor<2x3x4xf32> -> tensor<2xi64>
  // CHECK: tessera.reshape %{{.*}} : tensor<2x3x4xf32> -> tensor<6x4xf32>
  %0 = tessera.reshape %x : tensor<2x3x4xf32> -> tensor<6x4xf32>
  // CHECK: tessera.transpose %{{.*}} {perm = array<i64: 2, 0, 1>} : tensor<2x3x4xf32> -> tensor<4x2x3xf32>
  %1 = tessera.transpose %x {perm = array<i64: 2, 0, 1>} : tensor<2x3x4xf32> -> tensor<4x2x3xf32>
  // CHECK: tessera.concat %{{.*}}, %{{.*}} {axis = 1 : i64} : (tensor<2x3x4xf32>, tensor<2x3x4xf32>) -> tensor<2x6x4xf32>
  %2 = tessera.concat %x, %x {axis = 1 : i64} : (tensor<2x3x4xf32>, tensor<2x3x4xf32>) -> tensor<2x6x4xf32>
  // CHECK: tessera.split %{{.*}} {axis = 2 : i64, sizes = array<i64: 1, 3>} : tensor<2x3x4xf32> -> tensor<2x3x1xf32>, tensor<2x3x3xf32>
  %3:2 = tessera.split %x {axis = 2 : i64, sizes = array<i64: 1, 3>} : tensor<2x3x4xf32> -> tensor<2x3x1xf32>, tensor<2x3x3xf32>
  // CHECK: tessera.slice %{{.*}} {sizes = array<i64: 2, 2, 2>, starts = array<i64: 0, 2, 3>, steps = array<i64: 1, -1, -2>}
  %4 = tessera.slice %x {starts = array<i64: 0, 2, 3>, sizes = array<i64: 2, 2, 2>, steps = array<i64: 1, -1, -2>} : tensor<2x3x4xf32> -> tensor<2x2x2xf32>
  // CHECK: tessera.gather %{{.*}}, %{{.*}} {axis = 1 : i64} : (tensor<2x3x4xf32>, tensor<2x5xi64>) -> tensor<2x2x5x4xf32>
  %5 = tessera.gather %x, %ids {axis = 1 : i64} : (tensor<2x3x4xf32>, tensor<2x5xi64>) -> tensor<2x2x5x4xf32>
  // CHECK: tessera.expand %{{.*}} : tensor<2x3x4xf32> -> tensor<5x2x3x4xf32>
  %6 = tessera.expand %x : tensor<2x3x4xf32> -> tensor<5x2x3x4xf32>
  // CHECK: tessera.pad %{{.*}} value %{{.*}} {pads = array<i64: 0, 1, 0, 0, 1, -1>} : tensor<2x3x4xf32>, tensor<f32> -> tensor<2x5x3xf32>
  %7 = tessera.pad %x value %pv {pads = array<i64: 0, 1, 0, 0, 1, -1>} : tensor<2x3x4xf32>, tensor<f32> -> tensor<2x5x3xf32>
  // CHECK: tessera.pad %{{.*}} {mode = "reflect", pads = array<i64: 0, 0, 1, 0, 0, 1>} : tensor<2x3x4xf32> -> tensor<2x3x6xf32>
  %8 = tessera.pad %x {mode = "reflect", pads = array<i64: 0, 0, 1, 0, 0, 1>} : tensor<2x3x4xf32> -> tensor<2x3x6xf32>
  // CHECK: tessera.trilu %{{.*}} {k = -1 : i64, upper = false} : tensor<2x3x4xf32>
  %9 = tessera.trilu %x {upper = false, k = -1 : i64} : tensor<2x3x4xf32>
  return
}

// CHECK-LABEL: func @more_ops
func.func @more_ops(%x: tensor<2x4xf32>, %i: tensor<2x4xi64>, %idx: tensor<2x3xi64>) {
  // CHECK: tessera.sin %{{.*}} : tensor<2x4xf32>
  %0 = tessera.sin %x : tensor<2x4xf32>
  %1 = tessera.cos %0 : tensor<2x4xf32>
  %2 = tessera.round %1 : tensor<2x4xf32>
  // CHECK: tessera.mod %{{.*}}, %{{.*}} {fmod = true} : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
  %3 = tessera.mod %2, %x {fmod = true} : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
  %4 = tessera.mod %i, %i : (tensor<2x4xi64>, tensor<2x4xi64>) -> tensor<2x4xi64>
  // CHECK: tessera.arg_max %{{.*}} {axis = 1 : i64, keepdims = false} : tensor<2x4xf32> -> tensor<2xi64>
  %5 = tessera.arg_max %x {axis = 1 : i64, keepdims = false} : tensor<2x4xf32> -> tensor<2xi64>
  // CHECK: tessera.arg_min %{{.*}} {axis = 0 : i64, select_last_index = true} : tensor<2x4xf32> -> tensor<1x4xi64>
  %6 = tessera.arg_min %x {axis = 0 : i64, select_last_index = true} : tensor<2x4xf32> -> tensor<1x4xi64>
  // CHECK: tessera.gather_elements %{{.*}}, %{{.*}} {axis = 1 : i64} : (tensor<2x4xf32>, tensor<2x3xi64>) -> tensor<2x3xf32>
  %7 = tessera.gather_elements %x, %idx {axis = 1 : i64} : (tensor<2x4xf32>, tensor<2x3xi64>) -> tensor<2x3xf32>
  return
}

// CHECK-LABEL: func @scatter
func.func @scatter(%x: tensor<2x4xf32>, %idx: tensor<2x3xi64>, %u: tensor<2x3xf32>,
                   %nd: tensor<3x1xi32>, %rows: tensor<3x4xf32>, %b: tensor<2x4xi1>,
                   %bu: tensor<1x4xi1>, %bi: tensor<1x4xi64>) {
  // The default reduction is none.
  // CHECK: tessera.scatter_elements %{{.*}}, %{{.*}}, %{{.*}} {axis = 1 : i64} : (tensor<2x4xf32>, tensor<2x3xi64>, tensor<2x3xf32>) -> tensor<2x4xf32>
  %0 = tessera.scatter_elements %x, %idx, %u {axis = 1 : i64} : (tensor<2x4xf32>, tensor<2x3xi64>, tensor<2x3xf32>) -> tensor<2x4xf32>
  // CHECK: tessera.scatter_elements %{{.*}}, %{{.*}}, %{{.*}} {axis = 1 : i64, reduction = "max"}
  %1 = tessera.scatter_elements %0, %idx, %u {axis = 1 : i64, reduction = "max"} : (tensor<2x4xf32>, tensor<2x3xi64>, tensor<2x3xf32>) -> tensor<2x4xf32>
  // Booleans scatter without a reduction.
  // CHECK: tessera.scatter_elements %{{.*}}, %{{.*}}, %{{.*}} {axis = 0 : i64} : (tensor<2x4xi1>, tensor<1x4xi64>, tensor<1x4xi1>) -> tensor<2x4xi1>
  %2 = tessera.scatter_elements %b, %bi, %bu {axis = 0 : i64} : (tensor<2x4xi1>, tensor<1x4xi64>, tensor<1x4xi1>) -> tensor<2x4xi1>
  // CHECK: tessera.scatter_nd %{{.*}}, %{{.*}}, %{{.*}} {reduction = "add"} : (tensor<2x4xf32>, tensor<3x1xi32>, tensor<3x4xf32>) -> tensor<2x4xf32>
  %3 = tessera.scatter_nd %x, %nd, %rows {reduction = "add"} : (tensor<2x4xf32>, tensor<3x1xi32>, tensor<3x4xf32>) -> tensor<2x4xf32>
  return
}

// CHECK-LABEL: func @element_types
func.func @element_types(%a: tensor<4xf16>, %b: tensor<4xf64>, %c: tensor<4xi32>, %d: tensor<4xi8>) {
  // CHECK: tessera.add {{.*}} -> tensor<4xf16>
  %0 = tessera.add %a, %a : (tensor<4xf16>, tensor<4xf16>) -> tensor<4xf16>
  %1 = tessera.mul %b, %b : (tensor<4xf64>, tensor<4xf64>) -> tensor<4xf64>
  %2 = tessera.sub %c, %c : (tensor<4xi32>, tensor<4xi32>) -> tensor<4xi32>
  // CHECK: tessera.relu {{.*}} : tensor<4xi8>
  %3 = tessera.relu %d : tensor<4xi8>
  return
}

// CHECK-LABEL: func @resize
func.func @resize(%x: tensor<1x3x4x4xf32>, %i: tensor<2x5xi64>) {
  // CHECK: tessera.resize %{{.*}} {mode = "linear", scales = array<f64: 1.000000e+00, 1.000000e+00, 2.000000e+00, 2.000000e+00>} : tensor<1x3x4x4xf32> -> tensor<1x3x8x8xf32>
  %0 = tessera.resize %x {mode = "linear", scales = array<f64: 1.0, 1.0, 2.0, 2.0>} : tensor<1x3x4x4xf32> -> tensor<1x3x8x8xf32>
  // CHECK: tessera.resize %{{.*}} {coordinate_transformation_mode = "asymmetric", nearest_mode = "floor", scales = array<f64: 1.000000e+00, 6.000000e-01>} : tensor<2x5xi64> -> tensor<2x3xi64>
  %1 = tessera.resize %i {coordinate_transformation_mode = "asymmetric", nearest_mode = "floor", scales = array<f64: 1.0, 0.6>} : tensor<2x5xi64> -> tensor<2x3xi64>
  // CHECK: tessera.resize %{{.*}} {coordinate_transformation_mode = "tf_crop_and_resize", cubic_coeff_a = -5.000000e-01 : f32, exclude_outside = true, extrapolation_value = 1.000000e+01 : f32, mode = "cubic", roi = array<f64: 0.000000e+00, 0.000000e+00, 0.000000e+00, 4.000000e-01, 1.000000e+00, 1.000000e+00, 1.000000e+00, 6.000000e-01>, scales = array<f64: 1.000000e+00, 1.000000e+00, 7.500000e-01, 1.750000e+00>} : tensor<1x3x4x4xf32> -> tensor<1x3x3x7xf32>
  %2 = tessera.resize %x {mode = "cubic", cubic_coeff_a = -0.5 : f32, exclude_outside = true, coordinate_transformation_mode = "tf_crop_and_resize", extrapolation_value = 10.0 : f32, roi = array<f64: 0.0, 0.0, 0.0, 0.4, 1.0, 1.0, 1.0, 0.6>, scales = array<f64: 1.0, 1.0, 0.75, 1.75>} : tensor<1x3x4x4xf32> -> tensor<1x3x3x7xf32>
  // A size may also round to nearest (sizes with a kept aspect ratio): 1.4 * 4 = 5.6 -> 6.
  // CHECK: tessera.resize %{{.*}} {coordinate_transformation_mode = "half_pixel_symmetric", scales = array<f64: 1.000000e+00, 1.000000e+00, 1.400000e+00, 1.400000e+00>} : tensor<1x3x4x4xf32> -> tensor<1x3x6x5xf32>
  %3 = tessera.resize %x {coordinate_transformation_mode = "half_pixel_symmetric", scales = array<f64: 1.0, 1.0, 1.4, 1.4>} : tensor<1x3x4x4xf32> -> tensor<1x3x6x5xf32>
  return
}
