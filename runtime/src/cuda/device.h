//===- device.h - A CUDA device: context, stream, memory, kernels -*- C++ -*-===//
//
// One Device per GPU and process, shared by every tsr_device_t and session
// that names it: the device's primary context, one non-blocking stream on
// which all of the runtime's work for it is enqueued (copies, kernels,
// cuBLASLt, NCCL), and a caching allocator.
//
// The allocator rounds a request up to a size class (512 bytes below
// 1 MiB, 2 MiB above) and keeps freed blocks on a free list per class, so
// repeated runs reuse the same memory. Blocks are reused in stream order:
// a block freed while work that uses it is still queued can only be handed
// to later work on the same stream. On CUDA_ERROR_OUT_OF_MEMORY it waits
// for the stream, returns the cached blocks to the driver and tries once
// more before failing with TSR_RESOURCE_EXHAUSTED.
//
// Every call makes the device's context current on the calling thread
// first, so callers need not.
//
//===----------------------------------------------------------------------===//
#ifndef TESSERA_RUNTIME_CUDA_DEVICE_H
#define TESSERA_RUNTIME_CUDA_DEVICE_H

#include "cuda/cuda_api.h"
#include "format_bytes.h"
#include "tessera/runtime.h"

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace tessera::artifact {
struct View;
}

namespace tessera::runtime::cuda {

/// A result: TSR_OK, or a code and a message.
struct Status {
  tsr_status_code_t code = TSR_OK;
  std::string message;
  bool ok() const { return code == TSR_OK; }
  static Status error(tsr_status_code_t code, std::string message) {
    return {code, std::move(message)};
  }
};

using runtime::formatBytes;

struct MemoryStats {
  uint64_t inUse = 0;  // bytes of blocks handed out now (rounded sizes)
  uint64_t peak = 0;   // the most in use at once since the device opened
  uint64_t cached = 0; // bytes on the free lists
};

struct GemmState;
struct GemmStateDeleter {
  void operator()(GemmState *state) const;
};

class Device {
public:
  /// The number of CUDA devices; an error (TSR_NOT_FOUND) when the driver
  /// is missing or has no device.
  static Status count(int &n);
  /// The process's device `ordinal` (opened on first use, closed when the
  /// last reference goes).
  static Status open(int ordinal, std::shared_ptr<Device> &out);
  ~Device();
  Device(const Device &) = delete;
  Device &operator=(const Device &) = delete;

  int ordinal() const { return ordinal_; }
  /// "cuda:0".
  const std::string &name() const { return name_; }
  /// The GPU's model ("NVIDIA H100 80GB HBM3").
  const std::string &model() const { return model_; }
  /// Compute capability, e.g. 90 for sm_90.
  int computeCapability() const { return ccMajor_ * 10 + ccMinor_; }
  const Driver &api() const { return *api_; }
  CUstream stream() const { return stream_; }
  /// Makes the device's primary context current on the calling thread.
  Status makeCurrent() const;

  /// A block of at least `bytes` (`what` names it in an out-of-memory
  /// error: "weight 'fc1.weight'").
  Status allocate(size_t bytes, const std::string &what, CUdeviceptr &out);
  /// Returns a block to the free list of its size class.
  void release(CUdeviceptr block);
  /// Waits for the stream and returns every cached block to the driver.
  void trimCache();
  MemoryStats memory() const;

  /// Copies `bytes` from the host; the host buffer may be reused on return.
  Status upload(CUdeviceptr dst, const void *src, size_t bytes);
  /// Waits for the stream's earlier work, then copies `bytes` to the host.
  Status download(void *dst, CUdeviceptr src, size_t bytes);
  Status zero(CUdeviceptr dst, size_t bytes);
  Status copy(CUdeviceptr dst, CUdeviceptr src, size_t bytes);
  /// Waits for every enqueued operation; a failed kernel (a fault, an
  /// illegal address) is TSR_INTERNAL naming the CUDA error and `what`.
  Status synchronize(const std::string &what);

  /// The device's cuBLASLt state (see gemm.cc); made on first use.
  std::mutex &gemmMutex() { return gemmMutex_; }
  std::unique_ptr<GemmState, GemmStateDeleter> &gemmState() { return gemm_; }

private:
  Device() = default;
  int ordinal_ = 0;
  std::string name_, model_;
  int ccMajor_ = 0, ccMinor_ = 0;
  const Driver *api_ = nullptr;
  CUdevice device_ = 0;
  CUcontext context_ = nullptr;
  CUstream stream_ = nullptr;

  mutable std::mutex memoryMutex_;
  std::map<size_t, std::vector<CUdeviceptr>> freeBlocks_;
  std::unordered_map<CUdeviceptr, size_t> blockSizes_; // blocks handed out
  MemoryStats stats_;

  std::mutex gemmMutex_;
  std::unique_ptr<GemmState, GemmStateDeleter> gemm_;
};

/// A block of device memory, returned to the allocator when destroyed.
class Buffer {
public:
  Buffer() = default;
  Buffer(Device *device, CUdeviceptr ptr, size_t bytes)
      : device_(device), ptr_(ptr), bytes_(bytes) {}
  Buffer(Buffer &&o) noexcept { *this = std::move(o); }
  Buffer &operator=(Buffer &&o) noexcept {
    reset();
    device_ = o.device_;
    ptr_ = o.ptr_;
    bytes_ = o.bytes_;
    o.device_ = nullptr;
    o.ptr_ = 0;
    o.bytes_ = 0;
    return *this;
  }
  ~Buffer() { reset(); }
  void reset() {
    if (device_ && ptr_)
      device_->release(ptr_);
    device_ = nullptr;
    ptr_ = 0;
    bytes_ = 0;
  }
  CUdeviceptr get() const { return ptr_; }
  size_t bytes() const { return bytes_; }
  static Status make(Device &device, size_t bytes, const std::string &what,
                     Buffer &out);

private:
  Device *device_ = nullptr;
  CUdeviceptr ptr_ = 0;
  size_t bytes_ = 0;
};

/// A module's kernels loaded into a device's context.
struct Kernels {
  Device *device = nullptr;
  CUmodule module = nullptr;
  std::vector<std::string> names;
  std::vector<CUfunction> functions;
  std::vector<int> dynamicShared; // the limit each function was raised to
  ~Kernels();
};

/// Loads the artifact's device code into `device`: the cubin when the
/// artifact's gpu-arch is the device's compute capability, else the PTX
/// (JIT-compiled by the driver; its error log goes into the message); then
/// looks up every manifest kernel.
Status loadKernels(Device &device, const artifact::View &view, Kernels &out,
                   bool verbose);

/// Launches kernel `index` of `kernels` on the device's stream with
/// `numArgs` 8-byte parameters.
Status launch(Kernels &kernels, int64_t index, const int64_t grid[3],
              const int64_t block[3], int64_t sharedBytes, const int64_t *args,
              int64_t numArgs);

} // namespace tessera::runtime::cuda

#endif // TESSERA_RUNTIME_CUDA_DEVICE_H
