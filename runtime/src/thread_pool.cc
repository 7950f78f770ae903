//===- thread_pool.cc - The CPU device's worker threads -------------------===//
//
// How a loop runs. The caller publishes the loop (fn, ctx, n) under the
// mutex and bumps the generation; workers that poll or wake see it,
// register (active_) and take iterations from the shared counter along
// with the caller. The caller never waits for a worker to arrive: it runs
// whatever iterations are left and then waits, polling, only for those
// already taken to finish. It then closes the loop under the mutex, so a
// worker that wakes late finds nothing to do, and waits for the workers
// still registered to leave before it returns (they only find the
// counter exhausted). Waiting for every worker to acknowledge each loop
// cost a futex wake per loop (tens of microseconds on these VMs) once the
// workers had gone to sleep: MobileNetV2 (about 150 loop nests of tens of
// microseconds each) ran slower on two threads than on one.
//
//===----------------------------------------------------------------------===//

#include "thread_pool.h"
#include "float_env.h"

#include <sched.h>

#include <cstdlib>

namespace tessera::runtime {

ThreadPool::ThreadPool(int threads, bool flushDenormals) {
  for (int i = 1; i < threads; ++i)
    workers_.emplace_back([this, flushDenormals] {
      FlushDenormals mode(flushDenormals);
      work();
    });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (std::thread &t : workers_)
    t.join();
}

int ThreadPool::availableCores() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    int n = CPU_COUNT(&set);
    if (n > 0)
      return n;
  }
  unsigned n = std::thread::hardware_concurrency();
  return n ? static_cast<int>(n) : 1;
}

namespace {
struct ThreadScratch {
  void *data = nullptr;
  size_t size = 0;
  ~ThreadScratch() { std::free(data); }
};
} // namespace

void *ThreadPool::scratch(int64_t bytes) {
  thread_local ThreadScratch buffer;
  size_t want = bytes > 0 ? static_cast<size_t>(bytes) : 1;
  if (want > buffer.size) {
    size_t size = (want + 4095) / 4096 * 4096;
    void *data = std::aligned_alloc(64, size);
    if (!data)
      return nullptr;
    std::free(buffer.data);
    buffer.data = data;
    buffer.size = size;
  }
  return buffer.data;
}

void ThreadPool::runIterations(Task fn, void *ctx, int64_t n) {
  for (int64_t i; (i = next_.fetch_add(1, std::memory_order_relaxed)) < n;) {
    fn(ctx, i);
    finished_.fetch_add(1, std::memory_order_release);
  }
}

namespace {
/// About 100-200 us of polling before a worker sleeps: a model's loop
/// nests come back to back, and a sleeping worker misses the next one.
constexpr int kSpins = 4096;

inline void relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#else
  std::this_thread::yield();
#endif
}

/// Polls `done` with pauses, then with yields (a preempted thread holds
/// an iteration).
template <typename Done> void await(Done done) {
  for (int i = 0; !done(); ++i) {
    if (i < kSpins)
      relax();
    else
      std::this_thread::yield();
  }
}
} // namespace

void ThreadPool::work() {
  uint64_t seen = 0;
  for (;;) {
    for (int i = 0; i < kSpins &&
                    generation_.load(std::memory_order_acquire) == seen &&
                    !stopping_.load(std::memory_order_relaxed);
         ++i)
      relax();
    Task fn;
    void *ctx;
    int64_t n;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || generation_ != seen; });
      if (stopping_)
        return;
      seen = generation_;
      if (!open_)
        continue; // finished before this worker arrived
      active_.fetch_add(1, std::memory_order_relaxed);
      fn = fn_;
      ctx = ctx_;
      n = n_;
    }
    runIterations(fn, ctx, n);
    active_.fetch_sub(1, std::memory_order_release);
  }
}

void ThreadPool::parallelFor(int64_t n, Task fn, void *ctx) {
  std::unique_lock<std::mutex> loop(loopMutex_, std::try_to_lock);
  if (workers_.empty() || n <= 1 || !loop.owns_lock()) {
    for (int64_t i = 0; i < n; ++i)
      fn(ctx, i);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    fn_ = fn;
    ctx_ = ctx;
    n_ = n;
    next_.store(0, std::memory_order_relaxed);
    finished_.store(0, std::memory_order_relaxed);
    open_ = true;
    generation_.fetch_add(1, std::memory_order_release);
  }
  wake_.notify_all();
  runIterations(fn, ctx, n);
  await([&] { return finished_.load(std::memory_order_acquire) == n; });
  {
    std::lock_guard<std::mutex> lock(mutex_);
    open_ = false;
  }
  // Registered workers find the counter exhausted; the next loop resets it.
  await([&] { return active_.load(std::memory_order_acquire) == 0; });
}

void ThreadPool::hook(void *pool, int64_t n, Task fn, void *ctx) {
  static_cast<ThreadPool *>(pool)->parallelFor(n, fn, ctx);
}

} // namespace tessera::runtime
