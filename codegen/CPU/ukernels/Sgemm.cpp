//===- Sgemm.cpp - f32 contraction microkernel for CPU artifacts ----------===//
//
// Compiled to LLVM bitcode at build time (not into any library), embedded
// in the compiler, and linked into each CPU artifact's LLVM module before
// optimisation, so it is compiled for the artifact's target CPU (`--cpu`)
// with everything else. Written with Clang's generic vector types: the
// register tile is chosen for the target's vector width, which the compiler
// provides as the constant `tessera_uk_vector_bits` when it links the
// bitcode (LLVM then folds the dispatch below to one variant).
//
// The algorithm is the usual blocked GEMM: B is packed into column panels
// of NR (K-major), A into row panels of MR, and an MR x NR register tile
// accumulates over a KC slice of K. Operands are read through arbitrary
// element strides, so transposed and broadcast (stride 0) operands cost
// only the packing. C is accumulated into (C += A * B), or overwritten and
// finished by an epilogue (bias, addend, bounds) that the compiler hands
// over from the ops around the call (see Epilogue below).
//
// Large problems run their column blocks on the runtime's thread pool when
// the runtime installs one (`tessera_uk_parallel_for`).
//
//===----------------------------------------------------------------------===//

#include "Common.h"

extern "C" {
__attribute__((visibility("default"))) tessera_uk_parallel_for_fn
    tessera_uk_parallel_for = nullptr;
__attribute__((visibility("default"))) void *tessera_uk_thread_pool = nullptr;
__attribute__((visibility("default"))) int64_t tessera_uk_thread_count = 1;
__attribute__((visibility("default"))) tessera_uk_scratch_fn tessera_uk_scratch =
    nullptr;
}

namespace {

/// dst[0, n) = src[0, n * step) every step-th element, step 1 or 2, a
/// vector at a time; reads nothing past the last element copied.
template <int W>
inline void copyRun(float *dst, const float *src, int64_t n, int64_t step) {
  int64_t i = 0;
  if (step == 1) {
    for (; i + W <= n; i += W)
      store<W>(dst + i, load<W>(src + i));
    if (i < n) {
      Mask<W> m = firstLanes<W>(n - i);
      __builtin_masked_store(m, __builtin_masked_load(m, src + i), dst + i);
    }
    return;
  }
  if (step == 2) {
    for (; i < n; i += W) {
      // 2 * (n - i) - 1 floats are read: the first of each pair.
      int64_t floats = 2 * (n - i) - 1;
      Vec<W> lo = floats >= W ? load<W>(src + 2 * i)
                              : __builtin_masked_load(firstLanes<W>(floats), src + 2 * i);
      Vec<W> hi = floats >= 2 * W ? load<W>(src + 2 * i + W)
                                  : __builtin_masked_load(firstLanes<W>(floats - W),
                                                          src + 2 * i + W);
      Vec<W> v = evens<W>(lo, hi);
      if (n - i >= W)
        store<W>(dst + i, v);
      else
        __builtin_masked_store(firstLanes<W>(n - i), v, dst + i);
    }
    return;
  }
  for (; i < n; ++i)
    dst[i] = src[i * step];
}

/// The panel layout of a B prepacked at compile time (a weight: see
/// tessera-cpu-contractions-to-ukernels, which writes the same constants
/// into the weight's `tessera.prepack` attribute for the artifact writer):
/// K in slices of kPackKC rows (the last one shorter), each slice's columns
/// in panels of kPackPanel, each panel K-major. Element (p, q) of slice s
/// (p0 = s * kPackKC, kc rows), in panel q / kPackPanel, is at
///   p0 * N + (q / kPackPanel) * kPackPanel * kc + (p - p0) * width
///   + q % kPackPanel,
/// width being kPackPanel except in a last, narrower panel (N mod
/// kPackPanel columns).
constexpr int64_t kPackKC = 256;
constexpr int64_t kPackPanel = 32;
/// The layout of an A prepacked at compile time (a convolution's weight,
/// `tessera.prepack_rows`): K in the same slices, each slice's rows in
/// panels of kPackRows, each panel K-major. Element (r, p) of slice s, in
/// panel r / kPackRows, is at
///   p0 * M + (r / kPackRows) * kPackRows * kc + (p - p0) * height
///   + r % kPackRows,
/// height being kPackRows except in a last, shorter panel. A multiple of
/// every register tile's MR (12 on AVX-512, 6 below), so a tile's rows
/// never straddle two panels.
constexpr int64_t kPackRows = 12;

/// A B operand that is a 2-D convolution's im2col patches, never built:
/// element (r, q) is x[c, oy*sh + ky*dh, ox*sw + kx*dw] for r = (c * kh +
/// ky) * kw + kx and q = oy * ow + ox, x the padded input [C, h, w] at the
/// operand's base. Packing gathers B's panels from x, which stays in cache
/// where the patches (KH * KW times larger) went through memory.
struct Windows {
  int64_t h, w, kh, kw, sh, sw, dh, dw, ow;

  /// Where K rows p0..p0+kc-1, each (channel, ky, kx), start in x:
  /// (c * h + ky * dh) * w + kx * dw into out[0, kc); counted up rather
  /// than divided. The gather, the grid (B read in place) and A read in
  /// place all walk K this way.
  void rowOffsets(int64_t p0, int64_t kc, int64_t *out) const {
    int64_t x = p0 % kw, y = (p0 / kw) % kh, c = p0 / (kw * kh);
    for (int64_t p = 0; p < kc; ++p) {
      out[p] = (c * h + y * dh) * w + x * dw;
      if (++x == kw) {
        x = 0;
        if (++y == kh) {
          y = 0;
          ++c;
        }
      }
    }
  }
};

struct Operand {
  const float *base;
  int64_t rowStride, colStride;
  // Prepacked panels: B's (rowStride is N) or A's (rowStride is M).
  bool packed = false;
  const Windows *windows = nullptr;
  float at(int64_t r, int64_t c) const {
    return base[r * rowStride + c * colStride];
  }
};

/// The multiply-adds from which a GEMM (or a batch of small ones) runs on
/// the thread pool: about 10 us of work on one core, against 1-3 us to
/// hand it out while the workers poll between loops (2^23 when a worker
/// had to be woken each time: MobileNetV2's 1x1 convolutions, 2-8
/// million, ran on one thread while the other waited).
constexpr int64_t kParallelWork = int64_t(1) << 20;

/// Flags of the entry points' epilogue (tessera-cpu-contractions-to-ukernels
/// writes the same values).
constexpr int64_t kOverwrite = 1, kRowBias = 2, kColBias = 4, kAddend = 8;
/// tessera_uk_sgemm_f32_win's A prepacked (tessera_uk_sgemm_f32_pa's layout).
constexpr int64_t kPackedA = 16;
/// A prepacked as Aᵀ in B's layout (panels of kPackPanel rows of A, the
/// writer's `tessera.prepack_rows = [KC, 32]`), and the product computed
/// transposed: Cᵀ = Bᵀ Aᵀ, vectors along M. For few output positions N
/// (a 7x7 or 14x14 convolution output: 49 or 196 columns fill 64 or 208
/// vector lanes) against many output channels M (a multiple of the vector
/// width): Cᵀ goes to a buffer and is transposed into C by the epilogue.
constexpr int64_t kSwapped = 32;

/// What a call does around its product: C = (C or 0) + A * B, then, when
/// `finish`, + bias (per row or per column) + addend (C's layout), clamped
/// to [lo, hi]. A GEMM over several K slices overwrites in the first and
/// finishes in the last.
struct Epilogue {
  int64_t flags = 0;
  const float *rowBias = nullptr, *colBias = nullptr, *addend = nullptr;
  float lo = -__builtin_inff(), hi = __builtin_inff();
};

/// Where a GEMM computed transposed (kSwapped) puts its result: C's
/// element (r, q) (r a row of the original product, a column of the one
/// computed) at c[r * cRow + q * cCol], finished by `ep` in the original
/// orientation (bias per r, addend with C's strides).
struct Transposed {
  float *c;
  int64_t cRow, cCol;
  Epilogue ep;
};

/// How one tile stores: onto C or over it, finished or not; the bias and
/// addend at the tile's first row and column.
struct TileStore {
  bool accumulate = true, finish = false;
  const float *rowBias = nullptr, *colBias = nullptr, *addend = nullptr;
  float lo = 0, hi = 0;

