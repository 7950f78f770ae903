//===- CudaRuntimeCheck.cpp - tessera-cuda-check: the runtime on a GPU ----===//
//
//   tessera-cuda-check                   run every check on cuda:0 (and
//                                        cuda:1 when there is one)
//   tessera-cuda-check --write-artifact=PATH [--gpu-arch=sm_90]
//                                        write the test artifact and exit
//
// Prints one line per check ("PASS name" / "FAIL name: why") and exits 1
// when any failed. Without a GPU it prints "SKIPPED: no CUDA device (why)"
// and exits 77 (ctest: SKIP_RETURN_CODE, label gpu).
//
// Checks: device memory (copies, the allocator's reuse), the gemm hook on
// cuBLASLt against a CPU reference (row- and column-major operands, strided
// and broadcast batches, f32 / f64 / f16, rtol 1e-3, f16 1e-2), a session
// of the test artifact through the C API (cubin and PTX), a one-rank NCCL
// communicator's collectives on device buffers, the rendezvous-file
// bootstrap with one rank, running out of memory, and with two GPUs a
// two-rank NCCL world (all_reduce, the all_gather hook's device-side
// rearrangement, a timeout that aborts instead of hanging).
//
//===----------------------------------------------------------------------===//

#include "CudaTestArtifact.h"
#include "comm/nccl.h"
#include "cuda/session.h"
#include "gemm_hook.h"
#include "half.h"
#include "mesh.h"
#include "tessera/runtime.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

using namespace tessera;
using namespace tessera::runtime;
using cuda::Buffer;
using cuda::Device;
using cuda::Status;

