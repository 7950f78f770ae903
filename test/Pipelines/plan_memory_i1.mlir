// RUN: tessera-opt %s --tessera-cpu-plan-memory | FileCheck %s

// Booleans take a byte each, as LLVM stores them: 540 of them need 576
// bytes (a multiple of 64), not the 128 that 540 bits would round to; the
// f32 buffer alive beside them starts after them.
// CHECK: module attributes {tessera.buffer_bytes = 2752 : i64, tessera.live_max_bytes = 2752 : i64, tessera.workspace_bytes = 2752 : i64}
// CHECK: memref.view %{{.*}}[%{{.*}}][] : memref<2752xi8> to memref<540xf32>
// CHECK: %[[OFF:.*]] = arith.constant 2176 : index
// CHECK: memref.view %{{.*}}[%[[OFF]]][] : memref<2752xi8> to memref<540xi1>
func.func @main(%x: memref<540xf32>, %out: memref<540xf32>) {
  %m = memref.alloc() : memref<540xf32>
  %b = memref.alloc() : memref<540xi1>
  linalg.generic {indexing_maps = [affine_map<(i) -> (i)>, affine_map<(i) -> (i)>, affine_map<(i) -> (i)>],
                  iterator_types = ["parallel"]}
      ins(%x : memref<540xf32>) outs(%m, %b : memref<540xf32>, memref<540xi1>) {
  ^bb0(%v: f32, %o: f32, %p: i1):
    %z = arith.constant 0.0 : f32
    %pos = arith.cmpf ogt, %v, %z : f32
    linalg.yield %v, %pos : f32, i1
  }
  linalg.generic {indexing_maps = [affine_map<(i) -> (i)>, affine_map<(i) -> (i)>, affine_map<(i) -> (i)>],
                  iterator_types = ["parallel"]}
      ins(%m, %b : memref<540xf32>, memref<540xi1>) outs(%out : memref<540xf32>) {
  ^bb0(%v: f32, %p: i1, %o: f32):
    %z = arith.constant 0.0 : f32
    %r = arith.select %p, %v, %z : f32
    linalg.yield %r : f32
  }
  return
}
