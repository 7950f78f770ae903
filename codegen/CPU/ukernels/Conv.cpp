//===- Conv.cpp - Depthwise 2-D convolution microkernel for CPU artifacts -===//
//
// Compiled to bitcode and linked into each CPU artifact like Sgemm.cpp.
// `tessera-cpu-depthwise-to-ukernels` turns the direct lowering of an f32
// depthwise convolution (one input and one output channel per group, NCHW,
// the input already padded) into a call of tessera_uk_dwconv2d_f32, taking
// over the zero fill of its output before it and the bias and clamp
// (ReLU, ReLU6) of the elementwise op after it.
//
// The (batch item, channel) planes run in chunks on the runtime's thread
// pool. Small planes (W padded input planes within a quarter of L2) run W
// at a time, one per vector lane, transposed in and out in registers, so
// that every tap is a whole-vector load whatever the stride. Larger ones
// go one at a time: with unit strides a plane is one 1-D convolution over
// its flattened positions, a vector at a time whatever the width; with
// stride 2 both ways and output rows longer than a vector, the same over
// four phase planes the input is deinterleaved into once; otherwise a row
// at a time (stride 2 by a shuffle of two loads per tap). The window sum
// stays in registers over the taps (3x3 unrolled), and the epilogue is
// applied before the one store. The loop nest it replaces re-read and
// re-stored the output row for every tap (MobileNetV2: a third of its time
// in these convolutions).
//
//===----------------------------------------------------------------------===//

#include "Common.h"

namespace {

/// Flags (tessera-cpu-depthwise-to-ukernels writes the same values): the
/// output overwritten rather than accumulated into; x unpadded (its planes
/// srcH x srcW, padded with zeros to h x w, top rows and left columns
/// before them).
constexpr int64_t kOverwrite = 1, kPadded = 2;

/// The most floats of W padded input planes the across-planes form
/// (DwConv::acrossPlanes) holds at once: 256 KB, a quarter of a 1 MB L2.
constexpr int64_t kAcrossFloats = 65536;

struct DwConv {
  int64_t channels, h, w;
  const float *x, *weight;
  int64_t kh, kw, sh, sw, dh, dw;
  float *out;
  int64_t oh, ow;
  const float *bias;
  int64_t flags;
  float lo, hi;
  int64_t srcH, srcW, top, left; // kPadded
  const float *xEnd; // one past the input's last element

  float clamp(float v) const { return v < lo ? lo : v > hi ? hi : v; }
  template <int W> Vec<W> clamp(Vec<W> v) const {
    v = v < Vec<W>(lo) ? Vec<W>(lo) : v;
    return v > Vec<W>(hi) ? Vec<W>(hi) : v;
  }

  /// The window sum whose top-left input element is at `src`.
  float point(const float *src, const float *k) const {
    float acc = 0.0f;
    for (int64_t ky = 0; ky < kh; ++ky)
      for (int64_t kx = 0; kx < kw; ++kx)
        acc += k[ky * kw + kx] * src[ky * dh * w + kx * dw];
    return acc;
  }

  /// U * W window sums into dst[0, U * W): acc[u] += k[ky, kx] * read(ky,
  /// kx, u) over the taps, read giving the u-th vector of inputs the tap
  /// multiplies; K the kernel's height and width when 3 (unrolled), else 0.
  /// U independent accumulators hide the multiply-add latency.
  template <int W, int K, int U, typename Read>
  void sumTaps(const float *k, Read read, float *dst) const {
    Vec<W> acc[U];
#pragma unroll
    for (int u = 0; u < U; ++u)
      acc[u] = Vec<W>(0.0f);
    auto taps = [&](int64_t ky, int64_t kx, float wt) {
#pragma unroll
      for (int u = 0; u < U; ++u)
        acc[u] += Vec<W>(wt) * read(ky, kx, u);
    };
    if constexpr (K != 0) {
#pragma unroll
      for (int ky = 0; ky < K; ++ky)
#pragma unroll
        for (int kx = 0; kx < K; ++kx)
          taps(ky, kx, k[ky * K + kx]);
    } else {
      for (int64_t ky = 0; ky < kh; ++ky)
        for (int64_t kx = 0; kx < kw; ++kx)
          taps(ky, kx, k[ky * kw + kx]);
    }
#pragma unroll
    for (int u = 0; u < U; ++u)
      store<W>(dst + u * W, acc[u]);
  }

