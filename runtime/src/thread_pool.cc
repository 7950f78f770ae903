//===- thread_pool.cc - The CPU device's worker threads -------------------===//

#include "thread_pool.h"

#include <sched.h>

namespace tessera::runtime {

ThreadPool::ThreadPool(int threads) {
  for (int i = 1; i < threads; ++i)
    workers_.emplace_back([this] { work(); });
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

void ThreadPool::runIterations() {
  for (int64_t i; (i = next_.fetch_add(1, std::memory_order_relaxed)) < n_;)
    fn_(ctx_, i);
}

namespace {
/// About 50-100 us of polling before a worker sleeps.
constexpr int kSpins = 2048;

inline void relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#else
  std::this_thread::yield();
#endif
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
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || generation_ != seen; });
      if (stopping_)
        return;
      seen = generation_;
    }
    runIterations();
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (--busy_ == 0)
        done_.notify_one();
    }
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
    busy_ = static_cast<int>(workers_.size());
    ++generation_;
  }
  wake_.notify_all();
  runIterations();
  std::unique_lock<std::mutex> lock(mutex_);
  done_.wait(lock, [&] { return busy_ == 0; });
}

void ThreadPool::hook(void *pool, int64_t n, Task fn, void *ctx) {
  static_cast<ThreadPool *>(pool)->parallelFor(n, fn, ctx);
}

} // namespace tessera::runtime
