//===- Pool.cpp - 2-D max pooling microkernel for CPU artifacts ----------===//
//
// Compiled to bitcode and linked into each CPU artifact like Sgemm.cpp.
// `tessera-cpu-maxpool-to-ukernels` turns the lowering of an f32 2-D max
// pool (NCHW) into a call of tessera_uk_maxpool2d_f32, taking over the -inf
// fill of its output and, where it can, the padded copy of its input.
//
// Each output row is two passes over vectors: the maximum of the input
// rows its windows cover, into a row buffer with -inf on either side (the
// padding, never materialized for the whole input), then the maximum
// along that row of each window's columns (stride 2 by even/odd shuffles
// of two loads). The loop nest it replaces stored the output after every
// window element and read a -inf padded copy of the input. The maximum is
// IEEE 754's maximum (llvm.maximum: NaN if either is NaN, -0 below +0),
// as the loop nest's arith.maximumf. Planes run in chunks on the
// runtime's thread pool.
//
//===----------------------------------------------------------------------===//

#include "Common.h"

namespace {

template <int W> inline Vec<W> vmax(Vec<W> a, Vec<W> b) {
  return __builtin_elementwise_maximum(a, b);
}
inline float smax(float a, float b) { return __builtin_elementwise_maximum(a, b); }

struct MaxPool {
  int64_t srcH, srcW;
  const float *x;
  int64_t top, left, kh, kw, sh, sw, dh, dw;
  float *out;
  int64_t oh, ow;

  /// The row buffer: `left` -inf, the input row's maximum, then -inf as
  /// far as whole-vector reads of the last output's windows reach.
  template <int W> int64_t rowFloats() const {
    int64_t outputs = (ow + W - 1) / W * W;
    int64_t reach = (outputs - 1) * sw + (kw - 1) * dw + 1 + (sw == 2 ? W : 0);
    int64_t row = left + srcW;
    return (reach > row ? reach : row) + W;
  }

  template <int W> void fill(float *d, int64_t n, float v) const {
    int64_t i = 0;
    for (; i + W <= n; i += W)
      store<W>(d + i, Vec<W>(v));
    for (; i < n; ++i)
      d[i] = v;
  }

  /// Output row `oy` of the plane at `src` into `dst`; `row` the row
  /// buffer, -inf outside [left, left + srcW).
  template <int W> void outputRow(const float *src, float *dst, int64_t oy, float *row) const {
    float *r = row + left;
    bool any = false;
    for (int64_t ky = 0; ky < kh; ++ky) {
      int64_t y = oy * sh + ky * dh - top;
      if (y < 0 || y >= srcH)
        continue;
      const float *s = src + y * srcW;
      int64_t i = 0;
      if (!any) {
        for (; i + W <= srcW; i += W)
          store<W>(r + i, load<W>(s + i));
        for (; i < srcW; ++i)
          r[i] = s[i];
      } else {
        for (; i + W <= srcW; i += W)
          store<W>(r + i, vmax<W>(load<W>(r + i), load<W>(s + i)));
        for (; i < srcW; ++i)
          r[i] = smax(r[i], s[i]);
      }
      any = true;
    }
    if (!any) // every window row in the padding
      fill<W>(r, srcW, -__builtin_inff());
    float *o = dst + oy * ow;
    if (sw == 1 || sw == 2) {
      for (int64_t ox = 0; ox < ow; ox += W) {
        const float *p = row + ox * sw;
        Vec<W> m = Vec<W>(-__builtin_inff());
        for (int64_t kx = 0; kx < kw; ++kx) {
          const float *q = p + kx * dw;
          m = vmax<W>(m, sw == 1 ? load<W>(q) : evens<W>(load<W>(q), load<W>(q + W)));
        }
        if (ow - ox >= W)
          store<W>(o + ox, m);
        else
          __builtin_masked_store(firstLanes<W>(ow - ox), m, o + ox);
      }
      return;
    }
    for (int64_t ox = 0; ox < ow; ++ox) {
      float m = -__builtin_inff();
      for (int64_t kx = 0; kx < kw; ++kx)
        m = smax(m, row[ox * sw + kx * dw]);
      o[ox] = m;
    }
  }

  template <int W> void planes(int64_t begin, int64_t end) const {
    constexpr int64_t kStackFloats = 4096;
    alignas(64) float stack[kStackFloats];
    int64_t floats = rowFloats<W>();
    Scratch heap(floats > kStackFloats ? floats : 0);
    float *row = floats > kStackFloats ? heap.get() : stack;
    // The padding either side of the input row: written once, the rows
    // write only [left, left + srcW).
    fill<W>(row, floats, -__builtin_inff());
    for (int64_t p = begin; p < end; ++p)
      for (int64_t oy = 0; oy < oh; ++oy)
        outputRow<W>(x + p * srcH * srcW, out + p * oh * ow, oy, row);
  }
  void planes(int64_t begin, int64_t end) const {
    forTargetWidth([&](auto lanes) { planes<decltype(lanes)::value>(begin, end); });
  }
};

} // namespace

/// out[p, oy, ox] = the maximum over (ky, kx) of x[p, oy*sh + ky*dh - top,
/// ox*sw + kx*dw - left], positions outside x's srcH x srcW planes -inf
/// (the padding); x [planes, srcH, srcW] and out [planes, oh, ow]
/// contiguous; addresses as integers, as the compiler's calls pass them.
extern "C" __attribute__((visibility("hidden"))) void tessera_uk_maxpool2d_f32(
    int64_t planes, int64_t srcH, int64_t srcW, intptr_t xAddr, int64_t top,
    int64_t left, int64_t kh, int64_t kw, int64_t sh, int64_t sw, int64_t dh,
    int64_t dw, intptr_t outAddr, int64_t oh, int64_t ow) {
  MaxPool pool{srcH, srcW, reinterpret_cast<const float *>(xAddr), top, left,
               kh, kw, sh, sw, dh, dw, reinterpret_cast<float *>(outAddr), oh, ow};
  overPlanes(planes, 1, planes * oh * ow * kh * kw,
             [&](int64_t begin, int64_t end) { pool.planes(begin, end); });
}
