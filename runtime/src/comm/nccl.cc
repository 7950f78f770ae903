//===- nccl.cc - Communicators over CUDA device buffers -------------------===//

#include "comm/nccl.h"

#include "cuda/device.h"

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

namespace tessera::runtime {

using namespace cuda;

namespace {
using Clock = std::chrono::steady_clock;

const char *kBroken = "a peer rank failed or timed out in an earlier "
                      "collective (the nccl communicator was aborted)";

/// Leaves the CPU to the peers (which may share it) once a wait is long.
void backoff(unsigned spin, Clock::time_point start) {
  if (spin < 64)
    return;
  if (Clock::now() - start < std::chrono::milliseconds(2))
    sched_yield();
  else
    std::this_thread::sleep_for(std::chrono::microseconds(50));
}

std::string ncclText(const Nccl &api, ncclResult_t r, ncclComm_t comm) {
  std::string text = api.ncclGetErrorString(r);
  const char *last = comm ? api.ncclGetLastError(comm) : nullptr;
  if (last && *last)
    text += std::string(": ") + last;
  return text;
}

int ncclType(ElementKind kind) {
  switch (kind) {
  case ElementKind::F32:
    return ncclFloat32;
  case ElementKind::F64:
    return ncclFloat64;
  case ElementKind::I32:
    return ncclInt32;
  case ElementKind::I64:
    return ncclInt64;
  case ElementKind::F16:
    return ncclFloat16;
  case ElementKind::BF16:
    return ncclBfloat16;
  }
  return ncclInt8;
}

int ncclOp(ReduceKind op) {
  switch (op) {
  case ReduceKind::Sum:
    return ncclSum;
  case ReduceKind::Prod:
    return ncclProd;
  case ReduceKind::Max:
    return ncclMax;
  case ReduceKind::Min:
    return ncclMin;
  }
  return ncclSum;
}

CUdeviceptr dev(const void *p) { return reinterpret_cast<CUdeviceptr>(p); }

/// Waits until `comm` (non-blocking) has finished initializing or
/// splitting; aborts it on an error or at `deadline`.
std::string awaitReady(const Nccl &api, ncclComm_t &comm, const char *what,
                       int timeoutMs, Clock::time_point start) {
  Clock::time_point deadline = start + std::chrono::milliseconds(timeoutMs);
  for (unsigned spin = 0;; ++spin) {
    ncclResult_t state = ncclSuccess;
    ncclResult_t r = api.ncclCommGetAsyncError(comm, &state);
    if (r != ncclSuccess)
      state = r;
    if (state == ncclSuccess)
      return {};
    if (state != ncclInProgress) {
      std::string e = std::string("nccl ") + what + ": " + ncclText(api, state, comm);
      api.ncclCommAbort(comm);
      comm = nullptr;
      return e;
    }
    if (Clock::now() >= deadline) {
      api.ncclCommAbort(comm);
      comm = nullptr;
      return std::string("nccl ") + what + " timed out after " +
             std::to_string(timeoutMs) + " ms (a peer rank did not join)";
    }
    backoff(spin, start);
  }
}

class NcclCommunicator final : public Communicator {
public:
  NcclCommunicator(Device &device, const Nccl &api, ncclComm_t comm, int rank,
                   int size, int timeoutMs)
      : device_(device), api_(api), comm_(comm), rank_(rank), size_(size),
        timeoutMs_(timeoutMs) {}
  ~NcclCommunicator() override {
    scratch_.reset();
    if (!comm_)
      return;
    device_.makeCurrent();
    Clock::time_point start = Clock::now();
    ncclResult_t r = api_.ncclCommFinalize(comm_);
    if (r != ncclSuccess && r != ncclInProgress) {
      api_.ncclCommAbort(comm_);
      return;
    }
    // A peer that never finalizes makes awaitReady abort instead.
    if (awaitReady(api_, comm_, "finalize", timeoutMs_, start).empty())
      api_.ncclCommDestroy(comm_);
  }
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  const char *backend() const override { return "nccl"; }

