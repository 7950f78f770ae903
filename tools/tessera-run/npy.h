//===- npy.h - Reading and writing NumPy .npy files -------------*- C++ -*-===//
#ifndef TESSERA_TOOLS_TESSERA_RUN_NPY_H
#define TESSERA_TOOLS_TESSERA_RUN_NPY_H

#include "tessera/runtime.h"

#include <cstdint>
#include <string>
#include <vector>

namespace tessera::npy {

struct Array {
  tsr_dtype_t dtype = TSR_DTYPE_INVALID;
  std::vector<int64_t> shape;
  std::vector<char> data;
};

/// The largest .npy header read (NumPy writes under 100 bytes).
constexpr size_t kMaxHeaderBytes = 1 << 20;

/// Reads a little-endian, C-order .npy file (format 1.0 to 3.0); on failure
/// returns false with a one-line reason in `error`. Only a regular file is
/// read (a directory, FIFO or device is refused without reading), and its
/// size is checked against the header's shape before its data is read.
bool read(const std::string &path, Array &out, std::string &error);

/// A .npy file written under a temporary name beside `path` and renamed to
/// it by commit(), so that a failed write or run never leaves a partial
/// output at `path`. Destroying it uncommitted removes the temporary file.
class PendingFile {
public:
  PendingFile() = default;
  PendingFile(const PendingFile &) = delete;
  PendingFile(PendingFile &&other) noexcept;
  ~PendingFile();
  /// Writes `array` in format 1.0 to the temporary file, then fsyncs it.
  bool write(const std::string &path, const Array &array, std::string &error);
  /// Renames the temporary file to the path given to write().
  bool commit(std::string &error);

private:
  std::string path_, temp_;
};

/// write() then commit().
bool write(const std::string &path, const Array &array, std::string &error);

} // namespace tessera::npy

#endif // TESSERA_TOOLS_TESSERA_RUN_NPY_H