  /// U * W window sums starting at `src`, consecutive outputs S input
  /// columns apart (S 1 or 2).
  template <int W, int S, int K, int U>
  void windows(const float *src, const float *k, float *dst) const {
    sumTaps<W, K, U>(
        k,
        [&](int64_t ky, int64_t kx, int u) {
          return tap<W, S>(src + ky * dh * w + kx * dw + u * W * S);
        },
        dst);
  }
  template <int W, int S> static Vec<W> tap(const float *p) {
    if constexpr (S == 1)
      return load<W>(p);
    else
      return evens<W>(load<W>(p), load<W>(p + W));
  }

  /// dst[i] = window sum of the i-th output from `src`, i < count, outputs
  /// S input columns apart: four vectors at a time, then one, while the
  /// vectors' reads stay before `xEnd` (lanes past `count` read the padded
  /// input's next elements and are discarded), then one output at a time.
  template <int W, int S, int K>
  void run(const float *src, const float *k, float *dst, int64_t count,
           const float *xEnd) const {
    int64_t reach = (kh - 1) * dh * w + (kw - 1) * dw + (S == 2 ? W : 0);
    int64_t i = 0;
    for (; i < count && src + S * (i + 4 * W) + reach <= xEnd && count - i > 2 * W;
         i += 4 * W)
      windows<W, S, K, 4>(src + S * i, k, dst + i);
    for (; i < count && src + S * (i + W) + reach <= xEnd; i += W)
      windows<W, S, K, 1>(src + S * i, k, dst + i);
    for (; i < count; ++i)
      dst[i] = point(src + S * i, k);
  }

  /// o[0, n) = clamp((o or 0) + sums + b).
  template <int W>
  void finish(float *o, const float *sums, int64_t n, float b, bool overwrite) const {
    int64_t i = 0;
    for (; i + W <= n; i += W) {
      Vec<W> v = load<W>(sums + i) + Vec<W>(b);
      if (!overwrite)
        v += load<W>(o + i);
      store<W>(o + i, clamp<W>(v));
    }
    if (i < n) { // the row's last n - i < W outputs, masked
      Mask<W> mask = firstLanes<W>(n - i);
      Vec<W> v = load<W>(sums + i) + Vec<W>(b);
      if (!overwrite)
        v += __builtin_masked_load(mask, o + i);
      __builtin_masked_store(mask, clamp<W>(v), o + i);
    }
  }

  /// Stride 2 both ways without dilation: the padded plane is read as four
  /// phase planes, P[a][b][i][j] = padded[2i + a][2j + b], each phaseRows
  /// x phaseCols (the rows and columns the windows reach), so that tap
  /// (ky, kx) of output (oy, ox) is P[ky % 2][kx % 2][oy + ky / 2][ox +
  /// kx / 2]: a unit-stride read, and the outputs, as with unit strides,
  /// one 1-D convolution over flattened positions q = oy * phaseCols + ox.
  /// The plane is deinterleaved once (a shuffle per two vectors of input)
  /// where the row-by-row form shuffled two loads for every tap. Only for
  /// output rows longer than a vector: MobileNetV2's 56- and 28-wide
  /// outputs ran 15-20% faster, its 14- and 7-wide ones slower (building
  /// the phases costs more than it saves on rows of one masked vector).
  template <int W> bool phased() const {
    return sh == 2 && sw == 2 && dh == 1 && dw == 1 && ow > W;
  }
  int64_t phaseRows() const { return oh + (kh - 1) / 2; }
  int64_t phaseCols() const { return ow + (kw - 1) / 2; }
  /// A phase plane and the zeros after it that whole-vector reads reach.
  template <int W> int64_t phaseStride() const {
    return phaseRows() * phaseCols() + 4 * W;
  }

  /// Floats of scratch a call's planes need: across planes, W lanes of the
  /// padded input, of the sums and of the taps' weights and bias; one
  /// plane at a time, its sums (oh * w and four vectors), and with kPadded
  /// the padded input plane and slack past it; phased, oh * phaseCols sums
  /// and the four phase planes.
  template <int W> int64_t scratchFloats() const {
    if (acrossPlanes<W>())
      return (h * w + oh * ow + kh * kw + 1) * W;
    if (phased<W>())
      return oh * phaseCols() + 4 * W + 4 * phaseStride<W>();
    return oh * w + 4 * W + (flags & kPadded ? h * w + 8 * W : 0);
  }

