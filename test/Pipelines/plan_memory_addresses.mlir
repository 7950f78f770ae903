// RUN: tessera-opt %s --tessera-cpu-plan-memory | FileCheck %s

// A microkernel call takes buffers by address and strides (index values):
// that is no escape, and %a is used until the call that reads it (its
// address and strides are taken before %b is allocated), so %b, which the
// call writes, does not reuse its bytes: two 64-byte views in a 128-byte
// workspace.
// CHECK: tessera.workspace_bytes = 128 : i64
// CHECK-LABEL: func.func @main
// CHECK-NOT: memref.alloc
// CHECK-DAG: %[[O0:.*]] = arith.constant 0 : index
// CHECK-DAG: %[[O64:.*]] = arith.constant 64 : index
// CHECK-DAG: memref.view %{{.*}}[%[[O0]]][] : memref<128xi8> to memref<16xf32>
// CHECK-DAG: memref.view %{{.*}}[%[[O64]]][] : memref<128xi8> to memref<16xf32>
// CHECK: call @kernel
func.func private @kernel(index, index, index)
func.func @main(%x: memref<16xf32>, %out: memref<16xf32>) {
  %a = memref.alloc() : memref<16xf32>
  memref.copy %x, %a : memref<16xf32> to memref<16xf32>
  %pa = memref.extract_aligned_pointer_as_index %a : memref<16xf32> -> index
  %base, %offset, %size, %stride = memref.extract_strided_metadata %a : memref<16xf32> -> memref<f32>, index, index, index
  %b = memref.alloc() : memref<16xf32>
  %pb = memref.extract_aligned_pointer_as_index %b : memref<16xf32> -> index
  call @kernel(%pa, %pb, %stride) : (index, index, index) -> ()
  memref.copy %b, %out : memref<16xf32> to memref<16xf32>
  return
}
