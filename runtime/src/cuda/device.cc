//===- device.cc - A CUDA device: context, stream, memory, kernels --------===//

#include "cuda/device.h"

#include "artifact.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace tessera::runtime::cuda {

namespace {
constexpr size_t kSmallClass = 512;
constexpr size_t kLargeClass = size_t(2) << 20;
constexpr size_t kLargeFrom = size_t(1) << 20;

/// The size class of a request; 0 when it cannot be rounded.
size_t sizeClass(size_t bytes) {
  if (bytes == 0)
    return kSmallClass;
  size_t unit = bytes <= kLargeFrom ? kSmallClass : kLargeClass;
  if (bytes > SIZE_MAX - unit)
    return 0;
  return (bytes + unit - 1) / unit * unit;
}

Status noDevice(const std::string &why) {
  return Status::error(TSR_NOT_FOUND, "no CUDA device: " + why);
}

Status cudaFailure(const Device &d, const char *call, CUresult r) {
  return Status::error(TSR_INTERNAL, d.name() + ": " + driverError(call, r));
}

std::mutex &registryMutex() {
  static std::mutex m;
  return m;
}
std::map<int, std::weak_ptr<Device>> &registry() {
  static auto *r = new std::map<int, std::weak_ptr<Device>>; // never freed
  return *r;
}
} // namespace

Status Device::count(int &n) {
  n = 0;
  std::string e;
  const Driver *api = driver(e);
  if (!api)
    return noDevice(e);
  CUresult r = api->cuDeviceGetCount(&n);
  if (r != CUDA_SUCCESS)
    return noDevice(driverError("cuDeviceGetCount", r));
  if (n == 0)
    return noDevice("the NVIDIA driver sees no GPU");
  return {};
}

Status Device::open(int ordinal, std::shared_ptr<Device> &out) {
  int n = 0;
  Status s = count(n);
  if (!s.ok())
    return s;
  if (ordinal < 0 || ordinal >= n)
    return Status::error(TSR_NOT_FOUND,
                         "no CUDA device cuda:" + std::to_string(ordinal) +
                             " (this machine has " + std::to_string(n) +
                             (n == 1 ? ": cuda:0)"
                                     : ": cuda:0 to cuda:" +
                                           std::to_string(n - 1) + ")"));
  std::lock_guard<std::mutex> lock(registryMutex());
  if (std::shared_ptr<Device> d = registry()[ordinal].lock()) {
    out = d;
    return {};
  }
  std::string e;
  std::shared_ptr<Device> d(new Device);
  d->api_ = driver(e);
  d->ordinal_ = ordinal;
  d->name_ = "cuda:" + std::to_string(ordinal);
  const Driver &api = *d->api_;
  CUresult r = api.cuDeviceGet(&d->device_, ordinal);
  if (r != CUDA_SUCCESS)
    return cudaFailure(*d, "cuDeviceGet", r);
  char model[256] = {0};
  if (api.cuDeviceGetName(model, sizeof(model) - 1, d->device_) == CUDA_SUCCESS)
    d->model_ = model;
  api.cuDeviceGetAttribute(&d->ccMajor_, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR,
                           d->device_);
  api.cuDeviceGetAttribute(&d->ccMinor_, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR,
                           d->device_);
  r = api.cuDevicePrimaryCtxRetain(&d->context_, d->device_);
  if (r != CUDA_SUCCESS) {
    d->context_ = nullptr;
    return Status::error(TSR_UNAVAILABLE,
                         d->name_ + ": " +
                             driverError("cuDevicePrimaryCtxRetain", r));
  }
  if ((r = api.cuCtxSetCurrent(d->context_)) != CUDA_SUCCESS)
    return cudaFailure(*d, "cuCtxSetCurrent", r);
  if ((r = api.cuStreamCreate(&d->stream_, CU_STREAM_NON_BLOCKING)) !=
      CUDA_SUCCESS) {
    d->stream_ = nullptr;
    return cudaFailure(*d, "cuStreamCreate", r);
  }
  registry()[ordinal] = d;
  out = d;
  return {};
}

Device::~Device() {
  if (!api_ || !context_)
    return;
  api_->cuCtxSetCurrent(context_);
  if (stream_)
    api_->cuStreamSynchronize(stream_);
  gemm_.reset();
  for (auto &entry : freeBlocks_)
    for (CUdeviceptr p : entry.second)
      api_->cuMemFree(p);
  for (auto &entry : blockSizes_) // leaked by a caller; the context owns them
    api_->cuMemFree(entry.first);
  if (stream_)
    api_->cuStreamDestroy(stream_);
  api_->cuDevicePrimaryCtxRelease(device_);
}

