//===- CommTest.cpp - The local communicator ------------------------------===//
//
// Ranks as threads: every collective against the values computed directly,
// splits by mesh axis, and the bounded wait when a peer never arrives.
//
//===----------------------------------------------------------------------===//

#include "comm/comm.h"
#include "half.h"

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <thread>

using namespace tessera::runtime;

namespace {
/// Runs body(comm) on one thread per rank of a new local group.
void onRanks(int n, const std::function<void(Communicator &)> &body,
             int timeoutMs = 10000) {
  auto comms = createLocalCommunicators(n, timeoutMs);
  std::vector<std::thread> threads;
  for (auto &c : comms)
    threads.emplace_back([&body, &c] { body(*c); });
  for (auto &t : threads)
    t.join();
}

TEST(LocalComm, AllReduceSumsInRankOrder) {
  onRanks(4, [](Communicator &c) {
    std::vector<float> v(1000);
    for (size_t i = 0; i < v.size(); ++i)
      v[i] = float(c.rank() + 1) * float(i);
    ASSERT_EQ(c.allReduce(v.data(), v.size(), ElementKind::F32, ReduceKind::Sum), "");
    for (size_t i = 0; i < v.size(); ++i)
      ASSERT_EQ(v[i], 10.0f * float(i));
    std::vector<int64_t> m = {c.rank(), -c.rank()};
    ASSERT_EQ(c.allReduce(m.data(), 2, ElementKind::I64, ReduceKind::Max), "");
    EXPECT_EQ(m[0], 3);
    EXPECT_EQ(m[1], 0);
  });
}

TEST(LocalComm, SixteenBitFloatsReduceInFloatRoundedPerRank) {
  // f16: 1 + 2^-10 four times is 4 + 2^-8 exactly (every partial sum is a
  // half), and -1.5 - 0.5 + 0.5 + 1.5 is 0; bf16: the max over the ranks,
  // and a sum of ones.
  onRanks(4, [](Communicator &c) {
    std::vector<uint16_t> h = {0x3c01, floatToHalf(float(c.rank()) - 1.5f)};
    ASSERT_EQ(c.allReduce(h.data(), 2, ElementKind::F16, ReduceKind::Sum), "");
    EXPECT_EQ(halfToFloat(h[0]), 4.0f + 1.0f / 256);
    EXPECT_EQ(halfToFloat(h[1]), 0.0f); // -1.5 - 0.5 + 0.5 + 1.5
    const float values[] = {-1.0f, 0.5f, 2.5f, 3.0f};
    std::vector<uint16_t> b = {floatToBf16(values[c.rank()]), floatToBf16(1.0f)};
    ASSERT_EQ(c.allReduce(b.data(), 1, ElementKind::BF16, ReduceKind::Max), "");
    EXPECT_EQ(bf16ToFloat(b[0]), 3.0f);
    ASSERT_EQ(c.allReduce(b.data() + 1, 1, ElementKind::BF16, ReduceKind::Sum), "");
    EXPECT_EQ(bf16ToFloat(b[1]), 4.0f);
  });
}

TEST(LocalComm, GatherScatterAllToAllBroadcast) {
  onRanks(3, [](Communicator &c) {
    int r = c.rank();
    std::vector<int32_t> send = {r, 10 * r}, all(6);
    ASSERT_EQ(c.allGather(send.data(), all.data(), 2 * sizeof(int32_t)), "");
    EXPECT_EQ(all, (std::vector<int32_t>{0, 0, 1, 10, 2, 20}));

    std::vector<double> blocks = {1.0 * r, 2.0 * r, 3.0 * r}, mine(1);
    ASSERT_EQ(c.reduceScatter(blocks.data(), mine.data(), 1, ElementKind::F64,
                              ReduceKind::Sum), "");
    EXPECT_EQ(mine[0], (r + 1) * 3.0); // block r summed over ranks 0+1+2

    std::vector<int32_t> out = {100 * r + 0, 100 * r + 1, 100 * r + 2}, in(3);
    ASSERT_EQ(c.allToAll(out.data(), in.data(), sizeof(int32_t)), "");
    EXPECT_EQ(in, (std::vector<int32_t>{r, 100 + r, 200 + r}));

    int64_t value = r == 2 ? 42 : -1;
    ASSERT_EQ(c.broadcast(&value, sizeof(value), 2), "");
    EXPECT_EQ(value, 42);

    int32_t mineToRoot = 7 * r;
    std::vector<int32_t> atRoot(3, -1);
    ASSERT_EQ(c.gather(&mineToRoot, atRoot.data(), sizeof(int32_t), 1), "");
    if (r == 1)
      EXPECT_EQ(atRoot, (std::vector<int32_t>{0, 7, 14}));
    else
      EXPECT_EQ(atRoot, (std::vector<int32_t>{-1, -1, -1}));
  });
}

TEST(LocalComm, SplitByMeshAxis) {
  // A 2x2 mesh, rank = 2 * dp + tp: the tp groups are {0, 1} and {2, 3}.
  onRanks(4, [](Communicator &c) {
    int dp = c.rank() / 2, tp = c.rank() % 2;
    std::unique_ptr<Communicator> tpComm;
    ASSERT_EQ(c.split(dp, tp, tpComm), "");
    EXPECT_EQ(tpComm->size(), 2);
    EXPECT_EQ(tpComm->rank(), tp);
    float v = float(c.rank());
    ASSERT_EQ(tpComm->allReduce(&v, 1, ElementKind::F32, ReduceKind::Sum), "");
    EXPECT_EQ(v, dp == 0 ? 1.0f : 5.0f);
  });
}

TEST(LocalComm, MissingPeerTimesOut) {
  auto comms = createLocalCommunicators(2, 200);
  auto start = std::chrono::steady_clock::now();
  float v = 1;
  std::string e = comms[0]->allReduce(&v, 1, ElementKind::F32, ReduceKind::Sum);
  auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(e, "peer ranks did not reach the collective within 200 ms");
  EXPECT_LT(waited, std::chrono::seconds(5));
  // The group is broken: the late peer fails at once.
  EXPECT_EQ(comms[1]->barrier(), "a peer rank failed or timed out in an earlier collective");
}
} // namespace