  template <int W>
  Vec<W> value(Vec<W> acc, const float *c, int i, int v, int64_t ldc) const {
    if (accumulate)
      acc += load<W>(c + i * ldc + v * W);
    if (finish) {
      if (rowBias)
        acc += Vec<W>(rowBias[i]);
      if (colBias)
        acc += load<W>(colBias + v * W);
      if (addend)
        acc += load<W>(addend + i * ldc + v * W);
      acc = acc < Vec<W>(lo) ? Vec<W>(lo) : acc;
      acc = acc > Vec<W>(hi) ? Vec<W>(hi) : acc;
    }
    return acc;
  }
};

/// Operands a tile reads where they lie (a convolution's input) rather
/// than from packed panels: K step p's column of A at a + a[p] (its rows
/// adjacent) and row of B at b + b[p]. One of the two is the input (B in
/// gridBlock; A, a row of a convolution's output positions computed
/// transposed, in columnBlock), the other's offsets are p times its
/// packed stride: one loop serves both (each loop is compiled into every
/// register tile of every artifact).
struct InPlace {
  const int64_t *a = nullptr, *b = nullptr;
};

/// Where a tile reading packed A panels (aRow 1) prefetches into L2, one
/// line per K step: at + p * step bytes. A panel of B packed ahead of use
/// (a prepacked weight, streamed from memory once per run: GPT-2's 154 MB
/// LM head) would otherwise stall the first row tile over it on every
/// line; the row tiles over one panel each prefetch a share of the panel
/// two ahead, so it is in L2 when its first tile starts. Without one
/// (`at` null) the tile prefetches the B row it reads (an L1 hit), so the
/// loop stays one loop.
struct Prefetch {
  const char *at = nullptr;
  int64_t step = 0;
};

/// The offsets p * stride, p < count, for the packed operand of an
/// InPlace tile; rebuilt when the stride or the count changes.
struct Steps {
  int64_t at[kPackKC];
  int64_t stride = -1, count = 0;
  const int64_t *get(int64_t s, int64_t n) {
    if (s != stride || n != count) {
      for (int64_t p = 0; p < n; ++p)
        at[p] = p * s;
      stride = s;
      count = n;
    }
    return at;
  }
};

/// C[0:MR, 0:NV*W] += A[0:MR, 0:K] * B[0:K, 0:NV*W]; A's element (i, p)
/// at a[i * aRow + p * aCol] (packed panels: aRow 1, aCol MR), B rows `ldb`
/// floats apart (or as `in` says, with A's rows adjacent: aRow 1), C rows
/// `ldc` apart and contiguous along columns.
template <int W, int MR, int NV>
__attribute__((always_inline)) inline void
tile(int64_t k, const float *a, int64_t aRow, int64_t aCol, const float *b,
     int64_t ldb, float *c, int64_t ldc, const TileStore &st,
     const InPlace &in, const Prefetch &pf) {
  Vec<W> acc[MR][NV];
#pragma unroll
  for (int i = 0; i < MR; ++i)
#pragma unroll
    for (int v = 0; v < NV; ++v)
      acc[i][v] = Vec<W>(0.0f);
  // One K step: A's column at `ap` (its rows `rowStep` apart).
  auto step = [&](const float *ap, int64_t rowStep, const float *bp) {
    Vec<W> bv[NV];
#pragma unroll
    for (int v = 0; v < NV; ++v)
      bv[v] = load<W>(bp + v * W);
#pragma unroll
    for (int i = 0; i < MR; ++i) {
      Vec<W> av = Vec<W>(ap[i * rowStep]);
#pragma unroll
      for (int v = 0; v < NV; ++v)
        acc[i][v] += av * bv[v];
    }
  };
  // Packed A (every panel, prepacked or not) has its rows adjacent: with
  // the row step a constant, a K step's broadcasts are offsets from one
  // pointer instead of a chain of MR address additions.
  if (in.a) {
    for (int64_t p = 0; p < k; ++p)
      step(a + in.a[p], 1, b + in.b[p]);
  } else if (aRow == 1) {
    const char *at = pf.at ? pf.at : reinterpret_cast<const char *>(b);
    int64_t atStep = pf.at ? pf.step : ldb * int64_t(sizeof(float));
    for (int64_t p = 0; p < k; ++p) {
      __builtin_prefetch(at + p * atStep, 0, 2);
      step(a + p * aCol, 1, b + p * ldb);
    }
  } else {
    for (int64_t p = 0; p < k; ++p)
      step(a + p * aCol, aRow, b + p * ldb);
  }
  if (st.accumulate && !st.finish) {
#pragma unroll
    for (int i = 0; i < MR; ++i)
#pragma unroll
      for (int v = 0; v < NV; ++v)
        store<W>(c + i * ldc + v * W, load<W>(c + i * ldc + v * W) + acc[i][v]);
    return;
  }
#pragma unroll
  for (int i = 0; i < MR; ++i)
#pragma unroll
    for (int v = 0; v < NV; ++v)
      store<W>(c + i * ldc + v * W, st.value<W>(acc[i][v], c, i, v, ldc));
}

/// `tile` for `mr` <= MR rows.
template <int W, int NV, int MR>
void tileRows(int mr, int64_t k, const float *a, int64_t aRow, int64_t aCol,
              const float *b, int64_t ldb, float *c, int64_t ldc,
              const TileStore &st, const InPlace &in = {},
              const Prefetch &pf = {}) {
  if constexpr (MR > 1) {
    if (mr < MR)
      return tileRows<W, NV, MR - 1>(mr, k, a, aRow, aCol, b, ldb, c, ldc, st,
                                     in, pf);
  }
  tile<W, MR, NV>(k, a, aRow, aCol, b, ldb, c, ldc, st, in, pf);
}

template <int W, int MR, int NV> struct Gemm {
  static constexpr int Wide = W;
  static constexpr int64_t NR = NV * W;
  static constexpr int64_t KC = kPackKC;
  static constexpr int64_t MC = MR * 12;
  static constexpr int64_t NC = NR * 64;

  int64_t m, n, k;
  Operand a, b;
  float *c;
  int64_t cRow, cCol;
  // A prepacked or gathered from windows: this GEMM's first row within it
  // (a row split's block).
  int64_t aRow0 = 0;
  // The epilogue; its row bias and addend offset like A's rows and C.
  Epilogue ep = {};
  // C's first column in `c` (a block's own buffer, computed transposed).
  int64_t cCol0 = 0;
  // Computed transposed: each column block into a buffer, then into `out`.
  const Transposed *out = nullptr;
  // B the windows of a stride-1 convolution, read in place (gridBlock):
  // its columns, n of them, are positions on the input's grid (oy * w +
  // ox), the w - ow past each output row computed and dropped.
  bool grid = false;

  /// How the tile at (i, j) stores for the K slice at p0 of kc.
  TileStore storeAt(int64_t i, int64_t j, int64_t p0, int64_t kc) const {
    TileStore st;
    st.accumulate = p0 > 0 || !(ep.flags & kOverwrite);
    st.finish = p0 + kc >= k && (ep.flags & (kRowBias | kColBias | kAddend) ||
                                 ep.lo != -__builtin_inff() ||
                                 ep.hi != __builtin_inff());
    if (ep.rowBias)
      st.rowBias = ep.rowBias + i;
    if (ep.colBias)
      st.colBias = ep.colBias + j;
    if (ep.addend)
      st.addend = ep.addend + i * cRow + j * cCol;
    st.lo = ep.lo;
    st.hi = ep.hi;
    return st;
  }

  /// A prepacked (kPackRows panels): where this GEMM's row `i` starts in
  /// the K slice at p0 (kc rows), and its panel's height (the tile's aCol;
  /// aRow is 1).
  struct PackedRows {
    const float *at;
    int64_t height;
  };
  PackedRows packedRows(int64_t i, int64_t p0, int64_t kc) const {
    int64_t row = aRow0 + i, panel0 = row - row % kPackRows;
    int64_t height = a.rowStride - panel0 < kPackRows ? a.rowStride - panel0 : kPackRows;
    return {a.base + p0 * a.rowStride + panel0 * kc + (row - panel0), height};
  }

  /// The grid form's last, partial panel (`cols` < NR columns from `bp`,
  /// K rows at rowsAt[0, kc)) copied into a zero-padded panel at dst: the
  /// tile reads whole panels.
  static void copyGridPanel(float *dst, const float *bp, const int64_t *rowsAt,
                            int64_t kc, int64_t cols) {
    for (int64_t q = 0; q < kc * NR; q += W)
      store<W>(dst + q, Vec<W>(0.0f));
    for (int64_t p = 0; p < kc; ++p)
      copyRun<W>(dst + p * NR, bp + rowsAt[p], cols, 1);
  }

  /// Packs A[i0:i0+mc, p0:p0+kc] into MR-row panels, K-major; the last
  /// panel has only the rows left.
  void packA(float *dst, int64_t i0, int64_t mc, int64_t p0,
             int64_t kc) const {
    for (int64_t i = 0; i < mc; i += MR) {
      int64_t rows = mc - i < MR ? mc - i : MR;
      float *panel = dst + i * kc;
      if (a.windows) { // Bᵀ of a convolution, computed transposed
        gatherWindows(*a.windows, a.base, panel, rows, p0, kc, aRow0 + i0 + i,
                      rows);
        continue;
      }
      if (a.rowStride == 1) { // a transposed B: rows contiguous per K
        for (int64_t p = 0; p < kc; ++p)
          copyRun<W>(panel + p * rows, a.base + i0 + i + (p0 + p) * a.colStride,
                     rows, 1);
        continue;
      }
      if (a.colStride == 1 && rows <= W) {
        packRowMajor(panel, a.base + (i0 + i) * a.rowStride + p0, rows, kc);
        continue;
      }
      for (int64_t r = 0; r < rows; ++r) {
        const float *src = a.base + (i0 + i + r) * a.rowStride + p0 * a.colStride;
        for (int64_t p = 0; p < kc; ++p)
          panel[p * rows + r] = src[p * a.colStride];
      }
    }
  }

  /// A panel of `rows` <= W row-major rows (a.rowStride apart) from src,
  /// kc columns, K-major: W columns at a time, the rows' vectors
  /// transposed in registers (a linear layer's activations).
  void packRowMajor(float *panel, const float *src, int64_t rows,
                    int64_t kc) const {
    Mask<W> rowMask = firstLanes<W>(rows);
    for (int64_t p = 0; p < kc; p += W) {
      int64_t cols = kc - p < W ? kc - p : W;
      Mask<W> colMask = firstLanes<W>(cols);
      Vec<W> v[W];
      for (int r = 0; r < W; ++r) {
        const float *row = src + (r < rows ? r : rows - 1) * a.rowStride + p;
        v[r] = cols == W ? load<W>(row) : __builtin_masked_load(colMask, row);
      }
      transpose<W>(v);
      for (int64_t x = 0; x < cols; ++x)
        __builtin_masked_store(rowMask, v[x], panel + (p + x) * rows);
    }
  }

  /// Packs B[p0:p0+kc, j0:j0+nc] into NR-column panels, K-major, zero
  /// padded to a multiple of NR.
  void packB(float *dst, int64_t p0, int64_t kc, int64_t j0,
             int64_t nc) const {
    if (b.windows)
      return packWindows(dst, p0, kc, j0, nc);
    for (int64_t j = 0; j < nc; j += NR) {
      int64_t cols = nc - j < NR ? nc - j : NR;
      float *panel = dst + j * kc;
      if (cols < NR) // one fill of the whole panel, not a memset per row
        for (int64_t q = 0; q < kc * NR; q += W)
          store<W>(panel + q, Vec<W>(0.0f));
      if (b.rowStride == 1 && b.colStride != 1) {
        // Transposed B: read each column contiguously.
        for (int64_t q = 0; q < cols; ++q) {
          const float *src = b.base + (j0 + j + q) * b.colStride + p0;
          for (int64_t p = 0; p < kc; ++p)
            panel[p * NR + q] = src[p];
        }
        continue;
      }
      for (int64_t p = 0; p < kc; ++p) {
        const float *src =
            b.base + (p0 + p) * b.rowStride + (j0 + j) * b.colStride;
        if (b.colStride == 1) {
          copyRun<W>(panel + p * NR, src, cols, 1);
          continue;
        }
        for (int64_t q = 0; q < cols; ++q)
          panel[p * NR + q] = src[q * b.colStride];
      }
    }
  }

  /// packB for B the windows of a convolution's input.
  void packWindows(float *dst, int64_t p0, int64_t kc, int64_t j0,
                   int64_t nc) const {
    for (int64_t j = 0; j < nc; j += NR) {
      int64_t cols = nc - j < NR ? nc - j : NR;
      float *panel = dst + j * kc;
      if (cols < NR)
        for (int64_t q = 0; q < kc * NR; q += W)
          store<W>(panel + q, Vec<W>(0.0f));
      gatherWindows(*b.windows, b.base, panel, NR, p0, kc, j0 + j, cols);
    }
  }

  /// Rows p0..p0+kc of the windows' patch matrix (`g` over the padded
  /// input x), columns q0..q0+cols, into panel[p * width + q]: each panel
  /// row is runs of an input row (a run per output row the columns span).
  static void gatherWindows(const Windows &g, const float *x, float *panel,
                            int64_t width, int64_t p0, int64_t kc, int64_t q0,
                            int64_t cols) {
    // The columns as runs along output rows: (first column, offset in the
    // input plane, length); the same for every K row.
    int64_t runs[NR][3], count = 0;
    for (int64_t q = 0, oy = q0 / g.ow, ox = q0 % g.ow; q < cols; ++oy, ox = 0) {
      int64_t run = cols - q < g.ow - ox ? cols - q : g.ow - ox;
      runs[count][0] = q;
      runs[count][1] = oy * g.sh * g.w + ox * g.sw;
      runs[count][2] = run;
      ++count;
      q += run;
    }
    int64_t rowsAt[KC];
    g.rowOffsets(p0, kc, rowsAt);
    for (int64_t p = 0; p < kc; ++p) {
      const float *plane = x + rowsAt[p];
      float *d = panel + p * width;
      for (int64_t r = 0; r < count; ++r)
        copyRun<W>(d + runs[r][0], plane + runs[r][1], runs[r][2], g.sw);
    }
  }

  /// One tile of C at (i, j), `rows` x `cols` (at most MR x NR); B rows
  /// `ldb` apart, readable for NR columns (or W when cols <= W). Edge tiles
  /// and C not contiguous along columns go through a local tile.
  void runTile(int rows, int64_t cols, int64_t kc, const float *ap,
               int64_t aRow, int64_t aCol, const float *bp, int64_t ldb,
               int64_t i, int64_t j, int64_t p0,
               const InPlace &in = {}, const Prefetch &pf = {}) const {
    float *cij = c + i * cRow + (j - cCol0) * cCol;
    TileStore st = storeAt(i, j, p0, kc);
    if (cols == NR && cCol == 1)
      return tileRows<W, NV, MR>(rows, kc, ap, aRow, aCol, bp, ldb, cij, cRow, st,
                                 in, pf);
    if (cols == W && cCol == 1)
      return tileRows<W, 1, MR>(rows, kc, ap, aRow, aCol, bp, ldb, cij, cRow, st,
                                in, pf);
    float local[MR * NR];
    for (int64_t q = 0; q < MR * NR; ++q)
      local[q] = 0.0f;
    TileStore plain;
    if (cols <= W)
      tileRows<W, 1, MR>(rows, kc, ap, aRow, aCol, bp, ldb, local, NR, plain, in);
    else
      tileRows<W, NV, MR>(rows, kc, ap, aRow, aCol, bp, ldb, local, NR, plain, in);
    // The addend is read with C's strides.
    for (int r = 0; r < rows; ++r)
      for (int64_t q = 0; q < cols; ++q) {
        float &out = cij[r * cRow + q * cCol];
        out = scalarValue(st, local[r * NR + q], out, r, q);
      }
  }

  /// TileStore::value with C (and the addend) strided by cRow and cCol.
  float scalarValue(const TileStore &st, float acc, float old, int64_t r,
                    int64_t q) const {
    if (st.accumulate)
      acc += old;
    if (!st.finish)
      return acc;
    if (st.rowBias)
      acc += st.rowBias[r];
    if (st.colBias)
      acc += st.colBias[q];
    if (st.addend)
      acc += st.addend[r * cRow + q * cCol];
    return acc < st.lo ? st.lo : acc > st.hi ? st.hi : acc;
  }

  /// columnBlock for B on the input's grid (`grid`): a stride-1
  /// convolution's K row (c, ky, kx) is the input shifted by c*h*w +
  /// ky*dh*w + kx*dw, so the register tile reads its rows where they lie,
  /// whole vectors and no gather; only a last, partial panel is copied
  /// (the tile reads whole panels). Each tile goes through a local tile
  /// onto C's positions (storeGrid).
  void gridBlock(int64_t j0, int64_t nc, float *bPack, float *aPack) const {
    if (a.packed && k <= kGridSlices * KC)
      return gridBlockTilesOuter(j0, nc, bPack);
    const Windows &g = *b.windows;
    int64_t rowsAt[KC];
    Steps aFull, aEdge; // A's panels: kPackRows high, or the last one
    float local[MR * NR];
    TileStore plain;
    plain.accumulate = false;
    for (int64_t p0 = 0; p0 < k; p0 += KC) {
      int64_t kc = k - p0 < KC ? k - p0 : KC;
      g.rowOffsets(p0, kc, rowsAt);
      for (int64_t i0 = 0; i0 < m; i0 += MC) {
        int64_t mc = m - i0 < MC ? m - i0 : MC;
        if (!a.packed)
          packA(aPack, i0, mc, p0, kc);
        for (int64_t j = 0; j < nc; j += NR) {
          int64_t cols = nc - j < NR ? nc - j : NR;
          const float *bp = b.base + j0 + j;
          bool inPlace = cols == NR;
          if (!inPlace) {
            copyGridPanel(bPack, bp, rowsAt, kc, cols);
            bp = bPack;
          }
          for (int64_t i = 0; i < mc; i += MR) {
            int rows = mc - i < MR ? int(mc - i) : MR;
            const float *ap = aPack + i * kc;
            int64_t aCol = rows;
            if (a.packed) {
              PackedRows rowsA = packedRows(i0 + i, p0, kc);
              ap = rowsA.at;
              aCol = rowsA.height;
            }
            InPlace in;
            if (inPlace)
              in = {(aCol == kPackRows ? aFull : aEdge).get(aCol, kc), rowsAt};
            tileRows<W, NV, MR>(rows, kc, ap, 1, aCol, bp, NR, local, NR, plain,
                                in);
            storeGrid(local, rows, i0 + i, j0 + j, cols, p0, kc);
          }
        }
      }
    }
  }

  /// The most K slices gridBlockTilesOuter takes (their K walk on the
  /// stack).
  static constexpr int64_t kGridSlices = 8;

  /// gridBlock with the K slices innermost (A prepacked): each tile sums
  /// all of K in its local tile and stores onto C once, with the epilogue.
  /// K slices outermost stored C once per slice and read it back for the
  /// next (ResNet-50's 3x3 64->64 at 56x56, K 576: three passes over 800
  /// KB of C).
  void gridBlockTilesOuter(int64_t j0, int64_t nc, float *bPack) const {
    const Windows &g = *b.windows;
    int64_t rowsAt[kGridSlices * KC];
    g.rowOffsets(0, k, rowsAt);
    Steps aFull, aEdge; // A's panels: kPackRows high, or the last one
    float local[MR * NR];
    for (int64_t j = 0; j < nc; j += NR) {
      int64_t cols = nc - j < NR ? nc - j : NR;
      bool inPlace = cols == NR;
      for (int64_t i = 0; i < m; i += MR) {
        int rows = m - i < MR ? int(m - i) : MR;
        for (int64_t p0 = 0; p0 < k; p0 += KC) {
          int64_t kc = k - p0 < KC ? k - p0 : KC;
          const float *bp = b.base + j0 + j;
          if (!inPlace) {
            copyGridPanel(bPack, bp, rowsAt + p0, kc, cols);
            bp = bPack;
          }
          PackedRows rowsA = packedRows(i, p0, kc);
          InPlace in;
          if (inPlace)
            in = {(rowsA.height == kPackRows ? aFull : aEdge).get(rowsA.height, kc),
                  rowsAt + p0};
          TileStore sum;
          sum.accumulate = p0 > 0;
          tileRows<W, NV, MR>(rows, kc, rowsA.at, 1, rowsA.height, bp, NR, local,
                              NR, sum, in);
        }
        storeGrid(local, rows, i, j0 + j, cols, 0, k);
      }
    }
  }

  /// A local tile of `rows` x `cols` grid columns from q0 onto C (its
  /// columns contiguous), dropping the columns past each output row.
  void storeGrid(const float *local, int rows, int64_t i, int64_t q0,
                 int64_t cols, int64_t p0, int64_t kc) const {
    const Windows &g = *b.windows;
    for (int64_t q = 0; q < cols;) {
      int64_t oy = (q0 + q) / g.w, ox = (q0 + q) % g.w;
      if (ox >= g.ow) {
        q += g.w - ox;
        continue;
      }
      int64_t run = cols - q < g.ow - ox ? cols - q : g.ow - ox;
      int64_t j = oy * g.ow + ox;
      TileStore st = storeAt(i, j, p0, kc);
      float *cij = c + i * cRow + j;
      for (int r = 0; r < rows; ++r)
        for (int64_t x = 0; x < run; x += W) {
          int64_t lanes = run - x < W ? run - x : W;
          Mask<W> mask = firstLanes<W>(lanes);
          auto read = [&](const float *p) {
            return lanes == W ? load<W>(p) : __builtin_masked_load(mask, p);
          };
          Vec<W> v = load<W>(local + r * NR + q + x);
          float *dst = cij + r * cRow + x;
          if (st.accumulate)
            v += read(dst);
          if (st.finish) {
            if (st.rowBias)
              v += Vec<W>(st.rowBias[r]);
            if (st.colBias)
              v += read(st.colBias + x);
            if (st.addend)
              v += read(st.addend + r * cRow + x);
            v = v < Vec<W>(st.lo) ? Vec<W>(st.lo) : v;
            v = v > Vec<W>(st.hi) ? Vec<W>(st.hi) : v;
          }
          if (lanes == W)
            store<W>(dst, v);
          else
            __builtin_masked_store(mask, v, dst);
        }
      q += run;
    }
  }

  /// The most floats of B (a K slice of a column block, packed per call or
  /// read in place) over which row tiles run outermost: 512 KB, half of a
  /// 1 MB L2.
  static constexpr int64_t kRowOuterFloats = int64_t(1) << 17;

  /// Column block [j0, j0+nc): all of M and K.
  void columnBlock(int64_t j0, int64_t nc, float *bPack, float *aPack) const {
    if (grid)
      return gridBlock(j0, nc, bPack, aPack);
    // B is read where it lies when its rows are contiguous and it is small
    // or used by few rows: packing then costs more than it saves (measured
    // on AVX-512: reading in place is faster up to a 256x256 B), or when K
    // is short and at most 8 row tiles use each panel (1x1 convolutions
    // into few channels: MobileNetV2's 32->16 at 112x112 0.79x, ResNet-50's
    // 64->64 at 56x56 0.85x the packed time; 16 row tiles, 32->192, were
    // slower read in place). A is read in place when few column panels
    // reuse it.
    // (tessera-cpu-contractions-to-ukernels' kUkPackedBFloats is the same
    // K x N bound.)
    bool directB = !b.packed && !b.windows && b.colStride == 1 &&
                   (m <= MR || k * n <= (1 << 17) || (k <= 64 && m <= 8 * MR));
    bool directA = !a.packed && !a.windows && n <= 2 * NR;
    // A gathered from a convolution's windows (computed transposed) whose
    // output rows are MR positions (ResNet-50's 14x14 on AVX-512), at unit
    // stride along them: each row tile is one output row, its K step (c,
    // ky, kx) MR adjacent input elements, read where they lie (the row
    // tiles start at multiples of MR: MC and the row split's blocks are).
    const Windows *aw = a.windows;
    bool inPlaceA = aw && aw->sw == 1 && aw->ow == MR;
    int64_t aRowsAt[KC];
    Steps bSteps;
    for (int64_t p0 = 0; p0 < k; p0 += KC) {
      int64_t kc = k - p0 < KC ? k - p0 : KC;
      if (!directB && !b.packed)
        packB(bPack, p0, kc, j0, nc);
      if (inPlaceA)
        aw->rowOffsets(p0, kc, aRowsAt);
      for (int64_t i0 = 0; i0 < m; i0 += MC) {
        int64_t mc = m - i0 < MC ? m - i0 : MC;
        if (!directA && !a.packed && !inPlaceA)
          packA(aPack, i0, mc, p0, kc);
        // B packed here or read in place, within half of L2, and A
        // prepacked: each row tile runs along all the panels, so that C is
        // written (and the addend read) as MR rows, each in order, which
        // the hardware prefetchers follow, not as the MC rows of a panel at
        // a time (ResNet-50's 1x1 64->256 at 56x56 from memory: 1.30 ->
        // 1.07 ms in a harness; MobileNetV2's 16->96 at 112x112, B in
        // place, 0.54 -> 0.45 ms). A row tile's A panel stays in L1, B's
        // block in L2.
        if (a.packed && !b.packed && kc * nc <= kRowOuterFloats) {
          // B read in place: a last panel narrower than NR (and than W
          // if not W) is packed once, into the space packing would use.
          int64_t edge = nc % NR;
          if (directB && edge && edge != W)
            packB(bPack, p0, kc, j0 + nc - edge, edge);
          for (int64_t i = 0; i < mc; i += MR) {
            int rows = mc - i < MR ? int(mc - i) : MR;
            PackedRows rowsA = packedRows(i0 + i, p0, kc);
            for (int64_t j = 0; j < nc; j += NR) {
              int64_t cols = nc - j < NR ? nc - j : NR;
              const float *bp = bPack + j * kc;
              int64_t ldb = NR;
              if (directB && (cols == NR || cols == W)) {
                bp = b.base + p0 * b.rowStride + j0 + j;
                ldb = b.rowStride;
              } else if (directB) {
                bp = bPack;
              }
              runTile(rows, cols, kc, rowsA.at, 1, rowsA.height, bp, ldb, i0 + i,
                      j0 + j, p0);
            }
          }
          continue;
        }
        for (int64_t j = 0; j < nc; j += NR) {
          int64_t cols = nc - j < NR ? nc - j : NR;
          const float *bp;
          int64_t ldb;
          if (b.packed) {
            // The last panel is narrower when N is not a multiple of the
            // panel width; an edge tile there is copied out, as the
            // register tile reads whole vectors past its columns.
            int64_t q = j0 + j, panel0 = q - q % kPackPanel;
            int64_t width = n - panel0 < kPackPanel ? n - panel0 : kPackPanel;
            bp = b.base + p0 * n + panel0 * kc + (q - panel0);
            ldb = width;
            if (cols < NR) {
              for (int64_t p = 0; p < kc; ++p)
                for (int64_t col = 0; col < cols; ++col)
                  bPack[p * NR + col] = bp[p * width + col];
              bp = bPack;
              ldb = NR;
            }
          } else if (!directB) {
            bp = bPack + j * kc;
            ldb = NR;
          } else if (cols == NR || cols == W) {
            bp = b.base + p0 * b.rowStride + j0 + j;
            ldb = b.rowStride;
          } else {
            packB(bPack, p0, kc, j0 + j, cols);
            bp = bPack;
            ldb = NR;
          }
          // A prepacked B panel is kc rows of ldb floats; the row tiles
          // over it share out the lines of the panel two ahead (see
          // Prefetch; past the weight's end a prefetch is dropped, it
          // never faults). B packed here (or an edge panel copied) is in
          // cache.
          const char *next = nullptr;
          int64_t share = 0;
          if (b.packed && bp != bPack) {
            int64_t tiles = (mc + MR - 1) / MR;
            int64_t panelBytes = kc * ldb * int64_t(sizeof(float));
            share = (panelBytes + tiles * kc - 1) / (tiles * kc);
            next = reinterpret_cast<const char *>(bp) + 2 * panelBytes;
          }
          for (int64_t i = 0; i < mc; i += MR) {
            int rows = mc - i < MR ? int(mc - i) : MR;
            Prefetch pf;
            if (next)
              pf = Prefetch{next + i / MR * kc * share, share};
            if (a.packed) {
              PackedRows rowsA = packedRows(i0 + i, p0, kc);
              runTile(rows, cols, kc, rowsA.at, 1, rowsA.height, bp, ldb, i0 + i,
                      j0 + j, p0, {}, pf);
            } else if (directA) {
              runTile(rows, cols, kc,
                      a.base + (i0 + i) * a.rowStride + p0 * a.colStride,
                      a.rowStride, a.colStride, bp, ldb, i0 + i, j0 + j, p0);
            } else if (inPlaceA) {
              int64_t oy = (aRow0 + i0 + i) / MR;
              runTile(rows, cols, kc, a.base + oy * aw->sh * aw->w, 1, 0, bp,
                      ldb, i0 + i, j0 + j, p0,
                      InPlace{aRowsAt, bSteps.get(ldb, kc)});
            } else
              runTile(rows, cols, kc, aPack + i * kc, 1, rows, bp, ldb,
                      i0 + i, j0 + j, p0, {}, pf);
          }
        }
      }
    }
  }
};

/// C[j0 + j, i] (the transposed product's columns j0..j0+nc, rows 0..m,
/// computed into t[i * nc + j]) = out's epilogue of t (plus C's value
/// when out accumulates): W x W blocks of t transposed in registers, so
/// that t is read and C written a vector at a time.
template <int W>
void finishTransposed(const Transposed &out, const float *t, int64_t m,
                      int64_t j0, int64_t nc) {
  const Epilogue &ep = out.ep;
  bool accumulate = !(ep.flags & kOverwrite);
  auto finish = [&](Vec<W> v, int64_t r, int64_t i, int64_t lanes) {
    float *dst = out.c + r * out.cRow + i * out.cCol;
    Mask<W> mask = firstLanes<W>(lanes);
    auto read = [&](const float *p) {
      if (out.cCol != 1) {
        Vec<W> x = 0.0f;
        for (int64_t l = 0; l < lanes; ++l)
          x[l] = p[l * out.cCol];
        return x;
      }
      return lanes == W ? load<W>(p) : __builtin_masked_load(mask, p);
    };
    if (ep.rowBias)
      v += Vec<W>(ep.rowBias[r]);
    if (ep.colBias)
      v += lanes == W ? load<W>(ep.colBias + i)
                      : __builtin_masked_load(mask, ep.colBias + i);
    if (accumulate)
      v += read(dst);
    if (ep.addend)
      v += read(ep.addend + r * out.cRow + i * out.cCol);
    v = v < Vec<W>(ep.lo) ? Vec<W>(ep.lo) : v;
    v = v > Vec<W>(ep.hi) ? Vec<W>(ep.hi) : v;
    if (out.cCol != 1) {
      for (int64_t l = 0; l < lanes; ++l)
        dst[l * out.cCol] = v[l];
    } else if (lanes == W) {
      store<W>(dst, v);
    } else {
      __builtin_masked_store(mask, v, dst);
    }
  };
  for (int64_t j = 0; j < nc; j += W) {
    int64_t channels = nc - j < W ? nc - j : W;
    Mask<W> channelMask = firstLanes<W>(channels);
    for (int64_t i = 0; i < m; i += W) {
      int64_t positions = m - i < W ? m - i : W;
      Vec<W> rows[W];
      for (int x = 0; x < W; ++x) {
        // Rows past m repeat the last one; their lanes are not stored.
        const float *src = t + (i + (x < positions ? x : positions - 1)) * nc + j;
        rows[x] = channels == W ? load<W>(src) : __builtin_masked_load(channelMask, src);
      }
      transpose<W>(rows);
      for (int y = 0; y < channels; ++y)
        finish(rows[y], j0 + j + y, i, positions);
    }
  }
}

template <typename G> struct BlockTask {
  const G *gemm;
  int64_t blockCols;
};

template <typename G> void runBlock(void *ctx, int64_t index) {
  auto *task = static_cast<BlockTask<G> *>(ctx);
  const G &g = *task->gemm;
  int64_t j0 = index * task->blockCols;
  int64_t nc = g.n - j0 < task->blockCols ? g.n - j0 : task->blockCols;
  // Packing space for this block: B's KC x NC panel (NR-padded) and A's
  // MC x KC block; on the stack when small.
  int64_t kc = g.k < G::KC ? g.k : G::KC;
  int64_t bFloats = g.b.packed || g.grid
                        ? (g.n % G::NR ? kc * G::NR : 0)
                        : kc * ((nc + G::NR - 1) / G::NR) * G::NR;
  int64_t aFloats = g.a.packed ? 0 : kc * (g.m < G::MC ? g.m : G::MC);
  // Computed transposed: the block's columns of Cᵀ, then into C.
  int64_t tFloats = g.out ? g.m * nc : 0;
  constexpr int64_t kStackFloats = 16384;
  float stack[kStackFloats];
  int64_t floats = bFloats + aFloats + tFloats;
  Scratch heap(floats > kStackFloats ? floats : 0);
  float *space = floats > kStackFloats ? heap.get() : stack;
  if (!g.out) {
    g.columnBlock(j0, nc, space, space + bFloats);
  } else {
    G t = g;
    t.c = space + bFloats + aFloats;
    t.cRow = nc;
    t.cCol = 1;
    t.cCol0 = j0;
    t.ep = Epilogue{kOverwrite};
    t.columnBlock(j0, nc, space, space + bFloats);
    finishTransposed<G::Wide>(*g.out, t.c, g.m, j0, nc);
  }
}

/// A block of rows [index * rows, ...) over all the columns, for a GEMM
/// split by rows.
template <typename G> struct RowTask {
  const G *gemm;
  int64_t rows;
};

template <typename G> void runRows(void *ctx, int64_t index) {
  auto *task = static_cast<RowTask<G> *>(ctx);
  G sub = *task->gemm;
  int64_t i0 = index * task->rows;
  sub.m = sub.m - i0 < task->rows ? sub.m - i0 : task->rows;
  if (sub.a.packed || sub.a.windows)
    sub.aRow0 += i0;
  else
    sub.a.base += i0 * sub.a.rowStride;
  Transposed out;
  if (sub.out) {
    // Computed transposed: the rows are C's columns i0.., as are the
    // epilogue's column bias and addend.
    out = *sub.out;
    out.c += i0 * out.cCol;
    if (out.ep.colBias)
      out.ep.colBias += i0;
    if (out.ep.addend)
      out.ep.addend += i0 * out.cCol;
    sub.out = &out;
  } else {
    sub.c += i0 * sub.cRow;
    if (sub.ep.rowBias)
      sub.ep.rowBias += i0;
    if (sub.ep.addend)
      sub.ep.addend += i0 * sub.cRow;
  }
  BlockTask<G> blocks{&sub, G::NC};
  for (int64_t j = 0; j * G::NC < sub.n; ++j)
    runBlock<G>(&blocks, j);
}

template <int W, int MR, int NV>
void gemm(int64_t m, int64_t n, int64_t k, Operand a, Operand b, float *c,
          int64_t cRow, int64_t cCol, const Epilogue &ep,
          const Transposed *out) {
  using G = Gemm<W, MR, NV>;
  if (m <= 0 || n <= 0 || k <= 0)
    return;
  G g{m, n, k, a, b, c, cRow, cCol};
  g.ep = ep;
  g.out = out;
  // A stride-1 convolution's windows read in place on the input's grid
  // (gridBlock) where the columns it computes and drops, w - ow a row,
  // are few.
  if (const Windows *win = b.windows;
      win && !out && cCol == 1 && win->sh == 1 && win->sw == 1 &&
      (win->w - win->ow) * 8 <= win->w) {
    g.grid = true;
    g.n = n = (n / win->ow - 1) * win->w + win->ow;
  }
  int64_t threads = tessera_uk_thread_count;
  bool parallel = tessera_uk_parallel_for && threads > 1 &&
                  m * n * k >= kParallelWork;
  // Split by rows when A is the larger operand (a convolution's weight
  // against few output positions; computed transposed, a convolution's
  // windows over many positions): split by columns, every thread would
  // pack (or gather) all of A; by rows, each packs its rows of A and all
  // of the smaller B. Also when B is small (each thread reads all of it
  // from cache) and the column panels divide unevenly over the threads
  // where the row tiles divide better: MobileNetV2's 160 channels of a
  // 7x7 output, 5 panels (3 against 2) but 4 row tiles (2 and 2).
  int64_t rowTiles = (m + MR - 1) / MR, panels = (n + G::NR - 1) / G::NR;
  bool evenerByRows = k * n <= (int64_t(1) << 18) &&
                      (rowTiles + threads - 1) / threads * panels <
                          (panels + threads - 1) / threads * rowTiles;
  // And when A is gathered from a convolution's windows (computed
  // transposed): split by columns, every thread gathered all of A.
  bool gathersA = out && a.windows;
  if (parallel && (m > n || evenerByRows || gathersA) && m >= 2 * MR) {
    int64_t rows = (m + threads - 1) / threads;
    rows = (rows + MR - 1) / MR * MR;
    RowTask<G> task{&g, rows};
    tessera_uk_parallel_for(tessera_uk_thread_pool, (m + rows - 1) / rows,
                            &runRows<G>, &task);
    return;
  }
  // Column blocks of at most NC; with threads, one block per thread (each
  // packs all of A once, so fewer blocks repack it less) when the problem
  // is worth handing out (kParallelWork).
  int64_t blockCols = G::NC;
  if (parallel) {
    int64_t perBlock = (panels + threads - 1) / threads;
    if (perBlock * G::NR < blockCols)
      blockCols = perBlock * G::NR;
  }
  int64_t blocks = (n + blockCols - 1) / blockCols;
  BlockTask<G> task{&g, blockCols};
  if (parallel && blocks > 1) {
    tessera_uk_parallel_for(tessera_uk_thread_pool, blocks, &runBlock<G>,
                            &task);
    return;
  }
  for (int64_t i = 0; i < blocks; ++i)
    runBlock<G>(&task, i);
}


/// One GEMM of a batch, chosen for the target's vector width.
inline void gemmForTarget(int64_t m, int64_t n, int64_t k, Operand a,
                          Operand b, float *c, int64_t cRow, int64_t cCol,
                          const Epilogue &ep, const Transposed *out = nullptr) {
  // Computed transposed, A (Bᵀ, packed per call) has the rows of a 7x7 or
  // 14x14 output: 14-row tiles (28 accumulators, 31 of the 32 registers)
  // cover 196 and 49 with fewer edge rows than 12 (ResNet-50 b1 3% faster).
  if (tessera_uk_vector_bits >= 512 && out)
    gemm<16, 14, 2>(m, n, k, a, b, c, cRow, cCol, ep, out);
  else if (tessera_uk_vector_bits >= 512)
    gemm<16, 12, 2>(m, n, k, a, b, c, cRow, cCol, ep, out);
  else if (tessera_uk_vector_bits >= 256)
    gemm<8, 6, 2>(m, n, k, a, b, c, cRow, cCol, ep, out);
  else
    gemm<4, 6, 2>(m, n, k, a, b, c, cRow, cCol, ep, out);
}

/// A batch of GEMMs (up to three batch dimensions, strides per operand).
struct Batch {
  int64_t sizes[3];
  int64_t m, n, k;
  const float *a;
  int64_t aStrides[3], am, ak;
  const float *b;
  int64_t bStrides[3], bk, bn;
  bool bPacked;
  float *c;
  int64_t cStrides[3], cm, cn;
  bool aPacked = false;
  Epilogue ep = {};
  const Windows *windows = nullptr;
  // A prepacked as Aᵀ in B's layout: computed transposed (kSwapped).
  bool swapped = false;

