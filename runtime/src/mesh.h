//===- mesh.h - Running an SPMD artifact over a device mesh -----*- C++ -*-===//
//
// A module compiled for a mesh holds one program for every device; each
// rank runs it on its own shards. With the `local` communicator the ranks
// are threads of this process: the runtime slices the inputs, hands each
// rank its weight shard (stored per shard in the artifact), runs the
// ranks, and assembles the outputs. The compiled code's collectives reach
// the rank's communicators through the hook table installed at load.
//
//===----------------------------------------------------------------------===//
#ifndef TESSERA_RUNTIME_MESH_H
#define TESSERA_RUNTIME_MESH_H

#include "artifact.h"
#include "sharding.h"

#include <functional>
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

/// Runs every rank of the mesh as a thread with local communicators; an
/// empty string on success, else the first rank's error.
std::string runLocalMesh(const MeshRunArgs &args);

} // namespace tessera::runtime

#endif // TESSERA_RUNTIME_MESH_H
