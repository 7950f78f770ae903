//===- mesh.cc - Running an SPMD artifact over a device mesh --------------===//

#include "mesh.h"

#include "comm/comm.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <map>
#include <memory>
#include <optional>
#include <thread>

namespace tessera::runtime {

RankComms::RankComms(std::unique_ptr<Communicator> world,
                     const sharding::Mesh &mesh)
    : world_(std::move(world)), mesh_(mesh), rank_(world_->rank()),
      coords_(mesh.coords(rank_)) {}

Communicator *RankComms::group(int64_t axesMask, std::string &error) {
  auto it = groups_.find(axesMask);
  if (it != groups_.end())
    return it->second.get();
  // Ranks that agree off the axes share a group, ordered by their
  // coordinates on the axes.
  int64_t color = 0, key = 0;
  for (size_t a = 0; a < mesh_.sizes.size(); ++a) {
    if (axesMask & (int64_t(1) << a))
      key = key * mesh_.sizes[a] + coords_[a];
    else
      color = color * mesh_.sizes[a] + coords_[a];
  }
  std::unique_ptr<Communicator> sub;
  error = world_->split(static_cast<int>(color), static_cast<int>(key), sub);
  if (!error.empty())
    return nullptr;
  return (groups_[axesMask] = std::move(sub)).get();
}

namespace {
/// What the calling thread runs as: its rank's communicators, and the
/// first error of its collectives.
struct RankContext {
  RankComms *comms = nullptr;
  std::string error;

