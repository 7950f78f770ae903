//===- mesh.h - Running an SPMD artifact over a device mesh -----*- C++ -*-===//
//
// A module compiled for a mesh holds one program for every device; each
// rank runs it on its own shards: its slice of every split input, its
// block of every split weight (stored per shard in the artifact), room for
// its output shards. The compiled code's collectives reach the rank's
// communicators through the hook table installed at load.
//
// Two ways to run the ranks share that code: `local` runs them all as
// threads of this process and assembles the outputs from their shards;
// `mpi` runs this process's rank of an MPI job and gathers the output
// shards to rank 0, which assembles them. A cuda session (cuda/session.h)
// runs its ranks with the same pieces on device buffers.
//
// The hooks find the rank the calling thread runs through a thread-local
// RankContext, set around each call of the entry (runAsRank); a hook that
// fails records the first error there and the run returns it.
//
//===----------------------------------------------------------------------===//
#ifndef TESSERA_RUNTIME_MESH_H
#define TESSERA_RUNTIME_MESH_H

#include "artifact.h"
#include "comm/comm.h"
#include "sharding.h"
#include "tessera/runtime.h"

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace tessera::runtime {

namespace cuda {
struct Rank;
}

using EntryFn = void (*)(void **);

/// The table the host code calls through (`tessera_rt_hooks`, see
/// codegen/CPU/ukernels/Collectives.cpp); it only grows at its end.
struct Hooks {
  void (*allReduce)(intptr_t, int64_t, int64_t, int64_t, int64_t);
  void (*allGather)(intptr_t, intptr_t, int64_t, int64_t, int64_t);
  int64_t (*processLinearIndex)();
  void (*launch)(int64_t, int64_t, int64_t, int64_t, int64_t, int64_t,
                 int64_t, int64_t, const int64_t *, int64_t);
  void (*gemm)(int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t,
               intptr_t, int64_t, int64_t, int64_t, int64_t, int64_t, intptr_t,
               int64_t, int64_t, int64_t, int64_t, int64_t, intptr_t, int64_t,
               int64_t, int64_t, int64_t, int64_t);
  void (*gemmEx)(int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t,
                 intptr_t, int64_t, int64_t, int64_t, int64_t, int64_t, intptr_t,
                 int64_t, int64_t, int64_t, int64_t, int64_t, intptr_t, int64_t,
                 int64_t, int64_t, int64_t, int64_t, intptr_t, int64_t);
};
const Hooks &runtimeHooks();

/// Points the host code's `tessera_rt_hooks` at the runtime's hooks.
void installCollectiveHooks(void *library);

/// Checks the manifest's mesh and splits; fills `mesh` ("" mesh: one
/// device, ranks() == 1).
bool parseMesh(const artifact::Manifest &manifest, sharding::Mesh &mesh,
               std::string &error);

struct MeshRunArgs {
  const artifact::Manifest *manifest;
  const sharding::Mesh *mesh;
  EntryFn entry;
  const char *weights;              // the WEIGHTS section
  std::vector<const char *> inputs; // whole tensors, manifest order
  std::vector<char *> outputs;      // whole tensors, allocated by the caller
  std::function<void *()> takeWorkspace;
  std::function<void(void *)> giveBackWorkspace;
  int timeoutMs = 30000;
  bool flushDenormals = true; // RankContext::flushDenormals of every rank
};

/// One rank's communicators: the world's, and one per set of mesh axes,
/// made on first use by a collective split of the world.
class RankComms {
public:
  /// The rank is `world`'s rank, its coordinates row-major over `mesh`.
  RankComms(std::unique_ptr<Communicator> world, const sharding::Mesh &mesh);
  Communicator &world() { return *world_; }
  int64_t rank() const { return rank_; }
  const std::vector<int64_t> &coords() const { return coords_; }
  /// The communicator of the ranks that agree with this one off the axes
  /// in `axesMask` (bit a: mesh axis a), ordered by their coordinates on
  /// those axes; null (with `error`) when the split fails.
  Communicator *group(int64_t axesMask, std::string &error);

private:
  std::unique_ptr<Communicator> world_;
  const sharding::Mesh &mesh_;
  int64_t rank_;
  std::vector<int64_t> coords_;
  std::map<int64_t, std::unique_ptr<Communicator>> groups_;
};

/// What the calling thread runs as while the entry runs.
struct RankContext {
  /// The rank's communicators; null for a module without a mesh on a cpu
  /// device (it has no collectives).
  RankComms *comms = nullptr;
  /// The rank's CUDA state; null on a cpu rank.
  cuda::Rank *cuda = nullptr;
  /// Whether the entry runs with subnormal results flushed to zero
  /// (float_env.h; the runtime's keep_denormals unset).
  bool flushDenormals = true;
  /// The first failure of a hook, and its status code.
  std::string error;
  tsr_status_code_t code = TSR_OK;

  /// The group for `axesMask`; null after recording why (`what` names the
  /// collective that asked).
  Communicator *group(int64_t axesMask, const char *what);
  void fail(const std::string &e, tsr_status_code_t c = TSR_UNAVAILABLE) {
    if (error.empty()) {
      error = e;
      code = c;
    }
  }
};

/// Calls `entry(args)` on this thread with `ctx` as its rank.
void runAsRank(EntryFn entry, void **args, RankContext &ctx);

/// Bytes of `t`'s shard on one rank of `mesh` (parseMesh checked it).
size_t localBytes(const artifact::TensorSpec &t, const sharding::Mesh &mesh);

/// Rank `coords`' block of weight `w` in the WEIGHTS section `weights`.
const char *weightBlock(const artifact::WeightSpec &w,
                        const sharding::Mesh &mesh, const char *weights,
                        const std::vector<int64_t> &coords);

/// One rank's entry arguments (inputs, weights, outputs, workspace) and the
/// host memory behind them.
struct RankBuffers {
  std::vector<void *> args;
  std::vector<std::vector<char>> inputShards, outputShards;
  void *workspace = nullptr;
};

/// Fills `b` for the rank at `coords`: its slice of each split input (a
/// replicated one whole), its block of each weight, room for its output
/// shards, and a workspace when `args.takeWorkspace` is set. False when the
/// workspace cannot be allocated.
bool prepareRank(const MeshRunArgs &args, const std::vector<int64_t> &coords,
                 RankBuffers &b);

/// Fills the whole outputs from the ranks' shards (`shardOf(rank, output)`),
/// each shard from the first rank holding it; replicated outputs from rank 0.
void assembleOutputs(
    const MeshRunArgs &args,
    const std::function<const char *(int64_t, size_t)> &shardOf);

/// Runs every rank of the mesh as a thread with local communicators; an
/// empty string on success, else the first rank's error.
std::string runLocalMesh(const MeshRunArgs &args);

/// Runs this process's rank of an MPI job (`comms` over the job's world,
/// kept across runs). Rank 0's `args.outputs` receive the whole outputs;
/// the other ranks' are left untouched. When any rank fails, every rank
/// returns an error.
std::string runProcessRank(const MeshRunArgs &args, RankComms &comms);

} // namespace tessera::runtime

#endif // TESSERA_RUNTIME_MESH_H
