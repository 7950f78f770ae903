//===- runtime.cc - Tessera's runtime: objects and the C API --------------===//
//
// The CPU device executes a module's host code (a shared object loaded from
// the artifact through memfd + dlopen) inline on the calling thread; the API
// is asynchronous in shape so queued devices (CUDA streams) fit behind it.
// A cuda device runs `target cuda` modules through cuda/session.h; its
// tensors keep their bytes in host memory, and a run uploads the inputs and
// downloads the outputs.
//
//===----------------------------------------------------------------------===//

#include "tessera/runtime.h"

#include "artifact.h"
#include "comm/nccl.h"
#include "cuda/session.h"
#include "mesh.h"
#include "thread_pool.h"

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <dlfcn.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace tessera;

struct tsr_status_s {
  tsr_status_code_t code;
  std::string message;
};

namespace {
tsr_status_t makeStatus(tsr_status_code_t code, const std::string &message) {
  return new (std::nothrow) tsr_status_s{code, message};
}

/// Intrusive reference count shared by every handle type.
struct RefCounted {
  std::atomic<int> refs{1};
};
template <typename T> void retain(T *object) {
  if (object)
    object->refs.fetch_add(1, std::memory_order_relaxed);
}
template <typename T> void release(T *object) {
  if (object && object->refs.fetch_sub(1, std::memory_order_acq_rel) == 1)
    delete object;
}

/// A 64-byte aligned heap buffer (at least 64 bytes, so empty tensors have
/// a valid address too).
void *alignedAlloc(size_t bytes) {
  size_t size = (bytes + 63) / 64 * 64;
  return std::aligned_alloc(64, size ? size : 64);
}

using ::tessera::runtime::EntryFn;
} // namespace

struct tsr_runtime_s : RefCounted {
  bool verbose = false;
  int cpuThreads = 1;
  // tsr_runtime_options_t::keep_denormals unset (float_env.h).
  bool flushDenormals = true;
  // Created with the first module that has a parallel hook.
  std::once_flag poolOnce;
  std::unique_ptr<tessera::runtime::ThreadPool> pool;
  tessera::runtime::ThreadPool *threadPool() {
    std::call_once(poolOnce, [&] {
      if (cpuThreads > 1)
        pool.reset(new (std::nothrow)
                       tessera::runtime::ThreadPool(cpuThreads, flushDenormals));
    });
    return pool.get();
  }
};

struct tsr_device_s : RefCounted {
  tsr_runtime_t runtime = nullptr;
  std::string name;
  // A cuda device's GPU (shared by every handle naming it); null for cpu.
  std::shared_ptr<tessera::runtime::cuda::Device> cuda;
  ~tsr_device_s() {
    cuda.reset();
    release(runtime);
  }
};

struct tsr_tensor_s : RefCounted {
  tsr_device_t device = nullptr;
  tsr_dtype_t dtype = TSR_DTYPE_INVALID;
  std::vector<int64_t> shape;
  size_t bytes = 0;
  void *data = nullptr;
  ~tsr_tensor_s() {
    std::free(data);
    release(device);
  }
};

struct tsr_module_s : RefCounted {
  tsr_runtime_t runtime = nullptr;
  // The artifact's bytes: a read-only file mapping or an aligned copy.
  const char *bytes = nullptr;
  size_t size = 0;
  bool mapped = false;
  artifact::View view;
  void *library = nullptr;
  EntryFn entry = nullptr;
  // Workspaces (manifest.workspaceBytes each) not in use by a run: a run
  // takes one and gives it back, so concurrent runs get their own and
  // repeated runs touch no new memory.
  ::tessera::sharding::Mesh mesh; // one device: ranks() == 1
  // The shapes callers pass and get back (TensorSpec::userShape: a padded
  // batch at its own size), as tsr_module_input_info hands them out.
  std::vector<std::vector<int64_t>> inputShapes, outputShapes;
  std::mutex workspaceMutex;
  std::vector<void *> freeWorkspaces;

  void *takeWorkspace() {
    {
      std::lock_guard<std::mutex> lock(workspaceMutex);
      if (!freeWorkspaces.empty()) {
        void *w = freeWorkspaces.back();
        freeWorkspaces.pop_back();
        return w;
      }
    }
    return alignedAlloc(static_cast<size_t>(view.manifest.workspaceBytes));
  }
  void giveBackWorkspace(void *w) {
    std::lock_guard<std::mutex> lock(workspaceMutex);
    freeWorkspaces.push_back(w);
  }
  ~tsr_module_s() {
    for (void *w : freeWorkspaces)
      std::free(w);
    if (library)
      dlclose(library);
    if (mapped)
      munmap(const_cast<char *>(bytes), size);
    else
      std::free(const_cast<char *>(bytes));
    release(runtime);
  }
};

