//===- local.cc - Ranks as threads of one process -------------------------===//
//
// The `local` communicator: every rank publishes its buffer's address, all
// meet at a barrier, each reads its peers' buffers directly, and a second
// barrier keeps the buffers alive until everyone has read them. The
// barrier waits at most the timeout; a rank that gives up marks the group
// broken, so its peers fail too instead of waiting for it.
//
//===----------------------------------------------------------------------===//

#include "comm/comm.h"

#include <algorithm>
#include <chrono>
#include "half.h"

#include <condition_variable>
#include <cstring>
#include <map>
#include <mutex>
#include <vector>

namespace tessera::runtime {

size_t elementSize(ElementKind kind) {
  switch (kind) {
  case ElementKind::F32:
  case ElementKind::I32:
    return 4;
  case ElementKind::F64:
  case ElementKind::I64:
    return 8;
  case ElementKind::F16:
  case ElementKind::BF16:
    return 2;
  }
  return 0;
}

namespace {
template <typename T> void reduceTyped(T *acc, const T *x, size_t n, ReduceKind op) {
  switch (op) {
  case ReduceKind::Sum:
    for (size_t i = 0; i < n; ++i)
      acc[i] += x[i];
    break;
  case ReduceKind::Prod:
    for (size_t i = 0; i < n; ++i)
      acc[i] *= x[i];
    break;
  case ReduceKind::Max:
    for (size_t i = 0; i < n; ++i)
      acc[i] = std::max(acc[i], x[i]);
    break;
  case ReduceKind::Min:
    for (size_t i = 0; i < n; ++i)
      acc[i] = std::min(acc[i], x[i]);
    break;
  }
}
} // namespace

void reduceInto(void *acc, const void *x, size_t count, ElementKind kind,
                ReduceKind op) {
  if (kind == ElementKind::F16 || kind == ElementKind::BF16) {
    // In float, rounded back after each rank's contribution (as NCCL
    // reduces 16-bit buffers).
    bool half = kind == ElementKind::F16;
    std::vector<float> a(count), b(count);
    auto *acc16 = static_cast<uint16_t *>(acc);
    auto *x16 = static_cast<const uint16_t *>(x);
    for (size_t i = 0; i < count; ++i) {
      a[i] = half ? halfToFloat(acc16[i]) : bf16ToFloat(acc16[i]);
      b[i] = half ? halfToFloat(x16[i]) : bf16ToFloat(x16[i]);
    }
    reduceTyped(a.data(), b.data(), count, op);
    for (size_t i = 0; i < count; ++i)
      acc16[i] = half ? floatToHalf(a[i]) : floatToBf16(a[i]);
    return;
  }
  switch (kind) {
  case ElementKind::F32:
    return reduceTyped(static_cast<float *>(acc), static_cast<const float *>(x), count, op);
  case ElementKind::F64:
    return reduceTyped(static_cast<double *>(acc), static_cast<const double *>(x), count, op);
  case ElementKind::I32:
    return reduceTyped(static_cast<int32_t *>(acc), static_cast<const int32_t *>(x), count, op);
  case ElementKind::I64:
    return reduceTyped(static_cast<int64_t *>(acc), static_cast<const int64_t *>(x), count, op);
  case ElementKind::F16:
  case ElementKind::BF16:
    break; // above
  }
}

namespace {
/// State shared by the ranks of one local communicator.
struct Group {
  Group(int size, int timeoutMs)
      : size(size), timeoutMs(timeoutMs), slots(size), colors(size), keys(size) {}
  const int size, timeoutMs;
  std::mutex mutex;
  std::condition_variable cv;
  int arrived = 0;
  uint64_t generation = 0;
  bool broken = false;
  std::vector<const void *> slots;
  std::vector<int> colors, keys;
  std::map<int, std::shared_ptr<Group>> splitting;

  std::string wait() {
    std::unique_lock<std::mutex> lock(mutex);
    if (broken)
      return "a peer rank failed or timed out in an earlier collective";
    uint64_t gen = generation;
    if (++arrived == size) {
      arrived = 0;
      ++generation;
      cv.notify_all();
      return {};
    }
    bool ok = cv.wait_for(lock, std::chrono::milliseconds(timeoutMs),
                          [&] { return generation != gen || broken; });
    if (broken)
      return "a peer rank failed or timed out";
    if (!ok) {
      broken = true;
      cv.notify_all();
      return "peer ranks did not reach the collective within " +
             std::to_string(timeoutMs) + " ms";
    }
    return {};
  }
};

class LocalCommunicator final : public Communicator {
public:
  LocalCommunicator(std::shared_ptr<Group> group, int rank)
      : group_(std::move(group)), rank_(rank) {}
  int rank() const override { return rank_; }
  int size() const override { return group_->size; }
  const char *backend() const override { return "local"; }