  void run(int64_t item) const {
    int64_t i2 = item % sizes[2], rest = item / sizes[2];
    int64_t i1 = rest % sizes[1], i0 = rest / sizes[1];
    Operand av{a + i0 * aStrides[0] + i1 * aStrides[1] + i2 * aStrides[2],
               am, ak, aPacked};
    Operand bv{b + i0 * bStrides[0] + i1 * bStrides[1] + i2 * bStrides[2],
               bk, bn, bPacked, windows};
    int64_t cOffset = i0 * cStrides[0] + i1 * cStrides[1] + i2 * cStrides[2];
    Epilogue itemEp = ep;
    if (itemEp.addend)
      itemEp.addend += cOffset;
    if (swapped) {
      // Cᵀ[n, m] = Bᵀ[n, k] * Aᵀ[k, m]: Bᵀ broadcast (its windows gathered
      // as rows), Aᵀ the prepacked panels of M columns.
      Operand bt{bv.base, bv.colStride, bv.rowStride, false, windows};
      Operand at{av.base, m, 1, true};
      Transposed out{c + cOffset, cm, cn, itemEp};
      gemmForTarget(n, m, k, bt, at, nullptr, 0, 0, Epilogue{}, &out);
      return;
    }
    gemmForTarget(m, n, k, av, bv, c + cOffset, cm, cn, itemEp);
  }
  static void runItem(void *ctx, int64_t item) {
    static_cast<const Batch *>(ctx)->run(item);
  }

