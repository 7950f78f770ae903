//===- half.h - f16 and bf16 to and from float ------------------*- C++ -*-===//
//
// Round to nearest even, infinities and NaN kept: for the reference GEMM
// and for reductions of f16/bf16 buffers on the host (the local and mpi
// communicators).
//
//===----------------------------------------------------------------------===//
#ifndef TESSERA_RUNTIME_HALF_H
#define TESSERA_RUNTIME_HALF_H

#include <cstdint>
#include <cstring>

namespace tessera::runtime {

inline float halfToFloat(uint16_t h) {
  uint32_t sign = uint32_t(h & 0x8000) << 16, exp = (h >> 10) & 0x1f,
           mant = h & 0x3ff, bits;
  if (exp == 0x1f) {
    bits = sign | 0x7f800000 | (mant << 13); // inf, nan
  } else if (exp != 0) {
    bits = sign | ((exp + 112) << 23) | (mant << 13);
  } else if (mant == 0) {
    bits = sign;
  } else { // subnormal: normalize
    int shift = 0;
    while (!(mant & 0x400)) {
      mant <<= 1;
      ++shift;
    }
    bits = sign | (uint32_t(113 - shift) << 23) | ((mant & 0x3ff) << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

inline uint16_t floatToHalf(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  uint16_t sign = (x >> 16) & 0x8000;
  uint32_t abs = x & 0x7fffffff;
  if (abs >= 0x7f800000) // inf, nan
    return sign | 0x7c00 | (abs > 0x7f800000 ? 0x200 : 0);
  if (abs >= 0x477ff000) // rounds to beyond the largest half
    return sign | 0x7c00;
  if (abs < 0x38800000) { // a subnormal half (or zero)
    float a;
    std::memcpy(&a, &abs, 4);
    // Multiples of 2^-24, rounded to nearest even by the float addition.
    float scaled = a + 0.5f;
    uint32_t s;
    std::memcpy(&s, &scaled, 4);
    return sign | uint16_t(s - 0x3f000000);
  }
  // Normal: round the 13 dropped bits to nearest even.
  uint32_t rounded = abs + 0xfff + ((abs >> 13) & 1);
  return sign | uint16_t((rounded - 0x38000000) >> 13);
}

inline float bf16ToFloat(uint16_t h) {
  uint32_t bits = uint32_t(h) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

inline uint16_t floatToBf16(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  if ((x & 0x7fffffff) > 0x7f800000)
    return uint16_t((x >> 16) | 0x40); // quiet nan
  return uint16_t((x + 0x7fff + ((x >> 16) & 1)) >> 16);
}

} // namespace tessera::runtime

#endif // TESSERA_RUNTIME_HALF_H