  /// The four phase planes of `src` (rows x cols, placed at row `top` and
  /// column `left` of the zero-padded plane) into ph, phaseStride apart in
  /// the order P[0][0], P[0][1], P[1][0], P[1][1].
  template <int W>
  void buildPhases(const float *src, int64_t rows, int64_t cols, int64_t top,
                   int64_t left, float *ph) const {
    int64_t hp = phaseRows(), wp = phaseCols(), ps = phaseStride<W>();
    auto zero = [](float *d, int64_t n) {
      int64_t i = 0;
      for (; i + W <= n; i += W)
        store<W>(d + i, Vec<W>(0.0f));
      for (; i < n; ++i)
        d[i] = 0.0f;
    };
    // Only the columns the windows reach (2 * wp of the padded row).
    int64_t end = cols < 2 * wp - left ? cols : 2 * wp - left;
    // Per phase column b, the j whose padded column 2j + b holds input:
    // [(left - b + 1) / 2, (left + end - b + 1) / 2).
    int64_t lo0 = (left + 1) / 2, lo1 = left / 2;
    int64_t hi0 = (left + end + 1) / 2, hi1 = (left + end) / 2;
    for (int64_t a = 0; a < 2; ++a) {
      for (int64_t i = 0; i < hp; ++i) {
        float *e = ph + 2 * a * ps + i * wp, *o = e + ps;
        int64_t y = 2 * i + a - top;
        if (y < 0 || y >= rows || end <= 0) {
          zero(e, wp);
          zero(o, wp);
          continue;
        }
        zero(e, lo0);
        zero(e + hi0, wp - hi0);
        zero(o, lo1);
        zero(o + hi1, wp - hi1);
        const float *s = src + y * cols;
        int64_t x = 0;
        if (left & 1) { // input column 0 is an odd padded column
          o[lo1] = s[0];
          x = 1;
        }
        float *ej = e + (x + left) / 2, *oj = o + (x + left) / 2;
        for (; x + 2 * W <= end; x += 2 * W, ej += W, oj += W) {
          Vec<W> v0 = load<W>(s + x), v1 = load<W>(s + x + W);
          store<W>(ej, evens<W>(v0, v1));
          store<W>(oj, odds<W>(v0, v1));
        }
        if (x < end) { // the last n < 2W inputs, masked
          int64_t n = end - x;
          Vec<W> v0 = __builtin_masked_load(firstLanes<W>(n), s + x);
          Vec<W> v1 = __builtin_masked_load(firstLanes<W>(n - W), s + x + W);
          __builtin_masked_store(firstLanes<W>((n + 1) / 2), evens<W>(v0, v1), ej);
          __builtin_masked_store(firstLanes<W>(n / 2), odds<W>(v0, v1), oj);
        }
      }
    }
    for (int64_t b = 0; b < 4; ++b) // the slack whole vectors read
      zero(ph + b * ps + hp * wp, 4 * W);
  }

  /// U * W window sums of consecutive outputs from the phase planes (`ph`
  /// at the first output's position), as `windows` for unit strides.
  template <int W, int K, int U>
  void phasedWindows(const float *ph, int64_t ps, int64_t wp, const float *k,
                     float *dst) const {
    sumTaps<W, K, U>(
        k,
        [&](int64_t ky, int64_t kx, int u) {
          return load<W>(ph + ((ky & 1) * 2 + (kx & 1)) * ps + (ky >> 1) * wp +
                         (kx >> 1) + u * W);
        },
        dst);
  }

  /// Small planes run W at a time, one per vector lane, where W padded
  /// input planes fit in L2 (kAcrossFloats: up to 64x64 with 16 lanes;
  /// MobileNetV2's layers but the two on 112x112 inputs). Plane by plane,
  /// rows of one or two vectors cost more in padding, masked row tails and
  /// per-plane loops than in their 9 multiply-adds per output: against
  /// ONNX Runtime's depthwise convolutions in the model (channel-blocked,
  /// lanes over channels), its 28x28 to 7x7 layers ran 1.3-4.5x slower.
  /// Across planes, every tap of every stride and dilation is a
  /// whole-vector load and the output one vector per position; the planes
  /// go in and out through in-register transposes. On 112x112 inputs this
  /// was slower (96 channels at stride 2: 1.28x): their padded planes,
  /// 16 at a time, outgrow L2.
  template <int W> bool acrossPlanes() const {
    return h * w * W <= kAcrossFloats;
  }

