//===- gemm.cc - The gemm hook on cuBLASLt --------------------------------===//

#include "cuda/gemm.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <map>
#include <set>
#include <vector>

namespace tessera::runtime::cuda {

namespace {
constexpr size_t kWorkspaceBytes = size_t(32) << 20;

/// The logical R x C matrix with strides (sr, sc) as a column-major
/// cuBLASLt operand: itself (sr == 1) or, when `allowTranspose`, the
/// transpose of a column-major C x R matrix (sc == 1).
bool asColumnMajor(int64_t R, int64_t C, int64_t sr, int64_t sc,
                   bool allowTranspose, LtOperand &out) {
  if (sr == 1 || R == 1) {
    int64_t ld = C == 1 ? std::max<int64_t>(R, 1) : sc;
    if (ld >= std::max<int64_t>(R, 1)) {
      out = {false, R, C, ld};
      return true;
    }
  }
  if (allowTranspose && (sc == 1 || C == 1)) {
    int64_t ld = R == 1 ? std::max<int64_t>(C, 1) : sr;
    if (ld >= std::max<int64_t>(C, 1)) {
      out = {true, C, R, ld};
      return true;
    }
  }
  return false;
}

std::string stridesText(const char *name, int64_t s0, int64_t s1) {
  return std::string(name) + " (strides " + std::to_string(s0) + ", " +
         std::to_string(s1) + ")";
}

/// The largest power of two, at most 256, dividing every value.
uint64_t alignment(std::initializer_list<uint64_t> values) {
  uint64_t bits = 256;
  for (uint64_t v : values)
    bits |= v;
  return std::min<uint64_t>(256, bits & (~bits + 1));
}

bool allowTf32() {
  static const bool allow = [] {
    const char *v = std::getenv("TESSERA_CUDA_ALLOW_TF32");
    return v && std::strcmp(v, "1") == 0;
  }();
  return allow;
}
} // namespace

bool planGemm(const GemmCall &call, LtShape &s, std::string &error) {
  s = LtShape();
  switch (static_cast<tsr_dtype_t>(call.dtype)) {
  case TSR_DTYPE_F32:
    s.elementSize = 4;
    break;
  case TSR_DTYPE_F16:
  case TSR_DTYPE_BF16:
    s.elementSize = 2;
    break;
  case TSR_DTYPE_F64:
    s.elementSize = 8;
    break;
  default:
    error = "gemm of element type " + std::to_string(call.dtype) +
            " (f32, f16, bf16 or f64 only)";
    return false;
  }
  if (call.m < 0 || call.n < 0 || call.k < 0 || call.batch[0] < 0 ||
      call.batch[1] < 0 || call.batch[2] < 0) {
    error = "gemm with a negative dimension";
    return false;
  }
  // D is C itself when C is column-major, else C^T.
  if (asColumnMajor(call.m, call.n, call.cm, call.cn, false, s.d)) {
    s.swapped = false;
  } else if (asColumnMajor(call.n, call.m, call.cn, call.cm, false, s.d)) {
    s.swapped = true;
  } else {
    error = "gemm: " + stridesText("C", call.cm, call.cn) +
            " is neither row- nor column-major";
    return false;
  }
  bool ok;
  if (!s.swapped) {
    s.M = call.m, s.N = call.n, s.K = call.k;
    ok = asColumnMajor(call.m, call.k, call.am, call.ak, true, s.x);
    if (!ok)
      error = stridesText("A", call.am, call.ak);
    else if (!(ok = asColumnMajor(call.k, call.n, call.bk, call.bn, true, s.y)))
      error = stridesText("B", call.bk, call.bn);
  } else {
    s.M = call.n, s.N = call.m, s.K = call.k;
    ok = asColumnMajor(call.n, call.k, call.bn, call.bk, true, s.x);
    if (!ok)
      error = stridesText("B", call.bk, call.bn);
    else if (!(ok = asColumnMajor(call.k, call.m, call.ak, call.am, true, s.y)))
      error = stridesText("A", call.am, call.ak);
  }
  if (!ok) {
    error = "gemm: " + error + " is neither row- nor column-major";
    return false;
  }
  const int64_t *xb = s.swapped ? call.bBatch : call.aBatch;
  const int64_t *yb = s.swapped ? call.aBatch : call.bBatch;
  s.loops[0] = call.batch[0];
  s.loops[1] = call.batch[1];
  // A strided batch writes its D matrices concurrently: only when they are
  // distinct (a 0 stride for C accumulates, so that dimension is looped).
  if (call.batch[2] > 1 && call.cBatch[2] != 0) {
    s.batchCount = call.batch[2];
    s.xStride = xb[2];
    s.yStride = yb[2];
    s.dStride = call.cBatch[2];
    s.loops[2] = 1;
  } else {
    s.loops[2] = call.batch[2];
  }
  return true;
}

void ltAddresses(const GemmCall &call, const LtShape &s, int64_t i0,
                 int64_t i1, int64_t i2, uint64_t &x, uint64_t &y,
                 uint64_t &d) {
  auto at = [&](uint64_t base, const int64_t *strides) {
    int64_t e = i0 * strides[0] + i1 * strides[1] + i2 * strides[2];
    return base + static_cast<uint64_t>(e * static_cast<int64_t>(s.elementSize));
  };
  uint64_t a = at(call.a, call.aBatch), b = at(call.b, call.bBatch);
  x = s.swapped ? b : a;
  y = s.swapped ? a : b;
  d = at(call.c, call.cBatch);
}

//===----------------------------------------------------------------------===//
// cuBLASLt plans
//===----------------------------------------------------------------------===//

namespace {
struct Plan {
  cublasLtMatmulDesc_t desc = nullptr;
  cublasLtMatrixLayout_t x = nullptr, y = nullptr, d = nullptr;
  cublasLtMatmulAlgo_t algo{};
  bool f64 = false;
};
} // namespace

struct GemmState {
  const BlasLt *api = nullptr;
  cublasLtHandle_t handle = nullptr;
  Buffer workspace;
  std::map<std::vector<int64_t>, Plan> plans;