  /// Batch items each too small to split their columns over the threads
  /// (attention's per-head products) run on the threads side by side
  /// when together they are worth waking them.
  void runAll() const {
    int64_t items = sizes[0] * sizes[1] * sizes[2];
    int64_t work = m * n * k;
    if (items > 1 && tessera_uk_parallel_for && tessera_uk_thread_count > 1 &&
        work < (int64_t(1) << 23) && items * work >= kParallelWork) {
      tessera_uk_parallel_for(tessera_uk_thread_pool, items, &runItem,
                              const_cast<Batch *>(this));
      return;
    }
    for (int64_t i = 0; i < items; ++i)
      run(i);
  }
};

/// The epilogue from an entry point's trailing arguments.
Epilogue epilogue(intptr_t biasAddr, intptr_t addendAddr, int64_t flags,
                  float lo, float hi) {
  Epilogue ep;
  ep.flags = flags;
  auto *bias = reinterpret_cast<const float *>(biasAddr);
  if (flags & kRowBias)
    ep.rowBias = bias;
  else if (flags & kColBias)
    ep.colBias = bias;
  if (flags & kAddend)
    ep.addend = reinterpret_cast<const float *>(addendAddr);
  ep.lo = lo;
  ep.hi = hi;
  return ep;
}
} // namespace

