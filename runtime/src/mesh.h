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
// shards to rank 0, which assembles them.
//
//===----------------------------------------------------------------------===//
#ifndef TESSERA_RUNTIME_MESH_H
#define TESSERA_RUNTIME_MESH_H

#include "artifact.h"
#include "comm/comm.h"
#include "sharding.h"

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace tessera::runtime {

using EntryFn = void (*)(void **);

/// Points the host code's `tessera_rt_hooks` at the runtime's collectives.
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
