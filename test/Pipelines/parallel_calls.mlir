// RUN: tessera-opt %s --tessera-cpu-parallel-calls | FileCheck %s

// The call passes its range to tessera_uk_parallel_range with a task that
// loads the other arguments from slots on the caller's stack.
// CHECK-LABEL: llvm.func @main(
// CHECK-SAME: %[[A:.+]]: !llvm.ptr, %[[S:.+]]: f32
// CHECK: %[[N:.+]] = llvm.mlir.constant(2 : i64) : i64
// CHECK: %[[FRAME:.+]] = llvm.alloca %[[N]] x i64 {alignment = 8 : i64}
// CHECK: %[[SLOT0:.+]] = llvm.getelementptr %[[FRAME]][0]
// CHECK: llvm.store %[[A]], %[[SLOT0]] : !llvm.ptr, !llvm.ptr
// CHECK: %[[SLOT1:.+]] = llvm.getelementptr %[[FRAME]][1]
// CHECK: llvm.store %[[S]], %[[SLOT1]] : f32, !llvm.ptr
// CHECK: %[[TASK:.+]] = llvm.mlir.addressof @kernel_task
// CHECK: llvm.call @tessera_uk_parallel_range(%{{.+}}, %{{.+}}, %[[TASK]], %[[FRAME]])
// CHECK-NOT: llvm.call @kernel(
// CHECK: llvm.func @tessera_uk_parallel_range(i64, i64, !llvm.ptr, !llvm.ptr)
// CHECK: llvm.func internal @kernel_task(%[[ARGS:.+]]: !llvm.ptr, %[[B:.+]]: i64, %[[E:.+]]: i64)
// CHECK: %[[P:.+]] = llvm.load %{{.+}} : !llvm.ptr -> !llvm.ptr
// CHECK: %[[F:.+]] = llvm.load %{{.+}} : !llvm.ptr -> f32
// CHECK: llvm.call @kernel(%[[B]], %[[E]], %[[P]], %[[F]])
llvm.func @kernel(%b: i64, %e: i64, %p: !llvm.ptr, %s: f32) attributes {tessera.parallel} {
  llvm.return
}
llvm.func @main(%a: !llvm.ptr, %s: f32) {
  %b = llvm.mlir.constant(0 : i64) : i64
  %e = llvm.mlir.constant(64 : i64) : i64
  llvm.call @kernel(%b, %e, %a, %s) : (i64, i64, !llvm.ptr, f32) -> ()
  llvm.return
}
