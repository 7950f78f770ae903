// RUN: tessera-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(tessera-cuda-form-kernels))' | FileCheck %s --check-prefix=FORM
// RUN: tessera-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(tessera-cuda-form-kernels,tessera-cuda-distribute-loops,canonicalize))' | FileCheck %s --check-prefix=DIST
// RUN: tessera-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(tessera-cuda-form-kernels,tessera-cuda-distribute-loops,canonicalize),gpu-kernel-outlining,tessera-cuda-merge-kernel-modules)' | FileCheck %s --check-prefix=MERGE

// A small reduction over the first loop: its parallel loop moves first;
// one thread per output element (64 of them: one block of 64).
// FORM-LABEL: func.func @row_sums
// FORM: %[[C64:.*]] = arith.constant 64 : index
// FORM: gpu.launch blocks({{.*}}) in ({{.*}} = %{{.*}}, {{.*}}) threads({{.*}}) in ({{.*}} = %[[C64]],
// FORM: linalg.generic {{.*}}iterator_types = ["parallel", "reduction"]
// FORM: gpu.terminator
// FORM-NOT: tessera.
// Each thread is loaded once, carried through the reduction
// loop in a register and stored once (one block: the thread index
// is the point).
// DIST-LABEL: func.func @row_sums
// DIST: gpu.launch blocks({{.*}}) in {{.*}} threads(%[[TX:[^,]*]], %{{.*}}, %{{.*}}) in
// DIST: %[[IN:.*]] = arith.cmpi ult, %[[TX]], %c64 : index
// DIST: scf.if %[[IN]] {
// DIST: %[[INIT:.*]] = memref.load %arg1[%[[TX]]]
// DIST: %[[SUM:.*]] = scf.for %[[K:.*]] = %c0 to %c16 step %c1 iter_args(%[[ACC:.*]] = %[[INIT]]) -> (f32) {
// DIST: %[[X:.*]] = memref.load %arg0[%[[K]], %[[TX]]]
// DIST: %[[S:.*]] = arith.addf %[[X]], %[[ACC]]
// DIST: scf.yield %[[S]]
// DIST: memref.store %[[SUM]], %arg1[%[[TX]]]
// DIST-NOT: tessera.
// A fill and a copy of 1000 elements: a thread per 4 (one block of 250),
// each a vector store (of the splat) or a vector load and store.
// DIST-LABEL: func.func @two
// DIST: %[[SPLAT:.*]] = arith.constant dense<2.000000e+00> : vector<4xf32>
// DIST: gpu.launch blocks({{.*}}) in {{.*}} threads(%[[T:[^,]*]], %{{.*}}, %{{.*}}) in
// DIST: %[[IN2:.*]] = arith.cmpi ult, %[[T]], %c250 : index
// DIST: scf.if %[[IN2]] {
// DIST: %[[AT:.*]] = arith.muli %[[T]], %c4 : index
// DIST: vector.store %[[SPLAT]], %arg1[%[[AT]]] {alignment = 16 : i64} : memref<1000xf32>, vector<4xf32>
// DIST: %[[V:.*]] = vector.load %arg0[%{{.*}}] {alignment = 16 : i64} : memref<1000xf32>, vector<4xf32>
// DIST: vector.store %[[V]], %arg1
func.func @row_sums(%x: memref<16x64xf32>, %y: memref<64xf32>) {
  linalg.generic {indexing_maps = [affine_map<(r, c) -> (r, c)>, affine_map<(r, c) -> (c)>],
                  iterator_types = ["reduction", "parallel"]}
      ins(%x : memref<16x64xf32>) outs(%y : memref<64xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %s = arith.addf %a, %acc : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// Two kernels outlined into one module, each named after its own module.
// FORM-LABEL: func.func @two
// FORM-COUNT-2: gpu.launch
// MERGE: gpu.launch_func @tessera_kernels::@two_kernel blocks
// MERGE: gpu.launch_func @tessera_kernels::@two_kernel_0 blocks
// MERGE: gpu.module @tessera_kernels
// MERGE: gpu.func @two_kernel(
// MERGE: gpu.func @two_kernel_0(
// MERGE-NOT: gpu.module @two_kernel
func.func @two(%x: memref<1000xf32>, %y: memref<1000xf32>) {
  %c = arith.constant 2.0 : f32
  linalg.fill ins(%c : f32) outs(%y : memref<1000xf32>)
  linalg.copy ins(%x : memref<1000xf32>) outs(%y : memref<1000xf32>)
  return
}

// -----

// A scatter's sequential loop on buffers runs in a kernel of one thread;
// its result is its operand updated in place.
// FORM-LABEL: func.func @scatter
// FORM: %cst = arith.constant 1.0
// FORM-NEXT: %[[ONE:.*]] = arith.constant 1 : index
// FORM-NEXT: gpu.launch blocks({{.*}}) in ({{.*}} = %[[ONE]], {{.*}} = %[[ONE]], {{.*}} = %[[ONE]]) threads({{.*}}) in ({{.*}} = %[[ONE]],
// FORM: scf.for
// FORM: memref.store
// FORM: gpu.terminator
// FORM: memref.copy %arg0, %arg2
func.func @scatter(%data: memref<4xf32>, %idx: memref<2xindex>, %out: memref<4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %v = arith.constant 1.0 : f32
  %r = scf.for %i = %c0 to %c2 step %c1 iter_args(%buf = %data) -> (memref<4xf32>) {
    %j = memref.load %idx[%i] : memref<2xindex>
    memref.store %v, %buf[%j] : memref<4xf32>
    scf.yield %buf : memref<4xf32>
  }
  memref.copy %r, %out : memref<4xf32> to memref<4xf32>
  return
}
