//===- MpiCommCheck.cpp - The mpi communicator, run under mpirun ----------===//
//
//   mpirun -np N tessera-mpi-comm-check collectives
//   mpirun -np 2 tessera-mpi-comm-check skip TIMEOUT_MS
//   mpirun -np 2 tessera-mpi-comm-check die TIMEOUT_MS
//
// `collectives`: every collective of the world communicator and of a split
// (even and odd ranks) against the values computed directly; each rank
// prints "rank R: collectives ok" or what failed. `skip`: rank 1 skips an
// all-reduce; rank 0 prints how long it waited and the error, then how long
// the next call on the broken communicator took. `die`: rank 1 kills
// itself before the all-reduce (what rank 0 sees depends on mpirun: by
// default mpirun ends the job). test/e2e/mpi_check.py runs these with an
// outer timeout and reads the lines.
//
//===----------------------------------------------------------------------===//

#include "comm/comm.h"

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

using namespace tessera::runtime;

namespace {
int failures = 0;

void check(int rank, bool ok, const std::string &what) {
  if (ok)
    return;
  std::printf("rank %d: FAIL %s\n", rank, what.c_str());
  ++failures;
}

/// Every collective on `c`, whose ranks are the world's `members`.
void collectives(Communicator &c, int worldRank,
                 const std::vector<int> &members) {
  int r = c.rank(), n = c.size();
  std::string where = " (size " + std::to_string(n) + ")";
  check(worldRank,
        n == static_cast<int>(members.size()) && members[r] == worldRank,
        "rank and size" + where);

  std::vector<float> v(1000);
  for (size_t i = 0; i < v.size(); ++i)
    v[i] = float(members[r] + 1) * float(i);
  float sum = 0;
  for (int m : members)
    sum += float(m + 1);
  check(worldRank,
        c.allReduce(v.data(), v.size(), ElementKind::F32, ReduceKind::Sum)
            .empty(),
        "allReduce" + where);
  bool same = true;
  for (size_t i = 0; i < v.size(); ++i)
    same = same && v[i] == sum * float(i);
  check(worldRank, same, "allReduce sum" + where);
  int64_t mx = members[r];
  check(worldRank,
        c.allReduce(&mx, 1, ElementKind::I64, ReduceKind::Max).empty() &&
            mx == members.back(),
        "allReduce max" + where);

  std::vector<int32_t> send = {r, 10 * r}, all(2 * n);
  check(worldRank,
        c.allGather(send.data(), all.data(), 2 * sizeof(int32_t)).empty(),
        "allGather" + where);
  for (int i = 0; i < n; ++i)
    check(worldRank, all[2 * i] == i && all[2 * i + 1] == 10 * i,
          "allGather values" + where);

  std::vector<double> blocks(n), mine(1);
  for (int i = 0; i < n; ++i)
    blocks[i] = double(i + 1) * double(r + 1);
  check(worldRank,
        c.reduceScatter(blocks.data(), mine.data(), 1, ElementKind::F64,
                        ReduceKind::Sum)
                .empty() &&
            mine[0] == double(r + 1) * double(n) * double(n + 1) / 2,
        "reduceScatter" + where);

  std::vector<int32_t> out(n), in(n);
  for (int i = 0; i < n; ++i)
    out[i] = 100 * r + i;
  check(worldRank, c.allToAll(out.data(), in.data(), sizeof(int32_t)).empty(),
        "allToAll" + where);
  for (int i = 0; i < n; ++i)
    check(worldRank, in[i] == 100 * i + r, "allToAll values" + where);

  int root = n - 1;
  int64_t value = r == root ? 42 : -1;
  check(worldRank,
        c.broadcast(&value, sizeof(value), root).empty() && value == 42,
        "broadcast" + where);

  int32_t one = 7 * r;
  std::vector<int32_t> gathered(n, -1);
  check(worldRank, c.gather(&one, gathered.data(), sizeof(one), 0).empty(),
        "gather" + where);
  if (r == 0)
    for (int i = 0; i < n; ++i)
      check(worldRank, gathered[i] == 7 * i, "gather values" + where);
  check(worldRank, c.barrier().empty(), "barrier" + where);
}

double msSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(
             std::chrono::steady_clock::now() - start)
      .count();
}
} // namespace

int main(int argc, char **argv) {
  std::string mode = argc > 1 ? argv[1] : "";
  int timeoutMs = argc > 2 ? std::atoi(argv[2]) : 10000;
  if (mode != "collectives" && mode != "skip" && mode != "die") {
    std::fprintf(stderr,
                 "usage: tessera-mpi-comm-check collectives|skip MS|die MS\n");
    return 2;
  }
  int rank = 0, size = 1;
  if (std::string e = mpiWorld(rank, size); !e.empty()) {
    std::printf("rank %d: FAIL %s\n", rank, e.c_str());
    return 1;
  }
  std::unique_ptr<Communicator> world;
  if (std::string e = createMpiCommunicator(timeoutMs, world); !e.empty()) {
    std::printf("rank %d: FAIL %s\n", rank, e.c_str());
    return 1;
  }
  if (mode == "collectives") {
    std::vector<int> everyone(size);
    for (int i = 0; i < size; ++i)
      everyone[i] = i;
    collectives(*world, rank, everyone);
    std::unique_ptr<Communicator> half;
    check(rank, world->split(rank % 2, rank, half).empty() && half, "split");
    if (half) {
      std::vector<int> same;
      for (int i = rank % 2; i < size; i += 2)
        same.push_back(i);
      collectives(*half, rank, same);
    }
    check(rank, std::string(world->backend()) == "mpi", "backend");
    if (!failures)
      std::printf("rank %d: collectives ok\n", rank);
    return failures ? 1 : 0;
  }

  // skip / die: rank 1 never reaches the all-reduce.
  if (size != 2) {
    std::printf("rank %d: FAIL %s needs 2 ranks\n", rank, mode.c_str());
    return 1;
  }
  check(rank, world->barrier().empty(), "barrier");
  if (rank == 1) {
    std::fflush(stdout);
    if (mode == "die")
      std::raise(SIGKILL);
    std::this_thread::sleep_for(std::chrono::milliseconds(4 * timeoutMs));
    return 0;
  }
  float v = 1;
  auto start = std::chrono::steady_clock::now();
  std::string e = world->allReduce(&v, 1, ElementKind::F32, ReduceKind::Sum);
  std::printf("rank 0: all-reduce returned after %.0f ms: %s\n", msSince(start),
              e.empty() ? "ok" : e.c_str());
  start = std::chrono::steady_clock::now();
  e = world->barrier();
  std::printf("rank 0: next collective returned after %.0f ms: %s\n",
              msSince(start), e.empty() ? "ok" : e.c_str());
  std::fflush(stdout);
  return 0;
}
