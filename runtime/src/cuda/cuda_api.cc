//===- cuda_api.cc - Loading the CUDA driver, cuBLASLt and NCCL -----------===//

#include "cuda/cuda_api.h"

#include <atomic>
#include <cstdlib>
#include <mutex>
#include <vector>

#include <dlfcn.h>

namespace tessera::runtime::cuda {

namespace {
/// Opens the first of `sonames` found: in TESSERA_CUDA_LIBRARY_PATH, then
/// through the dynamic loader's search. Null with `error` when none is.
void *openLibrary(const std::vector<const char *> &sonames,
                  std::string &error) {
  const char *dir = std::getenv("TESSERA_CUDA_LIBRARY_PATH");
  for (const char *name : sonames) {
    if (dir && *dir) {
      std::string path = std::string(dir) + "/" + name;
      if (void *h = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL))
        return h;
    }
    if (void *h = dlopen(name, RTLD_NOW | RTLD_LOCAL))
      return h;
  }
  error.clear();
  for (size_t i = 0; i < sonames.size(); ++i)
    error += std::string(i ? (i + 1 == sonames.size() ? " or " : ", ") : "") +
             sonames[i];
  error += " not found";
  return nullptr;
}

/// Resolves `name` into `slot`; false (with `missing` naming it) when the
/// library lacks it.
template <typename F>
bool resolve(void *library, const char *name, F &slot, std::string &missing) {
  slot = reinterpret_cast<F>(dlsym(library, name));
  if (!slot && missing.empty())
    missing = name;
  return slot != nullptr;
}

const char *knownErrorName(CUresult r) {
  switch (r) {
  case CUDA_ERROR_OUT_OF_MEMORY:
    return "CUDA_ERROR_OUT_OF_MEMORY";
  case CUDA_ERROR_NOT_INITIALIZED:
    return "CUDA_ERROR_NOT_INITIALIZED";
  case CUDA_ERROR_STUB_LIBRARY:
    return "CUDA_ERROR_STUB_LIBRARY";
  case CUDA_ERROR_INSUFFICIENT_DRIVER:
    return "CUDA_ERROR_INSUFFICIENT_DRIVER";
  case CUDA_ERROR_NO_DEVICE:
    return "CUDA_ERROR_NO_DEVICE";
  default:
    return nullptr;
  }
}

/// The driver's table once its symbols are resolved (driverError uses it,
/// also while cuInit's failure is being described).
std::atomic<const Driver *> resolvedDriver{nullptr};

/// A library's entry points, resolved once, or why they could not be.
template <typename Api> struct Loaded {
  Api api{};
  bool ok = false;
  std::string error;
  const Api *get(std::string &out) const {
    if (ok)
      return &api;
    out = error;
    return nullptr;
  }
};

Loaded<Driver> &driverState() {
  static Loaded<Driver> state;
  static std::once_flag once;
  std::call_once(once, [] {
    std::string e;
    void *lib = openLibrary({"libcuda.so.1"}, e);
    if (!lib) {
      state.error = e + " (is the NVIDIA driver installed?)";
      return;
    }
    Driver &d = state.api;
    std::string missing;
    resolve(lib, "cuInit", d.cuInit, missing);
    resolve(lib, "cuDriverGetVersion", d.cuDriverGetVersion, missing);
    resolve(lib, "cuGetErrorName", d.cuGetErrorName, missing);
    resolve(lib, "cuGetErrorString", d.cuGetErrorString, missing);
    resolve(lib, "cuDeviceGetCount", d.cuDeviceGetCount, missing);
    resolve(lib, "cuDeviceGet", d.cuDeviceGet, missing);
    resolve(lib, "cuDeviceGetName", d.cuDeviceGetName, missing);
    resolve(lib, "cuDeviceGetAttribute", d.cuDeviceGetAttribute, missing);
    resolve(lib, "cuDeviceTotalMem_v2", d.cuDeviceTotalMem, missing);
    resolve(lib, "cuDevicePrimaryCtxRetain", d.cuDevicePrimaryCtxRetain, missing);
    resolve(lib, "cuDevicePrimaryCtxRelease_v2", d.cuDevicePrimaryCtxRelease,
            missing);
    resolve(lib, "cuCtxSetCurrent", d.cuCtxSetCurrent, missing);
    resolve(lib, "cuStreamCreate", d.cuStreamCreate, missing);
    resolve(lib, "cuStreamDestroy_v2", d.cuStreamDestroy, missing);
    resolve(lib, "cuStreamQuery", d.cuStreamQuery, missing);
    resolve(lib, "cuStreamSynchronize", d.cuStreamSynchronize, missing);
    resolve(lib, "cuEventCreate", d.cuEventCreate, missing);
    resolve(lib, "cuEventDestroy_v2", d.cuEventDestroy, missing);
    resolve(lib, "cuEventRecord", d.cuEventRecord, missing);
    resolve(lib, "cuEventElapsedTime", d.cuEventElapsedTime, missing);
    resolve(lib, "cuMemAlloc_v2", d.cuMemAlloc, missing);
    resolve(lib, "cuMemFree_v2", d.cuMemFree, missing);
    resolve(lib, "cuMemGetInfo_v2", d.cuMemGetInfo, missing);
    resolve(lib, "cuMemcpyHtoDAsync_v2", d.cuMemcpyHtoDAsync, missing);
    resolve(lib, "cuMemcpyDtoHAsync_v2", d.cuMemcpyDtoHAsync, missing);
    resolve(lib, "cuMemcpyDtoDAsync_v2", d.cuMemcpyDtoDAsync, missing);
    resolve(lib, "cuMemcpy2DAsync_v2", d.cuMemcpy2DAsync, missing);
    resolve(lib, "cuMemsetD8Async", d.cuMemsetD8Async, missing);
    resolve(lib, "cuModuleLoadDataEx", d.cuModuleLoadDataEx, missing);
    resolve(lib, "cuModuleUnload", d.cuModuleUnload, missing);
    resolve(lib, "cuModuleGetFunction", d.cuModuleGetFunction, missing);
    resolve(lib, "cuFuncSetAttribute", d.cuFuncSetAttribute, missing);
    resolve(lib, "cuLaunchKernel", d.cuLaunchKernel, missing);
    if (!missing.empty()) {
      state.error = "libcuda.so.1 lacks " + missing +
                    " (the NVIDIA driver is too old)";
      return;
    }
    resolvedDriver.store(&d);
    CUresult r = d.cuInit(0);
    state.ok = r == CUDA_SUCCESS;
    if (r != CUDA_SUCCESS) {
      state.error = driverError("cuInit", r);
      if (r == CUDA_ERROR_STUB_LIBRARY)
        state.error += "; libcuda.so.1 is the CUDA toolkit's stub, the "
                       "NVIDIA driver is not installed";
    }
  });
  return state;
}

} // namespace

