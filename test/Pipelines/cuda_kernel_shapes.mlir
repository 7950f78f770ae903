// RUN: tessera-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(tessera-cuda-form-kernels))' | FileCheck %s --check-prefix=FORM
// RUN: tessera-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(tessera-cuda-form-kernels,tessera-cuda-distribute-loops,canonicalize))' | FileCheck %s --check-prefix=DIST
// RUN: tessera-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(tessera-cuda-form-kernels{vector-width=1 cooperative-reductions=false}))' | FileCheck %s --check-prefix=OFF

// How tessera-cuda-form-kernels shapes launches (a block per point of a
// large reduction; a thread per 4 points of an elementwise op) and what
// tessera-cuda-distribute-loops writes for each.

// A row sum over 768 points (LayerNorm's mean): a block of 256 threads
// per row, 8 rows.
// FORM-LABEL: func.func @row_mean
// FORM-DAG: %[[C8:.*]] = arith.constant 8 : index
// FORM-DAG: %[[C256:.*]] = arith.constant 256 : index
// FORM: gpu.launch blocks({{.*}}) in ({{.*}} = %[[C8]], {{.*}}) threads({{.*}}) in ({{.*}} = %[[C256]],
// FORM: } {tessera.cooperative}
// OFF-LABEL: func.func @row_mean
// OFF-NOT: tessera.cooperative
// Thread t adds points t, t + 256, ... from 0 (the neutral element of
// addf); the block adds its threads' sums; thread 0 adds the total to the
// output's value.
// DIST-LABEL: func.func @row_mean
// DIST: gpu.launch blocks(%[[BX:[^,]*]], %{{.*}}, %{{.*}}) in ({{.*}}) threads(%[[TX:[^,]*]], %{{.*}}, %{{.*}}) in (%[[BDIM:[^ ]*]] = %{{.*}},
// DIST: %[[PART:.*]] = scf.for %[[K:.*]] = %[[TX]] to %c768 step %[[BDIM]] iter_args(%[[P:.*]] = %cst) -> (f32) {
// DIST: %[[X:.*]] = memref.load %arg0[%[[BX]], %[[K]]]
// DIST: %[[S:.*]] = arith.addf %[[P]], %[[X]]
// DIST: scf.yield %[[S]]
// DIST: %[[TOTAL:.*]] = gpu.all_reduce add %[[PART]] uniform {
// DIST: %[[FIRST:.*]] = arith.cmpi eq, %[[TX]], %c0
// DIST: scf.if %[[FIRST]] {
// DIST: %[[OLD:.*]] = memref.load %arg1[%[[BX]]]
// DIST: %[[NEW:.*]] = arith.addf %[[OLD]], %[[TOTAL]]
// DIST: memref.store %[[NEW]], %arg1[%[[BX]]]
// DIST-NOT: tessera.cooperative
func.func @row_mean(%x: memref<8x768xf32>, %y: memref<8xf32>) {
  linalg.generic {indexing_maps = [affine_map<(r, c) -> (r, c)>, affine_map<(r, c) -> (r)>],
                  iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<8x768xf32>) outs(%y : memref<8xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %s = arith.addf %acc, %a : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// Softmax's row maximum in f16 over 100 points: a block of 128; the
// partial maxima start at -inf and are combined in f32 (shuffles move
// 32-bit words). Two reduction loops are delinearized from one index.
// FORM-LABEL: func.func @row_max_f16
// FORM-DAG: %[[C128:.*]] = arith.constant 128 : index
// FORM: threads({{.*}}) in ({{.*}} = %[[C128]],
// FORM: } {tessera.cooperative}
// DIST-LABEL: func.func @row_max_f16
// DIST: %[[PART:.*]] = scf.for %[[K:.*]] = %{{.*}} to %c100 step %{{.*}} iter_args(%[[P:.*]] = %cst) -> (f16) {
// DIST-DAG: %[[K1:.*]] = arith.remui %[[K]], %c10
// DIST-DAG: %[[K0:.*]] = arith.divui %[[K]], %c10
// DIST: memref.load %arg0[%{{.*}}, %[[K0]], %[[K1]]]
// DIST: arith.maximumf %{{.*}}, %[[P]]
// DIST: %[[WIDE:.*]] = arith.extf %[[PART]] : f16 to f32
// DIST: %[[TOTAL:.*]] = gpu.all_reduce maximumf %[[WIDE]] uniform
// DIST: %[[BACK:.*]] = arith.truncf %[[TOTAL]] : f32 to f16
// DIST: scf.if
// DIST: arith.maximumf %[[BACK]], %{{.*}}
func.func @row_max_f16(%x: memref<4x10x10xf16>, %y: memref<4xf16>) {
  linalg.generic {indexing_maps = [affine_map<(r, a, b) -> (r, a, b)>, affine_map<(r, a, b) -> (r)>],
                  iterator_types = ["parallel", "reduction", "reduction"]}
      ins(%x : memref<4x10x10xf16>) outs(%y : memref<4xf16>) {
  ^bb0(%a: f16, %acc: f16):
    %m = arith.maximumf %a, %acc : f16
    linalg.yield %m : f16
  }
  return
}

// -----

// An argmax: the index output depends on the value output, so the
// reduction is not a combination of independent partial values; it stays
// a thread per row.
// FORM-LABEL: func.func @argmax
// FORM-NOT: tessera.cooperative
// FORM: return
func.func @argmax(%x: memref<8x512xf32>, %v: memref<8xf32>, %i: memref<8xi64>) {
  linalg.generic {indexing_maps = [affine_map<(r, c) -> (r, c)>, affine_map<(r, c) -> (r)>, affine_map<(r, c) -> (r)>],
                  iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<8x512xf32>) outs(%v, %i : memref<8xf32>, memref<8xi64>) {
  ^bb0(%a: f32, %best: f32, %at: i64):
    %c = linalg.index 1 : index
    %ci = arith.index_cast %c : index to i64
    %gt = arith.cmpf ogt, %a, %best : f32
    %nv = arith.select %gt, %a, %best : f32
    %ni = arith.select %gt, %ci, %at : i64
    linalg.yield %nv, %ni : f32, i64
  }
  return
}

// -----

// An elementwise op with broadcasts: a thread per 4 points of the last
// loop (64 x 128 / 4 = 2048 threads). The row-major input and the output
// move as vectors of 4; the per-column bias is contiguous too; the
// per-row scale is one load; the transposed input and the boolean mask
// are loaded element by element.
// FORM-LABEL: func.func @bias_scale
// FORM-DAG: %[[C8:.*]] = arith.constant 8 : index
// FORM-DAG: %[[C256:.*]] = arith.constant 256 : index
// FORM: gpu.launch blocks({{.*}}) in ({{.*}} = %[[C8]], {{.*}}) threads({{.*}}) in ({{.*}} = %[[C256]],
// FORM: } {tessera.vector_width = 4 : i64}
// OFF-LABEL: func.func @bias_scale
// OFF-NOT: tessera.vector_width
// DIST-LABEL: func.func @bias_scale
// DIST: %[[ID:.*]] = arith.addi
// DIST: arith.cmpi ult, %[[ID]], %c2048
// DIST-DAG: %[[COL4:.*]] = arith.remui %[[ID]], %c32
// DIST-DAG: %[[ROW:.*]] = arith.divui %[[ID]], %c32
// DIST: %[[COL:.*]] = arith.muli %[[COL4]], %c4
// DIST: %[[X:.*]] = vector.load %arg0[%[[ROW]], %[[COL]]] {alignment = 16 : i64} : memref<64x128xf32>, vector<4xf32>
// DIST: %[[B:.*]] = vector.load %arg1[%[[COL]]] {alignment = 16 : i64} : memref<128xf32>, vector<4xf32>
// DIST: %[[S:.*]] = memref.load %arg2[%[[ROW]]] : memref<64xf32>
// DIST-COUNT-4: memref.load %arg3[
// DIST-COUNT-4: memref.load %arg4[
// DIST-NOT: memref.load
// DIST: %[[Y:.*]] = vector.from_elements
// DIST: vector.store %[[Y]], %arg5[%[[ROW]], %[[COL]]] {alignment = 16 : i64} : memref<64x128xf32>, vector<4xf32>
func.func @bias_scale(%x: memref<64x128xf32>, %b: memref<128xf32>, %s: memref<64xf32>,
                      %t: memref<128x64xf32>, %m: memref<64x128xi1>, %y: memref<64x128xf32>) {
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (j)>,
                                   affine_map<(i, j) -> (i)>, affine_map<(i, j) -> (j, i)>,
                                   affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>],
                  iterator_types = ["parallel", "parallel"]}
      ins(%x, %b, %s, %t, %m : memref<64x128xf32>, memref<128xf32>, memref<64xf32>, memref<128x64xf32>, memref<64x128xi1>)
      outs(%y : memref<64x128xf32>) {
  ^bb0(%a: f32, %bias: f32, %scale: f32, %tt: f32, %keep: i1, %out: f32):
    %0 = arith.addf %a, %bias : f32
    %1 = arith.mulf %0, %scale : f32
    %2 = arith.addf %1, %tt : f32
    %3 = arith.select %keep, %2, %a : f32
    linalg.yield %3 : f32
  }
  return
}

