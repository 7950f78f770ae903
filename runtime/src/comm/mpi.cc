//===- mpi.cc - One process per rank over MPI -----------------------------===//
//
// The `mpi` communicator: a duplicate of MPI_COMM_WORLD (MPI_Comm_idup),
// split with MPI_Comm_split. Every collective is MPI's non-blocking form,
// polled with MPI_Test until it completes or the communicator's timeout
// passes; then the call fails naming the MPI call and the bound, and the
// communicator is broken: every later call fails at once. MPI cannot cancel
// a collective, so one that timed out stays in flight; it runs on staging
// buffers that are then deliberately leaked, so a late peer cannot write
// into memory the caller has reused.
//
// The communicators return errors (MPI_ERRORS_RETURN) instead of aborting.
// A peer that dies is mpirun's business: by default it ends the whole job
// as soon as it notices; under `mpirun --enable-recovery` the survivors go
// on and time out here.
//
// MPI is initialized on first use with MPI_THREAD_SERIALIZED (callers may
// be any thread; one process-wide lock keeps MPI calls one at a time, and
// waiting for it counts against the timeout) and finalized at exit, unless
// a communicator broke: MPI_Finalize waits for every peer, and a stuck peer
// would hang this process. Exiting without it makes mpirun end the job.
// An application that initializes MPI itself keeps it (and finalizes it).
//
// Without TESSERA_HAVE_MPI (no MPI found at configure time) the entry
// points only say that.
//
//===----------------------------------------------------------------------===//

#include "comm/comm.h"
#include "half.h"

#ifdef TESSERA_HAVE_MPI
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>

#include <atomic>
#include <chrono>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <future>
#include <mutex>
#include <sched.h>
#include <thread>
#endif

namespace tessera::runtime {

#ifndef TESSERA_HAVE_MPI

namespace {
const char *kNoMpi =
    "this runtime was built without MPI (install libopenmpi-dev "
    "and rebuild to use the mpi communicator)";
} // namespace

bool haveMpi() { return false; }

std::string mpiWorld(int &rank, int &size) {
  rank = 0;
  size = 1;
  return kNoMpi;
}

std::string createMpiCommunicator(int, std::unique_ptr<Communicator> &) {
  return kNoMpi;
}

#else

namespace {
using Clock = std::chrono::steady_clock;

const char *kBroken =
    "a peer rank failed or timed out in an earlier collective";

/// Serializes every MPI call of the process (MPI_THREAD_SERIALIZED).
std::timed_mutex &mpiLock() {
  static std::timed_mutex lock;
  return lock;
}

/// Runs `call` holding the MPI lock; false when the lock was not free by
/// `deadline` (a call that never returned holds it).
template <typename F> bool locked(Clock::time_point deadline, F &&call) {
  std::unique_lock<std::timed_mutex> lock(mpiLock(), std::defer_lock);
  if (!lock.try_lock_until(deadline))
    return false;
  call();
  return true;
}

/// Set when any communicator breaks: MPI is then not finalized at exit.
std::atomic<bool> anyBroken{false};

struct World {
  std::string error;
  int rank = 0, size = 1, threadLevel = MPI_THREAD_SINGLE;
};

std::string errorString(int code) {
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  if (MPI_Error_string(code, text, &length) != MPI_SUCCESS)
    return "MPI error " + std::to_string(code);
  return std::string(text, static_cast<size_t>(length));
}

void finalizeAtExit() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized && !anyBroken.load())
    MPI_Finalize();
}

const World &world() {
  static World w = [] {
    World w;
    int initialized = 0;
    MPI_Initialized(&initialized);
    if (!initialized) {
      int rc = MPI_Init_thread(nullptr, nullptr, MPI_THREAD_SERIALIZED,
                               &w.threadLevel);
      if (rc != MPI_SUCCESS) {
        w.error = "MPI_Init_thread failed: " + errorString(rc);
        return w;
      }
      std::atexit(finalizeAtExit);
    } else {
      MPI_Query_thread(&w.threadLevel);
    }
    MPI_Comm_rank(MPI_COMM_WORLD, &w.rank);
    MPI_Comm_size(MPI_COMM_WORLD, &w.size);
    return w;
  }();
  return w;
}

MPI_Datatype mpiType(ElementKind kind) {
  switch (kind) {
  case ElementKind::F32:
    return MPI_FLOAT;
  case ElementKind::F64:
    return MPI_DOUBLE;
  case ElementKind::I32:
    return MPI_INT32_T;
  case ElementKind::I64:
    return MPI_INT64_T;
  case ElementKind::F16:
  case ElementKind::BF16:
    return MPI_FLOAT; // MPI has no 16-bit floats: staged as float
  }
  return MPI_DATATYPE_NULL;
}

