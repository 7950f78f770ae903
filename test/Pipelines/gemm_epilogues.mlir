// RUN: tessera-opt %s --split-input-file --tessera-cpu-contractions-to-ukernels=runtime-gemm | FileCheck %s

// What the runtime's GEMM (tessera_rt_gemm) takes over from the ops around
// a contraction: its last two arguments are the bias address (0: none)
// and the flags (1: C overwritten, 2: bias added).

#mm_a = affine_map<(m, n, k) -> (m, k)>
#mm_b = affine_map<(m, n, k) -> (k, n)>
#mm_c = affine_map<(m, n, k) -> (m, n)>
#id = affine_map<(i, j) -> (i, j)>
#col = affine_map<(i, j) -> (j)>

// The zero fill goes (overwrite); the bias add and the ReLU in the next op
// go into the epilogue (flags 1 + 2 + 4), and the GEMM writes the op's
// output, the function's argument %arg4.
// CHECK-LABEL: func.func @bias_relu
// CHECK-NOT: linalg.fill
// CHECK: memref.extract_aligned_pointer_as_index %arg4
// CHECK: memref.extract_aligned_pointer_as_index %arg2
// CHECK: %[[BIAS:.*]] = arith.addi %{{.*}}, %{{.*}} : index
// CHECK: call @tessera_rt_gemm({{.*}}, %[[BIAS]], %c7) :
// CHECK-NOT: linalg.generic
func.func @bias_relu(%a: memref<8x16xf32>, %b: memref<16x32xf32>, %bias: memref<32xf32>,
                     %ws: memref<4096xi8>, %y: memref<8x32xf32>) {
  %zero = arith.constant 0.0 : f32
  %c0 = arith.constant 0 : index
  %c = memref.view %ws[%c0][] : memref<4096xi8> to memref<8x32xf32>
  linalg.fill ins(%zero : f32) outs(%c : memref<8x32xf32>)
  linalg.generic {indexing_maps = [#mm_a, #mm_b, #mm_c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %b : memref<8x16xf32>, memref<16x32xf32>) outs(%c : memref<8x32xf32>) {
  ^bb0(%x: f32, %w: f32, %acc: f32):
    %p = arith.mulf %x, %w : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#id, #col, #id], iterator_types = ["parallel", "parallel"]}
      ins(%c, %bias : memref<8x32xf32>, memref<32xf32>) outs(%y : memref<8x32xf32>) {
  ^bb0(%v: f32, %bv: f32, %o: f32):
    %t = arith.addf %v, %bv : f32
    %r = arith.maximumf %t, %zero : f32
    linalg.yield %r : f32
  }
  return
}

// -----

#mm_a = affine_map<(m, n, k) -> (m, k)>
#mm_b = affine_map<(m, n, k) -> (k, n)>
#mm_c = affine_map<(m, n, k) -> (m, n)>
#id = affine_map<(i, j) -> (i, j)>
#col = affine_map<(i, j) -> (j)>

// More work after the bias (half of it, then a residual add): the bias goes
// into the epilogue, the op stays and reads the biased C.
// CHECK-LABEL: func.func @bias_then_more
// CHECK: call @tessera_rt_gemm({{.*}}, %c3) :
// CHECK: linalg.generic
// CHECK: ^bb0(%[[C:.*]]: f32, %{{.*}}: f32, %[[R:.*]]: f32, %{{.*}}: f32):
// CHECK-NEXT: %[[H:.*]] = arith.mulf %[[C]], %cst
// CHECK-NEXT: %[[S:.*]] = arith.addf %[[H]], %[[R]]
// CHECK-NEXT: linalg.yield %[[S]]
func.func @bias_then_more(%a: memref<8x16xf32>, %b: memref<16x32xf32>, %bias: memref<32xf32>,
                          %res: memref<8x32xf32>, %ws: memref<4096xi8>, %y: memref<8x32xf32>) {
  %zero = arith.constant 0.0 : f32
  %half = arith.constant 0.5 : f32
  %c0 = arith.constant 0 : index
  %c = memref.view %ws[%c0][] : memref<4096xi8> to memref<8x32xf32>
  linalg.fill ins(%zero : f32) outs(%c : memref<8x32xf32>)
  linalg.matmul ins(%a, %b : memref<8x16xf32>, memref<16x32xf32>) outs(%c : memref<8x32xf32>)
  linalg.generic {indexing_maps = [#id, #col, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%c, %bias, %res : memref<8x32xf32>, memref<32xf32>, memref<8x32xf32>) outs(%y : memref<8x32xf32>) {
  ^bb0(%v: f32, %bv: f32, %r: f32, %o: f32):
    %t = arith.addf %v, %bv : f32
    %h = arith.mulf %t, %half : f32
    %s = arith.addf %h, %r : f32
    linalg.yield %s : f32
  }
  return
}

// -----

#mm_a = affine_map<(m, n, k) -> (m, k)>
#mm_b = affine_map<(m, n, k) -> (k, n)>
#mm_c = affine_map<(m, n, k) -> (m, n)>
#id = affine_map<(i, j) -> (i, j)>
#col = affine_map<(i, j) -> (j)>

// A bias add alone: the GEMM writes the op's output directly (a workspace
// view at bytes 1024.., apart from C's and the operands'); the view moves
// before the call.
// CHECK-LABEL: func.func @bias_only
// CHECK: %[[D:.*]] = memref.view %arg3[%c1024{{.*}}][] : memref<4096xi8> to memref<8x32xf32>
// CHECK: memref.extract_aligned_pointer_as_index %[[D]]
// CHECK: call @tessera_rt_gemm({{.*}}, %c3) :
// CHECK-NOT: linalg.generic
// CHECK: return
func.func @bias_only(%a: memref<8x16xf32>, %b: memref<16x32xf32>, %bias: memref<32xf32>,
                     %ws: memref<4096xi8>) -> memref<8x32xf32> {
  %zero = arith.constant 0.0 : f32
  %c0 = arith.constant 0 : index
  %c1024 = arith.constant 1024 : index
  %c = memref.view %ws[%c0][] : memref<4096xi8> to memref<8x32xf32>
  linalg.fill ins(%zero : f32) outs(%c : memref<8x32xf32>)
  linalg.generic {indexing_maps = [#mm_a, #mm_b, #mm_c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %b : memref<8x16xf32>, memref<16x32xf32>) outs(%c : memref<8x32xf32>) {
  ^bb0(%x: f32, %w: f32, %acc: f32):
    %p = arith.mulf %x, %w : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  %d = memref.view %ws[%c1024][] : memref<4096xi8> to memref<8x32xf32>
  linalg.generic {indexing_maps = [#id, #col, #id], iterator_types = ["parallel", "parallel"]}
      ins(%c, %bias : memref<8x32xf32>, memref<32xf32>) outs(%d : memref<8x32xf32>) {
  ^bb0(%v: f32, %bv: f32, %o: f32):
    %t = arith.addf %bv, %v : f32
    linalg.yield %t : f32
  }
  return %d : memref<8x32xf32>
}

// -----

#mm_a = affine_map<(m, n, k) -> (m, k)>
#mm_b = affine_map<(m, n, k) -> (k, n)>
#mm_c = affine_map<(m, n, k) -> (m, n)>
#id = affine_map<(i, j) -> (i, j)>
#col = affine_map<(i, j) -> (j)>

// The op's output shares bytes with A (the memory plan reused A's, dead
// after the GEMM): the GEMM must not write it, so the bias stays in the
// epilogue and the copy stays.
// CHECK-LABEL: func.func @output_over_a
// CHECK: call @tessera_rt_gemm({{.*}}, %c3) :
// CHECK: linalg.generic
func.func @output_over_a(%b: memref<16x32xf32>, %bias: memref<32xf32>, %ws: memref<4096xi8>) {
  %zero = arith.constant 0.0 : f32
  %c0 = arith.constant 0 : index
  %c1024 = arith.constant 1024 : index
  %a = memref.view %ws[%c1024][] : memref<4096xi8> to memref<8x16xf32>
  %c = memref.view %ws[%c0][] : memref<4096xi8> to memref<8x32xf32>
  linalg.fill ins(%zero : f32) outs(%c : memref<8x32xf32>)
  linalg.generic {indexing_maps = [#mm_a, #mm_b, #mm_c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %b : memref<8x16xf32>, memref<16x32xf32>) outs(%c : memref<8x32xf32>) {
  ^bb0(%x: f32, %w: f32, %acc: f32):
    %p = arith.mulf %x, %w : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  %d = memref.view %ws[%c1024][] : memref<4096xi8> to memref<8x32xf32>
  linalg.generic {indexing_maps = [#id, #col, #id], iterator_types = ["parallel", "parallel"]}
      ins(%c, %bias : memref<8x32xf32>, memref<32xf32>) outs(%d : memref<8x32xf32>) {
  ^bb0(%v: f32, %bv: f32, %o: f32):
    %t = arith.addf %v, %bv : f32
    linalg.yield %t : f32
  }
  return
}

// -----

#mm_a = affine_map<(m, n, k) -> (m, k)>
#mm_b = affine_map<(m, n, k) -> (k, n)>
#mm_c = affine_map<(m, n, k) -> (m, n)>
#id = affine_map<(i, j) -> (i, j)>
#row = affine_map<(i, j) -> (i)>
#col = affine_map<(i, j) -> (j)>

// Not taken over: a fill of 1 (the GEMM accumulates onto it); a vector
// added along the rows (cuBLASLt's bias runs along C's columns); C read
// again after the op.
// CHECK-LABEL: func.func @kept
// CHECK: linalg.fill
// CHECK: call @tessera_rt_gemm({{.*}}, %c0{{.*}}, %c0{{.*}}) :
// CHECK: call @tessera_rt_gemm({{.*}}, %c0{{.*}}, %c1{{.*}}) :
// CHECK: arith.addf
// CHECK: call @tessera_rt_gemm({{.*}}, %c0{{.*}}, %c1{{.*}}) :
// CHECK: arith.addf
func.func @kept(%a: memref<8x16xf32>, %b: memref<16x32xf32>, %v: memref<8xf32>, %bias: memref<32xf32>,
                %ws: memref<8192xi8>, %y: memref<8x32xf32>) {
  %zero = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  %c0 = arith.constant 0 : index
  %c2048 = arith.constant 2048 : index
  %c = memref.view %ws[%c0][] : memref<8192xi8> to memref<8x32xf32>
  linalg.fill ins(%one : f32) outs(%c : memref<8x32xf32>)
  linalg.matmul ins(%a, %b : memref<8x16xf32>, memref<16x32xf32>) outs(%c : memref<8x32xf32>)
  %c2 = memref.view %ws[%c2048][] : memref<8192xi8> to memref<8x32xf32>
  linalg.fill ins(%zero : f32) outs(%c2 : memref<8x32xf32>)
  linalg.matmul ins(%a, %b : memref<8x16xf32>, memref<16x32xf32>) outs(%c2 : memref<8x32xf32>)
  linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%c2, %v : memref<8x32xf32>, memref<8xf32>) outs(%y : memref<8x32xf32>) {
  ^bb0(%x: f32, %r: f32, %o: f32):
    %t = arith.addf %x, %r : f32
    linalg.yield %t : f32
  }
  linalg.fill ins(%zero : f32) outs(%c2 : memref<8x32xf32>)
  linalg.matmul ins(%a, %b : memref<8x16xf32>, memref<16x32xf32>) outs(%c2 : memref<8x32xf32>)
  linalg.generic {indexing_maps = [#id, #col, #id], iterator_types = ["parallel", "parallel"]}
      ins(%c2, %bias : memref<8x32xf32>, memref<32xf32>) outs(%y : memref<8x32xf32>) {
  ^bb0(%x: f32, %r: f32, %o: f32):
    %t = arith.addf %x, %r : f32
    linalg.yield %t : f32
  }
  linalg.copy ins(%c2 : memref<8x32xf32>) outs(%y : memref<8x32xf32>)
  return
}