struct tsr_session_s : RefCounted {
  tsr_module_t module = nullptr;
  tsr_device_t device = nullptr;
  int timeoutMs = 30000;
  // TSR_COMM_MPI: this process's rank's communicators, kept across runs,
  // which take turns so that every rank makes the same calls in order.
  std::unique_ptr<::tessera::runtime::RankComms> mpi;
  std::mutex mpiRunMutex;
  // TSR_COMM_MPI: this rank's blocks of the weights, copied to private
  // memory laid out as the WEIGHTS section (the rest never touched, so
  // never resident); null when the run reads the artifact's own bytes.
  char *rankWeights = nullptr;
  size_t rankWeightsSize = 0;
  // A session on a cuda device.
  std::unique_ptr<::tessera::runtime::cuda::Session> cuda;
  ~tsr_session_s() {
    if (rankWeights)
      munmap(rankWeights, rankWeightsSize);
    cuda.reset();
    release(module);
    release(device);
  }
};

//===----------------------------------------------------------------------===//
// Status and dtypes
//===----------------------------------------------------------------------===//

tsr_status_code_t tsr_status_code(tsr_status_t status) {
  return status ? status->code : TSR_OK;
}
const char *tsr_status_message(tsr_status_t status) {
  return status ? status->message.c_str() : "";
}
void tsr_status_free(tsr_status_t status) { delete status; }

size_t tsr_dtype_size(tsr_dtype_t dtype) {
  return artifact::dtypeSize(static_cast<artifact::DType>(dtype));
}
const char *tsr_dtype_name(tsr_dtype_t dtype) {
  return artifact::dtypeName(static_cast<artifact::DType>(dtype));
}

//===----------------------------------------------------------------------===//
// Runtime and devices
//===----------------------------------------------------------------------===//

void tsr_runtime_options_initialize(tsr_runtime_options_t *options) {
  std::memset(options, 0, sizeof(*options));
  options->struct_size = sizeof(*options);
}

tsr_status_t tsr_runtime_create(const tsr_runtime_options_t *options,
                                tsr_runtime_t *out_runtime) {
  if (!out_runtime)
    return makeStatus(TSR_INVALID_ARGUMENT, "out_runtime is null");
  auto *rt = new (std::nothrow) tsr_runtime_s;
  if (!rt)
    return makeStatus(TSR_RESOURCE_EXHAUSTED, "out of memory");
  if (options && options->struct_size >= offsetof(tsr_runtime_options_t, cpu_threads))
    rt->verbose = options->verbose != 0;
  int threads = 0;
  auto has = [&](size_t offset, size_t size) {
    return options && options->struct_size >= offset + size;
  };
  if (has(offsetof(tsr_runtime_options_t, keep_denormals), sizeof(int32_t)))
    rt->flushDenormals = options->keep_denormals == 0;
  if (has(offsetof(tsr_runtime_options_t, cpu_threads), sizeof(int32_t))) {
    if (options->cpu_threads < 0) {
      delete rt;
      return makeStatus(TSR_INVALID_ARGUMENT,
                        "cpu_threads must be 0 (every core) or more, got " +
                            std::to_string(options->cpu_threads));
    }
    threads = options->cpu_threads;
  }
  rt->cpuThreads = threads ? threads : tessera::runtime::ThreadPool::availableCores();
  *out_runtime = rt;
  return nullptr;
}
void tsr_runtime_retain(tsr_runtime_t runtime) { retain(runtime); }
void tsr_runtime_release(tsr_runtime_t runtime) { release(runtime); }

tsr_status_t tsr_device_create(tsr_runtime_t runtime, const char *name,
                               tsr_device_t *out_device) {
  if (!runtime || !name || !out_device)
    return makeStatus(TSR_INVALID_ARGUMENT, "runtime, name and out_device must be set");
  std::string n(name);
  if (n == "cpu")
    n = "cpu:0";
  if (n == "cuda")
    n = "cuda:0";
  std::shared_ptr<tessera::runtime::cuda::Device> gpu;
  if (n.rfind("cuda:", 0) == 0) {
    std::string digits = n.substr(5);
    char *end = nullptr;
    long ordinal = std::strtol(digits.c_str(), &end, 10);
    if (digits.empty() || *end != '\0' || ordinal < 0 || ordinal > 1 << 20)
      return makeStatus(TSR_INVALID_ARGUMENT,
                        "bad device name '" + n + "' (cuda or cuda:N)");
    tessera::runtime::cuda::Status s =
        tessera::runtime::cuda::Device::open(static_cast<int>(ordinal), gpu);
    if (!s.ok())
      return makeStatus(s.code, s.message);
  } else if (n != "cpu:0") {
    return makeStatus(TSR_NOT_FOUND, "unknown device '" + n +
                                         "' (this runtime has cpu:0 and cuda:N)");
  }
  auto *d = new (std::nothrow) tsr_device_s;
  if (!d)
    return makeStatus(TSR_RESOURCE_EXHAUSTED, "out of memory");
  d->runtime = runtime;
  retain(runtime);
  d->name = n;
  d->cuda = std::move(gpu);
  if (runtime->verbose && d->cuda)
    std::fprintf(stderr, "tessera: %s is %s (sm_%d)\n", n.c_str(),
                 d->cuda->model().c_str(), d->cuda->computeCapability());
  *out_device = d;
  return nullptr;
}
const char *tsr_device_name(tsr_device_t device) {
  return device ? device->name.c_str() : "";
}
void tsr_device_retain(tsr_device_t device) { retain(device); }
void tsr_device_release(tsr_device_t device) { release(device); }