MPI_Op mpiOp(ReduceKind op) {
  switch (op) {
  case ReduceKind::Sum:
    return MPI_SUM;
  case ReduceKind::Prod:
    return MPI_PROD;
  case ReduceKind::Max:
    return MPI_MAX;
  case ReduceKind::Min:
    return MPI_MIN;
  }
  return MPI_OP_NULL;
}

/// The buffers a collective runs on (see the file comment).
struct Staging {
  std::unique_ptr<char[]> send, recv;
  static std::unique_ptr<char[]> make(size_t bytes,
                                      const void *from = nullptr) {
    std::unique_ptr<char[]> b(new char[bytes ? bytes : 1]);
    if (from && bytes)
      std::memcpy(b.get(), from, bytes);
    return b;
  }
  /// `count` elements of `kind` from `from` (if given), as MPI reduces
  /// them: f16 and bf16 widened to float.
  static std::unique_ptr<char[]> make(size_t count, ElementKind kind,
                                      const void *from = nullptr) {
    if (!isSixteenBit(kind))
      return make(count * elementSize(kind), from);
    std::unique_ptr<char[]> b = make(count * sizeof(float));
    if (from) {
      auto *in = static_cast<const uint16_t *>(from);
      auto *out = reinterpret_cast<float *>(b.get());
      for (size_t i = 0; i < count; ++i)
        out[i] = kind == ElementKind::F16 ? halfToFloat(in[i]) : bf16ToFloat(in[i]);
    }
    return b;
  }
  /// Back from a staged buffer of `count` elements.
  static void copyOut(void *to, const char *staged, size_t count,
                      ElementKind kind) {
    if (!isSixteenBit(kind)) {
      std::memcpy(to, staged, count * elementSize(kind));
      return;
    }
    auto *in = reinterpret_cast<const float *>(staged);
    auto *out = static_cast<uint16_t *>(to);
    for (size_t i = 0; i < count; ++i)
      out[i] = kind == ElementKind::F16 ? floatToHalf(in[i]) : floatToBf16(in[i]);
  }
  static bool isSixteenBit(ElementKind kind) {
    return kind == ElementKind::F16 || kind == ElementKind::BF16;
  }
};

