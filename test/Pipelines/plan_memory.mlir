// RUN: tessera-opt %s --tessera-cpu-plan-memory | FileCheck %s

// Three intermediates of 64, 128 and 64 bytes: %a dies when %c is made, so
// %c reuses its bytes; %b is alive with both. The workspace is 192 bytes,
// the live maximum, out of 256 planned; the escaping %d keeps its alloc.
// CHECK: module attributes {tessera.buffer_bytes = 256 : i64, tessera.live_max_bytes = 192 : i64, tessera.workspace_bytes = 192 : i64}
// CHECK-LABEL: func.func @main
// CHECK-SAME: %[[WS:[a-z0-9]+]]: memref<192xi8> {tessera.workspace}
// CHECK: %[[O1:.*]] = arith.constant 128 : index
// CHECK: memref.view %[[WS]][%[[O1]]][] : memref<192xi8> to memref<16xf32>
// CHECK: %[[O2:.*]] = arith.constant 0 : index
// CHECK: memref.view %[[WS]][%[[O2]]][] : memref<192xi8> to memref<32xf32>
// CHECK: %[[O3:.*]] = arith.constant 128 : index
// CHECK: memref.view %[[WS]][%[[O3]]][] : memref<192xi8> to memref<16xf32>
// CHECK: %[[D:.*]] = memref.alloc() : memref<4xf32>
// CHECK: return %[[D]]
func.func @main(%x: memref<16xf32>, %out: memref<16xf32>) -> memref<4xf32> {
  %a = memref.alloc() : memref<16xf32>
  memref.copy %x, %a : memref<16xf32> to memref<16xf32>
  %b = memref.alloc() : memref<32xf32>
  %bl = memref.subview %b[0] [16] [1] : memref<32xf32> to memref<16xf32, strided<[1]>>
  memref.copy %a, %bl : memref<16xf32> to memref<16xf32, strided<[1]>>
  %c = memref.alloc() : memref<16xf32>
  memref.copy %bl, %c : memref<16xf32, strided<[1]>> to memref<16xf32>
  %bh = memref.subview %b[16] [16] [1] : memref<32xf32> to memref<16xf32, strided<[1], offset: 16>>
  memref.copy %c, %bh : memref<16xf32> to memref<16xf32, strided<[1], offset: 16>>
  memref.copy %bh, %out : memref<16xf32, strided<[1], offset: 16>> to memref<16xf32>
  %d = memref.alloc() : memref<4xf32>
  return %d : memref<4xf32>
}