Status Device::makeCurrent() const {
  CUresult r = api_->cuCtxSetCurrent(context_);
  if (r != CUDA_SUCCESS)
    return cudaFailure(*this, "cuCtxSetCurrent", r);
  return {};
}

Status Device::allocate(size_t bytes, const std::string &what,
                        CUdeviceptr &out) {
  out = 0;
  size_t rounded = sizeClass(bytes);
  auto oom = [&](uint64_t inUse) {
    return Status::error(TSR_RESOURCE_EXHAUSTED,
                         name_ + ": out of memory allocating " + what + " (" +
                             formatBytes(bytes) + "; " + formatBytes(inUse) +
                             " in use)");
  };
  {
    std::lock_guard<std::mutex> lock(memoryMutex_);
    if (!rounded)
      return oom(stats_.inUse);
    auto it = freeBlocks_.find(rounded);
    if (it != freeBlocks_.end() && !it->second.empty()) {
      out = it->second.back();
      it->second.pop_back();
      stats_.cached -= rounded;
    }
  }
  if (!out) {
    Status s = makeCurrent();
    if (!s.ok())
      return s;
    CUresult r = api_->cuMemAlloc(&out, rounded);
    if (r == CUDA_ERROR_OUT_OF_MEMORY) {
      trimCache();
      r = api_->cuMemAlloc(&out, rounded);
    }
    if (r == CUDA_ERROR_OUT_OF_MEMORY) {
      std::lock_guard<std::mutex> lock(memoryMutex_);
      return oom(stats_.inUse);
    }
    if (r != CUDA_SUCCESS)
      return Status::error(TSR_INTERNAL,
                           name_ + ": allocating " + what + " (" +
                               formatBytes(bytes) +
                               "): " + driverError("cuMemAlloc", r));
  }
  std::lock_guard<std::mutex> lock(memoryMutex_);
  blockSizes_[out] = rounded;
  stats_.inUse += rounded;
  if (stats_.inUse > stats_.peak)
    stats_.peak = stats_.inUse;
  return {};
}

void Device::release(CUdeviceptr block) {
  std::lock_guard<std::mutex> lock(memoryMutex_);
  auto it = blockSizes_.find(block);
  if (it == blockSizes_.end())
    return;
  size_t rounded = it->second;
  blockSizes_.erase(it);
  stats_.inUse -= rounded;
  stats_.cached += rounded;
  freeBlocks_[rounded].push_back(block);
}

void Device::trimCache() {
  if (!makeCurrent().ok())
    return;
  // A cached block may still be read by queued work.
  api_->cuStreamSynchronize(stream_);
  std::lock_guard<std::mutex> lock(memoryMutex_);
  for (auto &entry : freeBlocks_)
    for (CUdeviceptr p : entry.second)
      api_->cuMemFree(p);
  freeBlocks_.clear();
  stats_.cached = 0;
}

MemoryStats Device::memory() const {
  std::lock_guard<std::mutex> lock(memoryMutex_);
  return stats_;
}

Status Device::upload(CUdeviceptr dst, const void *src, size_t bytes) {
  if (!bytes)
    return {};
  Status s = makeCurrent();
  if (!s.ok())
    return s;
  // From pageable memory the driver stages the bytes before returning.
  CUresult r = api_->cuMemcpyHtoDAsync(dst, src, bytes, stream_);
  if (r != CUDA_SUCCESS)
    return cudaFailure(*this, "cuMemcpyHtoDAsync", r);
  return {};
}

Status Device::download(void *dst, CUdeviceptr src, size_t bytes) {
  if (!bytes)
    return {};
  Status s = makeCurrent();
  if (!s.ok())
    return s;
  CUresult r = api_->cuMemcpyDtoHAsync(dst, src, bytes, stream_);
  if (r == CUDA_SUCCESS)
    r = api_->cuStreamSynchronize(stream_);
  if (r != CUDA_SUCCESS)
    return cudaFailure(*this, "cuMemcpyDtoHAsync", r);
  return {};
}

