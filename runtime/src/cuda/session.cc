//===- session.cc - Running a cuda artifact on GPUs -----------------------===//

#include "cuda/session.h"

#include "comm/nccl.h"

#include <cstdio>
#include <cstring>
#include <thread>

namespace tessera::runtime::cuda {

//===----------------------------------------------------------------------===//
// Hooks
//===----------------------------------------------------------------------===//

Status launchOnRank(Rank &rank, int64_t kernel, const int64_t grid[3],
                    const int64_t block[3], int64_t sharedBytes,
                    const int64_t *args, int64_t numArgs) {
  return launch(rank.kernels, kernel, grid, block, sharedBytes, args, numArgs);
}

Status gemmOnRank(Rank &rank, const GemmCall &call) {
  return gemm(*rank.device, call);
}

std::string allGatherInto(Rank &rank, Communicator &comm, intptr_t send,
                          intptr_t recv, int64_t outer, int64_t innerBytes) {
  if (outer < 0 || innerBytes < 0)
    return "negative sizes";
  int n = comm.size();
  size_t block = static_cast<size_t>(outer) * static_cast<size_t>(innerBytes);
  // [rank][outer][inner] is already [outer][rank][inner] when outer is 1.
  if (outer <= 1 || n == 1)
    return comm.allGather(reinterpret_cast<const void *>(send),
                          reinterpret_cast<void *>(recv), block);
  Device &d = *rank.device;
  Buffer staging;
  Status s = Buffer::make(d, block * static_cast<size_t>(n),
                          "the all_gather staging buffer", staging);
  if (!s.ok())
    return s.message;
  std::string e = comm.allGather(reinterpret_cast<const void *>(send),
                                 reinterpret_cast<void *>(staging.get()), block);
  if (!e.empty())
    return e;
  for (int r = 0; r < n; ++r) {
    Memcpy2D copy;
    copy.srcMemoryType = CU_MEMORYTYPE_DEVICE;
    copy.srcDevice = staging.get() + static_cast<CUdeviceptr>(r) * block;
    copy.srcPitch = static_cast<size_t>(innerBytes);
    copy.dstMemoryType = CU_MEMORYTYPE_DEVICE;
    copy.dstDevice = static_cast<CUdeviceptr>(recv) +
                     static_cast<CUdeviceptr>(r) * static_cast<size_t>(innerBytes);
    copy.dstPitch = static_cast<size_t>(innerBytes) * static_cast<size_t>(n);
    copy.WidthInBytes = static_cast<size_t>(innerBytes);
    copy.Height = static_cast<size_t>(outer);
    CUresult res = d.api().cuMemcpy2DAsync(&copy, d.stream());
    if (res != CUDA_SUCCESS)
      return d.name() + ": rearranging the gathered blocks: " +
             driverError("cuMemcpy2DAsync", res);
  }
  return {}; // the staging block is reused only after the copies, in order
}

//===----------------------------------------------------------------------===//
// Sessions
//===----------------------------------------------------------------------===//

namespace {
void *address(CUdeviceptr p) {
  return reinterpret_cast<void *>(static_cast<uintptr_t>(p));
}

/// Loads the kernels, uploads the rank's weight blocks and allocates its
/// workspace on `device`.
Status setupRank(const SessionSetup &s, std::shared_ptr<Device> device,
                 int64_t rank, Rank &r) {
  r.device = std::move(device);
  r.rank = rank;
  Device &d = *r.device;
  Status st = loadKernels(d, *s.view, r.kernels, s.verbose);
  if (!st.ok())
    return st;
  const artifact::Manifest &mf = s.view->manifest;
  std::vector<int64_t> coords = s.mesh->coords(rank);
  for (const artifact::WeightSpec &w : mf.weights) {
    Buffer b;
    if (!(st = Buffer::make(d, w.size, "weight '" + w.name + "'", b)).ok())
      return st;
    const char *block = weightBlock(w, *s.mesh, s.view->weights, coords);
    if (!(st = d.upload(b.get(), block, w.size)).ok())
      return st;
    r.weightBytes += w.size;
    r.weights.push_back(std::move(b));
  }
  if (mf.workspaceBytes &&
      !(st = Buffer::make(d, mf.workspaceBytes, "the workspace", r.workspace))
           .ok())
    return st;
  if (!(st = d.synchronize("uploading the weights")).ok())
    return st;
  if (s.verbose)
    std::fprintf(stderr,
                 "tessera: rank %lld on %s (%s, sm_%d): %s of weights, %s of "
                 "workspace\n",
                 static_cast<long long>(rank), d.name().c_str(),
                 d.model().c_str(), d.computeCapability(),
                 formatBytes(r.weightBytes).c_str(),
                 formatBytes(mf.workspaceBytes).c_str());
  return {};
}

/// One run of one rank: the host shards, the device buffers, the outcome.
struct RankRun {
  RankBuffers host;
  std::vector<Buffer> inputs, outputs;
  std::vector<void *> args;
  RankContext ctx;
  Status status;
};

/// Uploads the rank's inputs, runs the entry, waits and downloads the
/// output shards into `run.host.outputShards`.
Status runOnRank(const SessionSetup &s, const MeshRunArgs &args, Rank &r,
                 RankRun &run) {
  const artifact::Manifest &mf = *args.manifest;
  Device &d = *r.device;
  Status st = d.makeCurrent();
  if (!st.ok())
    return st;
  prepareRank(args, s.mesh->coords(r.rank), run.host);
  for (size_t i = 0; i < mf.inputs.size(); ++i) {
    size_t bytes = localBytes(mf.inputs[i], *s.mesh);
    Buffer b;
    if (!(st = Buffer::make(d, bytes, "input '" + mf.inputs[i].name + "'", b))
             .ok() ||
        !(st = d.upload(b.get(), run.host.args[i], bytes)).ok())
      return st;
    run.args.push_back(address(b.get()));
    run.inputs.push_back(std::move(b));
  }
  for (const Buffer &w : r.weights)
    run.args.push_back(address(w.get()));
  for (const artifact::TensorSpec &t : mf.outputs) {
    // At least one byte: an empty output's placeholder gets one.
    size_t bytes = std::max<size_t>(localBytes(t, *s.mesh), 1);
    Buffer b;
    if (!(st = Buffer::make(d, bytes, "output '" + t.name + "'", b)).ok() ||
        !(st = d.zero(b.get(), bytes)).ok())
      return st;
    run.args.push_back(address(b.get()));
    run.outputs.push_back(std::move(b));
  }
  if (mf.workspaceBytes)
    run.args.push_back(address(r.workspace.get()));
  run.ctx.comms = r.comms.get();
  run.ctx.cuda = &r;
  const Driver &api = d.api();
  if (!r.runStart && (api.cuEventCreate(&r.runStart, 0) != CUDA_SUCCESS ||
                      api.cuEventCreate(&r.runStop, 0) != CUDA_SUCCESS))
    r.runStart = r.runStop = nullptr; // run untimed
  bool timed = r.runStart && api.cuEventRecord(r.runStart, d.stream()) == CUDA_SUCCESS;
  runAsRank(s.entry, run.args.data(), run.ctx);
  timed = timed && api.cuEventRecord(r.runStop, d.stream()) == CUDA_SUCCESS;
  // Wait either way: the run's buffers must be idle before they are reused.
  Status done = d.synchronize("running the module");
  float ms = 0;
  r.lastRunMs = timed && done.ok() && api.cuEventElapsedTime(&ms, r.runStart, r.runStop) ==
                                          CUDA_SUCCESS
                    ? ms
                    : -1;
  if (!run.ctx.error.empty())
    return Status::error(run.ctx.code, run.ctx.error);
  if (!done.ok())
    return done;
  for (size_t o = 0; o < mf.outputs.size(); ++o)
    if (!(st = d.download(run.host.outputShards[o].data(),
                          run.outputs[o].get(),
                          localBytes(mf.outputs[o], *s.mesh)))
             .ok())
      return st;
  return {};
}

bool replicated(const artifact::TensorSpec &t, const sharding::Mesh &mesh) {
  sharding::Split split;
  std::string error;
  sharding::parseSplit(t.split, t.shape.size(), mesh, split, error);
  return sharding::isReplicated(split);
}

Status prefixed(const std::string &prefix, Status s) {
  s.message = prefix + s.message;
  return s;
}
} // namespace

Status Session::create(const SessionSetup &setup, std::unique_ptr<Session> &out) {
  std::unique_ptr<Session> session(new Session);
  session->setup_ = setup;
  const sharding::Mesh &mesh = *setup.mesh;
  int64_t ranks = mesh.ranks();
  int count = 0;
  Status st = Device::count(count);
  if (!st.ok())
    return st;
  int base = setup.device->ordinal();

  if (setup.comm == TSR_COMM_LOCAL) {
    if (ranks > 1 && ranks > count)
      return Status::error(
          TSR_FAILED_PRECONDITION,
          "the module was compiled for " + setup.meshText + "; this machine has " +
              std::to_string(count) + " CUDA device" + (count == 1 ? "" : "s") +
              " and NCCL needs one per rank (run one process per rank over "
              "several machines with TSR_COMM_MPI or TSR_COMM_NCCL)");
    std::vector<std::shared_ptr<Device>> devices;
    for (int64_t r = 0; r < ranks; ++r) {
      std::shared_ptr<Device> d;
      if (!(st = Device::open(static_cast<int>((base + r) % count), d)).ok())
        return st;
      devices.push_back(d);
      session->ranks_.push_back(std::make_unique<Rank>());
    }
    // Each rank uploads to its own GPU on its own thread.
    std::vector<Status> results(static_cast<size_t>(ranks));
    std::vector<std::thread> threads;
    for (int64_t r = 1; r < ranks; ++r)
      threads.emplace_back([&, r] {
        results[r] = setupRank(setup, devices[r], r, *session->ranks_[r]);
      });
    results[0] = setupRank(setup, devices[0], 0, *session->ranks_[0]);
    for (std::thread &t : threads)
      t.join();
    for (int64_t r = 0; r < ranks; ++r)
      if (!results[r].ok())
        return ranks > 1 ? prefixed("rank " + std::to_string(r) + ": ", results[r])
                         : results[r];
    std::vector<std::unique_ptr<Communicator>> worlds;
    if (ranks == 1) {
      worlds.push_back(createDeviceSelfCommunicator(*devices[0]));
    } else {
      std::vector<Device *> raw;
      for (auto &d : devices)
        raw.push_back(d.get());
      std::string e =
          createNcclThreadCommunicators(raw, setup.timeoutMs, worlds);
      if (!e.empty())
        return Status::error(TSR_UNAVAILABLE, e);
    }
    for (int64_t r = 0; r < ranks; ++r)
      session->ranks_[r]->comms =
          std::make_unique<RankComms>(std::move(worlds[r]), mesh);
    out = std::move(session);
    return {};
  }

  // One rank per process.
  if (setup.comm == TSR_COMM_MPI && !haveMpi())
    return Status::error(TSR_UNIMPLEMENTED,
                         "this runtime was built without MPI (install "
                         "libopenmpi-dev and rebuild to use the mpi "
                         "communicator, or use the nccl communicator with "
                         "TESSERA_NCCL_RENDEZVOUS)");
  ProcessWorld world;
  std::string e = processWorld(setup.comm == TSR_COMM_MPI, world);
  if (!e.empty())
    return Status::error(TSR_UNAVAILABLE, e);
  if (world.size != ranks)
    return Status::error(TSR_INVALID_ARGUMENT,
                         "the module was compiled for " + setup.meshText +
                             "; this job has " + std::to_string(world.size) +
                             (world.size == 1 ? " rank" : " ranks"));
  session->processRank_ = true;
  std::shared_ptr<Device> device;
  if (!(st = Device::open((base + world.localRank) % count, device)).ok())
    return st;
  session->ranks_.push_back(std::make_unique<Rank>());
  Rank &rank = *session->ranks_[0];
  if (!(st = setupRank(setup, device, world.rank, rank)).ok())
    return prefixed("rank " + std::to_string(world.rank) + ": ", st);
  std::unique_ptr<Communicator> comm;
  e = createNcclProcessCommunicator(*device, world, setup.timeoutMs, comm);
  if (!e.empty())
    return Status::error(TSR_UNAVAILABLE,
                         "rank " + std::to_string(world.rank) + ": " + e);
  rank.comms = std::make_unique<RankComms>(std::move(comm), mesh);
  out = std::move(session);
  return {};
}

Session::~Session() {
  // NCCL tears a communicator down together with its peers on this
  // machine: every local rank on its own thread.
  if (ranks_.size() > 1) {
    std::vector<std::thread> threads;
    for (auto &r : ranks_)
      threads.emplace_back([&r] { r->comms.reset(); });
    for (std::thread &t : threads)
      t.join();
  }
  ranks_.clear();
}

Rank::~Rank() {
  if (device && runStart) {
    device->makeCurrent();
    device->api().cuEventDestroy(runStart);
    device->api().cuEventDestroy(runStop);
  }
}

RankMemory Session::memory(size_t index) const {
  RankMemory m;
  if (index >= ranks_.size())
    return m;
  const Rank &r = *ranks_[index];
  m.rank = r.rank;
  m.device = r.device->name().c_str();
  m.weights = r.weightBytes;
  m.workspace = setup_.view->manifest.workspaceBytes;
  m.deviceStats = r.device->memory();
  return m;
}

Status Session::run(const std::vector<const char *> &inputs,
                    const std::vector<char *> &outputs, bool &holdsOutputs) {
  std::lock_guard<std::mutex> lock(runMutex_);
  MeshRunArgs args;
  args.manifest = &setup_.view->manifest;
  args.mesh = setup_.mesh;
  args.entry = setup_.entry;
  args.weights = setup_.view->weights;
  args.inputs = inputs;
  args.outputs = outputs;
  args.timeoutMs = setup_.timeoutMs;
  holdsOutputs = true;
  if (processRank_) {
    holdsOutputs = ranks_[0]->rank == 0;
    return runProcessRank(args);
  }
  size_t n = ranks_.size();
  std::vector<RankRun> runs(n);
  std::vector<std::thread> threads;
  for (size_t r = 1; r < n; ++r)
    threads.emplace_back([&, r] {
      runs[r].status = runOnRank(setup_, args, *ranks_[r], runs[r]);
    });
  runs[0].status = runOnRank(setup_, args, *ranks_[0], runs[0]);
  for (std::thread &t : threads)
    t.join();
  for (size_t r = 0; r < n; ++r)
    if (!runs[r].status.ok())
      return n > 1 ? prefixed("rank " + std::to_string(r) + ": ", runs[r].status)
                   : runs[r].status;
  assembleOutputs(args, [&](int64_t r, size_t o) {
    return runs[r].host.outputShards[o].data();
  });
  return {};
}

Status Session::runProcessRank(const MeshRunArgs &args) {
  const artifact::Manifest &mf = *args.manifest;
  const sharding::Mesh &mesh = *args.mesh;
  Rank &rank = *ranks_[0];
  Device &d = *rank.device;
  Communicator &world = rank.comms->world();
  std::string me = "rank " + std::to_string(rank.rank) + ": ";
  RankRun run;
  Status st = runOnRank(setup_, args, rank, run);
  // Every rank learns whether any failed before the outputs move.
  int32_t failed = st.ok() ? 0 : 1;
  std::vector<int32_t> flags(static_cast<size_t>(world.size()));
  Buffer mine, all;
  Status ex = Buffer::make(d, sizeof(failed), "the status exchange", mine);
  if (ex.ok())
    ex = Buffer::make(d, flags.size() * sizeof(failed), "the status exchange", all);
  if (ex.ok())
    ex = d.upload(mine.get(), &failed, sizeof(failed));
  std::string e = ex.ok() ? world.allGather(address(mine.get()), address(all.get()),
                                            sizeof(failed))
                          : ex.message;
  if (e.empty())
    e = d.download(flags.data(), all.get(), flags.size() * sizeof(failed)).message;
  if (!st.ok())
    return prefixed(me, st);
  if (!e.empty())
    return Status::error(TSR_UNAVAILABLE, me + "exchanging the ranks' status: " + e);
  for (size_t r = 0; r < flags.size(); ++r)
    if (flags[r])
      return Status::error(TSR_UNAVAILABLE, me + "rank " + std::to_string(r) +
                                                " failed (it reports why)");
  // Rank 0 gathers every rank's shard of each split output.
  bool root = rank.rank == 0;
  std::vector<std::vector<char>> gathered(mf.outputs.size());
  for (size_t o = 0; o < mf.outputs.size(); ++o) {
    const artifact::TensorSpec &t = mf.outputs[o];
    if (replicated(t, mesh))
      continue;
    size_t bytes = localBytes(t, mesh);
    size_t total = bytes * static_cast<size_t>(world.size());
    Buffer whole;
    if (root) {
      if (!(st = Buffer::make(d, total, "gathered output '" + t.name + "'",
                              whole))
               .ok())
        return prefixed(me, st);
    }
    e = world.gather(address(run.outputs[o].get()), address(whole.get()), bytes, 0);
    if (!e.empty())
      return Status::error(TSR_UNAVAILABLE,
                           me + "gathering output '" + t.name + "': " + e);
    if (root) {
      gathered[o].resize(total);
      if (!(st = d.download(gathered[o].data(), whole.get(), total)).ok())
        return prefixed(me, st);
    }
  }
  if (root)
    assembleOutputs(args, [&](int64_t r, size_t o) -> const char * {
      if (gathered[o].empty())
        return run.host.outputShards[o].data();
      return gathered[o].data() + r * (gathered[o].size() / mesh.ranks());
    });
  return {};
}

} // namespace tessera::runtime::cuda