namespace {
int failures = 0;

void report(const std::string &name, const std::string &error) {
  if (error.empty()) {
    std::printf("PASS %s\n", name.c_str());
  } else {
    std::printf("FAIL %s: %s\n", name.c_str(), error.c_str());
    ++failures;
  }
  std::fflush(stdout);
}

std::string tempPath(const std::string &name) {
  return "/tmp/tessera-cuda-check-" + std::to_string(getpid()) + "-" + name;
}

/// "" when got[i] is within rtol of want[i] (atol rtol as well).
std::string compare(const std::vector<double> &got,
                    const std::vector<double> &want, double rtol) {
  for (size_t i = 0; i < want.size(); ++i)
    if (!(std::fabs(got[i] - want[i]) <= rtol * (1 + std::fabs(want[i]))))
      return "element " + std::to_string(i) + ": got " +
             std::to_string(got[i]) + ", want " + std::to_string(want[i]);
  return {};
}

//===----------------------------------------------------------------------===//
// Memory
//===----------------------------------------------------------------------===//

std::string checkMemory(Device &d) {
  const size_t n = 1 << 18;
  std::vector<float> host(n), back(n, 0.0f);
  for (size_t i = 0; i < n; ++i)
    host[i] = static_cast<float>(i) * 0.5f;
  Buffer a, b;
  Status s = Buffer::make(d, n * 4, "buffer a", a);
  if (s.ok())
    s = Buffer::make(d, n * 4, "buffer b", b);
  if (s.ok())
    s = d.upload(a.get(), host.data(), n * 4);
  if (s.ok())
    s = d.copy(b.get(), a.get(), n * 4);
  if (s.ok())
    s = d.download(back.data(), b.get(), n * 4);
  if (!s.ok())
    return s.message;
  if (back != host)
    return "the bytes came back changed";
  cuda::CUdeviceptr old = b.get();
  b.reset();
  if (d.memory().cached < n * 4)
    return "a freed block was not cached";
  if (!(s = Buffer::make(d, n * 4, "buffer c", b)).ok())
    return s.message;
  if (b.get() != old)
    return "the allocator did not reuse the cached block of the same size";
  return {};
}

std::string checkOutOfMemory(Device &d) {
  cuda::CUdeviceptr p = 0;
  Status s = d.allocate(size_t(1) << 50, "weight 'absurd.weight'", p);
  if (s.ok()) {
    d.release(p);
    return "allocating 1 PiB succeeded";
  }
  if (s.code != TSR_RESOURCE_EXHAUSTED)
    return "code " + std::to_string(s.code) + ": " + s.message;
  if (s.message.find(d.name() + ": out of memory allocating weight "
                                "'absurd.weight' (1.0 PiB; ") != 0)
    return "unexpected message: " + s.message;
  std::printf("  %s\n", s.message.c_str());
  // The device still works after the failure.
  Buffer b;
  s = Buffer::make(d, 4096, "a small buffer", b);
  return s.ok() ? "" : "after the failure: " + s.message;
}

//===----------------------------------------------------------------------===//
// The gemm hook
//===----------------------------------------------------------------------===//

struct GemmCase {
  std::string name;
  tsr_dtype_t dtype;
  int64_t batch[3], m, n, k;
  bool aRow, bRow, cRow, broadcastA = false, accumulateC = false;
  /// kGemmOverwrite / kGemmBias (gemm_hook.h), through the `gemmEx` hook.
  int64_t flags = 0;
};

std::string checkGemm(cuda::Rank &rank, const GemmCase &gc) {
  Device &d = *rank.device;
  size_t es = gc.dtype == TSR_DTYPE_F64 ? 8 : gc.dtype == TSR_DTYPE_F32 ? 4 : 2;
  int64_t am = gc.aRow ? gc.k : 1, ak = gc.aRow ? 1 : gc.m;
  int64_t bk = gc.bRow ? gc.n : 1, bn = gc.bRow ? 1 : gc.k;
  int64_t cm = gc.cRow ? gc.n : 1, cn = gc.cRow ? 1 : gc.m;
  int64_t sa = gc.m * gc.k, sb = gc.k * gc.n, sc = gc.m * gc.n;
  int64_t ab[3] = {gc.batch[1] * gc.batch[2] * sa, gc.batch[2] * sa, sa};
  if (gc.broadcastA)
    ab[0] = ab[1] = ab[2] = 0;
  int64_t bb[3] = {gc.batch[1] * gc.batch[2] * sb, gc.batch[2] * sb, sb};
  int64_t cb[3] = {gc.batch[1] * gc.batch[2] * sc, gc.batch[2] * sc, sc};
  int64_t cBatches = gc.batch[0] * gc.batch[1] * gc.batch[2];
  if (gc.accumulateC) {
    cb[2] = 0;
    cb[1] = sc;
    cb[0] = gc.batch[1] * sc;
    cBatches = gc.batch[0] * gc.batch[1];
  }
  int64_t batches = gc.batch[0] * gc.batch[1] * gc.batch[2];
  std::vector<double> A(gc.broadcastA ? sa : sa * batches), B(sb * batches),
      C(sc * cBatches);
  for (size_t i = 0; i < A.size(); ++i)
    A[i] = static_cast<double>((i * 37) % 23) / 23.0 - 0.5;
  for (size_t i = 0; i < B.size(); ++i)
    B[i] = static_cast<double>((i * 11) % 29) / 29.0 - 0.5;
  for (size_t i = 0; i < C.size(); ++i)
    C[i] = static_cast<double>(i % 5) * 0.25;
  // Round the inputs to the element type, so the reference sees them too.
  auto encode = [&](std::vector<double> &v, std::vector<char> &bytes) {
    bytes.resize(v.size() * es);
    for (size_t i = 0; i < v.size(); ++i) {
      if (es == 8) {
        std::memcpy(bytes.data() + i * 8, &v[i], 8);
      } else if (es == 4) {
        float f = static_cast<float>(v[i]);
        v[i] = f;
        std::memcpy(bytes.data() + i * 4, &f, 4);
      } else {
        uint16_t h = floatToHalf(static_cast<float>(v[i]));
        v[i] = halfToFloat(h);
        std::memcpy(bytes.data() + i * 2, &h, 2);
      }
    }
  };
  std::vector<double> bias(gc.n);
  for (int64_t j = 0; j < gc.n; ++j)
    bias[j] = static_cast<double>(j % 7) - 3.0;
  std::vector<char> ha, hb, hc, hbias;
  encode(A, ha);
  encode(B, hb);
  encode(C, hc);
  encode(bias, hbias);
  std::vector<double> want = C;
  // C matrices written so far: the first product into each overwrites it
  // and adds the bias.
  std::set<int64_t> written;
  for (int64_t i0 = 0; i0 < gc.batch[0]; ++i0)
    for (int64_t i1 = 0; i1 < gc.batch[1]; ++i1)
      for (int64_t i2 = 0; i2 < gc.batch[2]; ++i2) {
        int64_t cBase = i0 * cb[0] + i1 * cb[1] + i2 * cb[2];
        bool first = written.insert(cBase).second;
        for (int64_t i = 0; i < gc.m; ++i)
          for (int64_t j = 0; j < gc.n; ++j) {
            double acc = 0;
            for (int64_t l = 0; l < gc.k; ++l)
              acc += A[i0 * ab[0] + i1 * ab[1] + i2 * ab[2] + i * am + l * ak] *
                     B[i0 * bb[0] + i1 * bb[1] + i2 * bb[2] + l * bk + j * bn];
            double &out = want[cBase + i * cm + j * cn];
            if (first && (gc.flags & kGemmOverwrite))
              out = 0;
            if (first && (gc.flags & kGemmBias))
              acc += bias[j];
            out += acc;
            if (gc.flags & kGemmRelu)
              out = std::max(out, 0.0);
          }
      }
  Buffer da, db, dc, dbias;
  Status s = Buffer::make(d, ha.size(), "A", da);
  if (s.ok())
    s = Buffer::make(d, hb.size(), "B", db);
  if (s.ok())
    s = Buffer::make(d, hc.size(), "C", dc);
  if (s.ok())
    s = Buffer::make(d, hbias.size(), "bias", dbias);
  if (s.ok())
    s = d.upload(dbias.get(), hbias.data(), hbias.size());
  if (s.ok())
    s = d.upload(da.get(), ha.data(), ha.size());
  if (s.ok())
    s = d.upload(db.get(), hb.data(), hb.size());
  if (s.ok())
    s = d.upload(dc.get(), hc.data(), hc.size());
  if (!s.ok())
    return s.message;
  // Through the hook table, as compiled code calls it.
  RankContext ctx;
  ctx.cuda = &rank;
  struct Call {
    const GemmCase &gc;
    int64_t *ab, *bb, *cb, am, ak, bk, bn, cm, cn;
    intptr_t a, b, c, bias;
  } call{gc, ab, bb, cb, am, ak, bk, bn, cm, cn,
         static_cast<intptr_t>(da.get()), static_cast<intptr_t>(db.get()),
         static_cast<intptr_t>(dc.get()), static_cast<intptr_t>(dbias.get())};
  static Call *pending;
  pending = &call;
  EntryFn entry = [](void **) {
    Call &c = *pending;
    if (!c.gc.flags) // as older artifacts call it
      runtimeHooks().gemm(c.gc.dtype, c.gc.batch[0], c.gc.batch[1],
                          c.gc.batch[2], c.gc.m, c.gc.n, c.gc.k, c.a, c.ab[0],
                          c.ab[1], c.ab[2], c.am, c.ak, c.b, c.bb[0], c.bb[1],
                          c.bb[2], c.bk, c.bn, c.c, c.cb[0], c.cb[1], c.cb[2],
                          c.cm, c.cn);
    else
      runtimeHooks().gemmEx(
          c.gc.dtype, c.gc.batch[0], c.gc.batch[1], c.gc.batch[2], c.gc.m,
          c.gc.n, c.gc.k, c.a, c.ab[0], c.ab[1], c.ab[2], c.am, c.ak, c.b,
          c.bb[0], c.bb[1], c.bb[2], c.bk, c.bn, c.c, c.cb[0], c.cb[1],
          c.cb[2], c.cm, c.cn, c.gc.flags & kGemmBias ? c.bias : 0, c.gc.flags);
  };
  runAsRank(entry, nullptr, ctx);
  if (!ctx.error.empty())
    return ctx.error;
  if (!(s = d.synchronize("the gemm")).ok() ||
      !(s = d.download(hc.data(), dc.get(), hc.size())).ok())
    return s.message;
  std::vector<double> got(C.size());
  for (size_t i = 0; i < got.size(); ++i) {
    if (es == 8) {
      std::memcpy(&got[i], hc.data() + i * 8, 8);
    } else if (es == 4) {
      float f;
      std::memcpy(&f, hc.data() + i * 4, 4);
      got[i] = f;
    } else {
      uint16_t h;
      std::memcpy(&h, hc.data() + i * 2, 2);
      got[i] = halfToFloat(h);
    }
  }
  return compare(got, want, es == 2 ? 1e-2 : 1e-3);
}

//===----------------------------------------------------------------------===//
// A session of the test artifact through the C API
//===----------------------------------------------------------------------===//

std::string checkSession(const std::string &gpuArch, bool withCubin,
                         bool printMemory) {
  std::string path = tempPath("model.tsr"), error;
  if (!test::writeCudaTestArtifact(path, gpuArch, withCubin, error))
    return error;
  std::vector<float> x, w, y;
  test::cudaTestData(x, w, y);
  tsr_runtime_options_t options;
  tsr_runtime_options_initialize(&options);
  options.verbose = 1;
  tsr_runtime_t rt = nullptr;
  tsr_device_t dev = nullptr;
  tsr_module_t module = nullptr;
  tsr_session_t session = nullptr;
  tsr_tensor_t in = nullptr, out = nullptr;
  std::string result;
  auto take = [&](tsr_status_t s) {
    if (s && result.empty())
      result = tsr_status_message(s);
    bool ok = s == nullptr;
    tsr_status_free(s);
    return ok;
  };
  int64_t shape[2] = {4, 8};
  std::vector<float> got(16, 0.0f);
  if (take(tsr_runtime_create(&options, &rt)) &&
      take(tsr_device_create(rt, "cuda:0", &dev)) &&
      take(tsr_module_load_file(rt, path.c_str(), &module)) &&
      take(tsr_session_create(module, dev, nullptr, &session)) &&
      take(tsr_tensor_create_from_host(dev, TSR_DTYPE_F32, 2, shape, x.data(),
                                       x.size() * 4, &in))) {
    for (int run = 0; run < 2 && result.empty(); ++run) {
      tsr_tensor_release(out);
      out = nullptr;
      if (take(tsr_session_run(session, &in, 1, &out, 1)) &&
          take(tsr_tensor_read(out, got.data(), got.size() * 4)))
        result = compare(std::vector<double>(got.begin(), got.end()),
                         std::vector<double>(y.begin(), y.end()), 1e-3);
    }
    tsr_memory_stats_t m;
    m.struct_size = sizeof(m);
    if (result.empty() && printMemory && take(tsr_session_memory_stats(session, 0, &m)))
      std::printf("  rank %d on %s: weights %llu bytes, workspace %llu, device "
                  "in use %llu, peak %llu\n",
                  m.rank, m.device, (unsigned long long)m.weight_bytes,
                  (unsigned long long)m.workspace_bytes,
                  (unsigned long long)m.device_in_use_bytes,
                  (unsigned long long)m.device_peak_bytes);
  }
  tsr_tensor_release(in);
  tsr_tensor_release(out);
  tsr_session_release(session);
  tsr_module_release(module);
  tsr_device_release(dev);
  tsr_runtime_release(rt);
  unlink(path.c_str());
  return result;
}

//===----------------------------------------------------------------------===//
// NCCL
//===----------------------------------------------------------------------===//

/// Every collective of a one-rank communicator on device buffers.
std::string checkOneRank(Device &d, Communicator &c) {
  const size_t n = 1024;
  std::vector<float> host(n), back(n);
  for (size_t i = 0; i < n; ++i)
    host[i] = static_cast<float>(i) - 3.0f;
  Buffer a, b;
  Status s = Buffer::make(d, n * 4, "a", a);
  if (s.ok())
    s = Buffer::make(d, n * 4, "b", b);
  if (s.ok())
    s = d.upload(a.get(), host.data(), n * 4);
  if (!s.ok())
    return s.message;
  void *pa = reinterpret_cast<void *>(a.get()), *pb = reinterpret_cast<void *>(b.get());
  std::vector<std::pair<const char *, std::function<std::string()>>> steps = {
      {"all_reduce", [&] { return c.allReduce(pa, n, ElementKind::F32, ReduceKind::Sum); }},
      {"all_gather", [&] { return c.allGather(pa, pb, n * 4); }},
      {"broadcast", [&] { return c.broadcast(pb, n * 4, 0); }},
      {"reduce_scatter",
       [&] { return c.reduceScatter(pb, pa, n, ElementKind::F32, ReduceKind::Max); }},
      {"all_to_all", [&] { return c.allToAll(pa, pb, n * 4); }},
      {"gather", [&] { return c.gather(pb, pa, n * 4, 0); }},
      {"barrier", [&] { return c.barrier(); }},
  };
  for (auto &step : steps) {
    std::string e = step.second();
    if (!e.empty())
      return std::string(step.first) + ": " + e;
  }
  if (!(s = d.download(back.data(), a.get(), n * 4)).ok())
    return s.message;
  if (back != host)
    return "the data changed on its way through the collectives";
  std::unique_ptr<Communicator> sub;
  std::string e = c.split(0, 0, sub);
  if (!e.empty())
    return "split: " + e;
  if (sub->size() != 1 || sub->rank() != 0)
    return "split: a communicator of " + std::to_string(sub->size());
  return sub->allReduce(pa, n, ElementKind::F32, ReduceKind::Sum);
}

std::string checkRendezvous(Device &d) {
  ProcessWorld w;
  w.rank = 0;
  w.size = 1;
  w.rendezvous = tempPath("rendezvous");
  std::unique_ptr<Communicator> c;
  std::string e = createNcclProcessCommunicator(d, w, 60000, c, true);
  if (!e.empty())
    return e;
  if (access(w.rendezvous.c_str(), F_OK) == 0)
    return "rank 0 left the rendezvous file behind";
  return checkOneRank(d, *c);
}

/// Two ranks on two GPUs as threads: all_reduce, the all_gather hook's
/// rearrangement, and a timeout when one rank stays away.
std::string checkTwoRanks(std::shared_ptr<Device> d0, std::shared_ptr<Device> d1) {
  std::vector<std::unique_ptr<Communicator>> comms;
  std::string e =
      createNcclThreadCommunicators({d0.get(), d1.get()}, 1000, comms, 60000);
  if (!e.empty())
    return e;
  sharding::Mesh mesh;
  std::string error;
  mesh.parse("tp=2", error);
  cuda::Rank ranks[2];
  ranks[0].device = d0;
  ranks[1].device = d1;
  std::string errors[2];
  const int64_t outer = 3, inner = 8; // bytes
  std::vector<char> gathered(2 * outer * inner);
  auto work = [&](int r) {
    Device &d = *ranks[r].device;
    ranks[r].rank = r;
    ranks[r].comms = std::make_unique<RankComms>(std::move(comms[r]), mesh);
    Communicator &world = ranks[r].comms->world();
    float v = static_cast<float>(r + 1);
    Buffer b, send, recv;
    Status s = Buffer::make(d, 4, "v", b);
    if (s.ok())
      s = d.upload(b.get(), &v, 4);
    if (!s.ok())
      return void(errors[r] = s.message);
    if (!(errors[r] = world.allReduce(reinterpret_cast<void *>(b.get()), 1,
                                      ElementKind::F32, ReduceKind::Sum))
             .empty())
      return;
    if (!(s = d.download(&v, b.get(), 4)).ok())
      return void(errors[r] = s.message);
    if (v != 3.0f)
      return void(errors[r] = "all_reduce gave " + std::to_string(v));
    std::vector<char> mine(outer * inner);
    for (size_t i = 0; i < mine.size(); ++i)
      mine[i] = static_cast<char>(r * 100 + i);
    if (!(s = Buffer::make(d, mine.size(), "send", send)).ok() ||
        !(s = Buffer::make(d, 2 * mine.size(), "recv", recv)).ok() ||
        !(s = d.upload(send.get(), mine.data(), mine.size())).ok())
      return void(errors[r] = s.message);
    errors[r] = allGatherInto(ranks[r], world, static_cast<intptr_t>(send.get()),
                              static_cast<intptr_t>(recv.get()), outer, inner);
    if (errors[r].empty() && r == 0 &&
        !(s = d.download(gathered.data(), recv.get(), gathered.size())).ok())
      errors[r] = s.message;
  };
  std::thread t1(work, 1);
  work(0);
  t1.join();
  for (int r = 0; r < 2; ++r)
    if (!errors[r].empty())
      return "rank " + std::to_string(r) + ": " + errors[r];
  // [outer][rank][inner]
  for (int64_t o = 0; o < outer; ++o)
    for (int r = 0; r < 2; ++r)
      for (int64_t i = 0; i < inner; ++i)
        if (gathered[(o * 2 + r) * inner + i] != static_cast<char>(r * 100 + o * inner + i))
          return "all_gather: block (" + std::to_string(o) + ", " +
                 std::to_string(r) + ") is misplaced";
  // Rank 1 stays away: rank 0 must fail within about the timeout.
  Buffer b;
  Status s = Buffer::make(*d0, 4, "v", b);
  if (!s.ok())
    return s.message;
  auto start = std::chrono::steady_clock::now();
  e = ranks[0].comms->world().allReduce(reinterpret_cast<void *>(b.get()), 1,
                                        ElementKind::F32, ReduceKind::Sum);
  double ms = std::chrono::duration<double, std::milli>(
                  std::chrono::steady_clock::now() - start)
                  .count();
  if (e != "nccl all_reduce timed out after 1000 ms")
    return "a lone all_reduce gave '" + e + "'";
  if (ms > 5000)
    return "the timeout took " + std::to_string(ms) + " ms";
  // Tear both down together (NCCL's teardown is an intra-node collective).
  std::thread t([&] { ranks[1].comms.reset(); });
  ranks[0].comms.reset();
  t.join();
  return {};
}
} // namespace