//===----------------------------------------------------------------------===//
// Tensors
//===----------------------------------------------------------------------===//

static bool checkedBytes(tsr_dtype_t dtype, size_t rank, const int64_t *shape,
                         size_t &bytes) {
  artifact::TensorSpec spec;
  spec.dtype = static_cast<artifact::DType>(dtype);
  spec.shape.assign(shape, shape + rank);
  int64_t b = spec.byteSize();
  if (b < 0 || spec.dtype == artifact::DType::Invalid ||
      tsr_dtype_size(dtype) == 0)
    return false;
  bytes = static_cast<size_t>(b);
  return true;
}

tsr_status_t tsr_tensor_create_from_host(tsr_device_t device, tsr_dtype_t dtype,
                                         size_t rank, const int64_t *shape,
                                         const void *data, size_t size_bytes,
                                         tsr_tensor_t *out_tensor) {
  if (!device || !out_tensor || (rank && !shape))
    return makeStatus(TSR_INVALID_ARGUMENT, "device, shape and out_tensor must be set");
  size_t bytes;
  if (!checkedBytes(dtype, rank, shape, bytes))
    return makeStatus(TSR_INVALID_ARGUMENT,
                      "invalid dtype or a negative or overflowing shape");
  if (bytes != size_bytes || (bytes && !data))
    return makeStatus(TSR_INVALID_ARGUMENT,
                      "the data holds " + std::to_string(size_bytes) +
                          " bytes, the shape needs " + std::to_string(bytes));
  auto *t = new (std::nothrow) tsr_tensor_s;
  void *buffer = alignedAlloc(bytes);
  if (!t || !buffer) {
    delete t;
    std::free(buffer);
    return makeStatus(TSR_RESOURCE_EXHAUSTED,
                      "out of memory allocating " + std::to_string(bytes) + " bytes");
  }
  if (bytes)
    std::memcpy(buffer, data, bytes);
  t->device = device;
  retain(device);
  t->dtype = dtype;
  t->shape.assign(shape, shape + rank);
  t->bytes = bytes;
  t->data = buffer;
  *out_tensor = t;
  return nullptr;
}

tsr_dtype_t tsr_tensor_dtype(tsr_tensor_t t) { return t ? t->dtype : TSR_DTYPE_INVALID; }
size_t tsr_tensor_rank(tsr_tensor_t t) { return t ? t->shape.size() : 0; }
const int64_t *tsr_tensor_shape(tsr_tensor_t t) { return t ? t->shape.data() : nullptr; }
size_t tsr_tensor_size_bytes(tsr_tensor_t t) { return t ? t->bytes : 0; }

tsr_status_t tsr_tensor_read(tsr_tensor_t tensor, void *dst, size_t size_bytes) {
  if (!tensor || (size_bytes && !dst))
    return makeStatus(TSR_INVALID_ARGUMENT, "tensor and dst must be set");
  if (size_bytes != tensor->bytes)
    return makeStatus(TSR_INVALID_ARGUMENT,
                      "the tensor holds " + std::to_string(tensor->bytes) +
                          " bytes, the destination " + std::to_string(size_bytes));
  // The CPU device has finished the producing run when run returned.
  if (size_bytes)
    std::memcpy(dst, tensor->data, size_bytes);
  return nullptr;
}
void tsr_tensor_retain(tsr_tensor_t t) { retain(t); }
void tsr_tensor_release(tsr_tensor_t t) { release(t); }

//===----------------------------------------------------------------------===//
// Modules
//===----------------------------------------------------------------------===//

