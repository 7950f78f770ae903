//===- mesh.cc - Running an SPMD artifact over a device mesh --------------===//

#include "mesh.h"

#include "comm/comm.h"
#include "cuda/session.h"
#include "float_env.h"
#include "gemm_hook.h"

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

Communicator *RankContext::group(int64_t axesMask, const char *what) {
  if (!comms) {
    fail(std::string(what) + ": this run has no communicator");
    return nullptr;
  }
  std::string e;
  Communicator *c = comms->group(axesMask, e);
  if (!c)
    fail(std::string(what) + ": splitting the world by mesh axes: " + e);
  return c;
}

namespace {
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
  case artifact::DType::F16:
    return ElementKind::F16;
  case artifact::DType::BF16:
    return ElementKind::BF16;
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
  if (ctx->cuda) {
    std::string e = cuda::allGatherInto(*ctx->cuda, *c, send, recv, outer,
                                        innerBytes);
    if (!e.empty())
      ctx->fail("all_gather: " + e);
    return;
  }
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
  return current && current->comms ? current->comms->rank() : 0;
}

/// The rank's CUDA state; null after recording why there is none.
cuda::Rank *cudaRank(RankContext *ctx, const char *what) {
  if (!ctx || !ctx->error.empty())
    return nullptr;
  if (!ctx->cuda)
    ctx->fail(std::string(what) +
                  ": the artifact's host code is for target cuda and this "
                  "rank runs on a cpu device",
              TSR_FAILED_PRECONDITION);
  return ctx->cuda;
}

void hookLaunch(int64_t kernel, int64_t gridX, int64_t gridY, int64_t gridZ,
                int64_t blockX, int64_t blockY, int64_t blockZ,
                int64_t sharedBytes, const int64_t *args, int64_t numArgs) {
  RankContext *ctx = current;
  cuda::Rank *rank = cudaRank(ctx, "launch");
  if (!rank)
    return;
  const int64_t grid[3] = {gridX, gridY, gridZ};
  const int64_t block[3] = {blockX, blockY, blockZ};
  cuda::Status s = cuda::launchOnRank(*rank, kernel, grid, block, sharedBytes,
                                      args, numArgs);
  if (!s.ok())
    ctx->fail(s.message, s.code);
}

void hookGemmEx(int64_t dtype, int64_t b0, int64_t b1, int64_t b2, int64_t m,
              int64_t n, int64_t k, intptr_t a, int64_t ab0, int64_t ab1,
              int64_t ab2, int64_t am, int64_t ak, intptr_t b, int64_t bb0,
              int64_t bb1, int64_t bb2, int64_t bk, int64_t bn, intptr_t c,
              int64_t cb0, int64_t cb1, int64_t cb2, int64_t cm, int64_t cn,
              intptr_t bias, int64_t flags) {
  RankContext *ctx = current;
  if (!ctx || !ctx->error.empty())
    return;
  GemmCall call;
  call.dtype = dtype;
  call.batch[0] = b0, call.batch[1] = b1, call.batch[2] = b2;
  call.m = m, call.n = n, call.k = k;
  call.a = static_cast<uint64_t>(a);
  call.aBatch[0] = ab0, call.aBatch[1] = ab1, call.aBatch[2] = ab2;
  call.am = am, call.ak = ak;
  call.b = static_cast<uint64_t>(b);
  call.bBatch[0] = bb0, call.bBatch[1] = bb1, call.bBatch[2] = bb2;
  call.bk = bk, call.bn = bn;
  call.c = static_cast<uint64_t>(c);
  call.cBatch[0] = cb0, call.cBatch[1] = cb1, call.cBatch[2] = cb2;
  call.cm = cm, call.cn = cn;
  call.bias = static_cast<uint64_t>(bias);
  call.flags = flags;
  if (!ctx->cuda) {
    // Code compiled with --emulate-cuda-kernels: the reference loops.
    std::string error;
    if (!referenceGemm(call, error))
      ctx->fail(error, TSR_INTERNAL);
    return;
  }
  cuda::Status s = cuda::gemmOnRank(*ctx->cuda, call);
  if (!s.ok())
    ctx->fail(s.message, s.code);
}

/// The `gemm` of artifacts compiled before `gemmEx`.
void hookGemm(int64_t dtype, int64_t b0, int64_t b1, int64_t b2, int64_t m,
              int64_t n, int64_t k, intptr_t a, int64_t ab0, int64_t ab1,
              int64_t ab2, int64_t am, int64_t ak, intptr_t b, int64_t bb0,
              int64_t bb1, int64_t bb2, int64_t bk, int64_t bn, intptr_t c,
              int64_t cb0, int64_t cb1, int64_t cb2, int64_t cm, int64_t cn) {
  hookGemmEx(dtype, b0, b1, b2, m, n, k, a, ab0, ab1, ab2, am, ak, b, bb0, bb1,
             bb2, bk, bn, c, cb0, cb1, cb2, cm, cn, 0, 0);
}

const Hooks kHooks = {hookAllReduce, hookAllGather, hookProcessLinearIndex,
                      hookLaunch,    hookGemm,      hookGemmEx};

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

const Hooks &runtimeHooks() { return kHooks; }

void runAsRank(EntryFn entry, void **args, RankContext &ctx) {
  RankContext *outer = current;
  current = &ctx;
  FlushDenormals mode(ctx.flushDenormals);
  entry(args);
  current = outer;
}

size_t localBytes(const artifact::TensorSpec &t, const sharding::Mesh &mesh) {
  sharding::Split split;
  std::vector<int64_t> local;
  std::string error;
  localShapeOf(t, mesh, split, local, error);
  return bytesOf(local, t.dtype);
}

const char *weightBlock(const artifact::WeightSpec &w,
                        const sharding::Mesh &mesh, const char *weights,
                        const std::vector<int64_t> &coords) {
  sharding::Split split;
  std::vector<int64_t> local;
  std::string error;
  localShapeOf(w, mesh, split, local, error);
  int64_t index = sharding::shardIndex(split, mesh, coords);
  return weights + w.offset + static_cast<uint64_t>(index) * w.shardStride();
}

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
  for (const artifact::WeightSpec &w : mf.weights)
    b.args.push_back(
        const_cast<char *>(weightBlock(w, mesh, args.weights, coords)));
  for (const artifact::TensorSpec &t : mf.outputs) {
    localShapeOf(t, mesh, split, local, error);
    b.outputShards.emplace_back(std::max<size_t>(bytesOf(local, t.dtype), 1));
    b.args.push_back(b.outputShards.back().data());
  }
  if (mf.workspaceBytes && args.takeWorkspace) {
    b.workspace = args.takeWorkspace();
    if (!b.workspace)
      return false;
    b.args.push_back(b.workspace);
  }
  return true;
}

namespace {
/// Runs the entry on the calling thread as the rank of `ctx`.
void runRank(const MeshRunArgs &args, RankContext &ctx, RankBuffers &b) {
  runAsRank(args.entry, b.args.data(), ctx);
  if (b.workspace)
    args.giveBackWorkspace(b.workspace);
  b.workspace = nullptr;
}

} // namespace

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
    contexts[r].flushDenormals = args.flushDenormals;
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
  ctx.flushDenormals = args.flushDenormals;
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