Status Device::zero(CUdeviceptr dst, size_t bytes) {
  if (!bytes)
    return {};
  Status s = makeCurrent();
  if (!s.ok())
    return s;
  CUresult r = api_->cuMemsetD8Async(dst, 0, bytes, stream_);
  if (r != CUDA_SUCCESS)
    return cudaFailure(*this, "cuMemsetD8Async", r);
  return {};
}

Status Device::copy(CUdeviceptr dst, CUdeviceptr src, size_t bytes) {
  if (!bytes || dst == src)
    return {};
  Status s = makeCurrent();
  if (!s.ok())
    return s;
  CUresult r = api_->cuMemcpyDtoDAsync(dst, src, bytes, stream_);
  if (r != CUDA_SUCCESS)
    return cudaFailure(*this, "cuMemcpyDtoDAsync", r);
  return {};
}

Status Device::synchronize(const std::string &what) {
  Status s = makeCurrent();
  if (!s.ok())
    return s;
  CUresult r = api_->cuStreamSynchronize(stream_);
  if (r != CUDA_SUCCESS)
    return Status::error(TSR_INTERNAL, name_ + ": " + what + " failed: " +
                                           driverError("cuStreamSynchronize", r));
  return {};
}

Status Buffer::make(Device &device, size_t bytes, const std::string &what,
                    Buffer &out) {
  CUdeviceptr p = 0;
  Status s = device.allocate(bytes, what, p);
  if (!s.ok())
    return s;
  out = Buffer(&device, p, bytes);
  return {};
}

//===----------------------------------------------------------------------===//
// Kernels
//===----------------------------------------------------------------------===//

Kernels::~Kernels() {
  if (device && module) {
    device->makeCurrent();
    device->api().cuModuleUnload(module);
  }
}

namespace {
/// The compute capability of "sm_90" / "sm_90a" (90); -1 if not one.
int archNumber(const std::string &arch) {
  if (arch.rfind("sm_", 0) != 0)
    return -1;
  int n = 0;
  size_t i = 3;
  for (; i < arch.size() && arch[i] >= '0' && arch[i] <= '9'; ++i)
    n = n * 10 + (arch[i] - '0');
  return i == 3 ? -1 : n;
}

/// Loads `image` (a cubin, or NUL-terminated PTX) with the JIT's logs
/// captured into `log`.
CUresult loadImage(const Driver &api, const void *image, CUmodule &module,
                   std::string &log) {
  static constexpr size_t kLogBytes = 16384;
  std::vector<char> errors(kLogBytes, 0), info(kLogBytes, 0);
  int options[] = {CU_JIT_ERROR_LOG_BUFFER, CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES,
                   CU_JIT_INFO_LOG_BUFFER, CU_JIT_INFO_LOG_BUFFER_SIZE_BYTES};
  void *values[] = {errors.data(), reinterpret_cast<void *>(kLogBytes - 1),
                    info.data(), reinterpret_cast<void *>(kLogBytes - 1)};
  CUresult r = api.cuModuleLoadDataEx(&module, image, 4, options, values);
  log = errors.data();
  while (!log.empty() && (log.back() == '\n' || log.back() == ' '))
    log.pop_back();
  return r;
}
} // namespace

