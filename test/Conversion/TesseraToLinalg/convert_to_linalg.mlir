// RUN: tessera-opt %s --split-input-file --tessera-convert-to-linalg | FileCheck %s

// Broadcasting reads size-1 and missing dimensions through constant or
// dropped map results.
// CHECK-DAG: #[[ID:.+]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[ROW:.+]] = affine_map<(d0, d1) -> (d1)>
// CHECK-DAG: #[[COL:.+]] = affine_map<(d0, d1) -> (d0, 0)>
// CHECK-LABEL: func @broadcast_add
// CHECK-SAME: (%[[A:.+]]: tensor<2x3xf32>, %[[B:.+]]: tensor<3xf32>, %[[C:.+]]: tensor<2x1xf32>)
// CHECK: %[[E:.+]] = tensor.empty() : tensor<2x3xf32>
// CHECK: linalg.generic {indexing_maps = [#[[ID]], #[[ROW]], #[[ID]]], iterator_types = ["parallel", "parallel"]}
// CHECK-SAME: ins(%[[A]], %[[B]] : tensor<2x3xf32>, tensor<3xf32>) outs(%[[E]] : tensor<2x3xf32>)
// CHECK: arith.addf
// CHECK: linalg.generic {indexing_maps = [#[[ID]], #[[COL]], #[[ID]]]
// CHECK: arith.maximumf
func.func @broadcast_add(%a: tensor<2x3xf32>, %b: tensor<3xf32>, %c: tensor<2x1xf32>) -> tensor<2x3xf32> {
  %0 = tessera.add %a, %b : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  %1 = tessera.max %0, %c : (tensor<2x3xf32>, tensor<2x1xf32>) -> tensor<2x3xf32>
  return %1 : tensor<2x3xf32>
}

// -----

// Integer ops use the signed integer forms.
// CHECK-LABEL: func @integer
// CHECK: arith.divsi
// CHECK: arith.cmpi slt
func.func @integer(%a: tensor<4xi64>, %b: tensor<4xi64>) -> tensor<4xi1> {
  %0 = tessera.div %a, %b : (tensor<4xi64>, tensor<4xi64>) -> tensor<4xi64>
  %1 = tessera.less %0, %b : (tensor<4xi64>, tensor<4xi64>) -> tensor<4xi1>
  return %1 : tensor<4xi1>
}

// -----

// A batched matmul with a broadcast batch dimension is one contraction;
// loops (b, m, k, n): the reduction is not innermost.
// CHECK-DAG: #[[L:.+]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
// CHECK-DAG: #[[R:.+]] = affine_map<(d0, d1, d2, d3) -> (d2, d3)>
// CHECK-DAG: #[[O:.+]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>
// CHECK-LABEL: func @matmul
// CHECK: %[[Z:.+]] = linalg.fill
// CHECK: linalg.generic {indexing_maps = [#[[L]], #[[R]], #[[O]]], iterator_types = ["parallel", "parallel", "reduction", "parallel"]}
// CHECK-SAME: outs(%[[Z]] : tensor<8x2x3xf32>)
// CHECK: arith.mulf
// CHECK: arith.addf
func.func @matmul(%a: tensor<8x2x4xf32>, %b: tensor<4x3xf32>) -> tensor<8x2x3xf32> {
  %0 = tessera.matmul %a, %b : (tensor<8x2x4xf32>, tensor<4x3xf32>) -> tensor<8x2x3xf32>
  return %0 : tensor<8x2x3xf32>
}

// -----

// keepdims reductions reduce, then expand the kept unit dimension.
// CHECK-LABEL: func @reduce_mean
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]
// CHECK: arith.addf
// CHECK: tensor.expand_shape {{.*}} {{\[}}[0, 1]] output_shape [2, 1] : tensor<2xf32> into tensor<2x1xf32>
// CHECK: arith.divf
func.func @reduce_mean(%a: tensor<2x8xf32>) -> tensor<2x1xf32> {
  %0 = tessera.reduce_mean %a {axes = array<i64: 1>} : tensor<2x8xf32> -> tensor<2x1xf32>
  return %0 : tensor<2x1xf32>
}

// -----