  ~GemmState() {
    for (auto &entry : plans) {
      Plan &p = entry.second;
      api->cublasLtMatrixLayoutDestroy(p.x);
      api->cublasLtMatrixLayoutDestroy(p.y);
      api->cublasLtMatrixLayoutDestroy(p.d);
      api->cublasLtMatmulDescDestroy(p.desc);
    }
    if (handle)
      api->cublasLtDestroy(handle);
  }
};

void GemmStateDeleter::operator()(GemmState *state) const { delete state; }

namespace {
Status blasFailure(const Device &device, const char *call,
                   cublasStatus_t status) {
  return Status::error(TSR_INTERNAL,
                       device.name() + ": gemm: " + blasError(call, status));
}

/// The device's cuBLASLt state, made on first use (the caller holds the
/// device's gemm mutex).
Status gemmState(Device &device, GemmState *&out) {
  if (device.gemmState()) {
    out = device.gemmState().get();
    return {};
  }
  std::string e;
  const BlasLt *api = blasLt(e);
  if (!api)
    return Status::error(TSR_FAILED_PRECONDITION,
                         device.name() + ": gemm needs cuBLASLt: " + e);
  std::unique_ptr<GemmState, GemmStateDeleter> state(new GemmState);
  state->api = api;
  cublasStatus_t st = api->cublasLtCreate(&state->handle);
  if (st != CUBLAS_STATUS_SUCCESS) {
    state->handle = nullptr;
    return blasFailure(device, "cublasLtCreate", st);
  }
  Status s = Buffer::make(device, kWorkspaceBytes, "the cuBLASLt workspace",
                          state->workspace);
  if (!s.ok())
    return s;
  out = state.get();
  device.gemmState() = std::move(state);
  return {};
}

Status makePlan(Device &device, GemmState &g, const LtShape &s, int dataType,
                int computeType, const uint64_t align[3], uint64_t bias,
                bool relu, Plan &p) {
  const BlasLt &api = *g.api;
  int scaleType = computeType == CUBLAS_COMPUTE_64F ? CUDA_R_64F : CUDA_R_32F;
  p.f64 = scaleType == CUDA_R_64F;
  cublasStatus_t st = api.cublasLtMatmulDescCreate(&p.desc, computeType, scaleType);
  if (st != CUBLAS_STATUS_SUCCESS)
    return blasFailure(device, "cublasLtMatmulDescCreate", st);
  int32_t opX = s.x.transpose ? CUBLAS_OP_T : CUBLAS_OP_N;
  int32_t opY = s.y.transpose ? CUBLAS_OP_T : CUBLAS_OP_N;
  api.cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_TRANSA, &opX,
                                     sizeof(opX));
  api.cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_TRANSB, &opY,
                                     sizeof(opY));
  if (bias || relu) {
    // The bias: a vector over D's rows (C's columns: D = C^T), added to
    // every column, broadcast over the strided batch (its batch stride is
    // 0); then the ReLU.
    uint32_t epilogue = !bias ? CUBLASLT_EPILOGUE_RELU
                        : relu ? CUBLASLT_EPILOGUE_RELU_BIAS
                               : CUBLASLT_EPILOGUE_BIAS;
    api.cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_EPILOGUE,
                                       &epilogue, sizeof(epilogue));
  }
  if (bias)
    api.cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER,
                                       &bias, sizeof(bias));
  struct {
    const LtOperand *o;
    int64_t stride;
    cublasLtMatrixLayout_t *layout;
  } operands[] = {{&s.x, s.xStride, &p.x}, {&s.y, s.yStride, &p.y},
                  {&s.d, s.dStride, &p.d}};
  for (auto &op : operands) {
    st = api.cublasLtMatrixLayoutCreate(
        op.layout, dataType, static_cast<uint64_t>(op.o->rows),
        static_cast<uint64_t>(op.o->cols), op.o->ld);
    if (st != CUBLAS_STATUS_SUCCESS)
      return blasFailure(device, "cublasLtMatrixLayoutCreate", st);
    if (s.batchCount > 1) {
      int32_t count = static_cast<int32_t>(s.batchCount);
      api.cublasLtMatrixLayoutSetAttribute(
          *op.layout, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &count, sizeof(count));
      api.cublasLtMatrixLayoutSetAttribute(
          *op.layout, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &op.stride,
          sizeof(op.stride));
    }
  }
  cublasLtMatmulPreference_t pref = nullptr;
  st = api.cublasLtMatmulPreferenceCreate(&pref);
  if (st != CUBLAS_STATUS_SUCCESS)
    return blasFailure(device, "cublasLtMatmulPreferenceCreate", st);
  uint64_t workspace = kWorkspaceBytes;
  uint32_t alignments[3] = {static_cast<uint32_t>(align[0]),
                            static_cast<uint32_t>(align[1]),
                            static_cast<uint32_t>(align[2])};
  api.cublasLtMatmulPreferenceSetAttribute(
      pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &workspace, sizeof(workspace));
  api.cublasLtMatmulPreferenceSetAttribute(
      pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, &alignments[0], 4);
  api.cublasLtMatmulPreferenceSetAttribute(
      pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, &alignments[1], 4);
  api.cublasLtMatmulPreferenceSetAttribute(
      pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, &alignments[2], 4);
  api.cublasLtMatmulPreferenceSetAttribute(
      pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, &alignments[2], 4);
  cublasLtMatmulHeuristicResult_t result{};
  int found = 0;
  st = api.cublasLtMatmulAlgoGetHeuristic(g.handle, p.desc, p.x, p.y, p.d, p.d,
                                          pref, 1, &result, &found);
  api.cublasLtMatmulPreferenceDestroy(pref);
  if (st != CUBLAS_STATUS_SUCCESS)
    return blasFailure(device, "cublasLtMatmulAlgoGetHeuristic", st);
  if (found < 1)
    return Status::error(TSR_INTERNAL,
                         device.name() + ": gemm: cuBLASLt has no algorithm for " +
                             std::to_string(s.M) + "x" + std::to_string(s.N) +
                             "x" + std::to_string(s.K));
  p.algo = result.algo;
  return {};
}
} // namespace