/// C[b0,b1,b2][m, n] = (C or 0) + sum_k A[b0,b1,b2][m, k] * B[b0,b1,b2][k, n]
/// over up to three batch dimensions; every operand is a base pointer plus
/// element strides (0 for a broadcast dimension). Addresses are passed as
/// integers, as the compiler's calls pass them (MLIR index values). The
/// epilogue (flags kOverwrite, kRowBias, kColBias, kAddend): C is
/// overwritten rather than accumulated into, then bias[m] or bias[n] and
/// addend (C's strides) are added and the result clamped to [lo, hi].
extern "C" __attribute__((visibility("hidden"))) void tessera_uk_sgemm_f32(
    int64_t b0, int64_t b1, int64_t b2, int64_t m, int64_t n, int64_t k,
    intptr_t aAddr, int64_t ab0, int64_t ab1, int64_t ab2, int64_t am,
    int64_t ak, intptr_t bAddr, int64_t bb0, int64_t bb1, int64_t bb2,
    int64_t bk, int64_t bn, intptr_t cAddr, int64_t cb0, int64_t cb1, int64_t cb2,
    int64_t cm, int64_t cn, intptr_t biasAddr, intptr_t addendAddr,
    int64_t flags, float lo, float hi) {
  auto *a = reinterpret_cast<const float *>(aAddr);
  auto *b = reinterpret_cast<const float *>(bAddr);
  auto *c = reinterpret_cast<float *>(cAddr);
  // Inner batch dimensions over which B is shared and A and C are
  // contiguous blocks of rows fold into M: one larger GEMM instead of
  // several small ones (a linear layer over [batch, seq, hidden]); not
  // under a bias per row of each item.
  int64_t sizes[3] = {b0, b1, b2};
  for (int d = 2; d >= 0 && !(flags & kRowBias); --d) {
    if (sizes[d] == 1)
      continue;
    int64_t aStride = d == 0 ? ab0 : d == 1 ? ab1 : ab2;
    int64_t bStride = d == 0 ? bb0 : d == 1 ? bb1 : bb2;
    int64_t cStride = d == 0 ? cb0 : d == 1 ? cb1 : cb2;
    if (bStride != 0 || aStride != m * am || cStride != m * cm)
      break;
    m *= sizes[d];
    sizes[d] = 1;
  }
  Batch batch{{sizes[0], sizes[1], sizes[2]}, m, n, k,
              a, {ab0, ab1, ab2}, am, ak,
              b, {bb0, bb1, bb2}, bk, bn, false,
              c, {cb0, cb1, cb2}, cm, cn};
  batch.ep = epilogue(biasAddr, addendAddr, flags, lo, hi);
  batch.runAll();
}