// -----

// Vector accesses need the offset and strides to be multiples of the
// width: a view at column 2 is read element by element; an output whose
// last loop (6 points) is not a multiple of 4 stays a thread per point.
// DIST-LABEL: func.func @unaligned_view
// DIST-COUNT-4: memref.load %{{.*}} : memref<8x4xf32, strided<[16, 1], offset: 2>>
// DIST: vector.store %{{.*}}, %arg1[{{.*}}] {alignment = 16 : i64} : memref<8x4xf32>, vector<4xf32>
// FORM-LABEL: func.func @six
// FORM-NOT: tessera.vector_width
// FORM: return
func.func @unaligned_view(%x: memref<8x16xf32>, %y: memref<8x4xf32>) {
  %v = memref.subview %x[0, 2] [8, 4] [1, 1] : memref<8x16xf32> to memref<8x4xf32, strided<[16, 1], offset: 2>>
  linalg.copy ins(%v : memref<8x4xf32, strided<[16, 1], offset: 2>>) outs(%y : memref<8x4xf32>)
  return
}
func.func @six(%x: memref<8x6xf32>, %y: memref<8x6xf32>) {
  linalg.copy ins(%x : memref<8x6xf32>) outs(%y : memref<8x6xf32>)
  return
}

// -----

// A reduction's output filled just before: the kernel starts from the
// constant (no fill kernel, no load of the output), for a block per row
// and for a thread per row alike. A fill of a buffer the reduction also
// reads stays.
// FORM-LABEL: func.func @filled
// FORM: gpu.launch
// FORM: } {tessera.cooperative, tessera.init_values = [0xFF800000 : f32]}
// FORM: gpu.launch
// FORM: linalg.generic {{.*}} ins(%{{.*}} : f32) outs(%arg1
// FORM: } {tessera.vector_width = 4 : i64}
// FORM: gpu.launch
// FORM: } {tessera.cooperative}
// FORM: gpu.launch
// FORM: } {tessera.init_values = [0.000000e+00 : f32]}
// FORM-NOT: gpu.launch
// Thread 0 stores max(-inf, total): the total itself.
// DIST-LABEL: func.func @filled
// DIST: %[[NINF:.*]] = arith.constant 0xFF800000 : f32
// DIST: scf.for {{.*}} iter_args(%{{.*}} = %[[NINF]])
// DIST: %[[TOTAL:.*]] = gpu.all_reduce maximumf
// DIST: scf.if
// DIST-NEXT: memref.store %[[TOTAL]], %arg1
func.func @filled(%x: memref<8x768xf32>, %y: memref<8xf32>, %s: memref<8x16xf32>, %t: memref<8xf32>) {
  %ninf = arith.constant 0xFF800000 : f32
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%ninf : f32) outs(%y : memref<8xf32>)
  linalg.generic {indexing_maps = [affine_map<(r, c) -> (r, c)>, affine_map<(r, c) -> (r)>],
                  iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<8x768xf32>) outs(%y : memref<8xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %m = arith.maximumf %acc, %a : f32
    linalg.yield %m : f32
  }
  // The fill of %y, which the reduction also reads, stays.
  linalg.fill ins(%zero : f32) outs(%y : memref<8xf32>)
  linalg.generic {indexing_maps = [affine_map<(r, c) -> (r)>, affine_map<(r, c) -> (r, c)>, affine_map<(r, c) -> (r)>],
                  iterator_types = ["parallel", "reduction"]}
      ins(%y, %x : memref<8xf32>, memref<8x768xf32>) outs(%y : memref<8xf32>) {
  ^bb0(%b: f32, %a: f32, %acc: f32):
    %p = arith.addf %a, %b : f32
    %m = arith.addf %acc, %p : f32
    linalg.yield %m : f32
  }
  // A small reduction (a thread per row) from a filled output.
  linalg.fill ins(%zero : f32) outs(%t : memref<8xf32>)
  linalg.generic {indexing_maps = [affine_map<(r, c) -> (r, c)>, affine_map<(r, c) -> (r)>],
                  iterator_types = ["parallel", "reduction"]}
      ins(%s : memref<8x16xf32>) outs(%t : memref<8xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %m = arith.addf %acc, %a : f32
    linalg.yield %m : f32
  }
  return
}