  /// The group for `axesMask`; null after recording why (`what` names the
  /// collective that asked).
  Communicator *group(int64_t axesMask, const char *what) {
    std::string e;
    Communicator *c = comms->group(axesMask, e);
    if (!c)
      fail(std::string(what) + ": splitting the world by mesh axes: " + e);
    return c;
  }
  void fail(const std::string &e) {
    if (error.empty())
      error = e;
  }
};

thread_local RankContext *current = nullptr;

std::optional<ElementKind> elementKind(int64_t dtype) {
  switch (static_cast<artifact::DType>(dtype)) {
  case artifact::DType::F32:
    return ElementKind::F32;
  case artifact::DType::F64:
    return ElementKind::F64;
  case artifact::DType::I64:
    return ElementKind::I64;
  case artifact::DType::I32:
    return ElementKind::I32;
  default:
    return std::nullopt;
  }
}

// The hooks the compiled code calls (codegen/CPU/ukernels/Collectives.cpp).
// After a failure a rank skips its remaining collectives: its peers then
// time out too, and the run reports the first error.
void hookAllReduce(intptr_t buffer, int64_t count, int64_t dtype, int64_t op,
                   int64_t axesMask) {
  RankContext *ctx = current;
  if (!ctx || !ctx->error.empty())
    return;
  std::optional<ElementKind> kind = elementKind(dtype);
  if (!kind || op < 0 || op > 3)
    return ctx->fail("all_reduce of an unsupported element type or reduction");
  Communicator *c = ctx->group(axesMask, "all_reduce");
  if (!c)
    return;
  std::string e = c->allReduce(reinterpret_cast<void *>(buffer), static_cast<size_t>(count),
                               *kind, static_cast<ReduceKind>(op));
  if (!e.empty())
    ctx->fail("all_reduce: " + e);
}

void hookAllGather(intptr_t send, intptr_t recv, int64_t outer, int64_t innerBytes,
                   int64_t axesMask) {
  RankContext *ctx = current;
  if (!ctx || !ctx->error.empty())
    return;
  Communicator *c = ctx->group(axesMask, "all_gather");
  if (!c)
    return;
  size_t block = static_cast<size_t>(outer * innerBytes);
  std::vector<char> all(block * static_cast<size_t>(c->size()));
  std::string e = c->allGather(reinterpret_cast<const void *>(send), all.data(), block);
  if (!e.empty())
    return ctx->fail("all_gather: " + e);
  // [rank][outer][inner] -> [outer][rank][inner]
  char *out = reinterpret_cast<char *>(recv);
  for (int r = 0; r < c->size(); ++r)
    for (int64_t o = 0; o < outer; ++o)
      std::memcpy(out + (o * c->size() + r) * innerBytes,
                  all.data() + r * block + o * innerBytes, static_cast<size_t>(innerBytes));
}

int64_t hookProcessLinearIndex() {
  return current ? current->comms->rank() : 0;
}

struct Hooks {
  void (*allReduce)(intptr_t, int64_t, int64_t, int64_t, int64_t);
  void (*allGather)(intptr_t, intptr_t, int64_t, int64_t, int64_t);
  int64_t (*processLinearIndex)();
};
const Hooks kHooks = {hookAllReduce, hookAllGather, hookProcessLinearIndex};

bool localShapeOf(const artifact::TensorSpec &t, const sharding::Mesh &mesh,
                  sharding::Split &split, std::vector<int64_t> &local,
                  std::string &error) {
  if (!sharding::parseSplit(t.split, t.shape.size(), mesh, split, error) ||
      !sharding::localShape(t.shape, split, mesh, local, error)) {
    error = "'" + t.name + "': " + error;
    return false;
  }
  return true;
}

size_t bytesOf(const std::vector<int64_t> &shape, artifact::DType dtype) {
  size_t n = artifact::dtypeSize(dtype);
  for (int64_t d : shape)
    n *= static_cast<size_t>(d);
  return n;
}
} // namespace

void installCollectiveHooks(void *library) {
  if (auto *slot = static_cast<const Hooks **>(dlsym(library, "tessera_rt_hooks")))
    *slot = &kHooks;
}

bool parseMesh(const artifact::Manifest &manifest, sharding::Mesh &mesh,
               std::string &error) {
  mesh = {};
  if (manifest.mesh.empty()) {
    mesh.names = {"single"};
    mesh.sizes = {1};
    return true;
  }
  if (!mesh.parse(manifest.mesh, error)) {
    error = "bad mesh '" + manifest.mesh + "': " + error;
    return false;
  }
  sharding::Split split;
  std::vector<int64_t> local;
  for (const auto *list : {&manifest.inputs, &manifest.outputs})
    for (const artifact::TensorSpec &t : *list)
      if (!localShapeOf(t, mesh, split, local, error))
        return false;
  for (const artifact::WeightSpec &w : manifest.weights) {
    if (!localShapeOf(w, mesh, split, local, error))
      return false;
    if (w.size != bytesOf(local, w.dtype) ||
        w.shards != static_cast<uint64_t>(sharding::shardCount(split, mesh))) {
      error = "weight '" + w.name + "' does not hold one block per shard";
      return false;
    }
  }
  return true;
}

namespace {
/// One rank's entry arguments (inputs, weights, outputs, workspace) and the
/// memory behind them.
struct RankBuffers {
  std::vector<void *> args;
  std::vector<std::vector<char>> inputShards, outputShards;
  void *workspace = nullptr;
};

/// Fills `b` for the rank at `coords`: its slice of each split input (a
/// replicated one whole), its block of each weight, room for its output
/// shards, a workspace. False when the workspace cannot be allocated.
bool prepareRank(const MeshRunArgs &args, const std::vector<int64_t> &coords,
                 RankBuffers &b) {
  const artifact::Manifest &mf = *args.manifest;
  const sharding::Mesh &mesh = *args.mesh;
  // parseMesh checked every split at load.
  std::string error;
  sharding::Split split;
  std::vector<int64_t> local;
  for (size_t i = 0; i < mf.inputs.size(); ++i) {
    const artifact::TensorSpec &t = mf.inputs[i];
    localShapeOf(t, mesh, split, local, error);
    if (sharding::isReplicated(split)) {
      b.args.push_back(const_cast<char *>(args.inputs[i]));
      continue;
    }
    std::vector<char> shard(bytesOf(local, t.dtype));
    sharding::copyBlock(const_cast<char *>(args.inputs[i]), shard.data(),
                        t.shape, local,
                        sharding::shardOffsets(local, split, mesh, coords),
                        artifact::dtypeSize(t.dtype), /*toLocal=*/true);
    b.inputShards.push_back(std::move(shard));
    b.args.push_back(b.inputShards.back().data());
  }
  for (const artifact::WeightSpec &w : mf.weights) {
    localShapeOf(w, mesh, split, local, error);
    int64_t index = sharding::shardIndex(split, mesh, coords);
    b.args.push_back(
        const_cast<char *>(args.weights + w.offset +
                           static_cast<uint64_t>(index) * w.shardStride()));
  }
  for (const artifact::TensorSpec &t : mf.outputs) {
    localShapeOf(t, mesh, split, local, error);
    b.outputShards.emplace_back(std::max<size_t>(bytesOf(local, t.dtype), 1));
    b.args.push_back(b.outputShards.back().data());
  }
  if (mf.workspaceBytes) {
    b.workspace = args.takeWorkspace();
    if (!b.workspace)
      return false;
    b.args.push_back(b.workspace);
  }
  return true;
}

/// Runs the entry on the calling thread as the rank of `ctx`.
void runRank(const MeshRunArgs &args, RankContext &ctx, RankBuffers &b) {
  current = &ctx;
  args.entry(b.args.data());
  current = nullptr;
  if (b.workspace)
    args.giveBackWorkspace(b.workspace);
  b.workspace = nullptr;
}

/// Fills the whole outputs from the ranks' shards (`shardOf(rank, output)`),
/// each shard from the first rank holding it; replicated outputs from rank 0.
void assembleOutputs(
    const MeshRunArgs &args,
    const std::function<const char *(int64_t, size_t)> &shardOf) {
  const artifact::Manifest &mf = *args.manifest;
  const sharding::Mesh &mesh = *args.mesh;
  for (size_t o = 0; o < mf.outputs.size(); ++o) {
    const artifact::TensorSpec &t = mf.outputs[o];
    sharding::Split split;
    std::vector<int64_t> local;
    std::string error;
    localShapeOf(t, mesh, split, local, error);
    if (sharding::isReplicated(split)) {
      std::memcpy(args.outputs[o], shardOf(0, o), bytesOf(local, t.dtype));
      continue;
    }
    std::vector<bool> done(
        static_cast<size_t>(sharding::shardCount(split, mesh)), false);
    for (int64_t r = 0; r < mesh.ranks(); ++r) {
      std::vector<int64_t> coords = mesh.coords(r);
      int64_t index = sharding::shardIndex(split, mesh, coords);
      if (done[index])
        continue;
      done[index] = true;
      sharding::copyBlock(args.outputs[o], const_cast<char *>(shardOf(r, o)),
                          t.shape, local,
                          sharding::shardOffsets(local, split, mesh, coords),
                          artifact::dtypeSize(t.dtype), /*toLocal=*/false);
    }
  }
}
} // namespace

std::string runLocalMesh(const MeshRunArgs &args) {
  int64_t ranks = args.mesh->ranks();
  auto worlds =
      createLocalCommunicators(static_cast<int>(ranks), args.timeoutMs);
  std::vector<std::unique_ptr<RankComms>> comms;
  std::vector<RankContext> contexts(static_cast<size_t>(ranks));
  std::vector<RankBuffers> buffers(static_cast<size_t>(ranks));
  for (int64_t r = 0; r < ranks; ++r) {
    comms.push_back(
        std::make_unique<RankComms>(std::move(worlds[r]), *args.mesh));
    contexts[r].comms = comms.back().get();
    if (!prepareRank(args, comms.back()->coords(), buffers[r])) {
      for (RankBuffers &b : buffers)
        if (b.workspace)
          args.giveBackWorkspace(b.workspace);
      return "out of memory allocating the workspaces";
    }
  }
  std::vector<std::thread> threads;
  for (int64_t r = 1; r < ranks; ++r)
    threads.emplace_back([&, r] { runRank(args, contexts[r], buffers[r]); });
  runRank(args, contexts[0], buffers[0]);
  for (std::thread &t : threads)
    t.join();
  for (int64_t r = 0; r < ranks; ++r)
    if (!contexts[r].error.empty())
      return "rank " + std::to_string(r) + ": " + contexts[r].error;
  assembleOutputs(args, [&](int64_t r, size_t o) {
    return buffers[r].outputShards[o].data();
  });
  return {};
}

std::string runProcessRank(const MeshRunArgs &args, RankComms &comms) {
  const artifact::Manifest &mf = *args.manifest;
  const sharding::Mesh &mesh = *args.mesh;
  Communicator &world = comms.world();
  std::string me = "rank " + std::to_string(comms.rank()) + ": ";
  RankContext ctx;
  ctx.comms = &comms;
  RankBuffers b;
  if (prepareRank(args, comms.coords(), b))
    runRank(args, ctx, b);
  else
    ctx.fail("out of memory allocating the workspace");
  // Every rank learns whether any failed before the outputs move.
  int32_t failed = ctx.error.empty() ? 0 : 1;
  std::vector<int32_t> status(static_cast<size_t>(world.size()));
  std::string e = world.allGather(&failed, status.data(), sizeof(failed));
  if (!ctx.error.empty())
    return me + ctx.error;
  if (!e.empty())
    return me + "exchanging the ranks' status: " + e;
  for (size_t r = 0; r < status.size(); ++r)
    if (status[r])
      return me + "rank " + std::to_string(r) + " failed (it reports why)";
  // Rank 0 gathers every rank's shard of each split output.
  bool root = comms.rank() == 0;
  std::vector<std::vector<char>> gathered(mf.outputs.size());
  for (size_t o = 0; o < mf.outputs.size(); ++o) {
    const artifact::TensorSpec &t = mf.outputs[o];
    sharding::Split split;
    std::vector<int64_t> local;
    std::string error;
    localShapeOf(t, mesh, split, local, error);
    if (sharding::isReplicated(split))
      continue;
    size_t bytes = bytesOf(local, t.dtype);
    gathered[o].resize(root ? bytes * static_cast<size_t>(world.size()) : 0);
    if (std::string e = world.gather(b.outputShards[o].data(),
                                     gathered[o].data(), bytes, 0);
        !e.empty())
      return me + "gathering output '" + t.name + "': " + e;
  }
  if (root)
    assembleOutputs(args, [&](int64_t r, size_t o) -> const char * {
      if (gathered[o].empty())
        return b.outputShards[o].data();
      return gathered[o].data() + r * (gathered[o].size() / mesh.ranks());
    });
  return {};
}

} // namespace tessera::runtime