  /// W planes from `p0` (`lanes` of them, the rest of the lanes unused)
  /// as positions x lanes: the padded input's h x w positions at `in`,
  /// the window sums' oh x ow at `sums`, the taps' weights and the bias
  /// per lane after them.
  template <int W, int K>
  void planesAcross(int64_t p0, int64_t lanes, float *scratch) const {
    float *in = scratch, *sums = in + h * w * W, *taps = sums + oh * ow * W;
    int64_t kk = kh * kw;
    // The taps' weights and the bias per lane: a plane's kk weights are a
    // row, transposed with the others' when they fit a vector.
    Vec<W> wt[W];
    for (int64_t l = 0, c = p0 % channels; l < W; ++l) {
      if (kk <= W)
        wt[l] = l < lanes ? __builtin_masked_load(firstLanes<W>(kk), weight + c * kk)
                          : Vec<W>(0.0f);
      else
        for (int64_t t = 0; t < kk; ++t)
          taps[t * W + l] = l < lanes ? weight[c * kk + t] : 0.0f;
      taps[kk * W + l] = l < lanes && bias ? bias[c] : 0.0f;
      if (++c == channels)
        c = 0;
    }
    if (kk <= W) {
      transpose<W>(wt);
      for (int64_t t = 0; t < kk; ++t)
        store<W>(taps + t * W, wt[t]);
    }
    // The input planes' positions into `in` (its zero border written once
    // per call, see acrossBorder): W positions of the W planes at a time,
    // transposed.
    bool padding = flags & kPadded;
    int64_t rows = padding ? srcH : h, cols = padding ? srcW : w;
    int64_t y0 = padding ? top : 0, x0 = padding ? left : 0;
    const float *src = x + p0 * rows * cols;
    int64_t count = rows * cols;
    for (int64_t q = 0, y = 0, xx = 0; q < count; q += W) {
      int64_t n = count - q < W ? count - q : W;
      Vec<W> v[W];
      for (int64_t l = 0; l < W; ++l) {
        const float *plane = src + l * count + q;
        v[l] = l >= lanes ? Vec<W>(0.0f)
               : n == W   ? load<W>(plane)
                          : __builtin_masked_load(firstLanes<W>(n), plane);
      }
      transpose<W>(v);
      for (int64_t j = 0; j < n; ++j) {
        store<W>(in + ((y0 + y) * w + x0 + xx) * W, v[j]);
        if (++xx == cols) {
          xx = 0;
          ++y;
        }
      }
    }
    // The window sums plus bias, a position's W planes per vector.
    Vec<W> b = load<W>(taps + kk * W);
    // 3x3: the taps' weights stay in registers (stores to `sums` could
    // alias them in memory).
    Vec<W> wk[K == 0 ? 1 : K * K];
    if constexpr (K != 0)
#pragma unroll
      for (int t = 0; t < K * K; ++t)
        wk[t] = load<W>(taps + t * W);
    for (int64_t oy = 0; oy < oh; ++oy)
      for (int64_t ox = 0; ox < ow; ++ox) {
        const float *at = in + (oy * sh * w + ox * sw) * W;
        Vec<W> acc = b;
        if constexpr (K != 0) {
          // A partial sum per kernel row: three short chains of
          // multiply-adds instead of one of nine.
          Vec<W> part[K];
#pragma unroll
          for (int ky = 0; ky < K; ++ky)
            part[ky] = ky == 0 ? b : Vec<W>(0.0f);
#pragma unroll
          for (int ky = 0; ky < K; ++ky)
#pragma unroll
            for (int kx = 0; kx < K; ++kx)
              part[ky] += wk[ky * K + kx] * load<W>(at + (ky * dh * w + kx * dw) * W);
          acc = part[0];
#pragma unroll
          for (int ky = 1; ky < K; ++ky)
            acc += part[ky];
        } else {
          for (int64_t ky = 0; ky < kh; ++ky)
            for (int64_t kx = 0; kx < kw; ++kx)
              acc += load<W>(taps + (ky * kw + kx) * W) *
                     load<W>(at + (ky * dh * w + kx * dw) * W);
        }
        store<W>(sums + (oy * ow + ox) * W, acc);
      }
    // Back to the planes, W positions at a time: (+ output) and clamped.
    bool overwrite = flags & kOverwrite;
    int64_t outCount = oh * ow;
    for (int64_t q = 0; q < outCount; q += W) {
      int64_t n = outCount - q < W ? outCount - q : W;
      Mask<W> mask = firstLanes<W>(n);
      Vec<W> v[W];
      for (int64_t j = 0; j < W; ++j)
        v[j] = j < n ? load<W>(sums + (q + j) * W) : Vec<W>(0.0f);
      transpose<W>(v);
      for (int64_t l = 0; l < lanes; ++l) {
        float *o = out + (p0 + l) * outCount + q;
        Vec<W> r = v[l];
        if (!overwrite)
          r += n == W ? load<W>(o) : __builtin_masked_load(mask, o);
        r = clamp<W>(r);
        if (n == W)
          store<W>(o, r);
        else
          __builtin_masked_store(mask, r, o);
      }
    }
  }