// CHECK-LABEL: func @data_movement
// CHECK: tensor.collapse_shape %{{.*}} {{\[}}[0, 1], [2]] : tensor<2x3x4xf32> into tensor<6x4xf32>
// CHECK: linalg.transpose ins(%{{.*}} : tensor<2x3x4xf32>) outs(%{{.*}} : tensor<4x2x3xf32>) permutation = [2, 0, 1]
// CHECK: tensor.insert_slice %{{.*}} into %{{.*}}[0, 0, 0] [2, 3, 4] [1, 1, 1]
// CHECK: tensor.insert_slice %{{.*}} into %{{.*}}[0, 3, 0] [2, 3, 4] [1, 1, 1]
// CHECK: tensor.extract_slice %{{.*}}[0, 1, 0] [2, 2, 2] [1, 1, 2]
func.func @data_movement(%x: tensor<2x3x4xf32>) -> (tensor<6x4xf32>, tensor<4x2x3xf32>, tensor<2x6x4xf32>, tensor<2x2x2xf32>) {
  %0 = tessera.reshape %x : tensor<2x3x4xf32> -> tensor<6x4xf32>
  %1 = tessera.transpose %x {perm = array<i64: 2, 0, 1>} : tensor<2x3x4xf32> -> tensor<4x2x3xf32>
  %2 = tessera.concat %x, %x {axis = 1 : i64} : (tensor<2x3x4xf32>, tensor<2x3x4xf32>) -> tensor<2x6x4xf32>
  %3 = tessera.slice %x {starts = array<i64: 0, 1, 0>, sizes = array<i64: 2, 2, 2>, steps = array<i64: 1, 1, 2>} : tensor<2x3x4xf32> -> tensor<2x2x2xf32>
  return %0, %1, %2, %3 : tensor<6x4xf32>, tensor<4x2x3xf32>, tensor<2x6x4xf32>, tensor<2x2x2xf32>
}

// -----