  std::string allReduce(void *buffer, size_t count, ElementKind kind,
                        ReduceKind op) override {
    return run("all_reduce", [&] {
      return api_.ncclAllReduce(buffer, buffer, count, ncclType(kind),
                                ncclOp(op), comm_, device_.stream());
    });
  }
  std::string allGather(const void *send, void *recv, size_t bytes) override {
    return run("all_gather", [&] {
      return api_.ncclAllGather(send, recv, bytes, ncclInt8, comm_,
                                device_.stream());
    });
  }
  std::string reduceScatter(const void *send, void *recv, size_t count,
                            ElementKind kind, ReduceKind op) override {
    return run("reduce_scatter", [&] {
      return api_.ncclReduceScatter(send, recv, count, ncclType(kind),
                                    ncclOp(op), comm_, device_.stream());
    });
  }
  std::string allToAll(const void *send, void *recv,
                       size_t bytesPerRank) override {
    return run("all_to_all", [&] {
      const char *s = static_cast<const char *>(send);
      char *r = static_cast<char *>(recv);
      ncclResult_t res = api_.ncclGroupStart();
      for (int p = 0; p < size_ && res == ncclSuccess; ++p) {
        res = api_.ncclSend(s + p * bytesPerRank, bytesPerRank, ncclInt8, p,
                            comm_, device_.stream());
        if (res == ncclSuccess)
          res = api_.ncclRecv(r + p * bytesPerRank, bytesPerRank, ncclInt8, p,
                              comm_, device_.stream());
      }
      ncclResult_t end = api_.ncclGroupEnd();
      return res != ncclSuccess ? res : end;
    });
  }
  std::string gather(const void *send, void *recv, size_t bytes,
                     int root) override {
    if (root < 0 || root >= size_)
      return "gather root " + std::to_string(root) + " is not a rank";
    return run("gather", [&] {
      ncclResult_t res = api_.ncclGroupStart();
      if (rank_ == root)
        for (int p = 0; p < size_ && res == ncclSuccess; ++p)
          res = api_.ncclRecv(static_cast<char *>(recv) + p * bytes, bytes,
                              ncclInt8, p, comm_, device_.stream());
      if (res == ncclSuccess)
        res = api_.ncclSend(send, bytes, ncclInt8, root, comm_,
                            device_.stream());
      ncclResult_t end = api_.ncclGroupEnd();
      return res != ncclSuccess ? res : end;
    });
  }
  std::string broadcast(void *buffer, size_t bytes, int root) override {
    if (root < 0 || root >= size_)
      return "broadcast root " + std::to_string(root) + " is not a rank";
    return run("broadcast", [&] {
      return api_.ncclBroadcast(buffer, buffer, bytes, ncclInt8, root, comm_,
                                device_.stream());
    });
  }
  std::string barrier() override {
    if (!scratch_.get()) {
      Status s = Buffer::make(device_, 4, "the barrier's scratch", scratch_);
      if (!s.ok())
        return s.message;
      if (!(s = device_.zero(scratch_.get(), 4)).ok())
        return s.message;
    }
    void *p = reinterpret_cast<void *>(scratch_.get());
    return run("barrier", [&] {
      return api_.ncclAllReduce(p, p, 1, ncclInt32, ncclSum, comm_,
                                device_.stream());
    });
  }
  std::string split(int color, int key,
                    std::unique_ptr<Communicator> &out) override {
    if (!comm_)
      return kBroken;
    if (!api_.ncclCommSplit)
      return "nccl split: this NCCL lacks ncclCommSplit (Tessera needs NCCL "
             "2.18 or newer for meshes with more than one axis)";
    Status s = device_.makeCurrent();
    if (!s.ok())
      return s.message;
    ncclConfig_t config;
    config.blocking = 0;
    ncclComm_t sub = nullptr;
    Clock::time_point start = Clock::now();
    ncclResult_t r =
        api_.ncclCommSplit(comm_, color < 0 ? -1 : color, key, &sub, &config);
    if (r != ncclSuccess && r != ncclInProgress)
      return breakWith("nccl split: " + ncclText(api_, r, comm_));
    // The split itself is a collective of the parent.
    std::string e = awaitReady(api_, comm_, "split", timeoutMs_, start);
    if (!e.empty()) {
      broken_ = true;
      return e;
    }
    if (!sub)
      return breakWith("nccl split: no communicator for color " +
                       std::to_string(color));
    if (!(e = awaitReady(api_, sub, "split", timeoutMs_, start)).empty())
      return breakWith(e);
    int subRank = 0, subSize = 0;
    if (api_.ncclCommUserRank(sub, &subRank) != ncclSuccess ||
        api_.ncclCommCount(sub, &subSize) != ncclSuccess) {
      api_.ncclCommAbort(sub);
      return breakWith("nccl split: cannot query the new communicator");
    }
    out = std::make_unique<NcclCommunicator>(device_, api_, sub, subRank,
                                             subSize, timeoutMs_);
    return {};
  }

private:
  /// Enqueues with `start` and waits for completion, at most the timeout.
  template <typename F> std::string run(const char *what, F &&start) {
    if (!comm_ || broken_)
      return kBroken;
    Status s = device_.makeCurrent();
    if (!s.ok())
      return s.message;
    Clock::time_point begin = Clock::now();
    ncclResult_t r = start();
    if (r != ncclSuccess && r != ncclInProgress)
      return breakWith(std::string("nccl ") + what + ": " +
                       ncclText(api_, r, comm_));
    return wait(what, begin);
  }

