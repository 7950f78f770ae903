// RUN: tessera-opt %s --split-input-file --verify-diagnostics --pass-pipeline='builtin.module(func.func(tessera-cuda-emulate-launches))' | FileCheck %s

// A launch becomes loops over blocks and threads (z, y, x); an all-reduce
// recomputes each thread's value from thread 1 on, starting from thread
// 0's, and combines them.
// CHECK-LABEL: func.func @block_sum
// CHECK: scf.for %[[BZ:.*]] = %c0 to %c1
// CHECK: scf.for %[[BY:.*]] = %c0 to %c1
// CHECK: scf.for %[[BX:.*]] = %c0 to %c4
// CHECK: scf.for %[[TZ:.*]] = %c0 to %c1
// CHECK: scf.for %[[TY:.*]] = %c0 to %c1
// CHECK: scf.for %[[TX:.*]] = %c0 to %c32
// CHECK: %[[MINE:.*]] = memref.load %arg0[%[[BX]], %[[TX]]]
// CHECK: %[[FIRST:.*]] = memref.load %arg0[%[[BX]], %c0{{.*}}]
// CHECK: %[[SUM:.*]] = scf.for %[[T:.*]] = %c1{{.*}} to %c32 step %c1{{.*}} iter_args(%[[ACC:.*]] = %[[FIRST]])
// CHECK: %[[V:.*]] = memref.load %arg0[%[[BX]], %[[T]]]
// CHECK: %[[NEXT:.*]] = arith.addf %[[ACC]], %[[V]]
// CHECK: scf.yield %[[NEXT]]
// CHECK: memref.store %[[SUM]], %arg1[%[[BX]]]
// CHECK-NOT: gpu.
func.func @block_sum(%x: memref<4x32xf32>, %y: memref<4xf32>) {
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c32 = arith.constant 32 : index
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c4, %gy = %c1, %gz = %c1) threads(%tx, %ty, %tz) in (%sx = %c32, %sy = %c1, %sz = %c1) {
    %v = memref.load %x[%bx, %tx] : memref<4x32xf32>
    %s = gpu.all_reduce add %v uniform {} : (f32) -> f32
    memref.store %s, %y[%bx] : memref<4xf32>
    gpu.terminator
  }
  return
}

// -----

func.func @region_reduce(%x: memref<32xf32>, %y: memref<1xf32>) {
  %c1 = arith.constant 1 : index
  %c32 = arith.constant 32 : index
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1) threads(%tx, %ty, %tz) in (%sx = %c32, %sy = %c1, %sz = %c1) {
    %v = memref.load %x[%tx] : memref<32xf32>
    // expected-error @below {{cannot emulate an all-reduce with a region}}
    %s = gpu.all_reduce %v uniform {
    ^bb(%a: f32, %b: f32):
      %c = arith.addf %a, %b : f32
      gpu.yield %c : f32
    } : (f32) -> f32
    gpu.terminator
  }
  return
}

// -----

func.func @writes_first(%x: memref<32xf32>) {
  %c1 = arith.constant 1 : index
  %c32 = arith.constant 32 : index
  %one = arith.constant 1.0 : f32
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1) threads(%tx, %ty, %tz) in (%sx = %c32, %sy = %c1, %sz = %c1) {
    %r = scf.execute_region -> f32 {
      memref.store %one, %x[%tx] : memref<32xf32>
      scf.yield %one : f32
    }
    // expected-error @below {{cannot emulate an all-reduce of a value computed with side effects}}
    %s = gpu.all_reduce add %r uniform {} : (f32) -> f32
    gpu.terminator
  }
  return
}

// -----

func.func @barrier(%x: memref<32xf32>) {
  %c1 = arith.constant 1 : index
  %c32 = arith.constant 32 : index
  // expected-error @below {{cannot emulate a launch whose threads communicate other than by gpu.all_reduce}}
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1) threads(%tx, %ty, %tz) in (%sx = %c32, %sy = %c1, %sz = %c1) {
    gpu.barrier
    gpu.terminator
  }
  return
}

// -----

func.func @shared(%x: memref<32xf32>) {
  %c1 = arith.constant 1 : index
  %c32 = arith.constant 32 : index
  %bytes = arith.constant 128 : i32
  // expected-error @below {{cannot emulate an asynchronous, clustered or shared-memory launch}}
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1) threads(%tx, %ty, %tz) in (%sx = %c32, %sy = %c1, %sz = %c1) dynamic_shared_memory_size %bytes {
    gpu.terminator
  }
  return
}
