// RUN: tessera-opt %s --split-input-file --tessera-cpu-maxpool-to-ukernels --canonicalize | FileCheck %s

// ResNet's stem pool on buffers (3x3, stride 2, the input padded with -inf
// to 10x10 by a fill and a copy into the interior): one call of the
// microkernel on the unpadded input, sizes (planes 4, 8x8 input, top and
// left padding 1), kernel 3x3, strides 2x2, dilations 1x1, the output
// (4x4). The padded buffer, its fill, the copy and the output's -inf fill
// are gone.
#x = affine_map<(n, c, oy, ox, ky, kx) -> (n, c, oy * 2 + ky, ox * 2 + kx)>
#k = affine_map<(n, c, oy, ox, ky, kx) -> (ky, kx)>
#o = affine_map<(n, c, oy, ox, ky, kx) -> (n, c, oy, ox)>
// CHECK-LABEL: func.func @stem_pool
// CHECK-NOT: linalg
// CHECK-NOT: memref.copy
// CHECK-DAG: %[[C1:.*]] = arith.constant 1 : index
// CHECK-DAG: %[[C2:.*]] = arith.constant 2 : index
// CHECK-DAG: %[[C3:.*]] = arith.constant 3 : index
// CHECK-DAG: %[[C4:.*]] = arith.constant 4 : index
// CHECK-DAG: %[[C8:.*]] = arith.constant 8 : index
// CHECK-DAG: %[[SRC:.*]] = memref.extract_aligned_pointer_as_index %arg0
// CHECK-DAG: %[[OUT:.*]] = memref.extract_aligned_pointer_as_index %arg1
// CHECK: call @tessera_uk_maxpool2d_f32(%[[C4]], %[[C8]], %[[C8]], %[[SRC]], %[[C1]], %[[C1]], %[[C3]], %[[C3]], %[[C2]], %[[C2]], %[[C1]], %[[C1]], %[[OUT]], %[[C4]], %[[C4]])
// CHECK-NOT: memref.alloc
// CHECK: func.func private @tessera_uk_maxpool2d_f32(index, index, index, index, index, index, index, index, index, index, index, index, index, index, index)
func.func @stem_pool(%x: memref<1x4x8x8xf32>, %y: memref<1x4x4x4xf32>) {
  %ninf = arith.constant 0xFF800000 : f32
  %p = memref.alloc() : memref<1x4x10x10xf32>
  linalg.fill ins(%ninf : f32) outs(%p : memref<1x4x10x10xf32>)
  %in = memref.subview %p[0, 0, 1, 1] [1, 4, 8, 8] [1, 1, 1, 1]
      : memref<1x4x10x10xf32> to memref<1x4x8x8xf32, strided<[400, 100, 10, 1], offset: 11>>
  memref.copy %x, %in : memref<1x4x8x8xf32> to memref<1x4x8x8xf32, strided<[400, 100, 10, 1], offset: 11>>
  %win = memref.alloc() : memref<3x3xf32>
  linalg.fill ins(%ninf : f32) outs(%y : memref<1x4x4x4xf32>)
  linalg.generic {indexing_maps = [#x, #k, #o],
                  iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction"]}
      ins(%p, %win : memref<1x4x10x10xf32>, memref<3x3xf32>) outs(%y : memref<1x4x4x4xf32>) {
  ^bb0(%in0: f32, %w: f32, %acc: f32):
    %m = arith.maximumf %acc, %in0 : f32
    linalg.yield %m : f32
  }
  return
}

// -----

// A padded input the call cannot take over (padded with zeros, not -inf):
// the call reads the padded buffer as it is (no padding: top and left 0).
#x = affine_map<(n, c, oy, ox, ky, kx) -> (n, c, oy + ky, ox + kx)>
#k = affine_map<(n, c, oy, ox, ky, kx) -> (ky, kx)>
#o = affine_map<(n, c, oy, ox, ky, kx) -> (n, c, oy, ox)>
// CHECK-LABEL: func.func @zero_padded
// CHECK-DAG: %[[C0:.*]] = arith.constant 0 : index
// CHECK-DAG: %[[C6:.*]] = arith.constant 6 : index
// CHECK: memref.copy
// CHECK: call @tessera_uk_maxpool2d_f32(%{{.*}}, %[[C6]], %[[C6]], %{{.*}}, %[[C0]], %[[C0]],
func.func @zero_padded(%x: memref<1x2x4x4xf32>, %y: memref<1x2x4x4xf32>) {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %p = memref.alloc() : memref<1x2x6x6xf32>
  linalg.fill ins(%zero : f32) outs(%p : memref<1x2x6x6xf32>)
  %in = memref.subview %p[0, 0, 1, 1] [1, 2, 4, 4] [1, 1, 1, 1]
      : memref<1x2x6x6xf32> to memref<1x2x4x4xf32, strided<[72, 36, 6, 1], offset: 7>>
  memref.copy %x, %in : memref<1x2x4x4xf32> to memref<1x2x4x4xf32, strided<[72, 36, 6, 1], offset: 7>>
  %win = memref.alloc() : memref<3x3xf32>
  linalg.fill ins(%ninf : f32) outs(%y : memref<1x2x4x4xf32>)
  linalg.generic {indexing_maps = [#x, #k, #o],
                  iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction"]}
      ins(%p, %win : memref<1x2x6x6xf32>, memref<3x3xf32>) outs(%y : memref<1x2x4x4xf32>) {
  ^bb0(%in0: f32, %w: f32, %acc: f32):
    %m = arith.maximumf %acc, %in0 : f32
    linalg.yield %m : f32
  }
  return
}

// -----

// Without the -inf fill of the output just before it, the pool would
// take the maximum with what the output held: left as it is.
#x = affine_map<(n, c, oy, ox, ky, kx) -> (n, c, oy + ky, ox + kx)>
#k = affine_map<(n, c, oy, ox, ky, kx) -> (ky, kx)>
#o = affine_map<(n, c, oy, ox, ky, kx) -> (n, c, oy, ox)>
// CHECK-LABEL: func.func @no_fill
// CHECK-NOT: call
// CHECK: linalg.generic
func.func @no_fill(%x: memref<1x2x6x6xf32>, %y: memref<1x2x4x4xf32>) {
  %win = memref.alloc() : memref<3x3xf32>
  linalg.generic {indexing_maps = [#x, #k, #o],
                  iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction"]}
      ins(%x, %win : memref<1x2x6x6xf32>, memref<3x3xf32>) outs(%y : memref<1x2x4x4xf32>) {
  ^bb0(%in0: f32, %w: f32, %acc: f32):
    %m = arith.maximumf %acc, %in0 : f32
    linalg.yield %m : f32
  }
  return
}
