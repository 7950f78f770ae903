// RUN: tessera-opt %s --split-input-file --tessera-cpu-outline-loops=min-ops=1 | FileCheck %s

// Two identical nests over different buffers share one function; the
// strided view a nest reads is recomputed inside from its identity-layout
// source, constants too.
// CHECK-LABEL: func.func @main(
// CHECK-SAME: %[[A:.+]]: memref<4x8xf32>, %[[B:.+]]: memref<4x8xf32>
// CHECK: call @main_loop0(%[[A]]) : (memref<4x8xf32>) -> ()
// CHECK-NEXT: call @main_loop0(%[[B]]) : (memref<4x8xf32>) -> ()
// CHECK-NOT: scf.for
// CHECK-NOT: memref.subview
// CHECK: return
// CHECK: func.func private @main_loop0(%[[P:.+]]: memref<4x8xf32>) attributes {llvm.linkage = #llvm.linkage<internal>, no_inline}
// CHECK: memref.subview %[[P]][0, 4] [4, 4] [1, 1]
// CHECK: scf.for
// CHECK-NOT: func.func private @main_loop1
func.func @main(%a: memref<4x8xf32>, %b: memref<4x8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %one = arith.constant 1.0 : f32
  %va = memref.subview %a[0, 4] [4, 4] [1, 1] : memref<4x8xf32> to memref<4x4xf32, strided<[8, 1], offset: 4>>
  scf.for %i = %c0 to %c4 step %c1 {
    scf.for %j = %c0 to %c4 step %c1 {
      memref.store %one, %va[%i, %j] : memref<4x4xf32, strided<[8, 1], offset: 4>>
    }
  }
  %vb = memref.subview %b[0, 4] [4, 4] [1, 1] : memref<4x8xf32> to memref<4x4xf32, strided<[8, 1], offset: 4>>
  scf.for %i = %c0 to %c4 step %c1 {
    scf.for %j = %c0 to %c4 step %c1 {
      memref.store %one, %vb[%i, %j] : memref<4x4xf32, strided<[8, 1], offset: 4>>
    }
  }
  return
}

// -----

// Nests that differ (here a constant) get a function each; a scalar read
// from outside is a parameter; a nest with results stays where it is.
// CHECK-LABEL: func.func @main(
// CHECK: call @main_loop0(%{{.+}}, %{{.+}}) : (f32, memref<4xf32>) -> ()
// CHECK: call @main_loop1(%{{.+}}) : (memref<4xf32>) -> ()
// CHECK: scf.for {{.+}} iter_args
// CHECK: func.func private @main_loop0(
// CHECK: func.func private @main_loop1(
func.func @main(%a: memref<4xf32>, %s: f32) -> f32 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %two = arith.constant 2.0 : f32
  scf.for %i = %c0 to %c4 step %c1 {
    memref.store %s, %a[%i] : memref<4xf32>
  }
  scf.for %i = %c0 to %c4 step %c1 {
    memref.store %two, %a[%i] : memref<4xf32>
  }
  %sum = scf.for %i = %c0 to %c4 step %c1 iter_args(%acc = %s) -> f32 {
    %v = memref.load %a[%i] : memref<4xf32>
    %n = arith.addf %acc, %v : f32
    scf.yield %n : f32
  }
  return %sum : f32
}

// -----

// The nests in the body of tessera-cpu-serialize-batch's batch loop are
// outlined as a function body's are; the loop itself stays, and the
// induction variable a nest reads is passed.
// CHECK-LABEL: func.func @main(
// CHECK: scf.for %[[I:[a-z0-9]+]] =
// CHECK-NEXT: call @main_loop0({{.*}}%[[I]]{{.*}}) : (
// CHECK-NEXT: } {tessera.batch_serial}
// CHECK: func.func private @main_loop0(
func.func @main(%x: memref<2x8xf32>, %out: memref<2x8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c8 = arith.constant 8 : index
  scf.for %i = %c0 to %c2 step %c1 {
    scf.for %j = %c0 to %c8 step %c1 {
      %v = memref.load %x[%i, %j] : memref<2x8xf32>
      memref.store %v, %out[%i, %j] : memref<2x8xf32>
    }
  } {tessera.batch_serial}
  return
}
