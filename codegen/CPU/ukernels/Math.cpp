//===- Math.cpp - vectorizable f32 exp and erf for CPU artifacts ----------===//
//
// Branch-free float functions that CPU artifacts call instead of libm's
// expf and erff (see tessera-cpu-math-to-ukernels). They are linked into
// the artifact's module as bitcode and inlined, so LLVM's loop vectorizer
// turns a loop of them into vector code for the target; libm's versions
// are opaque calls that keep such loops scalar.
//
// Accuracy (checked against glibc by test/Unit/UkernelMathTest.cpp):
// tessera_uk_expf within 2 ulp; tessera_uk_erff within 1.5e-7 absolute.
//
//===----------------------------------------------------------------------===//

#include <stdint.h>

namespace {
inline float bitsToFloat(uint32_t u) {
  float f;
  __builtin_memcpy(&f, &u, sizeof(f));
  return f;
}
inline uint32_t floatToBits(float f) {
  uint32_t u;
  __builtin_memcpy(&u, &f, sizeof(u));
  return u;
}
/// 2^n for integer n in [-126, 127].
inline float pow2(int32_t n) { return bitsToFloat(uint32_t(n + 127) << 23); }
} // namespace

extern "C" {

/// e^x: x = n ln2 + r with |r| <= ln2/2 (ln2 split in two for an exact
/// product), e^r by a degree-7 polynomial (Cephes' coefficients), then
/// scaled by 2^n in two steps so subnormal results come out right.
__attribute__((always_inline, visibility("hidden"))) float
tessera_uk_expf(float x) {
  const float maxArg = 88.72283935546875f;  // largest x with finite e^x
  const float minArg = -103.97208404541016f; // smallest with e^x > 0
  float xc = x > maxArg ? maxArg : (x < minArg ? minArg : x);
  float n = __builtin_floorf(xc * 1.44269504088896341f + 0.5f);
  float r = xc - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  int32_t ni = int32_t(n);
  int32_t half = ni / 2;
  float y = p * pow2(half) * pow2(ni - half);
  y = x > maxArg ? __builtin_inff() : y;
  y = x < minArg ? 0.0f : y;
  return x != x ? x : y;
}

/// erf(x): for |x| < 0.8 the Taylor series to x^19 (the first term left
/// out is below 2e-10); above, 1 - erfc(|x|) with erfc from the Chebyshev
/// fit of Numerical Recipes (fractional error below 1.2e-7), sign restored.
__attribute__((always_inline, visibility("hidden"))) float
tessera_uk_erff(float x) {
  float z = __builtin_fabsf(x);
  float z2 = x * x;
  // 2/sqrt(pi) * sum (-1)^n x^(2n+1) / (n! (2n+1))
  float s = -1.0f / 6894720.0f;         // n = 9
  s = 1.0f / 685440.0f + z2 * s;        // n = 8
  s = -1.0f / 75600.0f + z2 * s;        // n = 7
  s = 1.0f / 9360.0f + z2 * s;          // n = 6
  s = -1.0f / 1320.0f + z2 * s;         // n = 5
  s = 1.0f / 216.0f + z2 * s;           // n = 4
  s = -1.0f / 42.0f + z2 * s;           // n = 3
  s = 1.0f / 10.0f + z2 * s;            // n = 2
  s = -1.0f / 3.0f + z2 * s;            // n = 1
  s = 1.0f + z2 * s;                    // n = 0
  float small = 1.12837916709551257f * x * s;
  float t = 1.0f / (1.0f + 0.5f * z);
  float q = 0.17087277f;
  q = q * t - 0.82215223f;
  q = q * t + 1.48851587f;
  q = q * t - 1.13520398f;
  q = q * t + 0.27886807f;
  q = q * t - 0.18628806f;
  q = q * t + 0.09678418f;
  q = q * t + 0.37409196f;
  q = q * t + 1.00002368f;
  q = q * t - 1.26551223f;
  float erfc = t * tessera_uk_expf(q - z * z);
  float large = bitsToFloat(floatToBits(1.0f - erfc) |
                            (floatToBits(x) & 0x80000000u));
  return z < 0.8f ? small : large;
}
}
