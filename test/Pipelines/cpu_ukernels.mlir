// RUN: tessera-opt %s --split-input-file --tessera-cpu-contractions-to-ukernels --canonicalize | FileCheck %s

// A batched matmul against a shared B: sizes (batch 2, m 8, n 4, k 16),
// then each operand's address and element strides (batch..., row, column);
// B's batch stride is 0 (broadcast).
#mA = affine_map<(b, m, k, n) -> (b, m, k)>
#mB = affine_map<(b, m, k, n) -> (k, n)>
#mC = affine_map<(b, m, k, n) -> (b, m, n)>
// CHECK-LABEL: func.func @bmm
// CHECK-DAG: %[[C0:.*]] = arith.constant 0 : index
// CHECK-DAG: %[[C1:.*]] = arith.constant 1 : index
// CHECK-DAG: %[[C2:.*]] = arith.constant 2 : index
// CHECK-DAG: %[[C4:.*]] = arith.constant 4 : index
// CHECK-DAG: %[[C8:.*]] = arith.constant 8 : index
// CHECK-DAG: %[[C16:.*]] = arith.constant 16 : index
// CHECK-DAG: %[[C32:.*]] = arith.constant 32 : index
// CHECK-DAG: %[[C128:.*]] = arith.constant 128 : index
// CHECK-DAG: %[[A:.*]] = memref.extract_aligned_pointer_as_index %arg0
// CHECK-DAG: %[[B:.*]] = memref.extract_aligned_pointer_as_index %arg1
// CHECK-DAG: %[[C:.*]] = memref.extract_aligned_pointer_as_index %arg2
// CHECK: call @tessera_uk_sgemm_f32(%[[C2]], %[[C1]], %[[C1]], %[[C8]], %[[C4]], %[[C16]], %[[A]], %[[C128]], %[[C0]], %[[C0]], %[[C16]], %[[C1]], %[[B]], %[[C0]], %[[C0]], %[[C0]], %[[C4]], %[[C1]], %[[C]], %[[C32]], %[[C0]], %[[C0]], %[[C4]], %[[C1]])
// CHECK-NOT: linalg.generic
// CHECK: func.func private @tessera_uk_sgemm_f32(index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index)
func.func @bmm(%a: memref<2x8x16xf32>, %b: memref<16x4xf32>, %c: memref<2x8x4xf32>) {
  linalg.generic {indexing_maps = [#mA, #mB, #mC], iterator_types = ["parallel", "parallel", "reduction", "parallel"]}
      ins(%a, %b : memref<2x8x16xf32>, memref<16x4xf32>) outs(%c : memref<2x8x4xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// A transposed B (read [n, k]) and a strided view of C: B's strides are
// (k 1, n 8), C's row stride is the parent's 10.
#t0 = affine_map<(m, n, k) -> (m, k)>
#t1 = affine_map<(m, n, k) -> (n, k)>
#t2 = affine_map<(m, n, k) -> (m, n)>
// CHECK-LABEL: func.func @transposed
// CHECK-DAG: %[[C3:.*]] = arith.constant 3 : index
// CHECK-DAG: %[[C8:.*]] = arith.constant 8 : index
// CHECK-DAG: %[[C10:.*]] = arith.constant 10 : index
// CHECK: call @tessera_uk_sgemm_f32(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[C3]], %[[C8]], %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[C8]], %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[C8]], %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[C10]], %{{.*}})
func.func @transposed(%a: memref<5x8xf32>, %b: memref<3x8xf32>, %c: memref<5x10xf32>) {
  %v = memref.subview %c[0, 2] [5, 3] [1, 1] : memref<5x10xf32> to memref<5x3xf32, strided<[10, 1], offset: 2>>
  linalg.generic {indexing_maps = [#t0, #t1, #t2], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %b : memref<5x8xf32>, memref<3x8xf32>) outs(%v : memref<5x3xf32, strided<[10, 1], offset: 2>>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %p, %acc : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// Not contractions the microkernel runs: integers, a max-plus body, two
// reduction loops. They stay linalg.
#m0 = affine_map<(m, n, k) -> (m, k)>
#m1 = affine_map<(m, n, k) -> (k, n)>
#m2 = affine_map<(m, n, k) -> (m, n)>
// CHECK-LABEL: func.func @kept
// CHECK-NOT: call
// CHECK-COUNT-3: linalg.generic
// CHECK-NOT: func.func private @tessera_uk_sgemm_f32
func.func @kept(%ai: memref<4x4xi32>, %ci: memref<4x4xi32>, %a: memref<4x4xf32>, %c: memref<4x4xf32>,
                %a3: memref<4x4x4xf32>, %b3: memref<4x4x4xf32>, %c3: memref<4x4xf32>) {
  linalg.generic {indexing_maps = [#m0, #m1, #m2], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%ai, %ai : memref<4x4xi32>, memref<4x4xi32>) outs(%ci : memref<4x4xi32>) {
  ^bb0(%x: i32, %y: i32, %acc: i32):
    %p = arith.muli %x, %y : i32
    %s = arith.addi %acc, %p : i32
    linalg.yield %s : i32
  }
  linalg.generic {indexing_maps = [#m0, #m1, #m2], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %a : memref<4x4xf32>, memref<4x4xf32>) outs(%c : memref<4x4xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.addf %x, %y : f32
    %s = arith.maximumf %acc, %p : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [affine_map<(m, n, k, l) -> (m, k, l)>, affine_map<(m, n, k, l) -> (k, l, n)>, affine_map<(m, n, k, l) -> (m, n)>],
                  iterator_types = ["parallel", "parallel", "reduction", "reduction"]}
      ins(%a3, %b3 : memref<4x4x4xf32>, memref<4x4x4xf32>) outs(%c3 : memref<4x4xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}
