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

/// Reads a little-endian, C-order .npy file (format 1.0 to 3.0); on failure
/// returns false with a one-line reason in `error`.
bool read(const std::string &path, Array &out, std::string &error);
/// Writes a format 1.0 .npy file.
bool write(const std::string &path, const Array &array, std::string &error);

} // namespace tessera::npy

#endif // TESSERA_TOOLS_TESSERA_RUN_NPY_H
