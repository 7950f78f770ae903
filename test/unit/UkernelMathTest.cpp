//===- UkernelMathTest.cpp - Tessera's exp/erf against glibc --------------===//
//
// The vectorizable tessera_uk_expf / tessera_uk_erff that CPU artifacts
// inline, compiled here for the host, against glibc's expf and erff over
// a sample of every float (every 997th bit pattern: 4.3 million values).
//
//===----------------------------------------------------------------------===//

#include "codegen/CPU/ukernels/Math.cpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>

namespace {
float fromBits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof(f));
  return f;
}

/// Distance in units in the last place between two floats of any sign.
int64_t ulps(float a, float b) {
  int32_t x, y;
  std::memcpy(&x, &a, 4);
  std::memcpy(&y, &b, 4);
  int64_t ox = x < 0 ? int64_t(INT32_MIN) - x : x;
  int64_t oy = y < 0 ? int64_t(INT32_MIN) - y : y;
  return std::llabs(ox - oy);
}

TEST(UkernelMath, ExpWithinTwoUlpOfGlibc) {
  int64_t worst = 0;
  float at = 0;
  for (uint64_t u = 0; u < (uint64_t(1) << 32); u += 997) {
    float x = fromBits(uint32_t(u));
    float got = tessera_uk_expf(x), want = std::exp(x);
    if (std::isnan(x)) {
      EXPECT_TRUE(std::isnan(got)) << x;
      continue;
    }
    int64_t d = ulps(got, want);
    if (d > worst) {
      worst = d;
      at = x;
    }
  }
  EXPECT_LE(worst, 2) << "at x = " << at;
  EXPECT_EQ(tessera_uk_expf(INFINITY), INFINITY);
  EXPECT_EQ(tessera_uk_expf(-INFINITY), 0.0f);
  EXPECT_EQ(tessera_uk_expf(0.0f), 1.0f);
}

TEST(UkernelMath, ErfWithinOnePointFiveE7OfGlibc) {
  double worst = 0;
  float at = 0;
  for (uint64_t u = 0; u < (uint64_t(1) << 32); u += 997) {
    float x = fromBits(uint32_t(u));
    float got = tessera_uk_erff(x), want = std::erf(x);
    if (std::isnan(x)) {
      EXPECT_TRUE(std::isnan(got)) << x;
      continue;
    }
    double d = std::fabs(double(got) - double(want));
    if (d > worst) {
      worst = d;
      at = x;
    }
  }
  EXPECT_LE(worst, 1.5e-7) << "at x = " << at;
  EXPECT_EQ(tessera_uk_erff(INFINITY), 1.0f);
  EXPECT_EQ(tessera_uk_erff(-INFINITY), -1.0f);
  EXPECT_TRUE(std::signbit(tessera_uk_erff(-0.0f)));
}
} // namespace