  std::string wait(const char *what, Clock::time_point begin) {
    Clock::time_point deadline = begin + std::chrono::milliseconds(timeoutMs_);
    const Driver &drv = device_.api();
    for (unsigned spin = 0;; ++spin) {
      ncclResult_t state = ncclSuccess;
      ncclResult_t r = api_.ncclCommGetAsyncError(comm_, &state);
      if (r != ncclSuccess)
        state = r;
      if (state != ncclSuccess && state != ncclInProgress)
        return breakWith(std::string("nccl ") + what + ": " +
                         ncclText(api_, state, comm_));
      if (state == ncclSuccess) {
        CUresult q = drv.cuStreamQuery(device_.stream());
        if (q == CUDA_SUCCESS)
          return {};
        if (q != CUDA_ERROR_NOT_READY)
          return breakWith(device_.name() + ": nccl " + what + ": " +
                           driverError("cuStreamQuery", q));
      }
      if (Clock::now() >= deadline)
        return breakWith(std::string("nccl ") + what + " timed out after " +
                         std::to_string(timeoutMs_) + " ms");
      backoff(spin, begin);
    }
  }

  std::string breakWith(std::string error) {
    broken_ = true;
    if (comm_) {
      api_.ncclCommAbort(comm_);
      comm_ = nullptr;
    }
    return error;
  }