Status loadKernels(Device &device, const artifact::View &view, Kernels &out,
                   bool verbose) {
  const artifact::Manifest &mf = view.manifest;
  Status s = device.makeCurrent();
  if (!s.ok())
    return s;
  out.device = &device;
  const Driver &api = device.api();
  int cc = device.computeCapability();
  std::string deviceArch = "sm_" + std::to_string(cc);
  std::string log, cubinError;
  if (view.deviceBinarySize && archNumber(mf.gpuArch) == cc) {
    CUresult r = loadImage(api, view.deviceBinary, out.module, log);
    if (r != CUDA_SUCCESS) {
      out.module = nullptr;
      cubinError = driverError("cuModuleLoadDataEx", r);
    } else if (verbose) {
      std::fprintf(stderr, "tessera: %s: loaded the %s cubin\n",
                   device.name().c_str(), mf.gpuArch.c_str());
    }
  }
  if (!out.module && view.deviceCodeSize) {
    std::string ptx(view.deviceCode, view.deviceCodeSize); // NUL-terminated
    CUresult r = loadImage(api, ptx.c_str(), out.module, log);
    if (r != CUDA_SUCCESS) {
      out.module = nullptr;
      return Status::error(
          TSR_FAILED_PRECONDITION,
          device.name() + ": the driver cannot compile the artifact's PTX for " +
              deviceArch + " (" + device.model() +
              "): " + driverError("cuModuleLoadDataEx", r) +
              (log.empty() ? "" : ": " + log));
    }
    if (verbose)
      std::fprintf(stderr, "tessera: %s: JIT-compiled the PTX for %s\n",
                   device.name().c_str(), deviceArch.c_str());
  }
  if (!out.module) {
    if (mf.kernels.empty())
      return {}; // host code that only calls cuBLASLt and collectives
    std::string why =
        view.deviceBinarySize
            ? (cubinError.empty()
                   ? "its cubin is for " + mf.gpuArch + ", the device is " +
                         deviceArch
                   : "its " + mf.gpuArch + " cubin does not load: " + cubinError)
            : "it has no device code";
    return Status::error(TSR_FAILED_PRECONDITION,
                         device.name() + ": cannot load the artifact's kernels: " +
                             why + (view.deviceCodeSize ? "" : " and no PTX"));
  }
  for (const std::string &name : mf.kernels) {
    CUfunction f = nullptr;
    CUresult r = api.cuModuleGetFunction(&f, out.module, name.c_str());
    if (r != CUDA_SUCCESS)
      return Status::error(TSR_DATA_LOSS,
                           device.name() + ": the artifact's device code lacks kernel '" +
                               name + "': " +
                               driverError("cuModuleGetFunction", r));
    out.names.push_back(name);
    out.functions.push_back(f);
    out.dynamicShared.push_back(0);
  }
  return {};
}

Status launch(Kernels &kernels, int64_t index, const int64_t grid[3],
              const int64_t block[3], int64_t sharedBytes, const int64_t *args,
              int64_t numArgs) {
  Device &device = *kernels.device;
  if (index < 0 || static_cast<size_t>(index) >= kernels.functions.size())
    return Status::error(TSR_DATA_LOSS,
                         device.name() + ": launch of kernel " +
                             std::to_string(index) + ", the artifact has " +
                             std::to_string(kernels.functions.size()));
  const std::string &name = kernels.names[index];
  for (int i = 0; i < 3; ++i)
    if (grid[i] < 1 || grid[i] > INT32_MAX || block[i] < 1 ||
        block[i] > INT32_MAX)
      return Status::error(TSR_INTERNAL, device.name() + ": kernel '" + name +
                                             "' launched with an empty or "
                                             "oversized grid or block");
  if (sharedBytes < 0 || sharedBytes > INT32_MAX || numArgs < 0 ||
      (numArgs && !args))
    return Status::error(TSR_INTERNAL, device.name() + ": kernel '" + name +
                                           "' launched with bad arguments");
  Status s = device.makeCurrent();
  if (!s.ok())
    return s;
  const Driver &api = device.api();
  CUfunction f = kernels.functions[index];
  // Above 48 KiB a kernel must opt in to its dynamic shared memory.
  if (sharedBytes > 48 * 1024 && kernels.dynamicShared[index] < sharedBytes) {
    CUresult r = api.cuFuncSetAttribute(
        f, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
        static_cast<int>(sharedBytes));
    if (r != CUDA_SUCCESS)
      return Status::error(TSR_INTERNAL,
                           device.name() + ": kernel '" + name + "' asks for " +
                               std::to_string(sharedBytes) +
                               " bytes of shared memory: " +
                               driverError("cuFuncSetAttribute", r));
    kernels.dynamicShared[index] = static_cast<int>(sharedBytes);
  }
  std::vector<void *> params(static_cast<size_t>(numArgs));
  for (int64_t i = 0; i < numArgs; ++i)
    params[i] = const_cast<int64_t *>(&args[i]);
  CUresult r = api.cuLaunchKernel(
      f, static_cast<unsigned>(grid[0]), static_cast<unsigned>(grid[1]),
      static_cast<unsigned>(grid[2]), static_cast<unsigned>(block[0]),
      static_cast<unsigned>(block[1]), static_cast<unsigned>(block[2]),
      static_cast<unsigned>(sharedBytes), device.stream(),
      params.empty() ? nullptr : params.data(), nullptr);
  if (r != CUDA_SUCCESS)
    return Status::error(TSR_INTERNAL, device.name() + ": launching kernel '" +
                                           name + "': " +
                                           driverError("cuLaunchKernel", r));
  return {};
}

} // namespace tessera::runtime::cuda
