// RUN: tessera-opt %s --split-input-file --tessera-cpu-depthwise-to-ukernels --canonicalize | FileCheck %s

// The direct lowering of a depthwise 3x3 convolution (stride 2, the input
// padded to 9x9, 4 channels) with its zero fill and the op after it (the
// bias per channel and ReLU6): one call of the microkernel, sizes (n 1,
// c 4, h 9, w 9), input and weight addresses, kernel 3x3, strides 2x2,
// dilations 1x1, the op's output (4x4), the bias, flags 1 (overwrite) and
// the bounds 0 and 6.
#x = affine_map<(n, g, m, oy, c, ky, kx, ox) -> (n, g, c, oy * 2 + ky, ox * 2 + kx)>
#w = affine_map<(n, g, m, oy, c, ky, kx, ox) -> (g, m, c, ky, kx)>
#o = affine_map<(n, g, m, oy, c, ky, kx, ox) -> (n, g, m, oy, ox)>
#id = affine_map<(a, b, c, d) -> (a, b, c, d)>
#chan = affine_map<(a, b, c, d) -> (b, 0, 0)>
// CHECK-LABEL: func.func @dw_bias_relu6
// CHECK-NOT: linalg
// CHECK-DAG: %[[C0:.*]] = arith.constant 0 : index
// CHECK-DAG: %[[C1:.*]] = arith.constant 1 : index
// CHECK-DAG: %[[C2:.*]] = arith.constant 2 : index
// CHECK-DAG: %[[C3:.*]] = arith.constant 3 : index
// CHECK-DAG: %[[C4:.*]] = arith.constant 4 : index
// CHECK-DAG: %[[C9:.*]] = arith.constant 9 : index
// CHECK-DAG: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-DAG: %[[SIX:.*]] = arith.constant 6.000000e+00 : f32
// CHECK-DAG: %[[OUT:.*]] = memref.extract_aligned_pointer_as_index %arg3
// CHECK-DAG: %[[BIAS:.*]] = memref.extract_aligned_pointer_as_index %{{.*}} : memref<4x1x1xf32>
// CHECK: call @tessera_uk_dwconv2d_f32(%[[C1]], %[[C4]], %[[C9]], %[[C9]], %{{.*}}, %{{.*}}, %[[C3]], %[[C3]], %[[C2]], %[[C2]], %[[C1]], %[[C1]], %[[OUT]], %[[C4]], %[[C4]], %[[BIAS]], %[[C1]], %[[ZERO]], %[[SIX]], %[[C0]], %[[C0]], %[[C0]], %[[C0]])
// CHECK-NOT: memref.alloc
// CHECK: func.func private @tessera_uk_dwconv2d_f32(index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, f32, f32, index, index, index, index)
func.func @dw_bias_relu6(%x: memref<1x4x9x9xf32>, %w: memref<4x1x3x3xf32>, %bias: memref<4xf32>,
                         %y: memref<1x4x4x4xf32>) {
  %zero = arith.constant 0.0 : f32
  %six = arith.constant 6.0 : f32
  %x5 = memref.expand_shape %x [[0], [1], [2, 3], [4]] output_shape [1, 4, 1, 9, 9] : memref<1x4x9x9xf32> into memref<1x4x1x9x9xf32>
  %w5 = memref.expand_shape %w [[0], [1], [2, 3], [4]] output_shape [4, 1, 1, 3, 3] : memref<4x1x3x3xf32> into memref<4x1x1x3x3xf32>
  %acc = memref.alloc() : memref<1x4x1x4x4xf32>
  linalg.fill ins(%zero : f32) outs(%acc : memref<1x4x1x4x4xf32>)
  linalg.generic {indexing_maps = [#x, #w, #o],
                  iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction", "parallel"]}
      ins(%x5, %w5 : memref<1x4x1x9x9xf32>, memref<4x1x1x3x3xf32>) outs(%acc : memref<1x4x1x4x4xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %c, %p : f32
    linalg.yield %s : f32
  }
  %acc4 = memref.collapse_shape %acc [[0], [1], [2, 3], [4]] : memref<1x4x1x4x4xf32> into memref<1x4x4x4xf32>
  %b3 = memref.expand_shape %bias [[0, 1, 2]] output_shape [4, 1, 1] : memref<4xf32> into memref<4x1x1xf32>
  linalg.generic {indexing_maps = [#id, #chan, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%acc4, %b3 : memref<1x4x4x4xf32>, memref<4x1x1xf32>) outs(%y : memref<1x4x4x4xf32>) {
  ^bb0(%v: f32, %bv: f32, %o: f32):
    %t = arith.addf %v, %bv : f32
    %lo = arith.maximumf %t, %zero : f32
    %hi = arith.minimumf %lo, %six : f32
    linalg.yield %hi : f32
  }
  return
}

// -----

// Without a fill before it the call accumulates (flags 0) into the
// convolution's own buffer, and no epilogue is taken. Two channels per
// group (not depthwise) stay loops.
#x = affine_map<(n, g, m, oy, c, ky, kx, ox) -> (n, g, c, oy + ky, ox + kx)>
#w = affine_map<(n, g, m, oy, c, ky, kx, ox) -> (g, m, c, ky, kx)>
#o = affine_map<(n, g, m, oy, c, ky, kx, ox) -> (n, g, m, oy, ox)>
// CHECK-LABEL: func.func @kept
// CHECK-DAG: %[[C0:.*]] = arith.constant 0 : index
// CHECK-DAG: %[[ACC:.*]] = memref.extract_aligned_pointer_as_index %arg2
// CHECK: call @tessera_uk_dwconv2d_f32({{.*}}, %[[ACC]], %{{.*}}, %{{.*}}, %[[C0]], %[[C0]], %{{.*}}, %{{.*}}, %[[C0]], %[[C0]], %[[C0]], %[[C0]])
// CHECK: linalg.generic
// CHECK-NOT: linalg.generic
func.func @kept(%x: memref<1x4x1x6x6xf32>, %w: memref<4x1x1x3x3xf32>, %acc: memref<1x4x1x4x4xf32>,
                %x2: memref<1x2x2x6x6xf32>, %w2: memref<2x1x2x3x3xf32>, %acc2: memref<1x2x1x4x4xf32>) {
  linalg.generic {indexing_maps = [#x, #w, #o],
                  iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction", "parallel"]}
      ins(%x, %w : memref<1x4x1x6x6xf32>, memref<4x1x1x3x3xf32>) outs(%acc : memref<1x4x1x4x4xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %c, %p : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#x, #w, #o],
                  iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction", "parallel"]}
      ins(%x2, %w2 : memref<1x2x2x6x6xf32>, memref<2x1x2x3x3xf32>) outs(%acc2 : memref<1x2x1x4x4xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %c, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// The padding before it (a zero fill of the padded buffer, then a copy of
// the 7x7 source into its interior, one row and column in): the call reads
// the source and pads each plane itself (flags 1 + 2; source 7x7, top 1,
// left 1), and the padded buffer goes.
#x = affine_map<(n, g, m, oy, c, ky, kx, ox) -> (n, g, c, oy + ky, ox + kx)>
#w = affine_map<(n, g, m, oy, c, ky, kx, ox) -> (g, m, c, ky, kx)>
#o = affine_map<(n, g, m, oy, c, ky, kx, ox) -> (n, g, m, oy, ox)>
// CHECK-LABEL: func.func @padded
// CHECK-NOT: memref.copy
// CHECK-DAG: %[[C1:.*]] = arith.constant 1 : index
// CHECK-DAG: %[[C3:.*]] = arith.constant 3 : index
// CHECK-DAG: %[[C7:.*]] = arith.constant 7 : index
// CHECK-DAG: %[[C9:.*]] = arith.constant 9 : index
// CHECK-DAG: %[[SRC:.*]] = memref.extract_aligned_pointer_as_index %arg0
// CHECK: call @tessera_uk_dwconv2d_f32(%[[C1]], %{{.*}}, %[[C9]], %[[C9]], %[[SRC]], {{.*}}, %[[C7]], %[[C7]], %{{.*}}, %[[C3]], %{{.*}}, %{{.*}}, %[[C7]], %[[C7]], %[[C1]], %[[C1]])
// CHECK-NOT: linalg
// CHECK-NOT: memref.alloc
func.func @padded(%src: memref<1x4x7x7xf32>, %w: memref<4x1x1x3x3xf32>, %y: memref<1x4x1x7x7xf32>) {
  %zero = arith.constant 0.0 : f32
  %p = memref.alloc() : memref<1x4x9x9xf32>
  linalg.fill ins(%zero : f32) outs(%p : memref<1x4x9x9xf32>)
  %in = memref.subview %p[0, 0, 1, 1] [1, 4, 7, 7] [1, 1, 1, 1] : memref<1x4x9x9xf32> to memref<1x4x7x7xf32, strided<[324, 81, 9, 1], offset: 10>>
  memref.copy %src, %in : memref<1x4x7x7xf32> to memref<1x4x7x7xf32, strided<[324, 81, 9, 1], offset: 10>>
  %x5 = memref.expand_shape %p [[0], [1], [2, 3], [4]] output_shape [1, 4, 1, 9, 9] : memref<1x4x9x9xf32> into memref<1x4x1x9x9xf32>
  linalg.fill ins(%zero : f32) outs(%y : memref<1x4x1x7x7xf32>)
  linalg.generic {indexing_maps = [#x, #w, #o],
                  iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction", "parallel"]}
      ins(%x5, %w : memref<1x4x1x9x9xf32>, memref<4x1x1x3x3xf32>) outs(%y : memref<1x4x1x7x7xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %m = arith.mulf %a, %b : f32
    %s = arith.addf %c, %m : f32
    linalg.yield %s : f32
  }
  return
}