/// Waits for `request` until `deadline`, polling: busy at first (a run's
/// collectives take microseconds), then leaving the CPU to the peers, which
/// may share it (mpirun --oversubscribe). Empty on success, "timeout" when
/// the deadline passed, else MPI's error.
std::string poll(MPI_Request &request, Clock::time_point start,
                 Clock::time_point deadline) {
  for (unsigned spin = 0;; ++spin) {
    int done = 0, rc = MPI_SUCCESS;
    if (!locked(deadline,
                [&] { rc = MPI_Test(&request, &done, MPI_STATUS_IGNORE); }))
      return "timeout";
    if (rc != MPI_SUCCESS)
      return errorString(rc);
    if (done)
      return {};
    Clock::time_point now = Clock::now();
    if (now >= deadline)
      return "timeout";
    if (spin < 64)
      continue;
    if (now - start < std::chrono::milliseconds(2))
      sched_yield();
    else
      std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
}

class MpiCommunicator final : public Communicator {
public:
  MpiCommunicator(MPI_Comm comm, int rank, int size, int timeoutMs)
      : comm_(comm), rank_(rank), size_(size), timeoutMs_(timeoutMs) {}
  ~MpiCommunicator() override {
    // A broken communicator may still have a collective in flight.
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!broken_ && !finalized)
      locked(Clock::now() + std::chrono::milliseconds(timeoutMs_),
             [&] { MPI_Comm_free(&comm_); });
  }
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  const char *backend() const override { return "mpi"; }

  std::string allReduce(void *buffer, size_t count, ElementKind kind,
                        ReduceKind op) override {
    Staging s;
    s.recv = Staging::make(count, kind, buffer);
    std::string e = run("MPI_Iallreduce", count, s, [&](MPI_Request *r) {
      return MPI_Iallreduce(MPI_IN_PLACE, s.recv.get(), static_cast<int>(count),
                            mpiType(kind), mpiOp(op), comm_, r);
    });
    if (e.empty())
      Staging::copyOut(buffer, s.recv.get(), count, kind);
    return e;
  }

  std::string allGather(const void *send, void *recv, size_t bytes) override {
    Staging s;
    s.send = Staging::make(bytes, send);
    s.recv = Staging::make(bytes * size_);
    std::string e = run("MPI_Iallgather", bytes, s, [&](MPI_Request *r) {
      return MPI_Iallgather(s.send.get(), static_cast<int>(bytes), MPI_BYTE,
                            s.recv.get(), static_cast<int>(bytes), MPI_BYTE,
                            comm_, r);
    });
    if (e.empty())
      std::memcpy(recv, s.recv.get(), bytes * size_);
    return e;
  }

  std::string reduceScatter(const void *send, void *recv, size_t count,
                            ElementKind kind, ReduceKind op) override {
    Staging s;
    s.send = Staging::make(count * size_, kind, send);
    s.recv = Staging::make(count, kind);
    std::string e =
        run("MPI_Ireduce_scatter_block", count, s, [&](MPI_Request *r) {
          return MPI_Ireduce_scatter_block(s.send.get(), s.recv.get(),
                                           static_cast<int>(count),
                                           mpiType(kind), mpiOp(op), comm_, r);
        });
    if (e.empty())
      Staging::copyOut(recv, s.recv.get(), count, kind);
    return e;
  }

  std::string allToAll(const void *send, void *recv,
                       size_t bytesPerRank) override {
    Staging s;
    s.send = Staging::make(bytesPerRank * size_, send);
    s.recv = Staging::make(bytesPerRank * size_);
    std::string e = run("MPI_Ialltoall", bytesPerRank, s, [&](MPI_Request *r) {
      int n = static_cast<int>(bytesPerRank);
      return MPI_Ialltoall(s.send.get(), n, MPI_BYTE, s.recv.get(), n, MPI_BYTE,
                           comm_, r);
    });
    if (e.empty())
      std::memcpy(recv, s.recv.get(), bytesPerRank * size_);
    return e;
  }

  std::string gather(const void *send, void *recv, size_t bytes,
                     int root) override {
    if (root < 0 || root >= size_)
      return "gather root " + std::to_string(root) + " is not a rank";
    Staging s;
    s.send = Staging::make(bytes, send);
    s.recv = Staging::make(rank_ == root ? bytes * size_ : 0);
    std::string e = run("MPI_Igather", bytes, s, [&](MPI_Request *r) {
      int n = static_cast<int>(bytes);
      return MPI_Igather(s.send.get(), n, MPI_BYTE, s.recv.get(), n, MPI_BYTE,
                         root, comm_, r);
    });
    if (e.empty() && rank_ == root)
      std::memcpy(recv, s.recv.get(), bytes * size_);
    return e;
  }

  std::string broadcast(void *buffer, size_t bytes, int root) override {
    if (root < 0 || root >= size_)
      return "broadcast root " + std::to_string(root) + " is not a rank";
    Staging s;
    s.recv = Staging::make(bytes, buffer);
    std::string e = run("MPI_Ibcast", bytes, s, [&](MPI_Request *r) {
      return MPI_Ibcast(s.recv.get(), static_cast<int>(bytes), MPI_BYTE, root,
                        comm_, r);
    });
    if (e.empty())
      std::memcpy(buffer, s.recv.get(), bytes);
    return e;
  }

  std::string barrier() override {
    Staging s;
    return run("MPI_Ibarrier", 0, s,
               [&](MPI_Request *r) { return MPI_Ibarrier(comm_, r); });
  }

  std::string split(int color, int key,
                    std::unique_ptr<Communicator> &out) override {
    // MPI_Comm_split blocks until every rank calls it. Meeting in a bounded
    // all-gather first catches a peer that does not come; a peer that gives
    // up in between (its all-gather timed out just as ours completed) is
    // caught by running the split on a helper thread when MPI allows it.
    int mine[2] = {color, key};
    std::vector<int> all(2 * static_cast<size_t>(size_));
    if (std::string e = allGather(mine, all.data(), sizeof(mine)); !e.empty())
      return e;
    Clock::time_point deadline =
        Clock::now() + std::chrono::milliseconds(timeoutMs_);
    struct Result {
      bool locked = false;
      int rc = MPI_SUCCESS, rank = 0, size = 0;
      MPI_Comm comm = MPI_COMM_NULL;
    };
    MPI_Comm parent = comm_;
    auto doSplit = [parent, color, key, deadline] {
      Result r;
      r.locked = locked(deadline, [&] {
        r.rc = MPI_Comm_split(parent, color, key, &r.comm);
        if (r.rc == MPI_SUCCESS) {
          MPI_Comm_set_errhandler(r.comm, MPI_ERRORS_RETURN);
          MPI_Comm_rank(r.comm, &r.rank);
          MPI_Comm_size(r.comm, &r.size);
        }
      });
      return r;
    };
    Result r;
    if (world().threadLevel >= MPI_THREAD_SERIALIZED) {
      std::packaged_task<Result()> task(doSplit);
      std::future<Result> result = task.get_future();
      std::thread(std::move(task)).detach();
      if (result.wait_until(deadline) != std::future_status::ready)
        return breakWith(nullptr, timeoutMessage("MPI_Comm_split"));
      r = result.get();
    } else {
      r = doSplit();
    }
    if (!r.locked)
      return breakWith(nullptr, timeoutMessage("MPI_Comm_split"));
    if (r.rc != MPI_SUCCESS)
      return breakWith(nullptr, "MPI_Comm_split: " + errorString(r.rc));
    out = std::make_unique<MpiCommunicator>(r.comm, r.rank, r.size, timeoutMs_);
    return {};
  }

  /// Starts a collective with `start` and waits for it, at most the timeout.
  std::string run(const char *what, size_t count, Staging &s,
                  const std::function<int(MPI_Request *)> &start) {
    if (broken_)
      return kBroken;
    if (count > static_cast<size_t>(INT_MAX))
      return std::string(what) + ": " + std::to_string(count) +
             " elements are more than one MPI call takes";
    Clock::time_point begin = Clock::now();
    Clock::time_point deadline = begin + std::chrono::milliseconds(timeoutMs_);
    MPI_Request request = MPI_REQUEST_NULL;
    int rc = MPI_SUCCESS;
    if (!locked(deadline, [&] { rc = start(&request); }))
      return breakWith(&s, timeoutMessage(what));
    if (rc != MPI_SUCCESS)
      return breakWith(&s, std::string(what) + ": " + errorString(rc));
    std::string e = poll(request, begin, deadline);
    if (e == "timeout")
      return breakWith(&s, timeoutMessage(what));
    if (!e.empty())
      return breakWith(&s, std::string(what) + ": " + e);
    return {};
  }

private:
  std::string timeoutMessage(const char *what) const {
    return std::string("peer ranks did not reach ") + what + " within " +
           std::to_string(timeoutMs_) + " ms";
  }

  /// Marks the communicator broken and leaks the staging buffers of a
  /// collective that may still complete.
  std::string breakWith(Staging *s, std::string error) {
    broken_ = true;
    anyBroken.store(true);
    if (s) {
      (void)s->send.release();
      (void)s->recv.release();
    }
    return error;
  }

  MPI_Comm comm_;
  int rank_, size_, timeoutMs_;
  bool broken_ = false;
};
} // namespace