/// tessera_uk_sgemm_f32 with B a weight prepacked at compile time (the
/// layout at kPackKC above): [K, N], the same for every batch (its strides
/// are ignored).
extern "C" __attribute__((visibility("hidden"))) void tessera_uk_sgemm_f32_pb(
    int64_t b0, int64_t b1, int64_t b2, int64_t m, int64_t n, int64_t k,
    intptr_t aAddr, int64_t ab0, int64_t ab1, int64_t ab2, int64_t am,
    int64_t ak, intptr_t bAddr, int64_t, int64_t, int64_t, int64_t, int64_t,
    intptr_t cAddr, int64_t cb0, int64_t cb1, int64_t cb2, int64_t cm, int64_t cn,
    intptr_t biasAddr, intptr_t addendAddr, int64_t flags, float lo, float hi) {
  auto *a = reinterpret_cast<const float *>(aAddr);
  auto *c = reinterpret_cast<float *>(cAddr);
  int64_t sizes[3] = {b0, b1, b2}, aStrides[3] = {ab0, ab1, ab2},
          cStrides[3] = {cb0, cb1, cb2};
  for (int d = 2; d >= 0 && !(flags & kRowBias); --d) {
    if (sizes[d] == 1)
      continue;
    if (aStrides[d] != m * am || cStrides[d] != m * cm)
      break;
    m *= sizes[d];
    sizes[d] = 1;
  }
  Batch batch{{sizes[0], sizes[1], sizes[2]}, m, n, k,
              a, {ab0, ab1, ab2}, am, ak,
              reinterpret_cast<const float *>(bAddr), {0, 0, 0}, n, 1, true,
              c, {cb0, cb1, cb2}, cm, cn};
  batch.ep = epilogue(biasAddr, addendAddr, flags, lo, hi);
  batch.runAll();
}

