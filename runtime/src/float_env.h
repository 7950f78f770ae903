//===- float_env.h - The floating-point mode the host code runs in -*- C++ -*-===//
//
// CPU host code runs with results that would be subnormal flushed to zero
// (x86 MXCSR.FTZ, AArch64 FPCR.FZ) unless the runtime was created with
// keep_denormals: on some cores every operation that produces a subnormal
// takes a microcode assist of about a hundred cycles (a transformer's
// softmax and GELU tails produce them: GPT-2 small ran 1.7x slower on an
// Intel Xeon). Inputs that are subnormal are still read as they are.
//
//===----------------------------------------------------------------------===//
#ifndef TESSERA_RUNTIME_FLOAT_ENV_H
#define TESSERA_RUNTIME_FLOAT_ENV_H

#include <cstdint>
#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
#endif

namespace tessera::runtime {

/// While alive, the calling thread flushes subnormal results to zero when
/// `flush`; its previous mode comes back when it ends (an embedding
/// application's threads keep theirs).
class FlushDenormals {
public:
  explicit FlushDenormals(bool flush) {
    if (!flush)
      return;
#if defined(__x86_64__) || defined(__i386__)
    saved_ = _mm_getcsr();
    _mm_setcsr(static_cast<unsigned>(saved_) | kFtz);
    active_ = true;
#elif defined(__aarch64__)
    uint64_t fpcr;
    __asm__ volatile("mrs %0, fpcr" : "=r"(fpcr));
    saved_ = fpcr;
    fpcr |= kFz;
    __asm__ volatile("msr fpcr, %0" : : "r"(fpcr));
    active_ = true;
#endif
  }
  ~FlushDenormals() {
    if (!active_)
      return;
#if defined(__x86_64__) || defined(__i386__)
    _mm_setcsr(static_cast<unsigned>(saved_));
#elif defined(__aarch64__)
    __asm__ volatile("msr fpcr, %0" : : "r"(saved_));
#endif
  }
  FlushDenormals(const FlushDenormals &) = delete;
  FlushDenormals &operator=(const FlushDenormals &) = delete;

private:
  static constexpr uint64_t kFtz = 0x8000;     // MXCSR bit 15
  static constexpr uint64_t kFz = 1ull << 24;  // FPCR bit 24
  uint64_t saved_ = 0;
  bool active_ = false;
};

} // namespace tessera::runtime

#endif // TESSERA_RUNTIME_FLOAT_ENV_H