// Negative steps read element by element.
// CHECK-LABEL: func @reverse
// CHECK: linalg.generic
// CHECK: linalg.index 0
// CHECK: tensor.extract
func.func @reverse(%x: tensor<4xf32>) -> tensor<4xf32> {
  %0 = tessera.slice %x {starts = array<i64: 3>, sizes = array<i64: 4>, steps = array<i64: -1>} : tensor<4xf32> -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// Convolution: padded input, explicit group loop, reduction over channels and
// the kernel window inside the output rows, the row innermost; bias added
// after. Loops: n, g, mg, oh, c, kh, kw, ow.
// CHECK-DAG: #[[X:.+]] = affine_map<(d0, d1, d2, d3, d4, d5, d6, d7) -> (d0, d1, d4, d3 * 2 + d5, d7 * 2 + d6)>
// CHECK-DAG: #[[W:.+]] = affine_map<(d0, d1, d2, d3, d4, d5, d6, d7) -> (d1, d2, d4, d5, d6)>
// CHECK-LABEL: func @conv
// CHECK: tensor.pad %{{.*}} low[0, 0, 1, 1] high[0, 0, 1, 1]
// CHECK: tensor.expand_shape {{.*}} into tensor<1x2x2x10x10xf32>
// CHECK: linalg.generic {indexing_maps = [#[[X]], #[[W]], {{.*}}], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction", "parallel"]}
// CHECK: tensor.collapse_shape {{.*}} into tensor<1x4x4x4xf32>
// CHECK: arith.addf
func.func @conv(%x: tensor<1x4x8x8xf32>, %w: tensor<4x2x3x3xf32>, %b: tensor<4xf32>) -> tensor<1x4x4x4xf32> {
  %0 = tessera.conv %x, %w, %b {strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, group = 2 : i64}
       : (tensor<1x4x8x8xf32>, tensor<4x2x3x3xf32>, tensor<4xf32>) -> tensor<1x4x4x4xf32>
  return %0 : tensor<1x4x4x4xf32>
}

// -----

// Max pooling pads with -inf, including the ceil_mode overhang; the window
// extent comes from an empty tensor of the kernel's shape.
// CHECK-LABEL: func @max_pool
// CHECK: %[[NEG:.+]] = arith.constant 0xFF800000 : f32
// CHECK: tensor.pad %{{.*}} low[0, 0, 0, 0] high[0, 0, 1, 1]
// CHECK: tensor.yield %[[NEG]]
// CHECK: %[[WIN:.+]] = tensor.empty() : tensor<3x3xf32>
// CHECK: linalg.generic {{.*}} ins(%{{.*}}, %[[WIN]] : tensor<1x1x5x5xf32>, tensor<3x3xf32>)
// CHECK: arith.maximumf
func.func @max_pool(%x: tensor<1x1x4x4xf32>) -> tensor<1x1x2x2xf32> {
  %0 = tessera.max_pool %x {kernel_shape = array<i64: 3, 3>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, ceil_mode = true}
       : tensor<1x1x4x4xf32> -> tensor<1x1x2x2xf32>
  return %0 : tensor<1x1x2x2xf32>
}

// -----

// Scatter: loops over the updates carry a copy of the data; a negative index
// counts from the end, and an index outside the dimension skips the store.
// CHECK-LABEL: func @scatter_elements
// CHECK-SAME: (%[[D:.+]]: tensor<3x4xf32>, %[[I:.+]]: tensor<3x2xi32>, %[[U:.+]]: tensor<3x2xf32>)
// CHECK: %[[COPY:.+]] = bufferization.alloc_tensor() copy(%[[D]])
// CHECK: scf.for %[[R:.+]] = {{.*}} iter_args(%[[ACC0:.+]] = %[[COPY]])
// CHECK: scf.for %[[C:.+]] = {{.*}} iter_args(%[[ACC:.+]] = %[[ACC0]])
// CHECK: %[[RAW:.+]] = tensor.extract %[[I]][%[[R]], %[[C]]]
// CHECK: %[[IDX:.+]] = arith.index_cast %[[RAW]] : i32 to index
// CHECK: %[[C0:.+]] = arith.constant 0 : index
// CHECK: %[[C4:.+]] = arith.constant 4 : index
// CHECK: %[[NEG:.+]] = arith.cmpi slt, %[[IDX]], %[[C0]]
// CHECK: %[[WRAP:.+]] = arith.addi %[[IDX]], %[[C4]]
// CHECK: %[[J:.+]] = arith.select %[[NEG]], %[[WRAP]], %[[IDX]]
// CHECK: %[[Z:.+]] = arith.constant 0 : index
// CHECK: %[[N:.+]] = arith.constant 4 : index
// CHECK: %[[LO:.+]] = arith.cmpi sge, %[[J]], %[[Z]]
// CHECK: %[[HI:.+]] = arith.cmpi slt, %[[J]], %[[N]]
// CHECK: %[[OK:.+]] = arith.andi %[[LO]], %[[HI]]
// CHECK: scf.if %[[OK]]
// CHECK: %[[NEW:.+]] = tensor.extract %[[U]][%[[R]], %[[C]]]
// CHECK: %[[OLD:.+]] = tensor.extract %[[ACC]][%[[R]], %[[J]]]
// CHECK: %[[SUM:.+]] = arith.mulf %[[OLD]], %[[NEW]]
// CHECK: tensor.insert %[[SUM]] into %[[ACC]][%[[R]], %[[J]]]
// CHECK: } else {
// CHECK: scf.yield %[[ACC]]
func.func @scatter_elements(%d: tensor<3x4xf32>, %i: tensor<3x2xi32>, %u: tensor<3x2xf32>) -> tensor<3x4xf32> {
  %0 = tessera.scatter_elements %d, %i, %u {axis = 1 : i64, reduction = "mul"}
       : (tensor<3x4xf32>, tensor<3x2xi32>, tensor<3x2xf32>) -> tensor<3x4xf32>
  return %0 : tensor<3x4xf32>
}

// -----

// ScatterND checks each index row once, then copies its slice.
// CHECK-LABEL: func @scatter_nd
// CHECK-SAME: (%[[D:.+]]: tensor<4x3x5xf32>, %[[I:.+]]: tensor<2x2xi64>, %[[U:.+]]: tensor<2x5xf32>)
// CHECK: scf.for %[[R:.+]] = {{.*}} iter_args(%[[ACC:.+]] = %{{.*}}) -> (tensor<4x3x5xf32>)
// CHECK: tensor.extract %[[I]][%[[R]], %{{.*}}] : tensor<2x2xi64>
// CHECK: %[[OK0:.+]] = arith.andi
// CHECK: tensor.extract %[[I]][%[[R]], %{{.*}}] : tensor<2x2xi64>
// CHECK: %[[OK1:.+]] = arith.andi
// CHECK-NEXT: %[[OK:.+]] = arith.andi %[[OK0]], %[[OK1]] : i1
// CHECK-NEXT: scf.if %[[OK]]
// CHECK: scf.for %[[K:.+]] = {{.*}} iter_args(%[[IN:.+]] = %[[ACC]])
// CHECK: %[[V:.+]] = tensor.extract %[[U]][%[[R]], %[[K]]]
// CHECK: tensor.insert %[[V]] into %[[IN]][%{{.*}}, %{{.*}}, %[[K]]]
func.func @scatter_nd(%d: tensor<4x3x5xf32>, %i: tensor<2x2xi64>, %u: tensor<2x5xf32>) -> tensor<4x3x5xf32> {
  %0 = tessera.scatter_nd %d, %i, %u : (tensor<4x3x5xf32>, tensor<2x2xi64>, tensor<2x5xf32>) -> tensor<4x3x5xf32>
  return %0 : tensor<4x3x5xf32>
}

// -----

// Nearest resize: one read at the rounded, clamped source index of each
// resized dimension; unchanged dimensions read linalg.index directly.
// CHECK-LABEL: func @resize_nearest
// CHECK-SAME: (%[[X:.+]]: tensor<1x2x4xf32>)
// CHECK: linalg.generic
// CHECK-DAG: %[[N:.+]] = linalg.index 0
// CHECK-DAG: %[[C:.+]] = linalg.index 1
// CHECK: linalg.index 2
// CHECK: arith.divf %{{.*}}, %{{.*}} : f64
// CHECK: math.floor
// CHECK: arith.cmpf oge
// CHECK: arith.maxsi
// CHECK: %[[W:.+]] = arith.minsi
// CHECK: %[[V:.+]] = tensor.extract %[[X]][%[[N]], %[[C]], %[[W]]]
// CHECK-NOT: tensor.extract
// CHECK: linalg.yield %[[V]] : f32
func.func @resize_nearest(%x: tensor<1x2x4xf32>) -> tensor<1x2x6xf32> {
  %0 = tessera.resize %x {coordinate_transformation_mode = "asymmetric", nearest_mode = "round_prefer_ceil", scales = array<f64: 1.0, 1.0, 1.5>} : tensor<1x2x4xf32> -> tensor<1x2x6xf32>
  return %0 : tensor<1x2x6xf32>
}

// -----

// Linear resize of two dimensions: 4 corners, weights in f64, the sum
// truncated to the element type.
// CHECK-LABEL: func @resize_linear
// CHECK: linalg.generic
// CHECK-COUNT-4: tensor.extract
// CHECK: arith.addf %{{.*}}, %{{.*}} : f64
// CHECK: %[[R:.+]] = arith.truncf %{{.*}} : f64 to f16
// CHECK: linalg.yield %[[R]] : f16
func.func @resize_linear(%x: tensor<2x4xf16>) -> tensor<4x8xf16> {
  %0 = tessera.resize %x {mode = "linear", scales = array<f64: 2.0, 2.0>} : tensor<2x4xf16> -> tensor<4x8xf16>
  return %0 : tensor<4x8xf16>
}

// -----

// Cubic reads 4 neighbours per dimension; tf_crop_and_resize selects
// extrapolation_value where the coordinate leaves the input.
// CHECK-LABEL: func @resize_cubic_crop
// CHECK: linalg.generic
// CHECK: arith.cmpf olt
// CHECK: arith.cmpf ogt
// CHECK-COUNT-4: tensor.extract
// CHECK-NOT: tensor.extract
// CHECK: %[[FILL:.+]] = arith.constant 1.000000e+01 : f32
// CHECK: arith.select %{{.*}}, %[[FILL]], %{{.*}} : f32
func.func @resize_cubic_crop(%x: tensor<3x4xf32>) -> tensor<3x3xf32> {
  %0 = tessera.resize %x {mode = "cubic", coordinate_transformation_mode = "tf_crop_and_resize", extrapolation_value = 10.0 : f32, roi = array<f64: 0.0, 0.2, 1.0, 0.9>, scales = array<f64: 1.0, 0.75>} : tensor<3x4xf32> -> tensor<3x3xf32>
  return %0 : tensor<3x3xf32>
}