/// Verifies the artifact held by `m` and loads its host code.
static tsr_status_t finishLoad(tsr_module_t m, const std::string &what) {
  std::string error;
  if (!artifact::read(m->bytes, m->size, m->view, error))
    return makeStatus(TSR_DATA_LOSS, what + ": " + error);
  const artifact::Manifest &mf = m->view.manifest;
  if (mf.target != "cpu" && mf.target != "cuda")
    return makeStatus(TSR_FAILED_PRECONDITION,
                      what + ": compiled for target '" + mf.target +
                          "', this runtime runs 'cpu' and 'cuda' artifacts");
  // Everything the manifest says, checked before any of it is used.
  if (!artifact::verify(m->view, error) ||
      !::tessera::runtime::parseMesh(mf, m->mesh, error))
    return makeStatus(TSR_DATA_LOSS, what + ": " + error);
  for (const artifact::TensorSpec &t : mf.inputs)
    m->inputShapes.push_back(t.userShape());
  for (const artifact::TensorSpec &t : mf.outputs)
    m->outputShapes.push_back(t.userShape());

  // Load the shared object from an anonymous in-memory file.
  int fd = memfd_create("tessera-module", MFD_CLOEXEC);
  if (fd < 0)
    return makeStatus(TSR_INTERNAL, what + ": memfd_create failed: " +
                                        std::strerror(errno));
  size_t done = 0;
  while (done < m->view.hostCodeSize) {
    ssize_t n = ::write(fd, m->view.hostCode + done, m->view.hostCodeSize - done);
    if (n <= 0) {
      ::close(fd);
      return makeStatus(TSR_INTERNAL, what + ": cannot stage the host code");
    }
    done += static_cast<size_t>(n);
  }
  std::string path = "/proc/self/fd/" + std::to_string(fd);
  m->library = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  ::close(fd);
  if (!m->library) {
    const char *e = dlerror();
    return makeStatus(TSR_DATA_LOSS, what + ": cannot load the host code: " +
                                         (e ? e : "unknown error"));
  }
  auto *abi = static_cast<const int32_t *>(dlsym(m->library, "tessera_abi_version"));
  m->entry = reinterpret_cast<EntryFn>(dlsym(m->library, "tessera_entry"));
  if (!abi || !m->entry)
    return makeStatus(TSR_DATA_LOSS, what + ": the host code lacks tessera_entry "
                                            "or tessera_abi_version");
  if (*abi != artifact::kHostAbiVersion)
    return makeStatus(TSR_FAILED_PRECONDITION,
                      what + ": the host code has ABI version " + std::to_string(*abi) +
                          ", this runtime runs version " +
                          std::to_string(artifact::kHostAbiVersion) +
                          " (compile the model again)");
  if (!artifact::matchesCode(
          mf, static_cast<const char *>(dlsym(m->library, "tessera_manifest")), error))
    return makeStatus(TSR_DATA_LOSS, what + ": " + error);
  ::tessera::runtime::installCollectiveHooks(m->library);
  // Large kernels split their work over the runtime's threads.
  using ParallelFor = void (*)(void *, int64_t, tessera::runtime::ThreadPool::Task, void *);
  auto *parallelFor = static_cast<ParallelFor *>(dlsym(m->library, "tessera_uk_parallel_for"));
  auto *poolSlot = static_cast<void **>(dlsym(m->library, "tessera_uk_thread_pool"));
  auto *threadCount = static_cast<int64_t *>(dlsym(m->library, "tessera_uk_thread_count"));
  if (parallelFor && poolSlot && threadCount) {
    if (tessera::runtime::ThreadPool *pool = m->runtime->threadPool()) {
      *poolSlot = pool;
      *threadCount = pool->threads();
      *parallelFor = &tessera::runtime::ThreadPool::hook;
    }
  }
  // Their packing buffers come from a buffer per thread (an artifact
  // compiled before the hook existed mallocs them).
  using Scratch = void *(*)(int64_t);
  if (auto *scratch = static_cast<Scratch *>(dlsym(m->library, "tessera_uk_scratch")))
    *scratch = &tessera::runtime::ThreadPool::scratch;
  if (m->runtime->verbose)
    std::fprintf(stderr, "tessera: loaded %s (%zu inputs, %zu outputs, %zu weights)\n",
                 what.c_str(), m->view.manifest.inputs.size(),
                 m->view.manifest.outputs.size(), m->view.manifest.weights.size());
  return nullptr;
}

tsr_status_t tsr_module_load_file(tsr_runtime_t runtime, const char *path,
                                  tsr_module_t *out_module) {
  if (!runtime || !path || !out_module)
    return makeStatus(TSR_INVALID_ARGUMENT, "runtime, path and out_module must be set");
  int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return makeStatus(errno == ENOENT ? TSR_NOT_FOUND : TSR_INVALID_ARGUMENT,
                      std::string(path) + ": " + std::strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return makeStatus(TSR_INVALID_ARGUMENT, std::string(path) + ": not a regular file");
  }
  auto *m = new (std::nothrow) tsr_module_s;
  if (!m) {
    ::close(fd);
    return makeStatus(TSR_RESOURCE_EXHAUSTED, "out of memory");
  }
  m->runtime = runtime;
  retain(runtime);
  m->size = static_cast<size_t>(st.st_size);
  if (m->size > 0) {
    void *p = mmap(nullptr, m->size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      ::close(fd);
      release(m);
      return makeStatus(TSR_INTERNAL, std::string(path) + ": mmap failed: " +
                                          std::strerror(errno));
    }
    m->bytes = static_cast<const char *>(p);
    m->mapped = true;
  }
  ::close(fd);
  if (tsr_status_t s = finishLoad(m, path)) {
    release(m);
    return s;
  }
  *out_module = m;
  return nullptr;
}

tsr_status_t tsr_module_load_memory(tsr_runtime_t runtime, const void *data,
                                    size_t size, tsr_module_t *out_module) {
  if (!runtime || (size && !data) || !out_module)
    return makeStatus(TSR_INVALID_ARGUMENT, "runtime, data and out_module must be set");
  auto *m = new (std::nothrow) tsr_module_s;
  if (!m)
    return makeStatus(TSR_RESOURCE_EXHAUSTED, "out of memory");
  m->runtime = runtime;
  retain(runtime);
  // Page-aligned, so weights keep the alignment the artifact gives them.
  size_t rounded = (size + artifact::kSectionAlignment - 1) /
                   artifact::kSectionAlignment * artifact::kSectionAlignment;
  char *copy = static_cast<char *>(
      std::aligned_alloc(artifact::kSectionAlignment, rounded ? rounded : 4096));
  if (!copy) {
    release(m);
    return makeStatus(TSR_RESOURCE_EXHAUSTED, "out of memory");
  }
  if (size)
    std::memcpy(copy, data, size);
  m->bytes = copy;
  m->size = size;
  if (tsr_status_t s = finishLoad(m, "artifact in memory")) {
    release(m);
    return s;
  }
  *out_module = m;
  return nullptr;
}

