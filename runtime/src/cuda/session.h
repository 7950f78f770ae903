//===- session.h - Running a cuda artifact on GPUs --------------*- C++ -*-===//
//
// A cuda session binds a `target cuda` module to its ranks' GPUs. At
// creation each rank loads the device code into its GPU's context, uploads
// its own block of every weight once (they stay resident) and allocates its
// workspace; the ranks' communicators are NCCL's (a one-rank world needs no
// NCCL). A run uploads each rank's input shards, calls `tessera_entry` on a
// host thread with DEVICE addresses (inputs, weights, outputs, workspace),
// the host code enqueueing kernels, GEMMs and collectives on the rank's
// stream through the hooks, then waits for the stream and downloads the
// output shards, which are assembled on the host as for the CPU.
//
// Where the ranks run:
//   TSR_COMM_LOCAL  every rank of the mesh is a thread of this process;
//                   rank r on cuda:((N + r) % count) for a session on
//                   cuda:N. NCCL needs a GPU per rank: a mesh larger than
//                   the machine's GPU count is refused.
//   TSR_COMM_MPI,   this process is one rank (see comm/nccl.h for the
//   TSR_COMM_NCCL   world and the bootstrap), on cuda:((N + local rank) %
//                   count); the output shards are gathered to rank 0.
//
// Runs of one cuda session take turns (its ranks own one workspace each).
//
//===----------------------------------------------------------------------===//
#ifndef TESSERA_RUNTIME_CUDA_SESSION_H
#define TESSERA_RUNTIME_CUDA_SESSION_H

#include "cuda/device.h"
#include "cuda/gemm.h"
#include "mesh.h"

#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace tessera::runtime::cuda {

/// One rank's device state (the hooks reach it through RankContext).
struct Rank {
  std::shared_ptr<Device> device;
  int64_t rank = 0;
  Kernels kernels;
  std::vector<Buffer> weights;
  Buffer workspace;
  uint64_t weightBytes = 0;
  /// Events around the last run's work on the stream, and its GPU time.
  CUevent runStart = nullptr, runStop = nullptr;
  double lastRunMs = -1;
  std::unique_ptr<RankComms> comms; // destroyed first
  ~Rank();
};

/// The hooks' work on a rank's device.
Status launchOnRank(Rank &rank, int64_t kernel, const int64_t grid[3],
                    const int64_t block[3], int64_t sharedBytes,
                    const int64_t *args, int64_t numArgs);
Status gemmOnRank(Rank &rank, const GemmCall &call);
/// all_gather of `outer` x `innerBytes` per rank into `recv` laid out
/// [outer][rank][inner], rearranged on the device (cuMemcpy2DAsync).
std::string allGatherInto(Rank &rank, Communicator &comm, intptr_t send,
                          intptr_t recv, int64_t outer, int64_t innerBytes);

struct SessionSetup {
  const artifact::View *view = nullptr;
  const sharding::Mesh *mesh = nullptr;
  EntryFn entry = nullptr;
  std::shared_ptr<Device> device; // the session's device
  int comm = TSR_COMM_LOCAL;      // a tsr_comm_t
  int timeoutMs = 30000;
  bool verbose = false;
  std::string meshText; // "the mesh dp=2 (2 devices)", for errors
};

struct RankMemory {
  int64_t rank = 0;
  const char *device = ""; // valid while the session lives
  uint64_t weights = 0, workspace = 0;
  MemoryStats deviceStats; // the whole device's, every session's blocks
};

class Session {
public:
  static Status create(const SessionSetup &setup, std::unique_ptr<Session> &out);
  ~Session();
  /// `inputs` are whole host tensors in manifest order, `outputs` whole
  /// host tensors to fill; `holdsOutputs` is false on a process rank other
  /// than 0, whose `outputs` are left alone.
  Status run(const std::vector<const char *> &inputs,
             const std::vector<char *> &outputs, bool &holdsOutputs);
  size_t numRanks() const { return ranks_.size(); }
  RankMemory memory(size_t index) const;
  /// The GPU time of rank `index`'s last run (ms), -1 before one.
  double lastRunMs(size_t index) const {
    return index < ranks_.size() ? ranks_[index]->lastRunMs : -1;
  }

private:
  Session() = default;
  Status runProcessRank(const MeshRunArgs &args);
  SessionSetup setup_;
  bool processRank_ = false;
  std::vector<std::unique_ptr<Rank>> ranks_;
  std::mutex runMutex_;
};

} // namespace tessera::runtime::cuda

#endif // TESSERA_RUNTIME_CUDA_SESSION_H
