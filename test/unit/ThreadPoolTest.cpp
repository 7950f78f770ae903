//===- ThreadPoolTest.cpp - The CPU device's worker threads ---------------===//
//
// Every iteration of every loop runs exactly once, whether the workers are
// polling (loops back to back), asleep (a pause between loops) or busy
// with another caller's loop.
//
//===----------------------------------------------------------------------===//

#include "thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>
#include <vector>

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