size_t tsr_module_num_inputs(tsr_module_t m) { return m ? m->view.manifest.inputs.size() : 0; }
size_t tsr_module_num_outputs(tsr_module_t m) { return m ? m->view.manifest.outputs.size() : 0; }

static tsr_status_t tensorInfo(const std::vector<artifact::TensorSpec> &specs,
                               const std::vector<std::vector<int64_t>> &shapes,
                               size_t index, const char *what,
                               tsr_tensor_info_t *out) {
  if (!out || index >= specs.size())
    return makeStatus(TSR_INVALID_ARGUMENT, std::string(what) + " index " +
                                                std::to_string(index) + " is out of range");
  const artifact::TensorSpec &s = specs[index];
  out->name = s.name.c_str();
  out->dtype = static_cast<tsr_dtype_t>(s.dtype);
  out->rank = shapes[index].size();
  out->shape = shapes[index].data();
  return nullptr;
}
tsr_status_t tsr_module_input_info(tsr_module_t m, size_t i, tsr_tensor_info_t *out) {
  if (!m)
    return makeStatus(TSR_INVALID_ARGUMENT, "module is null");
  return tensorInfo(m->view.manifest.inputs, m->inputShapes, i, "input", out);
}
tsr_status_t tsr_module_output_info(tsr_module_t m, size_t i, tsr_tensor_info_t *out) {
  if (!m)
    return makeStatus(TSR_INVALID_ARGUMENT, "module is null");
  return tensorInfo(m->view.manifest.outputs, m->outputShapes, i, "output", out);
}
const char *tsr_module_target(tsr_module_t m) {
  return m ? m->view.manifest.target.c_str() : "";
}
size_t tsr_module_weight_bytes(tsr_module_t m) {
  size_t n = 0;
  if (m)
    for (const auto &w : m->view.manifest.weights)
      n += w.shards * w.size;
  return n;
}
size_t tsr_module_device_weight_bytes(tsr_module_t m) {
  size_t n = 0;
  if (m)
    for (const auto &w : m->view.manifest.weights)
      n += w.size;
  return n;
}
const char *tsr_module_mesh(tsr_module_t m) {
  return m ? m->view.manifest.mesh.c_str() : "";
}
size_t tsr_module_num_devices(tsr_module_t m) {
  return m ? static_cast<size_t>(m->mesh.ranks()) : 0;
}
void tsr_module_retain(tsr_module_t m) { retain(m); }
void tsr_module_release(tsr_module_t m) { release(m); }

//===----------------------------------------------------------------------===//
// Communicators
//===----------------------------------------------------------------------===//

tsr_status_t tsr_comm_world(tsr_comm_t comm, int32_t *out_rank,
                            int32_t *out_size) {
  if (!out_rank || !out_size)
    return makeStatus(TSR_INVALID_ARGUMENT,
                      "out_rank and out_size must be set");
  *out_rank = 0;
  *out_size = 1;
  if (comm == TSR_COMM_LOCAL)
    return nullptr;
  if (comm == TSR_COMM_NCCL) {
    ::tessera::runtime::ProcessWorld world;
    std::string e = ::tessera::runtime::processWorld(false, world);
    if (!e.empty())
      return makeStatus(TSR_UNAVAILABLE, e);
    *out_rank = world.rank;
    *out_size = world.size;
    return nullptr;
  }
  if (comm != TSR_COMM_MPI)
    return makeStatus(TSR_INVALID_ARGUMENT,
                      "unknown communicator " +
                          std::to_string(static_cast<int>(comm)));
  if (!::tessera::runtime::haveMpi())
    return makeStatus(TSR_UNIMPLEMENTED,
                      "this runtime was built without MPI (install "
                      "libopenmpi-dev and rebuild to use the mpi "
                      "communicator)");
  int rank = 0, size = 1;
  std::string e = ::tessera::runtime::mpiWorld(rank, size);
  if (!e.empty())
    return makeStatus(TSR_UNAVAILABLE, e);
  *out_rank = rank;
  *out_size = size;
  return nullptr;
}

//===----------------------------------------------------------------------===//
// Sessions
//===----------------------------------------------------------------------===//

void tsr_session_options_initialize(tsr_session_options_t *options) {
  std::memset(options, 0, sizeof(*options));
  options->struct_size = sizeof(*options);
}

static std::string describeMesh(tsr_module_t module) {
  if (module->view.manifest.mesh.empty())
    return "one device";
  return "the mesh " + module->view.manifest.mesh + " (" +
         std::to_string(module->mesh.ranks()) + " devices)";
}