  /// The zero border of planesAcross's padded input in `scratch` (when
  /// this kernel pads): the positions its planes' values never overwrite.
  template <int W> void acrossBorder(float *in) const {
    if (!(flags & kPadded))
      return;
    auto zero = [&](int64_t from, int64_t count) {
      for (int64_t q = from; q < from + count; ++q)
        store<W>(in + q * W, Vec<W>(0.0f));
    };
    zero(0, top * w);
    for (int64_t y = 0; y < srcH; ++y) {
      zero((top + y) * w, left);
      zero((top + y) * w + left + srcW, w - left - srcW);
    }
    zero((top + srcH) * w, (h - top - srcH) * w);
  }

  /// Plane `p` into `scratch`, then out (planes too large to run across
  /// lanes). With unit strides the outputs of a row and the next are w
  /// input elements apart, so the plane is one 1-D convolution over
  /// flattened positions q = oy * w + ox (w - ow of them per row past the
  /// output's columns), a vector at a time whatever the width; stride 2
  /// both ways with rows longer than a vector reads phase planes;
  /// otherwise a row at a time. An unpadded input is first padded into
  /// scratch, in cache (the copy and fill it replaces went through memory).
  template <int W, int K> void plane(int64_t p, float *scratch) const {
    const float *in, *end;
    float *sums = scratch;
    const float *k = weight + (p % channels) * kh * kw;
    float *o = out + p * oh * ow;
    float b = bias ? bias[p % channels] : 0.0f;
    bool overwrite = flags & kOverwrite;
    if (phased<W>()) {
      int64_t wp = phaseCols(), ps = phaseStride<W>();
      float *ph = scratch + oh * wp + 4 * W;
      if (flags & kPadded)
        buildPhases<W>(x + p * srcH * srcW, srcH, srcW, top, left, ph);
      else
        buildPhases<W>(x + p * h * w, h, w, 0, 0, ph);
      // Every read stays within a phase plane and its slack.
      int64_t count = (oh - 1) * wp + ow, i = 0;
      for (; count - i > 2 * W; i += 4 * W)
        phasedWindows<W, K, 4>(ph + i, ps, wp, k, sums + i);
      for (; i < count; i += W)
        phasedWindows<W, K, 1>(ph + i, ps, wp, k, sums + i);
      for (int64_t oy = 0; oy < oh; ++oy)
        finish<W>(o + oy * ow, sums + oy * wp, ow, b, overwrite);
      return;
    }
    if (flags & kPadded) {
      float *padded = scratch + oh * w + 4 * W;
      pad<W>(x + p * srcH * srcW, padded);
      in = padded;
      end = padded + h * w + 8 * W;
    } else {
      in = x + p * h * w;
      end = xEnd;
    }
    if (sh == 1 && sw == 1) {
      run<W, 1, K>(in, k, sums, (oh - 1) * w + ow, end);
      for (int64_t oy = 0; oy < oh; ++oy)
        finish<W>(o + oy * ow, sums + oy * w, ow, b, overwrite);
      return;
    }
    for (int64_t oy = 0; oy < oh; ++oy) {
      const float *src = in + oy * sh * w;
      if (sw == 2) {
        run<W, 2, K>(src, k, sums, ow, end);
      } else {
        for (int64_t ox = 0; ox < ow; ++ox)
          sums[ox] = point(src + ox * sw, k);
      }
      finish<W>(o + oy * ow, sums, ow, b, overwrite);
    }
  }

