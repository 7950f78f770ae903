// RUN: tessera-opt %s --split-input-file --tessera-cpu-contractions-to-ukernels --canonicalize | FileCheck %s

// A batched matmul against a shared B: sizes (batch 2, m 8, n 4, k 16),
// then each operand's address and element strides (batch..., row, column);
// B's batch stride is 0 (broadcast). Then the epilogue: bias and addend
// addresses (0: none), flags (0: C accumulated into) and the bounds.
#mA = affine_map<(b, m, k, n) -> (b, m, k)>
#mB = affine_map<(b, m, k, n) -> (k, n)>
#mC = affine_map<(b, m, k, n) -> (b, m, n)>
// CHECK-LABEL: func.func @bmm
// CHECK-DAG: %[[C0:.*]] = arith.constant 0 : index
// CHECK-DAG: %[[C1:.*]] = arith.constant 1 : index
// CHECK-DAG: %[[C2:.*]] = arith.constant 2 : index
// CHECK-DAG: %[[C4:.*]] = arith.constant 4 : index
// CHECK-DAG: %[[C8:.*]] = arith.constant 8 : index
// CHECK-DAG: %[[C16:.*]] = arith.constant 16 : index
// CHECK-DAG: %[[C32:.*]] = arith.constant 32 : index
// CHECK-DAG: %[[C128:.*]] = arith.constant 128 : index
// CHECK-DAG: %[[A:.*]] = memref.extract_aligned_pointer_as_index %arg0
// CHECK-DAG: %[[B:.*]] = memref.extract_aligned_pointer_as_index %arg1
// CHECK-DAG: %[[C:.*]] = memref.extract_aligned_pointer_as_index %arg2
// CHECK-DAG: %[[NINF:.*]] = arith.constant 0xFF800000 : f32
// CHECK-DAG: %[[INF:.*]] = arith.constant 0x7F800000 : f32
// CHECK: call @tessera_uk_sgemm_f32(%[[C2]], %[[C1]], %[[C1]], %[[C8]], %[[C4]], %[[C16]], %[[A]], %[[C128]], %[[C0]], %[[C0]], %[[C16]], %[[C1]], %[[B]], %[[C0]], %[[C0]], %[[C0]], %[[C4]], %[[C1]], %[[C]], %[[C32]], %[[C0]], %[[C0]], %[[C4]], %[[C1]], %[[C0]], %[[C0]], %[[C0]], %[[NINF]], %[[INF]])
// CHECK-NOT: linalg.generic
// CHECK: func.func private @tessera_uk_sgemm_f32(index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, index, f32, f32)
func.func @bmm(%a: memref<2x8x16xf32>, %b: memref<16x4xf32>, %c: memref<2x8x4xf32>) {
  linalg.generic {indexing_maps = [#mA, #mB, #mC], iterator_types = ["parallel", "parallel", "reduction", "parallel"]}
      ins(%a, %b : memref<2x8x16xf32>, memref<16x4xf32>) outs(%c : memref<2x8x4xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// A transposed B (read [n, k]) and a strided view of C: B's strides are
// (k 1, n 8), C's row stride is the parent's 10.
#t0 = affine_map<(m, n, k) -> (m, k)>
#t1 = affine_map<(m, n, k) -> (n, k)>
#t2 = affine_map<(m, n, k) -> (m, n)>
// CHECK-LABEL: func.func @transposed
// CHECK-DAG: %[[C3:.*]] = arith.constant 3 : index
// CHECK-DAG: %[[C8:.*]] = arith.constant 8 : index
// CHECK-DAG: %[[C10:.*]] = arith.constant 10 : index
// CHECK: call @tessera_uk_sgemm_f32(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[C3]], %[[C8]], %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[C8]], %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[C8]], %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[C10]], %{{.*}})
func.func @transposed(%a: memref<5x8xf32>, %b: memref<3x8xf32>, %c: memref<5x10xf32>) {
  %v = memref.subview %c[0, 2] [5, 3] [1, 1] : memref<5x10xf32> to memref<5x3xf32, strided<[10, 1], offset: 2>>
  linalg.generic {indexing_maps = [#t0, #t1, #t2], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %b : memref<5x8xf32>, memref<3x8xf32>) outs(%v : memref<5x3xf32, strided<[10, 1], offset: 2>>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %p, %acc : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// Not contractions the microkernel runs: integers, a max-plus body, two
// reduction loops. They stay linalg.
#m0 = affine_map<(m, n, k) -> (m, k)>
#m1 = affine_map<(m, n, k) -> (k, n)>
#m2 = affine_map<(m, n, k) -> (m, n)>
// CHECK-LABEL: func.func @kept
// CHECK-NOT: call
// CHECK-COUNT-3: linalg.generic
// CHECK-NOT: func.func private @tessera_uk_sgemm_f32
func.func @kept(%ai: memref<4x4xi32>, %ci: memref<4x4xi32>, %a: memref<4x4xf32>, %c: memref<4x4xf32>,
                %a3: memref<4x4x4xf32>, %b3: memref<4x4x4xf32>, %c3: memref<4x4xf32>) {
  linalg.generic {indexing_maps = [#m0, #m1, #m2], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%ai, %ai : memref<4x4xi32>, memref<4x4xi32>) outs(%ci : memref<4x4xi32>) {
  ^bb0(%x: i32, %y: i32, %acc: i32):
    %p = arith.muli %x, %y : i32
    %s = arith.addi %acc, %p : i32
    linalg.yield %s : i32
  }
  linalg.generic {indexing_maps = [#m0, #m1, #m2], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %a : memref<4x4xf32>, memref<4x4xf32>) outs(%c : memref<4x4xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.addf %x, %y : f32
    %s = arith.maximumf %acc, %p : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [affine_map<(m, n, k, l) -> (m, k, l)>, affine_map<(m, n, k, l) -> (k, l, n)>, affine_map<(m, n, k, l) -> (m, n)>],
                  iterator_types = ["parallel", "parallel", "reduction", "reduction"]}
      ins(%a3, %b3 : memref<4x4x4xf32>, memref<4x4x4xf32>) outs(%c3 : memref<4x4xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// Before the memory plan the microkernel takes over the zero fill of C
// (flag 1) and the op after it: a bias per row of C (a convolution's
// output channel, flag 2) read through reshapes, and ReLU6 (bounds 0 and
// 6). The call writes that op's output; C's buffer goes.
#w = affine_map<(m, n, k) -> (m, k)>
#x = affine_map<(m, n, k) -> (k, n)>
#y = affine_map<(m, n, k) -> (m, n)>
#id4 = affine_map<(a, b, c, d) -> (a, b, c, d)>
#chan = affine_map<(a, b, c, d) -> (b, 0, 0)>
// CHECK-LABEL: func.func @conv_bias_relu6
// CHECK-NOT: linalg.fill
// CHECK-DAG: %[[C3:.*]] = arith.constant 3 : index
// CHECK-DAG: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-DAG: %[[SIX:.*]] = arith.constant 6.000000e+00 : f32
// CHECK-DAG: %[[OUT:.*]] = memref.extract_aligned_pointer_as_index %arg3
// CHECK: call @tessera_uk_sgemm_f32({{.*}}, %[[OUT]], %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[C3]], %[[ZERO]], %[[SIX]])
// CHECK-NOT: linalg.generic
// CHECK-NOT: memref.alloc
func.func @conv_bias_relu6(%w: memref<8x16xf32>, %x: memref<16x36xf32>, %bias: memref<8xf32>,
                           %out: memref<1x8x6x6xf32>) {
  %zero = arith.constant 0.0 : f32
  %six = arith.constant 6.0 : f32
  %c = memref.alloc() : memref<8x36xf32>
  linalg.fill ins(%zero : f32) outs(%c : memref<8x36xf32>)
  linalg.generic {indexing_maps = [#w, #x, #y], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%w, %x : memref<8x16xf32>, memref<16x36xf32>) outs(%c : memref<8x36xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  %c4 = memref.expand_shape %c [[0, 1], [2, 3]] output_shape [1, 8, 6, 6] : memref<8x36xf32> into memref<1x8x6x6xf32>
  %b3 = memref.expand_shape %bias [[0, 1, 2]] output_shape [8, 1, 1] : memref<8xf32> into memref<8x1x1xf32>
  linalg.generic {indexing_maps = [#id4, #chan, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%c4, %b3 : memref<1x8x6x6xf32>, memref<8x1x1xf32>) outs(%out : memref<1x8x6x6xf32>) {
  ^bb0(%v: f32, %bv: f32, %o: f32):
    %t = arith.addf %v, %bv : f32
    %lo = arith.maximumf %t, %zero : f32
    %hi = arith.minimumf %lo, %six : f32
    linalg.yield %hi : f32
  }
  return
}

// -----

// A linear layer's bias (per column of C, flag 4) and a residual (an
// addend in C's layout, flag 8): flags 1 + 4 + 8, no bounds.
#a = affine_map<(m, n, k) -> (m, k)>
#b = affine_map<(m, n, k) -> (k, n)>
#c = affine_map<(m, n, k) -> (m, n)>
#id = affine_map<(i, j) -> (i, j)>
#col = affine_map<(i, j) -> (j)>
// CHECK-LABEL: func.func @bias_residual
// CHECK-DAG: %[[C13:.*]] = arith.constant 13 : index
// CHECK-DAG: %[[NINF:.*]] = arith.constant 0xFF800000 : f32
// CHECK-DAG: %[[INF:.*]] = arith.constant 0x7F800000 : f32
// CHECK-DAG: %[[Y:.*]] = memref.extract_aligned_pointer_as_index %arg4
// CHECK-DAG: %[[BIAS:.*]] = memref.extract_aligned_pointer_as_index %arg2
// CHECK-DAG: %[[RES:.*]] = memref.extract_aligned_pointer_as_index %arg3
// CHECK: call @tessera_uk_sgemm_f32({{.*}}, %[[Y]], %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[BIAS]], %[[RES]], %[[C13]], %[[NINF]], %[[INF]])
// CHECK-NOT: linalg.generic
func.func @bias_residual(%x: memref<8x16xf32>, %w: memref<16x32xf32>, %bias: memref<32xf32>,
                         %res: memref<8x32xf32>, %y: memref<8x32xf32>) {
  %zero = arith.constant 0.0 : f32
  %acc = memref.alloc() : memref<8x32xf32>
  linalg.fill ins(%zero : f32) outs(%acc : memref<8x32xf32>)
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<8x16xf32>, memref<16x32xf32>) outs(%acc : memref<8x32xf32>) {
  ^bb0(%p: f32, %q: f32, %r: f32):
    %m = arith.mulf %p, %q : f32
    %s = arith.addf %r, %m : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#id, #col, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%acc, %bias, %res : memref<8x32xf32>, memref<32xf32>, memref<8x32xf32>) outs(%y : memref<8x32xf32>) {
  ^bb0(%v: f32, %bv: f32, %rv: f32, %o: f32):
    %t = arith.addf %v, %bv : f32
    %u = arith.addf %t, %rv : f32
    linalg.yield %u : f32
  }
  return
}

// -----

// Not taken over: C is read again after the op (only the fill goes, flag
// 1), and an op that is not bias, addend and bounds (a GELU-like tanh).
#a = affine_map<(m, n, k) -> (m, k)>
#b = affine_map<(m, n, k) -> (k, n)>
#c = affine_map<(m, n, k) -> (m, n)>
#id = affine_map<(i, j) -> (i, j)>
// CHECK-LABEL: func.func @kept_epilogues
// CHECK-DAG: %[[C1:.*]] = arith.constant 1 : index
// CHECK: call @tessera_uk_sgemm_f32({{.*}}, %[[C1]], %{{.*}}, %{{.*}})
// CHECK: linalg.generic
// CHECK: call @tessera_uk_sgemm_f32({{.*}}, %[[C1]], %{{.*}}, %{{.*}})
// CHECK: linalg.generic
// CHECK: math.tanh
func.func @kept_epilogues(%x: memref<8x16xf32>, %w: memref<16x32xf32>, %y: memref<8x32xf32>,
                          %z: memref<8x32xf32>) {
  %zero = arith.constant 0.0 : f32
  %acc = memref.alloc() : memref<8x32xf32>
  linalg.fill ins(%zero : f32) outs(%acc : memref<8x32xf32>)
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<8x16xf32>, memref<16x32xf32>) outs(%acc : memref<8x32xf32>) {
  ^bb0(%p: f32, %q: f32, %r: f32):
    %m = arith.mulf %p, %q : f32
    %s = arith.addf %r, %m : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%acc : memref<8x32xf32>) outs(%y : memref<8x32xf32>) {
  ^bb0(%v: f32, %o: f32):
    %r = arith.maximumf %v, %zero : f32
    linalg.yield %r : f32
  }
  memref.copy %acc, %z : memref<8x32xf32> to memref<8x32xf32>
  %acc2 = memref.alloc() : memref<8x32xf32>
  linalg.fill ins(%zero : f32) outs(%acc2 : memref<8x32xf32>)
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<8x16xf32>, memref<16x32xf32>) outs(%acc2 : memref<8x32xf32>) {
  ^bb0(%p: f32, %q: f32, %r: f32):
    %m = arith.mulf %p, %q : f32
    %s = arith.addf %r, %m : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%acc2 : memref<8x32xf32>) outs(%y : memref<8x32xf32>) {
  ^bb0(%v: f32, %o: f32):
    %r = math.tanh %v : f32
    linalg.yield %r : f32
  }
  return
}

// -----

// Patches built by one window copy of a padded input [1, 3, 10, 10]
// (kernel 3x3, stride 2, dilation 1, output 4x4) and read only by the
// contraction: the microkernel gathers B from the input itself. After A:
// the input, B's batch strides in input floats (0), then h 10, w 10,
// kh 3, kw 3, sh 2, sw 2, dh 1, dw 1, ow 4; the patches and their copy go.
#win = affine_map<(n, c, ky, kx, oy, ox) -> (n, c, oy * 2 + ky, ox * 2 + kx)>
#id6 = affine_map<(n, c, ky, kx, oy, ox) -> (n, c, ky, kx, oy, ox)>
#wa = affine_map<(m, n, k) -> (m, k)>
#wb = affine_map<(m, n, k) -> (k, n)>
#wc = affine_map<(m, n, k) -> (m, n)>
// CHECK-LABEL: func.func @windows
// CHECK-NOT: linalg.generic
// CHECK-DAG: %[[C2:.*]] = arith.constant 2 : index
// CHECK-DAG: %[[C3:.*]] = arith.constant 3 : index
// CHECK-DAG: %[[C4:.*]] = arith.constant 4 : index
// CHECK-DAG: %[[C10:.*]] = arith.constant 10 : index
// CHECK-DAG: %[[X:.*]] = memref.extract_aligned_pointer_as_index %arg0
// CHECK: call @tessera_uk_sgemm_f32_win(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[X]], %[[C0:.*]], %[[C0]], %[[C0]], %[[C10]], %[[C10]], %[[C3]], %[[C3]], %[[C2]], %[[C2]], %[[C1:.*]], %[[C1]], %[[C4]],
// CHECK-NOT: memref.alloc
func.func @windows(%x: memref<1x3x10x10xf32>, %w: memref<8x27xf32>, %y: memref<8x16xf32>) {
  %p = memref.alloc() : memref<1x3x3x3x4x4xf32>
  linalg.generic {indexing_maps = [#win, #id6], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "parallel"]}
      ins(%x : memref<1x3x10x10xf32>) outs(%p : memref<1x3x3x3x4x4xf32>) {
  ^bb0(%v: f32, %o: f32):
    linalg.yield %v : f32
  }
  %b = memref.collapse_shape %p [[0, 1, 2, 3], [4, 5]] : memref<1x3x3x3x4x4xf32> into memref<27x16xf32>
  linalg.generic {indexing_maps = [#wa, #wb, #wc], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%w, %b : memref<8x27xf32>, memref<27x16xf32>) outs(%y : memref<8x16xf32>) {
  ^bb0(%a: f32, %q: f32, %acc: f32):
    %m = arith.mulf %a, %q : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// A convolution's weight read once as A (prepacked) against the windows
// of its input, 7x7 output positions for 32 channels: N = 49 fills 64
// vector lanes where M fills all, so the call computes the transposed
// product (flags 16 A prepacked, 32 transposed) and the weight is stored
// as Aᵀ in 32-wide column panels.
#win7 = affine_map<(n, c, ky, kx, oy, ox) -> (n, c, oy + ky, ox + kx)>
#id7 = affine_map<(n, c, ky, kx, oy, ox) -> (n, c, ky, kx, oy, ox)>
#ta = affine_map<(m, n, k) -> (m, k)>
#tb = affine_map<(m, n, k) -> (k, n)>
#tc = affine_map<(m, n, k) -> (m, n)>
// CHECK-LABEL: func.func @transposed_windows
// CHECK-SAME: tessera.prepack_rows = array<i64: 256, 32>
// CHECK-DAG: %[[F48:.*]] = arith.constant 48 : index
// CHECK: call @tessera_uk_sgemm_f32_win({{.*}}, %[[F48]], %{{.*}}, %{{.*}}) :
func.func @transposed_windows(%x: memref<1x8x9x9xf32>, %w: memref<32x72xf32> {tessera.weight},
                              %y: memref<32x49xf32>) {
  %p = memref.alloc() : memref<1x8x3x3x7x7xf32>
  linalg.generic {indexing_maps = [#win7, #id7], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "parallel"]}
      ins(%x : memref<1x8x9x9xf32>) outs(%p : memref<1x8x3x3x7x7xf32>) {
  ^bb0(%v: f32, %o: f32):
    linalg.yield %v : f32
  }
  %b = memref.collapse_shape %p [[0, 1, 2, 3], [4, 5]] : memref<1x8x3x3x7x7xf32> into memref<72x49xf32>
  linalg.generic {indexing_maps = [#ta, #tb, #tc], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%w, %b : memref<32x72xf32>, memref<72x49xf32>) outs(%y : memref<32x49xf32>) {
  ^bb0(%a: f32, %q: f32, %acc: f32):
    %m = arith.mulf %a, %q : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// A pointwise convolution's weight as A against its input (B read where
// it lies): 14x14 = 196 positions for 48 channels goes transposed (flag
// 32, column panels); 40 channels (not a multiple of 16) and 8x8 = 64
// positions (whole vectors) keep A's row panels and flag 0.
#pa = affine_map<(m, n, k) -> (m, k)>
#pb = affine_map<(m, n, k) -> (k, n)>
#pc = affine_map<(m, n, k) -> (m, n)>
// CHECK-LABEL: func.func @transposed_pointwise
// CHECK-SAME: %{{.*}}: memref<48x16xf32> {tessera.prepack_rows = array<i64: 256, 32>, tessera.weight}
// CHECK-SAME: %{{.*}}: memref<40x16xf32> {tessera.prepack_rows = array<i64: 256, 12>, tessera.weight}
// CHECK-SAME: %{{.*}}: memref<48x16xf32> {tessera.prepack_rows = array<i64: 256, 12>, tessera.weight}
// CHECK-DAG: %[[F32:.*]] = arith.constant 32 : index
// CHECK-DAG: %[[F0:.*]] = arith.constant 0 : index
// CHECK: call @tessera_uk_sgemm_f32_pa({{.*}}, %[[F32]], %{{.*}}, %{{.*}}) :
// CHECK: call @tessera_uk_sgemm_f32_pa({{.*}}, %[[F0]], %{{.*}}, %{{.*}}) :
// CHECK: call @tessera_uk_sgemm_f32_pa({{.*}}, %[[F0]], %{{.*}}, %{{.*}}) :
func.func @transposed_pointwise(%x: memref<16x196xf32>, %w1: memref<48x16xf32> {tessera.weight},
                                %w2: memref<40x16xf32> {tessera.weight},
                                %w3: memref<48x16xf32> {tessera.weight}, %x3: memref<16x64xf32>,
                                %y1: memref<48x196xf32>, %y2: memref<40x196xf32>,
                                %y3: memref<48x64xf32>) {
  linalg.generic {indexing_maps = [#pa, #pb, #pc], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%w1, %x : memref<48x16xf32>, memref<16x196xf32>) outs(%y1 : memref<48x196xf32>) {
  ^bb0(%a: f32, %q: f32, %acc: f32):
    %m = arith.mulf %a, %q : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#pa, #pb, #pc], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%w2, %x : memref<40x16xf32>, memref<16x196xf32>) outs(%y2 : memref<40x196xf32>) {
  ^bb0(%a: f32, %q: f32, %acc: f32):
    %m = arith.mulf %a, %q : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#pa, #pb, #pc], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%w3, %x3 : memref<48x16xf32>, memref<16x64xf32>) outs(%y3 : memref<48x64xf32>) {
  ^bb0(%a: f32, %q: f32, %acc: f32):
    %m = arith.mulf %a, %q : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// Few output channels (at most 64) over many positions of a pointwise
// convolution's plain input, K 96 or more and K x N over 2^17 (the
// microkernel would pack B for a few row tiles): computed transposed
// (flag 32, column panels). K 64, K x N within 2^17 (B read in place) and
// 80 channels keep row panels and flag 0.
#fa = affine_map<(m, n, k) -> (m, k)>
#fb = affine_map<(m, n, k) -> (k, n)>
#fc = affine_map<(m, n, k) -> (m, n)>
// CHECK-LABEL: func.func @transposed_few_channels
// CHECK-SAME: %{{.*}}: memref<32x96xf32> {tessera.prepack_rows = array<i64: 256, 32>, tessera.weight}
// CHECK-SAME: %{{.*}}: memref<32x64xf32> {tessera.prepack_rows = array<i64: 256, 12>, tessera.weight}
// CHECK-SAME: %{{.*}}: memref<32x96xf32> {tessera.prepack_rows = array<i64: 256, 12>, tessera.weight}
// CHECK-SAME: %{{.*}}: memref<80x96xf32> {tessera.prepack_rows = array<i64: 256, 12>, tessera.weight}
// CHECK-DAG: %[[F32:.*]] = arith.constant 32 : index
// CHECK-DAG: %[[F0:.*]] = arith.constant 0 : index
// CHECK: call @tessera_uk_sgemm_f32_pa({{.*}}, %[[F32]], %{{.*}}, %{{.*}}) :
// CHECK: call @tessera_uk_sgemm_f32_pa({{.*}}, %[[F0]], %{{.*}}, %{{.*}}) :
// CHECK: call @tessera_uk_sgemm_f32_pa({{.*}}, %[[F0]], %{{.*}}, %{{.*}}) :
// CHECK: call @tessera_uk_sgemm_f32_pa({{.*}}, %[[F0]], %{{.*}}, %{{.*}}) :
func.func @transposed_few_channels(%w1: memref<32x96xf32> {tessera.weight},
                                   %w2: memref<32x64xf32> {tessera.weight},
                                   %w3: memref<32x96xf32> {tessera.weight},
                                   %w4: memref<80x96xf32> {tessera.weight},
                                   %x1: memref<96x2048xf32>, %x2: memref<64x4096xf32>,
                                   %x3: memref<96x1024xf32>,
                                   %y1: memref<32x2048xf32>, %y2: memref<32x4096xf32>,
                                   %y3: memref<32x1024xf32>, %y4: memref<80x2048xf32>) {
  linalg.generic {indexing_maps = [#fa, #fb, #fc], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%w1, %x1 : memref<32x96xf32>, memref<96x2048xf32>) outs(%y1 : memref<32x2048xf32>) {
  ^bb0(%a: f32, %q: f32, %acc: f32):
    %m = arith.mulf %a, %q : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#fa, #fb, #fc], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%w2, %x2 : memref<32x64xf32>, memref<64x4096xf32>) outs(%y2 : memref<32x4096xf32>) {
  ^bb0(%a: f32, %q: f32, %acc: f32):
    %m = arith.mulf %a, %q : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#fa, #fb, #fc], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%w3, %x3 : memref<32x96xf32>, memref<96x1024xf32>) outs(%y3 : memref<32x1024xf32>) {
  ^bb0(%a: f32, %q: f32, %acc: f32):
    %m = arith.mulf %a, %q : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#fa, #fb, #fc], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%w4, %x1 : memref<80x96xf32>, memref<96x2048xf32>) outs(%y4 : memref<80x2048xf32>) {
  ^bb0(%a: f32, %q: f32, %acc: f32):
    %m = arith.mulf %a, %q : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  }
  return
}