const Driver *driver(std::string &error) { return driverState().get(error); }

std::string driverErrorName(CUresult result) {
  const Driver *d = resolvedDriver.load();
  const char *name = nullptr;
  if (d && d->cuGetErrorName(result, &name) == CUDA_SUCCESS && name)
    return name;
  if (const char *known = knownErrorName(result))
    return known;
  return "CUDA error " + std::to_string(result);
}

std::string driverError(const char *call, CUresult result) {
  const Driver *d = resolvedDriver.load();
  std::string text = std::string(call) + ": " + driverErrorName(result);
  const char *what = nullptr;
  if (d && d->cuGetErrorString(result, &what) == CUDA_SUCCESS && what)
    text += std::string(" (") + what + ")";
  return text;
}

const BlasLt *blasLt(std::string &error) {
  static Loaded<BlasLt> state;
  static std::once_flag once;
  std::call_once(once, [] {
    std::string e;
    void *lib = openLibrary({"libcublasLt.so.13", "libcublasLt.so.12"}, e);
    if (!lib) {
      state.error = e + " (install the CUDA toolkit's cuBLAS, e.g. the "
                        "libcublas-13 package, or point "
                        "TESSERA_CUDA_LIBRARY_PATH at its directory)";
      return;
    }
    BlasLt &b = state.api;
    std::string missing;
    resolve(lib, "cublasLtCreate", b.cublasLtCreate, missing);
    resolve(lib, "cublasLtDestroy", b.cublasLtDestroy, missing);
    resolve(lib, "cublasLtGetStatusName", b.cublasLtGetStatusName, missing);
    resolve(lib, "cublasLtGetStatusString", b.cublasLtGetStatusString, missing);
    resolve(lib, "cublasLtMatmulDescCreate", b.cublasLtMatmulDescCreate, missing);
    resolve(lib, "cublasLtMatmulDescDestroy", b.cublasLtMatmulDescDestroy, missing);
    resolve(lib, "cublasLtMatmulDescSetAttribute",
            b.cublasLtMatmulDescSetAttribute, missing);
    resolve(lib, "cublasLtMatrixLayoutCreate", b.cublasLtMatrixLayoutCreate,
            missing);
    resolve(lib, "cublasLtMatrixLayoutDestroy", b.cublasLtMatrixLayoutDestroy,
            missing);
    resolve(lib, "cublasLtMatrixLayoutSetAttribute",
            b.cublasLtMatrixLayoutSetAttribute, missing);
    resolve(lib, "cublasLtMatmulPreferenceCreate",
            b.cublasLtMatmulPreferenceCreate, missing);
    resolve(lib, "cublasLtMatmulPreferenceDestroy",
            b.cublasLtMatmulPreferenceDestroy, missing);
    resolve(lib, "cublasLtMatmulPreferenceSetAttribute",
            b.cublasLtMatmulPreferenceSetAttribute, missing);
    resolve(lib, "cublasLtMatmulAlgoGetHeuristic",
            b.cublasLtMatmulAlgoGetHeuristic, missing);
    resolve(lib, "cublasLtMatmul", b.cublasLtMatmul, missing);
    if (!missing.empty()) {
      state.error = "libcublasLt lacks " + missing;
      return;
    }
    state.ok = true;
  });
  return state.get(error);
}