  Device &device_;
  const Nccl &api_;
  ncclComm_t comm_;
  int rank_, size_, timeoutMs_;
  bool broken_ = false;
  Buffer scratch_;
};

/// A one-rank communicator: copies on the device's stream.
class SelfCommunicator final : public Communicator {
public:
  explicit SelfCommunicator(Device &device) : device_(device) {}
  int rank() const override { return 0; }
  int size() const override { return 1; }
  const char *backend() const override { return "nccl"; }
  std::string allReduce(void *, size_t, ElementKind, ReduceKind) override {
    return {};
  }
  std::string allGather(const void *send, void *recv, size_t bytes) override {
    return copy(recv, send, bytes);
  }
  std::string reduceScatter(const void *send, void *recv, size_t count,
                            ElementKind kind, ReduceKind) override {
    return copy(recv, send, count * elementSize(kind));
  }
  std::string allToAll(const void *send, void *recv, size_t bytes) override {
    return copy(recv, send, bytes);
  }
  std::string gather(const void *send, void *recv, size_t bytes,
                     int root) override {
    if (root != 0)
      return "gather root " + std::to_string(root) + " is not a rank";
    return copy(recv, send, bytes);
  }
  std::string broadcast(void *, size_t, int root) override {
    return root == 0 ? std::string()
                     : "broadcast root " + std::to_string(root) + " is not a rank";
  }
  std::string barrier() override { return {}; }
  std::string split(int, int, std::unique_ptr<Communicator> &out) override {
    out = std::make_unique<SelfCommunicator>(device_);
    return {};
  }

private:
  std::string copy(void *dst, const void *src, size_t bytes) {
    return device_.copy(dev(dst), dev(src), bytes).message;
  }
  Device &device_;
};

/// Initializes this thread's rank `rank` of `size` on `device`; `comm` is
/// null on failure.
std::string initRank(Device &device, const Nccl &api, const ncclUniqueId &id,
                     int rank, int size, int timeoutMs, ncclComm_t &comm) {
  comm = nullptr;
  Status s = device.makeCurrent();
  if (!s.ok())
    return s.message;
  ncclConfig_t config;
  config.blocking = 0;
  Clock::time_point start = Clock::now();
  ncclResult_t r = api.ncclCommInitRankConfig(&comm, size, id, rank, &config);
  if (r != ncclSuccess && r != ncclInProgress) {
    std::string e = "nccl init (rank " + std::to_string(rank) + " of " +
                    std::to_string(size) + " on " + device.name() +
                    "): " + ncclText(api, r, comm);
    if (comm)
      api.ncclCommAbort(comm);
    comm = nullptr;
    return e;
  }
  return awaitReady(api, comm, "init", timeoutMs, start);
}
} // namespace

std::unique_ptr<Communicator> createDeviceSelfCommunicator(Device &device) {
  return std::make_unique<SelfCommunicator>(device);
}

std::string
createNcclThreadCommunicators(const std::vector<Device *> &devices,
                              int timeoutMs,
                              std::vector<std::unique_ptr<Communicator>> &out,
                              int initTimeoutMs) {
  std::string e;
  const Nccl *api = nccl(e);
  if (!api)
    return "the nccl communicator: " + e;
  ncclUniqueId id;
  ncclResult_t r = api->ncclGetUniqueId(&id);
  if (r != ncclSuccess)
    return "ncclGetUniqueId: " + ncclText(*api, r, nullptr);
  int n = static_cast<int>(devices.size());
  std::vector<ncclComm_t> comms(devices.size(), nullptr);
  std::vector<std::string> errors(devices.size());
  std::vector<std::thread> threads;
  for (int rank = 0; rank < n; ++rank)
    threads.emplace_back([&, rank] {
      errors[rank] = initRank(*devices[rank], *api, id, rank, n,
                              initTimeoutMs ? initTimeoutMs : timeoutMs,
                              comms[rank]);
    });
  for (std::thread &t : threads)
    t.join();
  for (int rank = 0; rank < n; ++rank) {
    if (errors[rank].empty())
      continue;
    // Abort the ranks that did join, together (an intra-node collective).
    threads.clear();
    for (int other = 0; other < n; ++other)
      if (comms[other])
        threads.emplace_back([&, other] {
          devices[other]->makeCurrent();
          api->ncclCommAbort(comms[other]);
        });
    for (std::thread &t : threads)
      t.join();
    return errors[rank];
  }
  out.clear();
  for (int rank = 0; rank < n; ++rank)
    out.push_back(std::make_unique<NcclCommunicator>(*devices[rank], *api,
                                                     comms[rank], rank, n,
                                                     timeoutMs));
  return {};
}

//===----------------------------------------------------------------------===//
// Processes
//===----------------------------------------------------------------------===//

namespace {
/// The integer in environment variable `name`; false when it is not set,
/// `bad` set when it is set but not a number.
bool envInt(const char *name, int &value, std::string &bad) {
  const char *v = std::getenv(name);
  if (!v || !*v)
    return false;
  char *end = nullptr;
  long n = std::strtol(v, &end, 10);
  if (*end != '\0' || n < 0 || n > 1000000) {
    if (bad.empty())
      bad = std::string(name) + "='" + v + "' is not a rank or rank count";
    return false;
  }
  value = static_cast<int>(n);
  return true;
}
} // namespace

std::string processWorld(bool mpi, ProcessWorld &w) {
  w = ProcessWorld();
  std::string bad;
  int rank = 0, size = 0;
  bool explicitRank = envInt("TESSERA_RANK", rank, bad);
  bool explicitSize = envInt("TESSERA_WORLD_SIZE", size, bad);
  if (!bad.empty())
    return bad;
  bool underMpirun = std::getenv("OMPI_COMM_WORLD_SIZE") != nullptr;
  if (mpi || (!explicitRank && !explicitSize && underMpirun && haveMpi())) {
    std::string e = mpiWorld(w.rank, w.size);
    if (!e.empty())
      return e;
    w.viaMpi = true;
  } else if (explicitRank || explicitSize) {
    if (!explicitRank || !explicitSize)
      return "the nccl communicator: set both TESSERA_RANK and "
             "TESSERA_WORLD_SIZE";
    if (size < 1 || rank >= size)
      return "the nccl communicator: TESSERA_RANK=" + std::to_string(rank) +
             " is not a rank of TESSERA_WORLD_SIZE=" + std::to_string(size);
    w.rank = rank;
    w.size = size;
  } else if (underMpirun) {
    // mpirun without MPI in this runtime: its ranks, a file for the id.
    envInt("OMPI_COMM_WORLD_RANK", w.rank, bad);
    envInt("OMPI_COMM_WORLD_SIZE", w.size, bad);
    if (!bad.empty())
      return bad;
  }
  if (!w.viaMpi && w.size > 1) {
    const char *path = std::getenv("TESSERA_NCCL_RENDEZVOUS");
    if (!path || !*path)
      return "the nccl communicator: " + std::to_string(w.size) +
             " ranks need the NCCL unique id from rank 0: launch with mpirun "
             "(a runtime built with MPI) or set TESSERA_NCCL_RENDEZVOUS to a "
             "file path every rank can reach";
    w.rendezvous = path;
  }
  w.localRank = w.rank;
  for (const char *name : {"TESSERA_LOCAL_RANK", "OMPI_COMM_WORLD_LOCAL_RANK",
                           "MPI_LOCALRANKID", "SLURM_LOCALID"})
    if (envInt(name, w.localRank, bad))
      break;
  return {};
}

namespace {
constexpr char kMagic[8] = {'T', 'S', 'R', 'N', 'C', 'C', 'L', '1'};
} // namespace

std::string publishRendezvous(const std::string &path, const void *data,
                              size_t bytes) {
  std::string tmp = path + ".tmp." + std::to_string(getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    return "nccl rendezvous: cannot create " + tmp + ": " + std::strerror(errno);
  std::string content(kMagic, sizeof(kMagic));
  content.append(static_cast<const char *>(data), bytes);
  bool ok = ::write(fd, content.data(), content.size()) ==
                static_cast<ssize_t>(content.size()) &&
            ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::string e = std::strerror(errno);
    ::unlink(tmp.c_str());
    return "nccl rendezvous: cannot write " + path + ": " + e;
  }
  return {};
}

std::string awaitRendezvous(const std::string &path, int timeoutMs, void *data,
                            size_t bytes) {
  Clock::time_point deadline =
      Clock::now() + std::chrono::milliseconds(timeoutMs);
  std::vector<char> buffer(sizeof(kMagic) + bytes + 1);
  for (;;) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
      ssize_t n = ::read(fd, buffer.data(), buffer.size());
      ::close(fd);
      // Written whole and renamed into place: the right size or a stranger.
      if (n == static_cast<ssize_t>(sizeof(kMagic) + bytes) &&
          std::memcmp(buffer.data(), kMagic, sizeof(kMagic)) == 0) {
        std::memcpy(data, buffer.data() + sizeof(kMagic), bytes);
        return {};
      }
      return "nccl rendezvous: " + path +
             " is not a Tessera rendezvous file (remove it, or choose another "
             "TESSERA_NCCL_RENDEZVOUS)";
    }
    if (Clock::now() >= deadline)
      return "nccl rendezvous: rank 0 did not publish the NCCL unique id in " +
             path + " within " + std::to_string(timeoutMs) +
             " ms (is rank 0 running, with the same TESSERA_NCCL_RENDEZVOUS?)";
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

std::string createNcclProcessCommunicator(Device &device,
                                          const ProcessWorld &world,
                                          int timeoutMs,
                                          std::unique_ptr<Communicator> &out,
                                          bool ncclForOneRank) {
  if (world.size == 1 && !ncclForOneRank) {
    out = createDeviceSelfCommunicator(device);
    return {};
  }
  std::string e;
  const Nccl *api = nccl(e);
  if (!api)
    return "the nccl communicator: " + e;
  ncclUniqueId id;
  std::memset(&id, 0, sizeof(id));
  if (world.rank == 0) {
    ncclResult_t r = api->ncclGetUniqueId(&id);
    if (r != ncclSuccess)
      return "ncclGetUniqueId: " + ncclText(*api, r, nullptr);
  }
  if (world.viaMpi) {
    std::unique_ptr<Communicator> mpi;
    if (!(e = createMpiCommunicator(timeoutMs, mpi)).empty() ||
        !(e = mpi->broadcast(&id, sizeof(id), 0)).empty())
      return "sending the NCCL unique id over MPI: " + e;
  } else if (world.rendezvous.empty()) {
    if (world.size > 1)
      return "the nccl communicator: no rendezvous file for the unique id";
  } else if (world.rank == 0) {
    if (!(e = publishRendezvous(world.rendezvous, &id, sizeof(id))).empty())
      return e;
  } else if (!(e = awaitRendezvous(world.rendezvous, timeoutMs, &id,
                                   sizeof(id)))
                  .empty()) {
    return e;
  }
  ncclComm_t comm = nullptr;
  e = initRank(device, *api, id, world.rank, world.size, timeoutMs, comm);
  // Every rank has read the id once init completes.
  if (world.rank == 0 && !world.viaMpi && !world.rendezvous.empty())
    ::unlink(world.rendezvous.c_str());
  if (!e.empty())
    return e;
  out = std::make_unique<NcclCommunicator>(device, *api, comm, world.rank,
                                           world.size, timeoutMs);
  return {};
}

} // namespace tessera::runtime
