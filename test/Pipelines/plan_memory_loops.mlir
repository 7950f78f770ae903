// RUN: tessera-opt %s --split-input-file --tessera-cpu-plan-memory | FileCheck %s

// The batch loop of tessera-cpu-serialize-batch: %a, %b and %c live in one
// iteration of its body, so %c (allocated after %a's last use) takes %a's
// bytes; %outside, written before the loop and read in it, lives through
// the whole loop; %carried, the loop's iteration argument, lives until its
// result's last use after the loop. 320 bytes of 384.
// CHECK: module attributes {tessera.buffer_bytes = 384 : i64, tessera.live_max_bytes = 320 : i64, tessera.workspace_bytes = 320 : i64}
// CHECK-LABEL: func.func @main
// CHECK-SAME: %[[WS:[a-z0-9]+]]: memref<320xi8> {tessera.workspace}
// CHECK: arith.constant 2 : index
// CHECK: %[[O0:.+]] = arith.constant 0 : index
// CHECK-NEXT: %[[CARRIED:.+]] = memref.view %[[WS]][%[[O0]]][] : memref<320xi8> to memref<2x16xf32>
// CHECK: %[[O1:.+]] = arith.constant 128 : index
// CHECK-NEXT: memref.view %[[WS]][%[[O1]]][] : memref<320xi8> to memref<16xf32>
// CHECK: scf.for {{.*}} iter_args(%{{.+}} = %[[CARRIED]])
// CHECK: %[[OA:.+]] = arith.constant 192 : index
// CHECK-NEXT: memref.view %[[WS]][%[[OA]]][] : memref<320xi8> to memref<16xf32>
// CHECK: %[[OB:.+]] = arith.constant 256 : index
// CHECK-NEXT: memref.view %[[WS]][%[[OB]]][] : memref<320xi8> to memref<16xf32>
// CHECK: %[[OC:.+]] = arith.constant 192 : index
// CHECK-NEXT: memref.view %[[WS]][%[[OC]]][] : memref<320xi8> to memref<16xf32>
// CHECK-NOT: memref.alloc
func.func @main(%x: memref<2x16xf32>, %k: memref<16xf32>, %out: memref<2x16xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %carried = memref.alloc() : memref<2x16xf32>
  %outside = memref.alloc() : memref<16xf32>
  memref.copy %k, %outside : memref<16xf32> to memref<16xf32>
  %r = scf.for %i = %c0 to %c2 step %c1 iter_args(%acc = %carried) -> (memref<2x16xf32>) {
    %a = memref.alloc() : memref<16xf32>
    %xi = memref.subview %x[%i, 0] [1, 16] [1, 1] : memref<2x16xf32> to memref<16xf32, strided<[1], offset: ?>>
    memref.copy %xi, %a : memref<16xf32, strided<[1], offset: ?>> to memref<16xf32>
    %b = memref.alloc() : memref<16xf32>
    memref.copy %a, %b : memref<16xf32> to memref<16xf32>
    %c = memref.alloc() : memref<16xf32>
    memref.copy %b, %c : memref<16xf32> to memref<16xf32>
    memref.copy %outside, %c : memref<16xf32> to memref<16xf32>
    %slot = memref.subview %acc[%i, 0] [1, 16] [1, 1] : memref<2x16xf32> to memref<16xf32, strided<[1], offset: ?>>
    memref.copy %c, %slot : memref<16xf32> to memref<16xf32, strided<[1], offset: ?>>
    scf.yield %acc : memref<2x16xf32>
  } {tessera.batch_serial}
  memref.copy %r, %out : memref<2x16xf32> to memref<2x16xf32>
  return
}

// -----

// A buffer allocated in a loop's body and yielded out of it is a new
// buffer each iteration: it keeps its allocation. The loop's initial
// value lives to the last use of the loop's result (the scf.if's result,
// after it); one yielded out of an scf.if lives from the scf.if to its
// result's last use: the two do not share.
// CHECK: tessera.workspace_bytes = 128
// CHECK-LABEL: func.func @main(%arg0: memref<16xf32>, %arg1: i1
// CHECK: memref.view %{{.+}}[%{{.+}}][] : memref<128xi8> to memref<16xf32>
// CHECK: scf.for
// CHECK: memref.alloc() : memref<16xf32>
// CHECK: scf.if
// CHECK: %[[O:.+]] = arith.constant 64 : index
// CHECK-NEXT: memref.view %{{.+}}[%[[O]]][] : memref<128xi8> to memref<16xf32>
// CHECK-NOT: memref.alloc
func.func @main(%x: memref<16xf32>, %p: i1, %out: memref<16xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %first = memref.alloc() : memref<16xf32>
  memref.copy %x, %first : memref<16xf32> to memref<16xf32>
  %r = scf.for %i = %c0 to %c2 step %c1 iter_args(%prev = %first) -> (memref<16xf32>) {
    %next = memref.alloc() : memref<16xf32>
    memref.copy %prev, %next : memref<16xf32> to memref<16xf32>
    scf.yield %next : memref<16xf32>
  }
  %s = scf.if %p -> (memref<16xf32>) {
    %t = memref.alloc() : memref<16xf32>
    memref.copy %r, %t : memref<16xf32> to memref<16xf32>
    scf.yield %t : memref<16xf32>
  } else {
    scf.yield %r : memref<16xf32>
  }
  memref.copy %s, %out : memref<16xf32> to memref<16xf32>
  return
}

// -----

// A scatter's lowering: the loop carries a buffer it stores into. Stores
// are uses, not escapes: the buffer is planned, alive until the copy of
// the loop's result after it.
// CHECK: tessera.workspace_bytes = 64
// CHECK-LABEL: func.func @main(%arg0: memref<16xf32>, %arg1: memref<16xf32>
// CHECK: %[[V:.+]] = memref.view
// CHECK: scf.for {{.*}} iter_args(%{{.+}} = %[[V]])
// CHECK-NOT: memref.alloc
func.func @main(%x: memref<16xf32>, %out: memref<16xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %zero = arith.constant 0.0 : f32
  %buf = memref.alloc() : memref<16xf32>
  memref.copy %x, %buf : memref<16xf32> to memref<16xf32>
  %r = scf.for %i = %c0 to %c4 step %c1 iter_args(%acc = %buf) -> (memref<16xf32>) {
    memref.store %zero, %acc[%i] : memref<16xf32>
    scf.yield %acc : memref<16xf32>
  }
  memref.copy %r, %out : memref<16xf32> to memref<16xf32>
  return
}