Status gemm(Device &device, const GemmCall &call) {
  LtShape s;
  std::string error;
  if (!planGemm(call, s, error))
    return Status::error(TSR_INTERNAL, device.name() + ": " + error);
  if (!s.M || !s.N || !s.K || !s.loops[0] || !s.loops[1] || !s.loops[2] ||
      !s.batchCount)
    return {}; // nothing to add
  int dataType = CUDA_R_32F, computeType = CUBLAS_COMPUTE_32F;
  switch (static_cast<tsr_dtype_t>(call.dtype)) {
  case TSR_DTYPE_F16:
    dataType = CUDA_R_16F;
    break;
  case TSR_DTYPE_BF16:
    dataType = CUDA_R_16BF;
    break;
  case TSR_DTYPE_F64:
    dataType = CUDA_R_64F;
    computeType = CUBLAS_COMPUTE_64F;
    break;
  default:
    if (allowTf32())
      computeType = CUBLAS_COMPUTE_32F_FAST_TF32;
  }
  bool bias = call.flags & kGemmBias, relu = call.flags & kGemmRelu;
  if ((bias && !s.swapped) ||
      ((bias || relu) && !(call.flags & kGemmOverwrite)))
    return Status::error(TSR_INTERNAL,
                         device.name() + ": gemm: a bias needs a row-major C, "
                                         "and a bias or ReLU an overwritten "
                                         "one");
  uint64_t es = s.elementSize;
  const int64_t *xb = s.swapped ? call.bBatch : call.aBatch;
  const int64_t *yb = s.swapped ? call.aBatch : call.bBatch;
  uint64_t x0, y0, d0;
  ltAddresses(call, s, 0, 0, 0, x0, y0, d0);
  uint64_t align[3] = {
      alignment({x0, uint64_t(xb[0]) * es, uint64_t(xb[1]) * es,
                 uint64_t(xb[2]) * es}),
      alignment({y0, uint64_t(yb[0]) * es, uint64_t(yb[1]) * es,
                 uint64_t(yb[2]) * es}),
      alignment({d0, uint64_t(call.cBatch[0]) * es, uint64_t(call.cBatch[1]) * es,
                 uint64_t(call.cBatch[2]) * es})};
  std::vector<int64_t> key = {
      call.dtype,   computeType,   s.x.transpose, s.x.rows,     s.x.cols,
      s.x.ld,       s.y.transpose, s.y.rows,      s.y.cols,     s.y.ld,
      s.d.rows,     s.d.cols,      s.d.ld,        s.batchCount, s.xStride,
      s.yStride,    s.dStride,     int64_t(align[0]), int64_t(align[1]),
      int64_t(align[2]), bias ? int64_t(alignment({call.bias})) : 0, relu};

  std::lock_guard<std::mutex> lock(device.gemmMutex());
  Status st = device.makeCurrent();
  if (!st.ok())
    return st;
  GemmState *g = nullptr;
  if (!(st = gemmState(device, g)).ok())
    return st;
  auto it = g->plans.find(key);
  if (it == g->plans.end()) {
    Plan p;
    st = makePlan(device, *g, s, dataType, computeType, align,
                  bias ? call.bias : 0, relu, p);
    if (!st.ok()) {
      if (p.x)
        g->api->cublasLtMatrixLayoutDestroy(p.x);
      if (p.y)
        g->api->cublasLtMatrixLayoutDestroy(p.y);
      if (p.d)
        g->api->cublasLtMatrixLayoutDestroy(p.d);
      if (p.desc)
        g->api->cublasLtMatmulDescDestroy(p.desc);
      return st;
    }
    it = g->plans.emplace(std::move(key), p).first;
  }
  const Plan &p = it->second;
  if (bias)
    g->api->cublasLtMatmulDescSetAttribute(
        p.desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &call.bias, sizeof(call.bias));
  float one = 1.0f, zero = 0.0f;
  double oneF64 = 1.0, zeroF64 = 0.0;
  const void *alpha = p.f64 ? static_cast<const void *>(&oneF64) : &one;
  // Overwritten: beta = 0 for the first product into each D (a zero batch
  // stride of C accumulates several into one).
  std::set<uint64_t> written;
  for (int64_t i0 = 0; i0 < s.loops[0]; ++i0)
    for (int64_t i1 = 0; i1 < s.loops[1]; ++i1)
      for (int64_t i2 = 0; i2 < s.loops[2]; ++i2) {
        uint64_t x, y, d;
        ltAddresses(call, s, i0, i1, i2, x, y, d);
        bool first = written.insert(d).second;
        if (!first && (bias || relu))
          return Status::error(TSR_INTERNAL,
                               device.name() + ": gemm: a bias or ReLU on a C "
                                               "that several products "
                                               "accumulate into");
        bool overwrite = first && (call.flags & kGemmOverwrite);
        const void *beta =
            !overwrite ? alpha
                       : p.f64 ? static_cast<const void *>(&zeroF64) : &zero;
        cublasStatus_t r = g->api->cublasLtMatmul(
            g->handle, p.desc, alpha, reinterpret_cast<const void *>(x), p.x,
            reinterpret_cast<const void *>(y), p.y, beta,
            reinterpret_cast<const void *>(d), p.d, reinterpret_cast<void *>(d),
            p.d, &p.algo, reinterpret_cast<void *>(g->workspace.get()),
            kWorkspaceBytes, device.stream());
        if (r != CUBLAS_STATUS_SUCCESS)
          return blasFailure(device, "cublasLtMatmul", r);
      }
  return {};
}

} // namespace tessera::runtime::cuda
