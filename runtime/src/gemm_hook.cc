//===- gemm_hook.cc - The gemm hook's CPU reference ----------------------===//

#include "gemm_hook.h"
#include "half.h"

#include "tessera/runtime.h"

#include <cstring>
#include <set>
#include <vector>

namespace tessera::runtime {

namespace {
template <typename Acc> struct Element {
  tsr_dtype_t dtype;
  Acc load(uint64_t address) const {
    const void *p = reinterpret_cast<const void *>(address);
    switch (dtype) {
    case TSR_DTYPE_F16:
      return Acc(halfToFloat(*static_cast<const uint16_t *>(p)));
    case TSR_DTYPE_BF16:
      return Acc(bf16ToFloat(*static_cast<const uint16_t *>(p)));
    case TSR_DTYPE_F64:
      return Acc(*static_cast<const double *>(p));
    default:
      return Acc(*static_cast<const float *>(p));
    }
  }
  void store(uint64_t address, Acc v) const {
    void *p = reinterpret_cast<void *>(address);
    switch (dtype) {
    case TSR_DTYPE_F16:
      *static_cast<uint16_t *>(p) = floatToHalf(float(v));
      break;
    case TSR_DTYPE_BF16:
      *static_cast<uint16_t *>(p) = floatToBf16(float(v));
      break;
    case TSR_DTYPE_F64:
      *static_cast<double *>(p) = double(v);
      break;
    default:
      *static_cast<float *>(p) = float(v);
    }
  }
};

template <typename Acc>
bool run(const GemmCall &call, tsr_dtype_t dtype, int64_t size,
         std::string &error) {
  Element<Acc> e{dtype};
  auto at = [&](uint64_t base, int64_t elements) {
    return base + static_cast<uint64_t>(elements * size);
  };
  // C matrices already written by this call (a zero batch stride of C
  // accumulates several products into one).
  std::set<uint64_t> written;
  for (int64_t i0 = 0; i0 < call.batch[0]; ++i0)
    for (int64_t i1 = 0; i1 < call.batch[1]; ++i1)
      for (int64_t i2 = 0; i2 < call.batch[2]; ++i2) {
        uint64_t a = at(call.a, i0 * call.aBatch[0] + i1 * call.aBatch[1] +
                                    i2 * call.aBatch[2]);
        uint64_t b = at(call.b, i0 * call.bBatch[0] + i1 * call.bBatch[1] +
                                    i2 * call.bBatch[2]);
        uint64_t c = at(call.c, i0 * call.cBatch[0] + i1 * call.cBatch[1] +
                                    i2 * call.cBatch[2]);
        bool first = written.insert(c).second;
        bool overwrite = first && (call.flags & kGemmOverwrite);
        bool bias = call.flags & kGemmBias, relu = call.flags & kGemmRelu;
        if (!first && (bias || relu)) {
          error = "gemm: a bias or ReLU on a C that several products "
                  "accumulate into";
          return false;
        }
        for (int64_t m = 0; m < call.m; ++m)
          for (int64_t n = 0; n < call.n; ++n) {
            Acc sum = 0;
            for (int64_t k = 0; k < call.k; ++k)
              sum += e.load(at(a, m * call.am + k * call.ak)) *
                     e.load(at(b, k * call.bk + n * call.bn));
            uint64_t out = at(c, m * call.cm + n * call.cn);
            if (!overwrite)
              sum += e.load(out);
            if (bias)
              sum += e.load(at(call.bias, n));
            if (relu && sum < Acc(0))
              sum = 0;
            e.store(out, sum);
          }
      }
  return true;
}
} // namespace

bool referenceGemm(const GemmCall &call, std::string &error) {
  if ((call.flags & (kGemmBias | kGemmRelu)) && !(call.flags & kGemmOverwrite)) {
    error = "gemm: a bias or ReLU without the overwrite flag";
    return false;
  }
  switch (static_cast<tsr_dtype_t>(call.dtype)) {
  case TSR_DTYPE_F32:
    return run<float>(call, TSR_DTYPE_F32, 4, error);
  case TSR_DTYPE_F16:
  case TSR_DTYPE_BF16:
    return run<float>(call, static_cast<tsr_dtype_t>(call.dtype), 2, error);
  case TSR_DTYPE_F64:
    return run<double>(call, TSR_DTYPE_F64, 8, error);
  default:
    error = "gemm of element type " + std::to_string(call.dtype) +
            " (f32, f16, bf16 or f64 only)";
    return false;
  }
}

} // namespace tessera::runtime