int main(int argc, char **argv) {
  std::string gpuArch = "sm_90", writePath;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--write-artifact=", 0) == 0)
      writePath = a.substr(17);
    else if (a.rfind("--gpu-arch=", 0) == 0)
      gpuArch = a.substr(11);
    else {
      std::fprintf(stderr,
                   "usage: tessera-cuda-check [--write-artifact=PATH "
                   "[--gpu-arch=sm_90]]\n");
      return 2;
    }
  }
  if (!writePath.empty()) {
    std::string error;
    if (!test::writeCudaTestArtifact(writePath, gpuArch, true, error)) {
      std::fprintf(stderr, "tessera-cuda-check: %s\n", error.c_str());
      return 1;
    }
    return 0;
  }
  int count = 0;
  Status s = Device::count(count);
  if (!s.ok()) {
    std::string why = s.message;
    if (why.rfind("no CUDA device: ", 0) == 0)
      why = why.substr(16);
    std::printf("SKIPPED: no CUDA device (%s)\n", why.c_str());
    return 77;
  }
  std::shared_ptr<Device> d0, d1;
  if (!(s = Device::open(0, d0)).ok()) {
    std::printf("FAIL open cuda:0: %s\n", s.message.c_str());
    return 1;
  }
  std::printf("cuda:0 is %s (sm_%d); %d CUDA device%s\n", d0->model().c_str(),
              d0->computeCapability(), count, count == 1 ? "" : "s");
  report("memory", checkMemory(*d0));

  cuda::Rank rank;
  rank.device = d0;
  std::vector<GemmCase> gemms = {
      {"f32 row-major", TSR_DTYPE_F32, {1, 1, 1}, 33, 17, 65, true, true, true},
      {"f32 column-major C", TSR_DTYPE_F32, {1, 1, 1}, 64, 48, 32, false, true, false},
      {"f32 transposed operands", TSR_DTYPE_F32, {1, 1, 1}, 31, 45, 19, false, false, true},
      {"f32 strided batch", TSR_DTYPE_F32, {2, 1, 3}, 16, 24, 40, true, true, true},
      {"f32 broadcast A", TSR_DTYPE_F32, {1, 2, 4}, 8, 12, 16, true, false, true, true},
      {"f32 accumulated batch", TSR_DTYPE_F32, {1, 2, 3}, 8, 8, 8, true, true, true, false, true},
      {"f32 vector", TSR_DTYPE_F32, {1, 1, 1}, 1, 64, 32, true, true, true},
      {"f64", TSR_DTYPE_F64, {1, 1, 2}, 20, 30, 40, true, false, true},
      {"f16", TSR_DTYPE_F16, {1, 1, 2}, 64, 64, 64, true, true, true},
      {"f32 overwrite", TSR_DTYPE_F32, {1, 1, 1}, 33, 17, 65, true, true, true,
       false, false, kGemmOverwrite},
      {"f32 overwrite accumulated batch", TSR_DTYPE_F32, {1, 2, 3}, 8, 8, 8, true,
       true, true, false, true, kGemmOverwrite},
      {"f32 bias epilogue", TSR_DTYPE_F32, {1, 1, 1}, 64, 48, 32, true, false, true,
       false, false, kGemmOverwrite | kGemmBias},
      {"f32 bias epilogue strided batch", TSR_DTYPE_F32, {1, 1, 3}, 16, 24, 40,
       true, true, true, false, false, kGemmOverwrite | kGemmBias},
      {"f16 bias epilogue", TSR_DTYPE_F16, {1, 1, 1}, 64, 64, 64, true, true, true,
       false, false, kGemmOverwrite | kGemmBias},
      {"f32 bias and ReLU epilogue", TSR_DTYPE_F32, {1, 1, 2}, 40, 24, 56, true,
       true, true, false, false, kGemmOverwrite | kGemmBias | kGemmRelu},
      {"f32 ReLU epilogue", TSR_DTYPE_F32, {1, 1, 1}, 17, 33, 9, true, false, true,
       false, false, kGemmOverwrite | kGemmRelu},
  };
  for (const GemmCase &gc : gemms)
    report("gemm " + gc.name, checkGemm(rank, gc));

  report("session (cubin when built)", checkSession(gpuArch, true, true));
  report("session (PTX, JIT)", checkSession("sm_1", false, false));

  std::vector<std::unique_ptr<Communicator>> one;
  std::string e = createNcclThreadCommunicators({d0.get()}, 60000, one);
  report("nccl one rank", e.empty() ? checkOneRank(*d0, *one[0]) : e);
  one.clear();
  report("nccl rendezvous file, one rank", checkRendezvous(*d0));
  report("out of memory", checkOutOfMemory(*d0));
  if (count >= 2) {
    if (!(s = Device::open(1, d1)).ok())
      report("nccl two ranks", s.message);
    else
      report("nccl two ranks", checkTwoRanks(d0, d1));
  } else {
    std::printf("SKIPPED nccl two ranks: one GPU\n");
  }
  std::printf("%s\n", failures ? "FAILED" : "ALL PASSED");
  return failures ? 1 : 0;
}