  /// The h x w padded plane of `src` (srcH x srcW) into dst, then 8 * W
  /// zeros. Vector loops with a masked tail: the rows are short, and
  /// memcpy / memset calls per row cost more than the copy.
  template <int W> void pad(const float *src, float *dst) const {
    auto copy = [](float *d, const float *from, int64_t n) {
      int64_t i = 0;
      for (; i + W <= n; i += W)
        store<W>(d + i, from ? load<W>(from + i) : Vec<W>(0.0f));
      if (i < n) {
        Mask<W> mask = firstLanes<W>(n - i);
        Vec<W> v = from ? __builtin_masked_load(mask, from + i) : Vec<W>(0.0f);
        __builtin_masked_store(mask, v, d + i);
      }
    };
    copy(dst, nullptr, top * w);
    for (int64_t y = 0; y < srcH; ++y) {
      float *row = dst + (top + y) * w;
      copy(row, nullptr, left);
      copy(row + left, src + y * srcW, srcW);
      copy(row + left + srcW, nullptr, w - left - srcW);
    }
    copy(dst + (top + srcH) * w, nullptr, (h - top - srcH) * w + 8 * W);
  }

  template <int W, int K> void planes(int64_t begin, int64_t end) const {
    constexpr int64_t kStackFloats = 16384;
    alignas(64) float stack[kStackFloats];
    int64_t floats = scratchFloats<W>();
    Scratch heap(floats > kStackFloats ? floats : 0);
    float *scratch = floats > kStackFloats ? heap.get() : stack;
    if (acrossPlanes<W>()) {
      acrossBorder<W>(scratch);
      for (int64_t p = begin; p < end; p += W)
        planesAcross<W, K>(p, end - p < W ? end - p : W, scratch);
      return;
    }
    for (int64_t p = begin; p < end; ++p)
      plane<W, K>(p, scratch);
  }
  template <int W> void planes(int64_t begin, int64_t end) const {
    if (kh == 3 && kw == 3)
      planes<W, 3>(begin, end);
    else
      planes<W, 0>(begin, end);
  }
  /// Planes a chunk of work is a multiple of: W when they run W at a time.
  int64_t planeUnit() const {
    return forTargetWidth([&](auto lanes) -> int64_t {
      constexpr int W = decltype(lanes)::value;
      return acrossPlanes<W>() ? W : 1;
    });
  }
  void planes(int64_t begin, int64_t end) const {
    forTargetWidth([&](auto lanes) { planes<decltype(lanes)::value>(begin, end); });
  }
};

} // namespace

/// out[n, c, oy, ox] (=, or += without flag 1) sum over (ky, kx) of
/// x[n, c, oy*sh + ky*dh, ox*sw + kx*dw] * weight[c, ky, kx], then + bias[c]
/// (when bias is not 0) and clamped to [lo, hi]. x is [n, c, h, w] (padded),
/// or with flag 2 [n, c, srcH, srcW], which the kernel pads with zeros to
/// h x w (top rows and left columns before it); weight [c, kh, kw], out
/// [n, c, oh, ow], all contiguous; addresses as integers, as the
/// compiler's calls pass them.
extern "C" __attribute__((visibility("hidden"))) void tessera_uk_dwconv2d_f32(
    int64_t n, int64_t c, int64_t h, int64_t w, intptr_t xAddr,
    intptr_t weightAddr, int64_t kh, int64_t kw, int64_t sh, int64_t sw,
    int64_t dh, int64_t dw, intptr_t outAddr, int64_t oh, int64_t ow,
    intptr_t biasAddr, int64_t flags, float lo, float hi, int64_t srcH,
    int64_t srcW, int64_t top, int64_t left) {
  const float *x = reinterpret_cast<const float *>(xAddr);
  int64_t planeFloats = flags & kPadded ? srcH * srcW : h * w;
  DwConv conv{c, h, w, x, reinterpret_cast<const float *>(weightAddr),
              kh, kw, sh, sw, dh, dw, reinterpret_cast<float *>(outAddr),
              oh, ow, reinterpret_cast<const float *>(biasAddr), flags, lo, hi,
              srcH, srcW, top, left, x + n * c * planeFloats};
  int64_t planes = n * c;
  overPlanes(planes, conv.planeUnit(), planes * oh * ow * kh * kw,
             [&](int64_t begin, int64_t end) { conv.planes(begin, end); });
}
