//===- thread_pool.h - The CPU device's worker threads ----------*- C++ -*-===//
//
// A fixed set of worker threads that run the iterations of a parallel loop
// together with the calling thread. The compiled code reaches it through
// the `tessera_uk_parallel_for` hook each loaded module exports (see
// codegen/CPU/ukernels/Sgemm.cpp).
//
//===----------------------------------------------------------------------===//
#ifndef TESSERA_RUNTIME_THREAD_POOL_H
#define TESSERA_RUNTIME_THREAD_POOL_H

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

namespace tessera::runtime {

class ThreadPool {
public:
  using Task = void (*)(void *ctx, int64_t index);

  /// `threads` in all, the caller counted: threads - 1 workers, which
  /// flush subnormal results to zero when `flushDenormals` (float_env.h;
  /// the caller's mode is its own).
  explicit ThreadPool(int threads, bool flushDenormals = true);
  ~ThreadPool();
  ThreadPool(const ThreadPool &) = delete;
  ThreadPool &operator=(const ThreadPool &) = delete;

  int threads() const { return static_cast<int>(workers_.size()) + 1; }

  /// Runs fn(ctx, i) for every i in [0, n) and returns when all are done.
  /// One loop uses the workers at a time; a loop started while another
  /// runs (a concurrent session) runs on its caller alone.
  void parallelFor(int64_t n, Task fn, void *ctx);

  /// The C hook for compiled code: `pool` is a ThreadPool.
  static void hook(void *pool, int64_t n, Task fn, void *ctx);

  /// Threads this process may run on (its CPU affinity), at least 1.
  static int availableCores();

  /// The compiled code's scratch hook (`tessera_uk_scratch`): at least
  /// `bytes` bytes, 64-byte aligned, owned by the calling thread and valid
  /// until its next call. One buffer per thread, grown to the largest
  /// request and freed when the thread exits, so a kernel's packing
  /// buffers are faulted in once rather than on every call.
  static void *scratch(int64_t bytes);

private:
  void work();
  void runIterations(Task fn, void *ctx, int64_t n);

  std::vector<std::thread> workers_;
  std::mutex loopMutex_; // held by the caller of the loop in progress
  std::mutex mutex_;     // guards the loop's publication and closing
  std::condition_variable wake_;
  // Bumped under mutex_ when a loop is published; read without it by
  // workers polling for the next loop.
  std::atomic<uint64_t> generation_{0};
  std::atomic<bool> stopping_{false};
  // The loop in progress (written under mutex_), open until the caller
  // has seen every iteration finish.
  Task fn_ = nullptr;
  void *ctx_ = nullptr;
  int64_t n_ = 0;
  bool open_ = false;
  std::atomic<int64_t> next_{0};     // the next iteration to take
  std::atomic<int64_t> finished_{0}; // iterations done
  std::atomic<int> active_{0};       // workers inside the loop
};

} // namespace tessera::runtime

#endif // TESSERA_RUNTIME_THREAD_POOL_H
