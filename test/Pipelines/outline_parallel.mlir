// RUN: tessera-opt %s --split-input-file --tessera-cpu-outline-loops="min-ops=1 parallel=true min-parallel-work=64" | FileCheck %s

// A 3-d parallel nest: its two outer dimensions become one loop over
// [begin, end) = [0, 6), delinearized inside; the last stays an inner loop.
// CHECK-LABEL: func.func @main(
// CHECK-SAME: %[[A:.+]]: memref<2x3x16xf32>
// CHECK-DAG: %[[C6:.+]] = arith.constant 6 : index
// CHECK: call @main_loop0(%{{.+}}, %[[C6]], %[[A]]) : (index, index, memref<2x3x16xf32>) -> ()
// CHECK-NOT: scf.parallel
// CHECK: func.func private @main_loop0(%[[B:.+]]: index, %[[E:.+]]: index, %[[P:.+]]: memref<2x3x16xf32>)
// CHECK-SAME: tessera.parallel
// CHECK: scf.for %[[L:.+]] = %[[B]] to %[[E]]
// CHECK-DAG: %[[J:.+]] = arith.remui %[[L]], %{{.+}} : index
// CHECK-DAG: %[[I:.+]] = arith.divui %[[L]], %{{.+}} : index
// CHECK: scf.for %[[K:.+]] = %{{.+}} to %{{.+}}
// CHECK: memref.store %{{.+}}, %[[P]][%[[I]], %[[J]], %[[K]]]
func.func @main(%a: memref<2x3x16xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %c16 = arith.constant 16 : index
  %one = arith.constant 1.0 : f32
  scf.parallel (%i, %j, %k) = (%c0, %c0, %c0) to (%c2, %c3, %c16) step (%c1, %c1, %c1) {
    %v = memref.load %a[%i, %j, %k] : memref<2x3x16xf32>
    %w = arith.addf %v, %one : f32
    memref.store %w, %a[%i, %j, %k] : memref<2x3x16xf32>
    scf.reduce
  }
  return
}

// -----

// Too little work (4 iterations) stays serial, outlined as it is; a nest
// that calls a function the pass does not know stays serial too.
// CHECK-LABEL: func.func @main(
// CHECK: call @main_loop0(%{{.+}}) : (memref<4xf32>) -> ()
// CHECK: call @main_loop1(%{{.+}}) : (memref<256xf32>) -> ()
// CHECK: func.func private @main_loop0(%{{.+}}: memref<4xf32>) attributes {llvm.linkage = #llvm.linkage<internal>, no_inline}
// CHECK: scf.parallel
// CHECK: func.func private @main_loop1(%{{.+}}: memref<256xf32>) attributes {llvm.linkage = #llvm.linkage<internal>, no_inline}
// CHECK: scf.parallel
// CHECK: call @opaque
func.func private @opaque(f32) -> f32
func.func @main(%a: memref<4xf32>, %b: memref<256xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c256 = arith.constant 256 : index
  %one = arith.constant 1.0 : f32
  scf.parallel (%i) = (%c0) to (%c4) step (%c1) {
    memref.store %one, %a[%i] : memref<4xf32>
    scf.reduce
  }
  scf.parallel (%i) = (%c0) to (%c256) step (%c1) {
    %v = memref.load %b[%i] : memref<256xf32>
    %w = func.call @opaque(%v) : (f32) -> f32
    memref.store %w, %b[%i] : memref<256xf32>
    scf.reduce
  }
  return
}