/// tessera_uk_sgemm_f32 with A a weight prepacked at compile time (the
/// layout at kPackRows above, or with flag 32 Aᵀ's as a B: kSwapped): [M,
/// K], the same for every batch (its strides are ignored; the batch
/// dimensions do not fold into M).
extern "C" __attribute__((visibility("hidden"))) void tessera_uk_sgemm_f32_pa(
    int64_t b0, int64_t b1, int64_t b2, int64_t m, int64_t n, int64_t k,
    intptr_t aAddr, int64_t, int64_t, int64_t, int64_t, int64_t,
    intptr_t bAddr, int64_t bb0, int64_t bb1, int64_t bb2, int64_t bk, int64_t bn,
    intptr_t cAddr, int64_t cb0, int64_t cb1, int64_t cb2, int64_t cm, int64_t cn,
    intptr_t biasAddr, intptr_t addendAddr, int64_t flags, float lo, float hi) {
  Batch batch{{b0, b1, b2}, m, n, k,
              reinterpret_cast<const float *>(aAddr), {0, 0, 0}, m, 1,
              reinterpret_cast<const float *>(bAddr), {bb0, bb1, bb2}, bk, bn, false,
              reinterpret_cast<float *>(cAddr), {cb0, cb1, cb2}, cm, cn, true};
  batch.ep = epilogue(biasAddr, addendAddr, flags, lo, hi);
  batch.swapped = flags & kSwapped;
  batch.runAll();
}

