//===- ThreadPoolTest.cpp - The CPU device's worker threads ---------------===//
//
// Every iteration of every loop runs exactly once, whether the workers are
// polling (loops back to back), asleep (a pause between loops) or busy
// with another caller's loop. Subnormal results are flushed to zero on the
// workers when the pool is made so, and by FlushDenormals on the calling
// thread only while it lives.
//
//===----------------------------------------------------------------------===//

#include "float_env.h"
#include "thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>
#include <vector>

using tessera::runtime::FlushDenormals;
using tessera::runtime::ThreadPool;

namespace {
struct Counts {
  std::vector<std::atomic<int>> hits;
  explicit Counts(int64_t n) : hits(n) {}
  static void bump(void *ctx, int64_t i) {
    static_cast<Counts *>(ctx)->hits[i].fetch_add(1);
  }
  void expectOnce() {
    for (size_t i = 0; i < hits.size(); ++i)
      ASSERT_EQ(hits[i].load(), 1) << "iteration " << i;
  }
};

TEST(ThreadPoolTest, BackToBackLoopsRunEachIterationOnce) {
  ThreadPool pool(3);
  for (int64_t round = 0; round < 2000; ++round) {
    int64_t n = 1 + round % 37;
    Counts counts(n);
    pool.parallelFor(n, &Counts::bump, &counts);
    counts.expectOnce();
  }
}

TEST(ThreadPoolTest, LoopsAfterTheWorkersSleep) {
  ThreadPool pool(2);
  for (int round = 0; round < 20; ++round) {
    // Longer than the workers poll: they go to sleep between loops, and
    // may wake in the middle of the next one or after it.
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    Counts counts(64);
    pool.parallelFor(64, &Counts::bump, &counts);
    counts.expectOnce();
  }
}

TEST(ThreadPoolTest, ConcurrentCallersEachGetTheirLoop) {
  ThreadPool pool(3);
  std::atomic<bool> failed{false};
  std::vector<std::thread> callers;
  for (int c = 0; c < 3; ++c)
    callers.emplace_back([&] {
      for (int round = 0; round < 500; ++round) {
        Counts counts(16);
        pool.parallelFor(16, &Counts::bump, &counts);
        for (auto &h : counts.hits)
          if (h.load() != 1)
            failed = true;
      }
    });
  for (std::thread &t : callers)
    t.join();
  EXPECT_FALSE(failed.load());
}

TEST(ThreadPoolTest, SlowIterationsAreWaitedFor) {
  ThreadPool pool(2);
  std::atomic<int> done{0};
  auto slow = [](void *ctx, int64_t) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    static_cast<std::atomic<int> *>(ctx)->fetch_add(1);
  };
  pool.parallelFor(8, slow, &done);
  EXPECT_EQ(done.load(), 8);
}
TEST(ThreadPoolTest, ScratchIsKeptPerThreadAndGrows) {
  auto *a = static_cast<char *>(ThreadPool::scratch(1000));
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(a) % 64, 0u);
  a[999] = 1;
  // A request it already holds gets the same buffer (no allocation, no
  // page faults); a larger one a buffer that size.
  EXPECT_EQ(ThreadPool::scratch(4096), a);
  auto *b = static_cast<char *>(ThreadPool::scratch(1 << 20));
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(b) % 64, 0u);
  b[(1 << 20) - 1] = 1;
  EXPECT_EQ(ThreadPool::scratch(1000), b);
  // Another thread has its own.
  void *other = nullptr;
  std::thread([&] { other = ThreadPool::scratch(1000); }).join();
  EXPECT_NE(other, nullptr);
  EXPECT_NE(other, b);
}
} // namespace

namespace {
/// 1e-20 * 1e-20: a subnormal float (1e-40), or 0 when flushed.
float subnormalProduct() {
  volatile float a = 1e-20f, b = 1e-20f;
  float r = a * b;
  volatile float out = r;
  return out;
}

/// Per iteration (each sleeps 1 ms, so that a worker takes some): the
/// product, and whether the pool's caller ran it.
struct Products {
  std::thread::id caller = std::this_thread::get_id();
  std::vector<float> value = std::vector<float>(16);
  std::vector<char> onCaller = std::vector<char>(16);
  static void run(void *ctx, int64_t i) {
    auto *p = static_cast<Products *>(ctx);
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    p->value[i] = subnormalProduct();
    p->onCaller[i] = std::this_thread::get_id() == p->caller;
  }
};
} // namespace

TEST(FloatEnvTest, FlushDenormalsFlushesAndRestores) {
  ASSERT_GT(subnormalProduct(), 0.0f);
  {
    FlushDenormals mode(true);
    EXPECT_EQ(subnormalProduct(), 0.0f);
    {
      FlushDenormals off(false); // no change
      EXPECT_EQ(subnormalProduct(), 0.0f);
    }
  }
  EXPECT_GT(subnormalProduct(), 0.0f);
}

TEST(ThreadPoolTest, WorkersFlushSubnormalsWhenAsked) {
  for (bool flush : {true, false}) {
    ThreadPool pool(2, flush);
    Products p;
    pool.parallelFor(16, &Products::run, &p);
    int onWorkers = 0;
    for (int i = 0; i < 16; ++i) {
      if (p.onCaller[i]) {
        EXPECT_GT(p.value[i], 0.0f) << "the caller's mode is its own";
        continue;
      }
      ++onWorkers;
      if (flush)
        EXPECT_EQ(p.value[i], 0.0f) << "iteration " << i;
      else
        EXPECT_GT(p.value[i], 0.0f) << "iteration " << i;
    }
    EXPECT_GT(onWorkers, 0);
  }
}
