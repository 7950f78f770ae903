//===- mesh.cc - Running an SPMD artifact over a device mesh --------------===//

#include "mesh.h"

#include "comm/comm.h"

#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <map>
#include <memory>
#include <optional>
#include <thread>

namespace tessera::runtime {

namespace {
/// What the calling thread runs as: its rank, coordinates and
/// communicators (the world, and one per set of mesh axes, made on first
/// use by a collective split of the world).
struct RankContext {
  Communicator *world = nullptr;
  const sharding::Mesh *mesh = nullptr;
  int64_t rank = 0;
  std::vector<int64_t> coords;
  std::map<int64_t, std::unique_ptr<Communicator>> groups;
  std::string error;

  Communicator *group(int64_t axesMask) {
    auto it = groups.find(axesMask);
    if (it != groups.end())
      return it->second.get();
    // Ranks that agree off the axes share a group, ordered by their
    // coordinates on the axes.
    int64_t color = 0, key = 0;
    for (size_t a = 0; a < mesh->sizes.size(); ++a) {
      if (axesMask & (int64_t(1) << a))
        key = key * mesh->sizes[a] + coords[a];
      else
        color = color * mesh->sizes[a] + coords[a];
    }
    std::unique_ptr<Communicator> sub;
    std::string e = world->split(static_cast<int>(color), static_cast<int>(key), sub);
    if (!e.empty()) {
      fail(e);
      return nullptr;
    }
    return (groups[axesMask] = std::move(sub)).get();
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
  Communicator *c = ctx->group(axesMask);
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
  Communicator *c = ctx->group(axesMask);
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

int64_t hookProcessLinearIndex() { return current ? current->rank : 0; }

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

std::string runLocalMesh(const MeshRunArgs &args) {
  const artifact::Manifest &mf = *args.manifest;
  const sharding::Mesh &mesh = *args.mesh;
  int64_t ranks = mesh.ranks();
  auto comms = createLocalCommunicators(static_cast<int>(ranks), args.timeoutMs);
  std::vector<RankContext> contexts(static_cast<size_t>(ranks));
  // Per rank: its input shards (copied out of the whole inputs when split),
  // weight shards, output shards and workspace.
  std::vector<std::vector<std::vector<char>>> inputCopies(ranks), outputShards(ranks);
  std::vector<std::vector<void *>> buffers(ranks);
  std::vector<void *> workspaces(ranks, nullptr);
  for (int64_t r = 0; r < ranks; ++r) {
    RankContext &ctx = contexts[r];
    ctx.world = comms[r].get();
    ctx.mesh = &mesh;
    ctx.rank = r;
    ctx.coords = mesh.coords(r);
    std::string error;
    sharding::Split split;
    std::vector<int64_t> local;
    for (size_t i = 0; i < mf.inputs.size(); ++i) {
      const artifact::TensorSpec &t = mf.inputs[i];
      localShapeOf(t, mesh, split, local, error);
      if (sharding::isReplicated(split)) {
        buffers[r].push_back(const_cast<char *>(args.inputs[i]));
        continue;
      }
      std::vector<char> shard(bytesOf(local, t.dtype));
      sharding::copyBlock(const_cast<char *>(args.inputs[i]), shard.data(), t.shape, local,
                          sharding::shardOffsets(local, split, mesh, ctx.coords),
                          artifact::dtypeSize(t.dtype), /*toLocal=*/true);
      inputCopies[r].push_back(std::move(shard));
      buffers[r].push_back(inputCopies[r].back().data());
    }
    for (const artifact::WeightSpec &w : mf.weights) {
      localShapeOf(w, mesh, split, local, error);
      int64_t index = sharding::shardIndex(split, mesh, ctx.coords);
      buffers[r].push_back(const_cast<char *>(args.weights + w.offset +
                                              static_cast<uint64_t>(index) * w.shardStride()));
    }
    for (const artifact::TensorSpec &t : mf.outputs) {
      localShapeOf(t, mesh, split, local, error);
      outputShards[r].emplace_back(std::max<size_t>(bytesOf(local, t.dtype), 1));
      buffers[r].push_back(outputShards[r].back().data());
    }
    if (mf.workspaceBytes) {
      workspaces[r] = args.takeWorkspace();
      if (!workspaces[r]) {
        for (void *w : workspaces)
          if (w)
            args.giveBackWorkspace(w);
        return "out of memory allocating the workspaces";
      }
      buffers[r].push_back(workspaces[r]);
    }
  }
  auto runRank = [&](int64_t r) {
    current = &contexts[r];
    args.entry(buffers[r].data());
    current = nullptr;
  };
  std::vector<std::thread> threads;
  for (int64_t r = 1; r < ranks; ++r)
    threads.emplace_back(runRank, r);
  runRank(0);
  for (std::thread &t : threads)
    t.join();
  for (void *w : workspaces)
    if (w)
      args.giveBackWorkspace(w);
  for (int64_t r = 0; r < ranks; ++r)
    if (!contexts[r].error.empty())
      return "rank " + std::to_string(r) + ": " + contexts[r].error;
  // Assemble: each shard from the first rank holding it.
  for (size_t o = 0; o < mf.outputs.size(); ++o) {
    const artifact::TensorSpec &t = mf.outputs[o];
    sharding::Split split;
    std::vector<int64_t> local;
    std::string error;
    localShapeOf(t, mesh, split, local, error);
    if (sharding::isReplicated(split)) {
      std::memcpy(args.outputs[o], outputShards[0][o].data(), bytesOf(local, t.dtype));
      continue;
    }
    std::vector<bool> done(static_cast<size_t>(sharding::shardCount(split, mesh)), false);
    for (int64_t r = 0; r < ranks; ++r) {
      int64_t index = sharding::shardIndex(split, mesh, contexts[r].coords);
      if (done[index])
        continue;
      done[index] = true;
      sharding::copyBlock(args.outputs[o], outputShards[r][o].data(), t.shape, local,
                          sharding::shardOffsets(local, split, mesh, contexts[r].coords),
                          artifact::dtypeSize(t.dtype), /*toLocal=*/false);
    }
  }
  return {};
}

} // namespace tessera::runtime