std::string blasError(const char *call, cublasStatus_t status) {
  std::string e;
  const BlasLt *b = blasLt(e);
  std::string text = std::string(call) + ": ";
  if (!b)
    return text + "cuBLAS status " + std::to_string(status);
  const char *name = b->cublasLtGetStatusName(status);
  const char *what = b->cublasLtGetStatusString(status);
  text += name ? std::string(name) : "cuBLAS status " + std::to_string(status);
  if (what)
    text += std::string(" (") + what + ")";
  return text;
}

const Nccl *nccl(std::string &error) {
  static Loaded<Nccl> state;
  static std::once_flag once;
  std::call_once(once, [] {
    std::string e;
    void *lib = openLibrary({"libnccl.so.2"}, e);
    if (!lib) {
      state.error = e + " (install NCCL, e.g. the libnccl2 package, or point "
                        "TESSERA_CUDA_LIBRARY_PATH at its directory)";
      return;
    }
    Nccl &n = state.api;
    std::string missing;
    resolve(lib, "ncclGetVersion", n.ncclGetVersion, missing);
    resolve(lib, "ncclGetUniqueId", n.ncclGetUniqueId, missing);
    resolve(lib, "ncclCommInitRankConfig", n.ncclCommInitRankConfig, missing);
    resolve(lib, "ncclCommFinalize", n.ncclCommFinalize, missing);
    resolve(lib, "ncclCommDestroy", n.ncclCommDestroy, missing);
    resolve(lib, "ncclCommAbort", n.ncclCommAbort, missing);
    resolve(lib, "ncclCommGetAsyncError", n.ncclCommGetAsyncError, missing);
    resolve(lib, "ncclCommUserRank", n.ncclCommUserRank, missing);
    resolve(lib, "ncclCommCount", n.ncclCommCount, missing);
    resolve(lib, "ncclGetErrorString", n.ncclGetErrorString, missing);
    resolve(lib, "ncclGetLastError", n.ncclGetLastError, missing);
    resolve(lib, "ncclAllReduce", n.ncclAllReduce, missing);
    resolve(lib, "ncclAllGather", n.ncclAllGather, missing);
    resolve(lib, "ncclReduceScatter", n.ncclReduceScatter, missing);
    resolve(lib, "ncclBroadcast", n.ncclBroadcast, missing);
    resolve(lib, "ncclSend", n.ncclSend, missing);
    resolve(lib, "ncclRecv", n.ncclRecv, missing);
    resolve(lib, "ncclGroupStart", n.ncclGroupStart, missing);
    resolve(lib, "ncclGroupEnd", n.ncclGroupEnd, missing);
    if (!missing.empty()) {
      state.error = "libnccl.so.2 lacks " + missing +
                    " (Tessera needs NCCL 2.18 or newer)";
      return;
    }
    // Optional: ncclCommSplit (2.18).
    n.ncclCommSplit = reinterpret_cast<decltype(n.ncclCommSplit)>(
        dlsym(lib, "ncclCommSplit"));
    state.ok = true;
  });
  return state.get(error);
}

} // namespace tessera::runtime::cuda
