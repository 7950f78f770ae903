//===- format_bytes.h - Byte counts for people ------------------*- C++ -*-===//
//
// "512 bytes", "64.0 MiB": the runtime's messages and tessera-run's lines.
//
//===----------------------------------------------------------------------===//
#ifndef TESSERA_RUNTIME_FORMAT_BYTES_H
#define TESSERA_RUNTIME_FORMAT_BYTES_H

#include <cstdint>
#include <cstdio>
#include <string>

namespace tessera::runtime {

inline std::string formatBytes(uint64_t bytes) {
  if (bytes < 1024)
    return std::to_string(bytes) + " bytes";
  const char *units[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  double v = static_cast<double>(bytes) / 1024.0;
  int u = 0;
  while (v >= 1024.0 && u < 5) {
    v /= 1024.0;
    ++u;
  }
  char text[64];
  std::snprintf(text, sizeof(text), "%.1f %s", v, units[u]);
  return text;
}

} // namespace tessera::runtime

#endif // TESSERA_RUNTIME_FORMAT_BYTES_H