bool haveMpi() { return true; }

std::string mpiWorld(int &rank, int &size) {
  const World &w = world();
  rank = w.rank;
  size = w.size;
  return w.error;
}

std::string createMpiCommunicator(int timeoutMs,
                                  std::unique_ptr<Communicator> &out) {
  const World &w = world();
  if (!w.error.empty())
    return w.error;
  Clock::time_point begin = Clock::now();
  Clock::time_point deadline = begin + std::chrono::milliseconds(timeoutMs);
  std::string timedOut = "peer ranks did not reach MPI_Comm_idup within " +
                         std::to_string(timeoutMs) + " ms";
  MPI_Comm comm = MPI_COMM_NULL;
  MPI_Request request = MPI_REQUEST_NULL;
  int rc = MPI_SUCCESS;
  if (!locked(deadline,
              [&] { rc = MPI_Comm_idup(MPI_COMM_WORLD, &comm, &request); }))
    return timedOut;
  if (rc != MPI_SUCCESS)
    return "MPI_Comm_idup: " + errorString(rc);
  std::string e = poll(request, begin, deadline);
  if (!e.empty()) {
    anyBroken.store(true);
    return e == "timeout" ? timedOut : "MPI_Comm_idup: " + e;
  }
  int rank = 0, size = 0;
  if (!locked(deadline, [&] {
        MPI_Comm_set_errhandler(comm, MPI_ERRORS_RETURN);
        MPI_Comm_rank(comm, &rank);
        MPI_Comm_size(comm, &size);
      }))
    return timedOut;
  out = std::make_unique<MpiCommunicator>(comm, rank, size, timeoutMs);
  return {};
}

#endif // TESSERA_HAVE_MPI

} // namespace tessera::runtime