/// A session of `module` as this process's rank of the MPI job: the job's
/// rank count must be the module's device count.
static tsr_status_t createMpiSession(tsr_session_t s) {
  int32_t rank = 0, size = 1;
  if (tsr_status_t st = tsr_comm_world(TSR_COMM_MPI, &rank, &size))
    return st;
  tsr_module_t module = s->module;
  if (size != module->mesh.ranks())
    return makeStatus(TSR_INVALID_ARGUMENT,
                      "the module was compiled for " + describeMesh(module) +
                          "; this MPI job has " + std::to_string(size) +
                          (size == 1 ? " rank" : " ranks"));
  std::unique_ptr<::tessera::runtime::Communicator> world;
  std::string e =
      ::tessera::runtime::createMpiCommunicator(s->timeoutMs, world);
  if (!e.empty())
    return makeStatus(TSR_UNAVAILABLE, e);
  s->mpi = std::make_unique<::tessera::runtime::RankComms>(std::move(world),
                                                           module->mesh);
  // The rank reads only its own blocks of the weights. They are copied to
  // private memory (untouched pages of which cost nothing), and the pages
  // of the mapped artifact that verifying it touched are let go: a mapped
  // file's pages come in folios that can span a neighbouring rank's block,
  // so reading the blocks in place kept a few percent of the model more
  // resident per rank.
  if (module->mapped && module->view.weightsSize && module->mesh.ranks() > 1) {
    size_t size = module->view.weightsSize;
    // A memfd named tessera-weights, so /proc/PID/smaps tells how much of
    // it is resident (tessera-run --memory); its untouched pages cost
    // nothing.
    void *p = MAP_FAILED;
    int fd = memfd_create("tessera-weights", MFD_CLOEXEC);
    if (fd >= 0 && ftruncate(fd, static_cast<off_t>(size)) == 0)
      p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd, 0);
    if (fd >= 0)
      close(fd);
    if (p != MAP_FAILED) {
      s->rankWeights = static_cast<char *>(p);
      s->rankWeightsSize = size;
      for (const ::tessera::artifact::WeightSpec &w : module->view.manifest.weights) {
        const char *block = ::tessera::runtime::weightBlock(
            w, module->mesh, module->view.weights, s->mpi->coords());
        std::memcpy(s->rankWeights + (block - module->view.weights), block, w.size);
      }
    }
    uintptr_t begin = reinterpret_cast<uintptr_t>(module->view.weights);
    uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
    uintptr_t first = begin / page * page;
    madvise(reinterpret_cast<void *>(first), begin + size - first, MADV_DONTNEED);
  }
  return nullptr;
}

tsr_status_t tsr_session_create(tsr_module_t module, tsr_device_t device,
                                const tsr_session_options_t *options,
                                tsr_session_t *out_session) {
  if (!module || !device || !out_session)
    return makeStatus(TSR_INVALID_ARGUMENT, "module, device and out_session must be set");
  int timeoutMs = 30000;
  int32_t comm = TSR_COMM_LOCAL;
  // Fields past struct_size (a caller built against an older header) keep
  // their defaults.
  if (options &&
      options->struct_size >= offsetof(tsr_session_options_t, comm)) {
    int64_t devices = module->mesh.ranks();
    if (options->num_devices < 0 ||
        (options->num_devices != 0 && options->num_devices != devices))
      return makeStatus(TSR_INVALID_ARGUMENT,
                        "the module was compiled for " + describeMesh(module) +
                            "; the session asks for " +
                            std::to_string(options->num_devices));
    if (options->collective_timeout_ms < 0)
      return makeStatus(TSR_INVALID_ARGUMENT, "collective_timeout_ms must not be negative");
    if (options->collective_timeout_ms)
      timeoutMs = options->collective_timeout_ms;
  }
  if (options && options->struct_size >= sizeof(tsr_session_options_t)) {
    comm = options->comm;
    if (comm != TSR_COMM_LOCAL && comm != TSR_COMM_MPI && comm != TSR_COMM_NCCL)
      return makeStatus(TSR_INVALID_ARGUMENT,
                        "unknown communicator " + std::to_string(comm) +
                            " (TSR_COMM_LOCAL, TSR_COMM_MPI or TSR_COMM_NCCL)");
  }
  const std::string &target = module->view.manifest.target;
  if (device->cuda && target != "cuda")
    return makeStatus(TSR_FAILED_PRECONDITION,
                      "the module was compiled for target '" + target +
                          "' and cannot run on " + device->name +
                          " (compile it with --target=cuda, or use a cpu "
                          "device)");
  if (!device->cuda && target == "cuda")
    return makeStatus(TSR_FAILED_PRECONDITION,
                      "the module was compiled for target 'cuda' and needs a "
                      "cuda device, not " +
                          device->name);
  if (!device->cuda && comm == TSR_COMM_NCCL)
    return makeStatus(TSR_FAILED_PRECONDITION,
                      "the nccl communicator needs a cuda device, not " +
                          device->name +
                          " (use the mpi communicator between cpu processes)");
  auto *s = new (std::nothrow) tsr_session_s;
  if (!s)
    return makeStatus(TSR_RESOURCE_EXHAUSTED, "out of memory");
  s->module = module;
  s->timeoutMs = timeoutMs;
  retain(module);
  s->device = device;
  retain(device);
  if (device->cuda) {
    ::tessera::runtime::cuda::SessionSetup setup;
    setup.view = &module->view;
    setup.mesh = &module->mesh;
    setup.entry = module->entry;
    setup.device = device->cuda;
    setup.comm = comm;
    setup.timeoutMs = timeoutMs;
    setup.verbose = module->runtime->verbose;
    setup.meshText = describeMesh(module);
    ::tessera::runtime::cuda::Status st =
        ::tessera::runtime::cuda::Session::create(setup, s->cuda);
    if (!st.ok()) {
      release(s);
      return makeStatus(st.code, st.message);
    }
  } else if (comm == TSR_COMM_MPI) {
    if (tsr_status_t st = createMpiSession(s)) {
      release(s);
      return st;
    }
  }
  *out_session = s;
  return nullptr;
}