  std::string allReduce(void *buffer, size_t count, ElementKind kind,
                        ReduceKind op) override {
    // Every rank combines in rank order, so all get the same bits.
    size_t bytes = count * elementSize(kind);
    if (std::string e = exchange(buffer); !e.empty())
      return e;
    std::vector<char> acc(static_cast<const char *>(group_->slots[0]),
                          static_cast<const char *>(group_->slots[0]) + bytes);
    for (int r = 1; r < size(); ++r)
      reduceInto(acc.data(), group_->slots[r], count, kind, op);
    if (std::string e = group_->wait(); !e.empty())
      return e;
    std::memcpy(buffer, acc.data(), bytes);
    return {};
  }

  std::string allGather(const void *send, void *recv, size_t bytes) override {
    if (std::string e = exchange(send); !e.empty())
      return e;
    for (int r = 0; r < size(); ++r)
      std::memcpy(static_cast<char *>(recv) + r * bytes, group_->slots[r], bytes);
    return group_->wait();
  }

  std::string reduceScatter(const void *send, void *recv, size_t count,
                            ElementKind kind, ReduceKind op) override {
    size_t bytes = count * elementSize(kind);
    if (std::string e = exchange(send); !e.empty())
      return e;
    std::memcpy(recv, static_cast<const char *>(group_->slots[0]) + rank_ * bytes, bytes);
    for (int r = 1; r < size(); ++r)
      reduceInto(recv, static_cast<const char *>(group_->slots[r]) + rank_ * bytes,
                 count, kind, op);
    return group_->wait();
  }

  std::string allToAll(const void *send, void *recv, size_t bytesPerRank) override {
    if (std::string e = exchange(send); !e.empty())
      return e;
    for (int r = 0; r < size(); ++r)
      std::memcpy(static_cast<char *>(recv) + r * bytesPerRank,
                  static_cast<const char *>(group_->slots[r]) + rank_ * bytesPerRank,
                  bytesPerRank);
    return group_->wait();
  }

  std::string gather(const void *send, void *recv, size_t bytes,
                     int root) override {
    if (root < 0 || root >= size())
      return "gather root " + std::to_string(root) + " is not a rank";
    if (std::string e = exchange(send); !e.empty())
      return e;
    if (rank_ == root)
      for (int r = 0; r < size(); ++r)
        std::memcpy(static_cast<char *>(recv) + r * bytes, group_->slots[r],
                    bytes);
    return group_->wait();
  }

  std::string broadcast(void *buffer, size_t bytes, int root) override {
    if (root < 0 || root >= size())
      return "broadcast root " + std::to_string(root) + " is not a rank";
    if (std::string e = exchange(buffer); !e.empty())
      return e;
    if (rank_ != root)
      std::memcpy(buffer, group_->slots[root], bytes);
    return group_->wait();
  }

  std::string barrier() override { return group_->wait(); }

  std::string split(int color, int key, std::unique_ptr<Communicator> &out) override {
    Group &g = *group_;
    {
      std::lock_guard<std::mutex> lock(g.mutex);
      g.colors[rank_] = color;
      g.keys[rank_] = key;
    }
    if (std::string e = g.wait(); !e.empty())
      return e;
    // Members of this color in (key, rank) order; the group is made once.
    std::vector<std::pair<int, int>> members;
    for (int r = 0; r < size(); ++r)
      if (g.colors[r] == color)
        members.emplace_back(g.keys[r], r);
    std::sort(members.begin(), members.end());
    int newRank = static_cast<int>(
        std::find(members.begin(), members.end(), std::make_pair(key, rank_)) -
        members.begin());
    std::shared_ptr<Group> sub;
    {
      std::lock_guard<std::mutex> lock(g.mutex);
      std::shared_ptr<Group> &slot = g.splitting[color];
      if (!slot)
        slot = std::make_shared<Group>(static_cast<int>(members.size()), g.timeoutMs);
      sub = slot;
    }
    if (std::string e = g.wait(); !e.empty())
      return e;
    if (rank_ == 0) {
      std::lock_guard<std::mutex> lock(g.mutex);
      g.splitting.clear();
    }
    out = std::make_unique<LocalCommunicator>(std::move(sub), newRank);
    return g.wait();
  }

private:
  /// Publishes this rank's buffer and waits for every peer's.
  std::string exchange(const void *buffer) {
    {
      std::lock_guard<std::mutex> lock(group_->mutex);
      group_->slots[rank_] = buffer;
    }
    return group_->wait();
  }

  std::shared_ptr<Group> group_;
  int rank_;
};
} // namespace

std::vector<std::unique_ptr<Communicator>> createLocalCommunicators(int size,
                                                                    int timeoutMs) {
  auto group = std::make_shared<Group>(size, timeoutMs);
  std::vector<std::unique_ptr<Communicator>> comms;
  for (int r = 0; r < size; ++r)
    comms.push_back(std::make_unique<LocalCommunicator>(group, r));
  return comms;
}

} // namespace tessera::runtime