/// tessera_uk_sgemm_f32 with B the im2col patches of a 2-D convolution,
/// gathered from its padded input at x (Windows above: the input's h and
/// w, the kernel's kh and kw, strides, dilations and the output's width
/// ow); bb0..bb2 step through x per batch index. With flag 16, A is
/// prepacked as in tessera_uk_sgemm_f32_pa (its strides ignored), with
/// flags 16 and 32 as Aᵀ (kSwapped).
extern "C" __attribute__((visibility("hidden"))) void tessera_uk_sgemm_f32_win(
    int64_t b0, int64_t b1, int64_t b2, int64_t m, int64_t n, int64_t k,
    intptr_t aAddr, int64_t ab0, int64_t ab1, int64_t ab2, int64_t am, int64_t ak,
    intptr_t xAddr, int64_t bb0, int64_t bb1, int64_t bb2, int64_t h, int64_t w,
    int64_t kh, int64_t kw, int64_t sh, int64_t sw, int64_t dh, int64_t dw, int64_t ow,
    intptr_t cAddr, int64_t cb0, int64_t cb1, int64_t cb2, int64_t cm, int64_t cn,
    intptr_t biasAddr, intptr_t addendAddr, int64_t flags, float lo, float hi) {
  Windows windows{h, w, kh, kw, sh, sw, dh, dw, ow};
  bool aPacked = flags & kPackedA;
  Batch batch{{b0, b1, b2}, m, n, k,
              reinterpret_cast<const float *>(aAddr),
              {aPacked ? 0 : ab0, aPacked ? 0 : ab1, aPacked ? 0 : ab2},
              aPacked ? m : am, aPacked ? 1 : ak,
              reinterpret_cast<const float *>(xAddr), {bb0, bb1, bb2}, n, 1, false,
              reinterpret_cast<float *>(cAddr), {cb0, cb1, cb2}, cm, cn, aPacked};
  batch.ep = epilogue(biasAddr, addendAddr, flags, lo, hi);
  batch.windows = &windows;
  batch.swapped = aPacked && (flags & kSwapped);
  batch.runAll();
}