static std::string describe(tsr_dtype_t dtype, const std::vector<int64_t> &shape) {
  std::string s = tsr_dtype_name(dtype);
  s += "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? "," : "") + std::to_string(shape[i]);
  return s + "]";
}

tsr_status_t tsr_session_run(tsr_session_t session, const tsr_tensor_t *inputs,
                             size_t num_inputs, tsr_tensor_t *out_outputs,
                             size_t num_outputs) {
  if (!session || (num_inputs && !inputs) || (num_outputs && !out_outputs))
    return makeStatus(TSR_INVALID_ARGUMENT, "session, inputs and outputs must be set");
  const artifact::Manifest &mf = session->module->view.manifest;
  if (num_inputs != mf.inputs.size() || num_outputs != mf.outputs.size())
    return makeStatus(TSR_INVALID_ARGUMENT,
                      "the module takes " + std::to_string(mf.inputs.size()) +
                          " inputs and gives " + std::to_string(mf.outputs.size()) +
                          " outputs; got " + std::to_string(num_inputs) + " and " +
                          std::to_string(num_outputs));
  std::vector<void *> buffers;
  buffers.reserve(mf.inputs.size() + mf.weights.size() + mf.outputs.size());
  // What the program reads per input: the caller's data, or for a padded
  // batch a copy with zero rows after it.
  std::vector<const char *> inputData;
  std::vector<std::unique_ptr<char, decltype(&std::free)>> paddedInputs;
  for (size_t i = 0; i < num_inputs; ++i) {
    const artifact::TensorSpec &spec = mf.inputs[i];
    tsr_tensor_t t = inputs[i];
    if (!t)
      return makeStatus(TSR_INVALID_ARGUMENT, "input '" + spec.name + "' is null");
    auto want = static_cast<tsr_dtype_t>(spec.dtype);
    const std::vector<int64_t> &shape = session->module->inputShapes[i];
    if (t->dtype != want || t->shape != shape)
      return makeStatus(TSR_INVALID_ARGUMENT,
                        "input '" + spec.name + "' must be " +
                            describe(want, shape) + ", got " +
                            describe(t->dtype, t->shape));
    if (spec.batch < 0) {
      inputData.push_back(static_cast<const char *>(t->data));
      continue;
    }
    auto bytes = static_cast<size_t>(spec.byteSize());
    paddedInputs.emplace_back(static_cast<char *>(alignedAlloc(bytes)), &std::free);
    char *padded = paddedInputs.back().get();
    if (!padded)
      return makeStatus(TSR_RESOURCE_EXHAUSTED,
                        "out of memory padding input '" + spec.name + "' (" +
                            std::to_string(bytes) + " bytes)");
    std::memcpy(padded, t->data, t->bytes);
    std::memset(padded + t->bytes, 0, bytes - t->bytes);
    inputData.push_back(padded);
  }
  for (const char *data : inputData)
    buffers.push_back(const_cast<char *>(data));
  for (const artifact::WeightSpec &w : mf.weights)
    buffers.push_back(const_cast<char *>(session->module->view.weights + w.offset));
  std::vector<tsr_tensor_t> outs;
  for (size_t o = 0; o < mf.outputs.size(); ++o) {
    const artifact::TensorSpec &spec = mf.outputs[o];
    auto *t = new (std::nothrow) tsr_tensor_s;
    // A padded output is computed whole; the caller's rows come first.
    size_t bytes = static_cast<size_t>(spec.byteSize());
    void *data = alignedAlloc(bytes);
    if (!t || !data) {
      delete t;
      std::free(data);
      for (tsr_tensor_t o : outs)
        release(o);
      return makeStatus(TSR_RESOURCE_EXHAUSTED,
                        "out of memory allocating output '" + spec.name + "' (" +
                            std::to_string(bytes) + " bytes)");
    }
    t->device = session->device;
    retain(session->device);
    t->dtype = static_cast<tsr_dtype_t>(spec.dtype);
    t->shape = session->module->outputShapes[o];
    t->bytes = static_cast<size_t>(spec.userByteSize());
    t->data = data;
    outs.push_back(t);
    buffers.push_back(data);
  }
  tsr_module_t module = session->module;
  if (session->cuda) {
    std::vector<char *> outPtrs;
    for (tsr_tensor_t o : outs)
      outPtrs.push_back(static_cast<char *>(o->data));
    bool holdsOutputs = true;
    ::tessera::runtime::cuda::Status st =
        session->cuda->run(inputData, outPtrs, holdsOutputs);
    for (size_t i = 0; i < num_outputs; ++i) {
      if (!st.ok() || !holdsOutputs) {
        release(outs[i]);
        outs[i] = nullptr;
      }
      out_outputs[i] = st.ok() ? outs[i] : nullptr;
    }
    return st.ok() ? nullptr : makeStatus(st.code, st.message);
  }
  if (!mf.mesh.empty() || session->mpi) {
    ::tessera::runtime::MeshRunArgs run;
    run.manifest = &mf;
    run.mesh = &module->mesh;
    run.entry = module->entry;
    run.weights = session->rankWeights ? session->rankWeights : module->view.weights;
    run.inputs = inputData;
    for (tsr_tensor_t o : outs)
      run.outputs.push_back(static_cast<char *>(o->data));
    run.takeWorkspace = [module] { return module->takeWorkspace(); };
    run.giveBackWorkspace = [module](void *w) { module->giveBackWorkspace(w); };
    run.timeoutMs = session->timeoutMs;
    run.flushDenormals = module->runtime->flushDenormals;
    std::string e;
    if (session->mpi) {
      std::lock_guard<std::mutex> lock(session->mpiRunMutex);
      e = ::tessera::runtime::runProcessRank(run, *session->mpi);
    } else {
      e = ::tessera::runtime::runLocalMesh(run);
    }
    if (!e.empty()) {
      for (tsr_tensor_t o : outs)
        release(o);
      return makeStatus(TSR_UNAVAILABLE, e);
    }
    // Under MPI only rank 0 holds the whole outputs.
    bool holdsOutputs = !session->mpi || session->mpi->rank() == 0;
    for (size_t i = 0; i < num_outputs; ++i) {
      if (!holdsOutputs) {
        release(outs[i]);
        outs[i] = nullptr;
      }
      out_outputs[i] = outs[i];
    }
    return nullptr;
  }
  void *workspace = nullptr;
  if (mf.workspaceBytes) {
    workspace = module->takeWorkspace();
    if (!workspace) {
      for (tsr_tensor_t o : outs)
        release(o);
      return makeStatus(TSR_RESOURCE_EXHAUSTED,
                        "out of memory allocating the workspace (" +
                            std::to_string(mf.workspaceBytes) + " bytes)");
    }
    buffers.push_back(workspace);
  }
  // No communicator: the hooks only record a misplaced launch or gemm.
  ::tessera::runtime::RankContext ctx;
  ctx.flushDenormals = module->runtime->flushDenormals;
  ::tessera::runtime::runAsRank(module->entry, buffers.data(), ctx);
  if (workspace)
    module->giveBackWorkspace(workspace);
  if (!ctx.error.empty()) {
    for (tsr_tensor_t o : outs)
      release(o);
    return makeStatus(ctx.code, ctx.error);
  }
  for (size_t i = 0; i < num_outputs; ++i)
    out_outputs[i] = outs[i];
  return nullptr;
}