// -----

// LayerNorm's mean: the sum's kernel also divides each total by the row
// length and stores it to the mean's buffer (read through a reshape of the
// sum's output), so the divide is no kernel of its own. A divide whose
// output shares bytes with the sum's input stays one.
// FORM-LABEL: func.func @mean
// FORM: memref.expand_shape
// FORM: gpu.launch
// FORM: linalg.generic {{.*}}"reduction"
// FORM: linalg.generic {{.*}}ins(%expand_shape
// FORM: } {tessera.cooperative, tessera.epilogue, tessera.init_values = [0.000000e+00 : f32]}
// FORM: gpu.launch
// FORM: } {tessera.cooperative, tessera.init_values = [0.000000e+00 : f32]}
// FORM: gpu.launch
// FORM-NOT: tessera.epilogue
// DIST-LABEL: func.func @mean
// DIST: %[[TOTAL:.*]] = gpu.all_reduce add
// DIST: scf.if
// DIST-NEXT: %[[SUM:.*]] = arith.addf %[[TOTAL]], %cst
// DIST-NEXT: memref.store %[[SUM]], %{{.*}}[%[[ROW:.*]]] : memref<8xf32
// DIST-NEXT: %[[MEAN:.*]] = arith.divf %[[SUM]], %cst
// DIST-NEXT: memref.store %[[MEAN]], %{{.*}}[%[[ROW]], %c0] : memref<8x1xf32
func.func @mean(%x: memref<8x768xf32>, %ws: memref<4096xi8>) {
  %zero = arith.constant 0.0 : f32
  %n = arith.constant 768.0 : f32
  %c0 = arith.constant 0 : index
  %c64 = arith.constant 64 : index
  %c128 = arith.constant 128 : index
  %sum = memref.view %ws[%c0][] : memref<4096xi8> to memref<8xf32>
  linalg.fill ins(%zero : f32) outs(%sum : memref<8xf32>)
  linalg.generic {indexing_maps = [affine_map<(r, c) -> (r, c)>, affine_map<(r, c) -> (r)>],
                  iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<8x768xf32>) outs(%sum : memref<8xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %s = arith.addf %acc, %a : f32
    linalg.yield %s : f32
  }
  %sum2 = memref.expand_shape %sum [[0, 1]] output_shape [8, 1] : memref<8xf32> into memref<8x1xf32>
  %mean = memref.view %ws[%c64][] : memref<4096xi8> to memref<8x1xf32>
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>],
                  iterator_types = ["parallel", "parallel"]}
      ins(%sum2 : memref<8x1xf32>) outs(%mean : memref<8x1xf32>) {
  ^bb0(%s: f32, %o: f32):
    %m = arith.divf %s, %n : f32
    linalg.yield %m : f32
  }
  // The same over a workspace input: the divide's output overlaps it.
  %y = memref.view %ws[%c128][] : memref<4096xi8> to memref<8x96xf32>
  linalg.fill ins(%zero : f32) outs(%sum : memref<8xf32>)
  linalg.generic {indexing_maps = [affine_map<(r, c) -> (r, c)>, affine_map<(r, c) -> (r)>],
                  iterator_types = ["parallel", "reduction"]}
      ins(%y : memref<8x96xf32>) outs(%sum : memref<8xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %s = arith.addf %acc, %a : f32
    linalg.yield %s : f32
  }
  %over = memref.view %ws[%c128][] : memref<4096xi8> to memref<8x1xf32>
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>],
                  iterator_types = ["parallel", "parallel"]}
      ins(%sum2 : memref<8x1xf32>) outs(%over : memref<8x1xf32>) {
  ^bb0(%s: f32, %o: f32):
    %m = arith.divf %s, %n : f32
    linalg.yield %m : f32
  }
  return
}
