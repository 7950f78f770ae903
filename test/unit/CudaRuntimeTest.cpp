//===- CudaRuntimeTest.cpp - The cuda backend's paths that need no GPU ----===//
//
// Device creation without a driver, cuda artifacts on a machine without a
// GPU, the hook table's cuda entries on a cpu rank, the gemm hook's mapping
// onto cuBLASLt (checked against the definition by simulating cuBLASLt's
// column-major semantics), and the NCCL bootstrap's rendezvous file and
// environment. tessera-cuda-check covers the GPU itself.
//
//===----------------------------------------------------------------------===//

#include "CudaTestArtifact.h"
#include "comm/nccl.h"
#include "cuda/gemm.h"
#include "gemm_hook.h"
#include "mesh.h"
#include "tessera/runtime.h"

#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <thread>

#include <dlfcn.h>
#include <unistd.h>

using namespace tessera;

namespace {
struct Runtime {
  tsr_runtime_t rt = nullptr;
  Runtime() { tsr_runtime_create(nullptr, &rt); }
  ~Runtime() { tsr_runtime_release(rt); }
};

/// A file name under the test's temporary directory.
std::string tempPath(const std::string &name) {
  const char *dir = std::getenv("TMPDIR");
  return std::string(dir && *dir ? dir : "/tmp") + "/tessera-" +
         std::to_string(getpid()) + "-" + name;
}

bool haveGpu(tsr_runtime_t rt) {
  tsr_device_t d = nullptr;
  tsr_status_t s = tsr_device_create(rt, "cuda:0", &d);
  tsr_status_free(s);
  tsr_device_release(d);
  return s == nullptr;
}

TEST(CudaDevice, WithoutAGpuIsAStatusNotACrash) {
  Runtime r;
  if (haveGpu(r.rt))
    GTEST_SKIP() << "this machine has a GPU";
  for (const char *name : {"cuda", "cuda:0", "cuda:7"}) {
    tsr_device_t d = nullptr;
    tsr_status_t s = tsr_device_create(r.rt, name, &d);
    ASSERT_NE(s, nullptr) << name;
    EXPECT_TRUE(tsr_status_code(s) == TSR_NOT_FOUND ||
                tsr_status_code(s) == TSR_UNAVAILABLE)
        << name;
    EXPECT_EQ(std::string(tsr_status_message(s)).rfind("no CUDA device: ", 0), 0u)
        << tsr_status_message(s);
    EXPECT_EQ(d, nullptr);
    tsr_status_free(s);
  }
}

TEST(CudaDevice, BadNamesAreInvalid) {
  Runtime r;
  for (const char *name : {"cuda:", "cuda:x", "cuda:-1", "cuda:0x"}) {
    tsr_device_t d = nullptr;
    tsr_status_t s = tsr_device_create(r.rt, name, &d);
    EXPECT_EQ(tsr_status_code(s), TSR_INVALID_ARGUMENT) << name;
    EXPECT_EQ(std::string(tsr_status_message(s)),
              "bad device name '" + std::string(name) + "' (cuda or cuda:N)");
    tsr_status_free(s);
  }
}

TEST(CudaArtifact, LoadsWithoutAGpuAndRefusesACpuDevice) {
  Runtime r;
  std::string path = tempPath("cuda.tsr"), error;
  ASSERT_TRUE(test::writeCudaTestArtifact(path, "sm_90", true, error)) << error;
  tsr_module_t m = nullptr;
  tsr_status_t s = tsr_module_load_file(r.rt, path.c_str(), &m);
  ASSERT_EQ(s, nullptr) << tsr_status_message(s);
  EXPECT_STREQ(tsr_module_target(m), "cuda");
  tsr_device_t cpu = nullptr;
  ASSERT_EQ(tsr_device_create(r.rt, "cpu", &cpu), nullptr);
  tsr_session_t session = nullptr;
  s = tsr_session_create(m, cpu, nullptr, &session);
  EXPECT_EQ(tsr_status_code(s), TSR_FAILED_PRECONDITION);
  EXPECT_STREQ(tsr_status_message(s),
               "the module was compiled for target 'cuda' and needs a cuda "
               "device, not cpu:0");
  tsr_status_free(s);
  tsr_device_release(cpu);
  tsr_module_release(m);
  unlink(path.c_str());
}

TEST(CudaHooks, GemmRunsOnACpuRankAndLaunchRecordsAnError) {
  void *lib = dlopen(TESSERA_CUDA_TEST_HOST, RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(lib, nullptr) << dlerror();
  runtime::installCollectiveHooks(lib);
  auto entry = reinterpret_cast<runtime::EntryFn>(dlsym(lib, "tessera_entry"));
  ASSERT_NE(entry, nullptr);
  float x[32], w[32], y[16] = {0};
  for (int i = 0; i < 32; ++i)
    x[i] = float(i % 5) - 2.0f, w[i] = float(i % 3) - 1.0f;
  void *buffers[] = {x, w, y};
  runtime::RankContext ctx;
  runtime::runAsRank(entry, buffers, ctx);
  // The gemm (the older `gemm` hook) runs with the reference loops; the
  // launch after it needs a GPU.
  EXPECT_EQ(ctx.code, TSR_FAILED_PRECONDITION);
  EXPECT_EQ(ctx.error, "launch: the artifact's host code is for target cuda "
                       "and this rank runs on a cpu device");
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 4; ++j) {
      float want = 0;
      for (int k = 0; k < 8; ++k)
        want += x[i * 8 + k] * w[k * 4 + j];
      EXPECT_EQ(y[i * 4 + j], want) << i << "," << j;
    }
  dlclose(lib);
}

//===----------------------------------------------------------------------===//
// The gemm hook's CPU reference (runtime/src/gemm_hook.h)
//===----------------------------------------------------------------------===//

TEST(ReferenceGemm, OverwritesAddsTheBiasAppliesTheReluAndAccumulates) {
  // Two batches of C[2,3] = A[2,2] * B[2,3] (+ bias, ReLU): batch 0 and 1
  // write distinct C matrices; then a zero C batch stride accumulates both
  // products into one C, overwritten by the first.
  float a[8] = {1, 2, 3, 4, 5, 6, 7, 8}, b[12], bias[3] = {10, 20, 30};
  for (int i = 0; i < 12; ++i)
    b[i] = float(i) - 5;
  auto call = [&](float *c, int64_t cBatch, int64_t flags) {
    runtime::GemmCall g;
    g.dtype = TSR_DTYPE_F32;
    g.batch[2] = 2;
    g.m = 2, g.n = 3, g.k = 2;
    g.a = uint64_t(a), g.aBatch[2] = 4, g.am = 2, g.ak = 1;
    g.b = uint64_t(b), g.bBatch[2] = 6, g.bk = 3, g.bn = 1;
    g.c = uint64_t(c), g.cBatch[2] = cBatch, g.cm = 3, g.cn = 1;
    g.bias = flags & runtime::kGemmBias ? uint64_t(bias) : 0;
    g.flags = flags;
    std::string error;
    EXPECT_TRUE(runtime::referenceGemm(g, error)) << error;
  };
  auto product = [&](int batch, int i, int j) {
    return a[batch * 4 + i * 2] * b[batch * 6 + j] +
           a[batch * 4 + i * 2 + 1] * b[batch * 6 + 3 + j];
  };
  float c[12];
  std::fill(c, c + 12, 100.0f);
  call(c, 6, runtime::kGemmOverwrite | runtime::kGemmBias | runtime::kGemmRelu);
  for (int batch = 0; batch < 2; ++batch)
    for (int i = 0; i < 2; ++i)
      for (int j = 0; j < 3; ++j)
        EXPECT_EQ(c[batch * 6 + i * 3 + j],
                  std::max(product(batch, i, j) + bias[j], 0.0f));
  std::fill(c, c + 12, 100.0f);
  call(c, 6, runtime::kGemmOverwrite | runtime::kGemmBias);
  for (int batch = 0; batch < 2; ++batch)
    for (int i = 0; i < 2; ++i)
      for (int j = 0; j < 3; ++j)
        EXPECT_EQ(c[batch * 6 + i * 3 + j], product(batch, i, j) + bias[j]);
  std::fill(c, c + 12, 100.0f);
  call(c, 6, 0); // accumulates onto C
  EXPECT_EQ(c[4], 100.0f + product(0, 1, 1));
  std::fill(c, c + 12, 100.0f);
  call(c, 0, runtime::kGemmOverwrite);
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      EXPECT_EQ(c[i * 3 + j], product(0, i, j) + product(1, i, j));
}

/// a * b through the reference gemm (a 1x1x1 product overwriting C) in a
/// 16-bit type.
uint16_t product16(tsr_dtype_t dtype, uint16_t a, uint16_t b) {
  uint16_t c = 0xffff;
  runtime::GemmCall g;
  g.dtype = dtype;
  g.m = g.n = g.k = 1;
  g.a = uint64_t(&a), g.am = 1, g.ak = 1;
  g.b = uint64_t(&b), g.bk = 1, g.bn = 1;
  g.c = uint64_t(&c), g.cm = 1, g.cn = 1;
  g.flags = runtime::kGemmOverwrite;
  std::string error;
  EXPECT_TRUE(runtime::referenceGemm(g, error)) << error;
  return c;
}

TEST(ReferenceGemm, HalfAndBfloat16RoundToNearestEven) {
  // C[1,1] = A[1,1] * B[1,1] in f16 and bf16, against results rounded by
  // hand: exact values stay, others round to nearest, ties to even.
  struct Case {
    tsr_dtype_t dtype;
    uint16_t one, in, out;
  } cases[] = {
      {TSR_DTYPE_F16, 0x3c01, 0x3c01, 0x3c02},  // 1 + 2^-9 + 2^-20: down
      {TSR_DTYPE_F16, 0x3e00, 0x3c01, 0x3e02},  // 1.5 + 1.5 ulp: tie, even
      {TSR_DTYPE_F16, 0x3800, 0x0001, 0x0000},  // 2^-25: tie to 0
      {TSR_DTYPE_F16, 0x3800, 0x0003, 0x0002},  // 1.5 * 2^-24: tie to 2
      {TSR_DTYPE_F16, 0x4000, 0x7bff, 0x7c00},  // overflow: inf
      {TSR_DTYPE_BF16, 0x3f81, 0x3f81, 0x3f82}, // 1 + 2^-6 + 2^-14: down
      {TSR_DTYPE_BF16, 0x3fc0, 0x3f81, 0x3fc2}, // tie, even
      {TSR_DTYPE_F16, 0x3c00, 0x3555, 0x3555},  // 1/3 stays
      {TSR_DTYPE_F16, 0x3c00, 0x0001, 0x0001},  // the smallest subnormal
      {TSR_DTYPE_F16, 0x3c00, 0x7bff, 0x7bff},  // the largest finite
      {TSR_DTYPE_F16, 0x3c00, 0xfc00, 0xfc00},  // -inf
      {TSR_DTYPE_BF16, 0x3f80, 0x3eab, 0x3eab}, // 1/3 in bf16
      {TSR_DTYPE_BF16, 0x3f80, 0xc2f7, 0xc2f7},
  };
  for (const Case &tc : cases)
    EXPECT_EQ(product16(tc.dtype, tc.one, tc.in), tc.out) << std::hex << tc.in;
  // Every finite f16 survives the round trip through float (a sum of one
  // product by 1.0 and an overwritten C).
  for (uint32_t h = 0; h < 0x10000; ++h) {
    if ((h & 0x7c00) == 0x7c00 && (h & 0x3ff))
      continue; // nan
    uint16_t c = product16(TSR_DTYPE_F16, 0x3c00, uint16_t(h));
    if (h == 0x8000)
      EXPECT_TRUE(c == 0x8000 || c == 0) << std::hex << h; // 0 + -0
    else
      ASSERT_EQ(c, h) << std::hex << h;
  }
}

TEST(ReferenceGemm, RejectsWhatItCannotRun) {
  float x = 1;
  runtime::GemmCall g;
  g.m = g.n = g.k = 1;
  g.a = g.b = g.c = uint64_t(&x);
  g.am = g.ak = g.bk = g.bn = g.cm = g.cn = 1;
  std::string error;
  g.dtype = TSR_DTYPE_I32;
  EXPECT_FALSE(runtime::referenceGemm(g, error));
  EXPECT_EQ(error, "gemm of element type " + std::to_string(TSR_DTYPE_I32) +
                       " (f32, f16, bf16 or f64 only)");
  g.dtype = TSR_DTYPE_F32;
  g.flags = runtime::kGemmBias;
  EXPECT_FALSE(runtime::referenceGemm(g, error));
  EXPECT_EQ(error, "gemm: a bias or ReLU without the overwrite flag");
  g.flags = runtime::kGemmOverwrite | runtime::kGemmRelu;
  g.batch[2] = 2; // both products into the one C
  EXPECT_FALSE(runtime::referenceGemm(g, error));
  EXPECT_EQ(error, "gemm: a bias or ReLU on a C that several products "
                   "accumulate into");
}

//===----------------------------------------------------------------------===//
// The gemm hook's plan
//===----------------------------------------------------------------------===//

/// One matrix of a test case: rows x cols, row- or column-major with
/// `pad` extra elements per leading dimension.
struct Layout {
  bool rowMajor;
  int64_t pad;
};

struct Case {
  int64_t batch[3], m, n, k;
  Layout a, b, c;
  bool broadcastA = false, broadcastB = false, accumulateC = false;
};

void strides(int64_t rows, int64_t cols, Layout l, int64_t &sr, int64_t &sc,
             int64_t &size) {
  if (l.rowMajor) {
    sr = cols + l.pad;
    sc = 1;
    size = rows * sr;
  } else {
    sr = 1;
    sc = rows + l.pad;
    size = cols * sc;
  }
}

/// C += A * B by definition, and by the plan as cuBLASLt computes it.
void checkCase(const Case &tc) {
  runtime::cuda::GemmCall call;
  call.dtype = TSR_DTYPE_F64;
  int64_t sa, sb, sc;
  strides(tc.m, tc.k, tc.a, call.am, call.ak, sa);
  strides(tc.k, tc.n, tc.b, call.bk, call.bn, sb);
  strides(tc.m, tc.n, tc.c, call.cm, call.cn, sc);
  auto batchStrides = [&](int64_t size, bool zero, int64_t *out) {
    out[2] = zero ? 0 : size;
    out[1] = out[2] * tc.batch[2] + (zero ? 0 : size); // a gap between blocks
    out[0] = out[1] * tc.batch[1];
    if (zero)
      out[0] = out[1] = 0;
  };
  batchStrides(sa, tc.broadcastA, call.aBatch);
  batchStrides(sb, tc.broadcastB, call.bBatch);
  batchStrides(sc, false, call.cBatch);
  if (tc.accumulateC)
    call.cBatch[2] = 0;
  for (int i = 0; i < 3; ++i)
    call.batch[i] = tc.batch[i];
  call.m = tc.m, call.n = tc.n, call.k = tc.k;
  auto extent = [&](const int64_t *bs, int64_t size) {
    return bs[0] * (tc.batch[0] - 1) + bs[1] * (tc.batch[1] - 1) +
           bs[2] * (tc.batch[2] - 1) + size + 1;
  };
  std::vector<double> A(extent(call.aBatch, sa)), B(extent(call.bBatch, sb));
  std::vector<double> C0(extent(call.cBatch, sc) + 8);
  for (size_t i = 0; i < A.size(); ++i)
    A[i] = static_cast<double>((i * 7) % 19) - 9;
  for (size_t i = 0; i < B.size(); ++i)
    B[i] = static_cast<double>((i * 5) % 17) - 8;
  for (size_t i = 0; i < C0.size(); ++i)
    C0[i] = static_cast<double>(i % 3);
  std::vector<double> want = C0, got = C0;
  for (int64_t i0 = 0; i0 < tc.batch[0]; ++i0)
    for (int64_t i1 = 0; i1 < tc.batch[1]; ++i1)
      for (int64_t i2 = 0; i2 < tc.batch[2]; ++i2) {
        auto off = [&](const int64_t *bs) {
          return i0 * bs[0] + i1 * bs[1] + i2 * bs[2];
        };
        for (int64_t i = 0; i < tc.m; ++i)
          for (int64_t j = 0; j < tc.n; ++j) {
            double acc = 0;
            for (int64_t l = 0; l < tc.k; ++l)
              acc += A[off(call.aBatch) + i * call.am + l * call.ak] *
                     B[off(call.bBatch) + l * call.bk + j * call.bn];
            want[off(call.cBatch) + i * call.cm + j * call.cn] += acc;
          }
      }
  call.a = reinterpret_cast<uint64_t>(A.data());
  call.b = reinterpret_cast<uint64_t>(B.data());
  call.c = reinterpret_cast<uint64_t>(got.data());
  runtime::cuda::LtShape s;
  std::string error;
  ASSERT_TRUE(runtime::cuda::planGemm(call, s, error)) << error;
  // cuBLASLt's contract: leading dimensions cover the stored rows.
  for (const runtime::cuda::LtOperand *o : {&s.x, &s.y, &s.d})
    EXPECT_GE(o->ld, std::max<int64_t>(1, o->rows));
  EXPECT_FALSE(s.d.transpose);
  auto at = [](uint64_t base, int64_t e) {
    return reinterpret_cast<double *>(base) + e;
  };
  auto op = [&](uint64_t base, const runtime::cuda::LtOperand &o, int64_t i,
                int64_t j) {
    return o.transpose ? *at(base, j + i * o.ld) : *at(base, i + j * o.ld);
  };
  for (int64_t i0 = 0; i0 < s.loops[0]; ++i0)
    for (int64_t i1 = 0; i1 < s.loops[1]; ++i1)
      for (int64_t i2 = 0; i2 < s.loops[2]; ++i2) {
        uint64_t x, y, d;
        runtime::cuda::ltAddresses(call, s, i0, i1, i2, x, y, d);
        for (int64_t bi = 0; bi < s.batchCount; ++bi) {
          uint64_t xb = x + bi * s.xStride * 8, yb = y + bi * s.yStride * 8,
                   db = d + bi * s.dStride * 8;
          for (int64_t i = 0; i < s.M; ++i)
            for (int64_t j = 0; j < s.N; ++j) {
              double acc = 0;
              for (int64_t l = 0; l < s.K; ++l)
                acc += op(xb, s.x, i, l) * op(yb, s.y, l, j);
              *at(db, i + j * s.d.ld) += acc;
            }
        }
      }
  for (size_t i = 0; i < want.size(); ++i)
    ASSERT_EQ(got[i], want[i]) << "element " << i;
}

TEST(CudaGemm, PlanComputesTheDefinition) {
  int cases = 0;
  for (int layouts = 0; layouts < 8; ++layouts) {
    Layout a{(layouts & 1) != 0, layouts % 3 == 0 ? 0 : 2};
    Layout b{(layouts & 2) != 0, layouts % 2};
    Layout c{(layouts & 4) != 0, layouts % 3};
    for (auto dims : std::vector<std::array<int64_t, 3>>{
             {5, 3, 4}, {1, 6, 3}, {4, 1, 2}, {3, 4, 1}, {1, 1, 5}}) {
      Case tc{{1, 1, 1}, dims[0], dims[1], dims[2], a, b, c};
      SCOPED_TRACE("layouts " + std::to_string(layouts) + " m " +
                   std::to_string(dims[0]));
      checkCase(tc);
      tc.batch[0] = 2, tc.batch[1] = 1, tc.batch[2] = 3;
      checkCase(tc);
      tc.broadcastA = true;
      checkCase(tc);
      tc.broadcastA = false, tc.broadcastB = true;
      checkCase(tc);
      tc.broadcastB = false, tc.accumulateC = true;
      checkCase(tc);
      cases += 5;
    }
  }
  EXPECT_EQ(cases, 200);
}

TEST(CudaGemm, RejectsWhatCuBlasLtCannotTake) {
  runtime::cuda::GemmCall call;
  call.dtype = TSR_DTYPE_F32;
  call.m = 4, call.n = 4, call.k = 4;
  call.am = 4, call.ak = 1, call.bk = 4, call.bn = 1;
  call.cm = 0, call.cn = 0; // every element of C at one address
  runtime::cuda::LtShape s;
  std::string error;
  EXPECT_FALSE(runtime::cuda::planGemm(call, s, error));
  EXPECT_EQ(error, "gemm: C (strides 0, 0) is neither row- nor column-major");
  call.cm = 4, call.cn = 1;
  call.dtype = TSR_DTYPE_I32;
  EXPECT_FALSE(runtime::cuda::planGemm(call, s, error));
  EXPECT_EQ(error, "gemm of element type 6 (f32, f16, bf16 or f64 only)");
}

//===----------------------------------------------------------------------===//
// The NCCL bootstrap
//===----------------------------------------------------------------------===//

TEST(NcclRendezvous, RankZeroPublishesTheOthersWait) {
  std::string path = tempPath("rendezvous");
  unlink(path.c_str());
  char id[128], got[128] = {0};
  for (int i = 0; i < 128; ++i)
    id[i] = static_cast<char>(i * 3);
  std::thread rank0([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_EQ(runtime::publishRendezvous(path, id, sizeof(id)), "");
  });
  EXPECT_EQ(runtime::awaitRendezvous(path, 5000, got, sizeof(got)), "");
  rank0.join();
  EXPECT_EQ(std::memcmp(id, got, sizeof(id)), 0);
  unlink(path.c_str());
}

TEST(NcclRendezvous, WaitsAtMostTheTimeout) {
  std::string path = tempPath("nobody");
  unlink(path.c_str());
  char got[128];
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(runtime::awaitRendezvous(path, 200, got, sizeof(got)),
            "nccl rendezvous: rank 0 did not publish the NCCL unique id in " +
                path +
                " within 200 ms (is rank 0 running, with the same "
                "TESSERA_NCCL_RENDEZVOUS?)");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  std::ofstream(path) << "something else";
  EXPECT_EQ(runtime::awaitRendezvous(path, 200, got, sizeof(got)),
            "nccl rendezvous: " + path +
                " is not a Tessera rendezvous file (remove it, or choose "
                "another TESSERA_NCCL_RENDEZVOUS)");
  unlink(path.c_str());
}

/// Sets environment variables for one test and restores them after.
struct Env {
  std::vector<std::pair<std::string, std::string>> saved;
  std::vector<std::string> unset;
  void set(const char *name, const char *value) {
    if (const char *old = std::getenv(name))
      saved.emplace_back(name, old);
    else
      unset.push_back(name);
    if (value)
      setenv(name, value, 1);
    else
      unsetenv(name);
  }
  ~Env() {
    for (auto &s : saved)
      setenv(s.first.c_str(), s.second.c_str(), 1);
    for (auto &u : unset)
      unsetenv(u.c_str());
  }
};

TEST(NcclWorld, FromTheEnvironment) {
  Env env;
  env.set("OMPI_COMM_WORLD_SIZE", nullptr);
  env.set("TESSERA_LOCAL_RANK", nullptr);
  env.set("TESSERA_RANK", nullptr);
  env.set("TESSERA_WORLD_SIZE", nullptr);
  runtime::ProcessWorld w;
  EXPECT_EQ(runtime::processWorld(false, w), "");
  EXPECT_EQ(w.rank, 0);
  EXPECT_EQ(w.size, 1);

  env.set("TESSERA_RANK", "1");
  env.set("TESSERA_WORLD_SIZE", "2");
  env.set("TESSERA_NCCL_RENDEZVOUS", nullptr);
  EXPECT_EQ(runtime::processWorld(false, w),
            "the nccl communicator: 2 ranks need the NCCL unique id from rank "
            "0: launch with mpirun (a runtime built with MPI) or set "
            "TESSERA_NCCL_RENDEZVOUS to a file path every rank can reach");
  env.set("TESSERA_NCCL_RENDEZVOUS", "/shared/job7/nccl-id");
  env.set("TESSERA_LOCAL_RANK", "0");
  EXPECT_EQ(runtime::processWorld(false, w), "");
  EXPECT_EQ(w.rank, 1);
  EXPECT_EQ(w.size, 2);
  EXPECT_EQ(w.localRank, 0);
  EXPECT_FALSE(w.viaMpi);
  EXPECT_EQ(w.rendezvous, "/shared/job7/nccl-id");
  int32_t rank = -1, size = -1;
  tsr_status_t s = tsr_comm_world(TSR_COMM_NCCL, &rank, &size);
  EXPECT_EQ(s, nullptr);
  EXPECT_EQ(rank, 1);
  EXPECT_EQ(size, 2);

  env.set("TESSERA_RANK", "2");
  EXPECT_EQ(runtime::processWorld(false, w),
            "the nccl communicator: TESSERA_RANK=2 is not a rank of "
            "TESSERA_WORLD_SIZE=2");
  env.set("TESSERA_WORLD_SIZE", nullptr);
  EXPECT_EQ(runtime::processWorld(false, w),
            "the nccl communicator: set both TESSERA_RANK and "
            "TESSERA_WORLD_SIZE");
  env.set("TESSERA_WORLD_SIZE", "two");
  EXPECT_EQ(runtime::processWorld(false, w),
            "TESSERA_WORLD_SIZE='two' is not a rank or rank count");
}
} // namespace