size_t tsr_session_num_ranks(tsr_session_t session) {
  if (!session)
    return 0;
  if (session->cuda)
    return session->cuda->numRanks();
  if (session->mpi)
    return 1;
  return static_cast<size_t>(session->module->mesh.ranks());
}

tsr_status_t tsr_session_memory_stats(tsr_session_t session, size_t index,
                                      tsr_memory_stats_t *out_stats) {
  if (!session || !out_stats ||
      out_stats->struct_size < sizeof(tsr_memory_stats_t))
    return makeStatus(TSR_INVALID_ARGUMENT,
                      "session and out_stats must be set, and "
                      "out_stats->struct_size to sizeof(tsr_memory_stats_t)");
  size_t ranks = tsr_session_num_ranks(session);
  if (index >= ranks)
    return makeStatus(TSR_INVALID_ARGUMENT,
                      "rank index " + std::to_string(index) +
                          " is out of range (the session runs " +
                          std::to_string(ranks) + " here)");
  uint32_t size = out_stats->struct_size;
  std::memset(out_stats, 0, sizeof(*out_stats));
  out_stats->struct_size = size;
  if (session->cuda) {
    ::tessera::runtime::cuda::RankMemory m = session->cuda->memory(index);
    out_stats->rank = static_cast<int32_t>(m.rank);
    out_stats->device = m.device;
    out_stats->weight_bytes = m.weights;
    out_stats->workspace_bytes = m.workspace;
    out_stats->device_in_use_bytes = m.deviceStats.inUse;
    out_stats->device_peak_bytes = m.deviceStats.peak;
    out_stats->device_cached_bytes = m.deviceStats.cached;
    return nullptr;
  }
  const artifact::Manifest &mf = session->module->view.manifest;
  out_stats->rank = session->mpi ? static_cast<int32_t>(session->mpi->rank())
                                 : static_cast<int32_t>(index);
  out_stats->device = session->device->name.c_str();
  out_stats->weight_bytes = tsr_module_device_weight_bytes(session->module);
  out_stats->workspace_bytes = mf.workspaceBytes;
  return nullptr;
}
double tsr_session_device_time_ms(tsr_session_t session, size_t index) {
  return session && session->cuda ? session->cuda->lastRunMs(index) : -1;
}
void tsr_session_retain(tsr_session_t s) { retain(s); }
void tsr_session_release(tsr_session_t s) { release(s); }
