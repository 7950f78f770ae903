//===- sharding.cc - Meshes and tensor shardings, without MLIR ------------===//

#include "sharding.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <sstream>

namespace tessera::sharding {

int64_t Mesh::ranks() const {
  int64_t n = 1;
  for (int64_t s : sizes)
    n *= s;
  return n;
}

std::vector<int64_t> Mesh::coords(int64_t rank) const {
  std::vector<int64_t> c(sizes.size());
  for (size_t i = sizes.size(); i-- > 0;) {
    c[i] = rank % sizes[i];
    rank /= sizes[i];
  }
  return c;
}

std::string Mesh::format() const {
  std::string s;
  for (size_t i = 0; i < names.size(); ++i)
    s += (i ? "," : "") + names[i] + "=" + std::to_string(sizes[i]);
  return s;
}

int Mesh::axis(const std::string &name) const {
  for (size_t i = 0; i < names.size(); ++i)
    if (names[i] == name)
      return static_cast<int>(i);
  return -1;
}

bool Mesh::parse(const std::string &text, std::string &error) {
  names.clear();
  sizes.clear();
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    size_t eq = item.find('=');
    std::string name = item.substr(0, eq);
    if (eq == std::string::npos || name.empty()) {
      error = "expected NAME=SIZE, got '" + item + "'";
      return false;
    }
    for (char ch : name)
      if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '_')) {
        error = "axis name '" + name + "' must be letters, digits or _";
        return false;
      }
    if (axis(name) >= 0) {
      error = "axis '" + name + "' is given twice";
      return false;
    }
    std::string size = item.substr(eq + 1);
    char *end = nullptr;
    long long v = std::strtoll(size.c_str(), &end, 10);
    if (size.empty() || *end || v < 1 || v > 4096) {
      error = "axis '" + name + "' needs a size from 1 to 4096, got '" + size + "'";
      return false;
    }
    names.push_back(name);
    sizes.push_back(v);
  }
  if (names.empty()) {
    error = "the mesh has no axes";
    return false;
  }
  if (ranks() > 4096) {
    error = "the mesh has " + std::to_string(ranks()) + " devices; at most 4096";
    return false;
  }
  return true;
}

bool isReplicated(const Split &split) {
  return std::all_of(split.begin(), split.end(),
                     [](const std::vector<int> &a) { return a.empty(); });
}

std::string formatSplit(const Split &split) {
  if (isReplicated(split))
    return "";
  std::string s;
  for (size_t d = 0; d < split.size(); ++d) {
    if (d)
      s += ",";
    if (split[d].empty())
      s += "-";
    for (size_t i = 0; i < split[d].size(); ++i)
      s += (i ? "+" : "") + std::to_string(split[d][i]);
  }
  return s;
}

bool parseSplit(const std::string &text, size_t rank, const Mesh &mesh,
                Split &split, std::string &error) {
  split.assign(rank, {});
  if (text.empty())
    return true;
  std::vector<std::string> dims;
  std::stringstream ss(text);
  for (std::string d; std::getline(ss, d, ',');)
    dims.push_back(d);
  if (dims.size() != rank) {
    error = "split '" + text + "' does not have " + std::to_string(rank) + " dimensions";
    return false;
  }
  std::vector<bool> used(mesh.sizes.size(), false);
  for (size_t d = 0; d < rank; ++d) {
    if (dims[d] == "-")
      continue;
    std::stringstream as(dims[d]);
    for (std::string a; std::getline(as, a, '+');) {
      char *end = nullptr;
      long v = std::strtol(a.c_str(), &end, 10);
      if (a.empty() || *end || v < 0 || v >= static_cast<long>(mesh.sizes.size()) ||
          used[v]) {
        error = "split '" + text + "' names a bad or repeated mesh axis";
        return false;
      }
      used[v] = true;
      split[d].push_back(static_cast<int>(v));
    }
  }
  return true;
}

bool localShape(const std::vector<int64_t> &global, const Split &split,
                const Mesh &mesh, std::vector<int64_t> &local,
                std::string &error) {
  local = global;
  for (size_t d = 0; d < global.size() && d < split.size(); ++d) {
    int64_t parts = 1;
    for (int a : split[d])
      parts *= mesh.sizes[a];
    if (global[d] % parts != 0) {
      error = "dimension " + std::to_string(d) + " (" + std::to_string(global[d]) +
              ") is not divisible by the " + std::to_string(parts) +
              " devices splitting it";
      return false;
    }
    local[d] = global[d] / parts;
  }
  return true;
}

std::vector<int64_t> shardOffsets(const std::vector<int64_t> &local,
                                  const Split &split, const Mesh &mesh,
                                  const std::vector<int64_t> &coords) {
  std::vector<int64_t> offsets(local.size(), 0);
  for (size_t d = 0; d < local.size() && d < split.size(); ++d) {
    int64_t block = 0;
    for (int a : split[d])
      block = block * mesh.sizes[a] + coords[a];
    offsets[d] = block * local[d];
  }
  return offsets;
}

namespace {
std::vector<int> axesInOrder(const Split &split) {
  std::vector<int> axes;
  for (const auto &dim : split)
    for (int a : dim)
      axes.push_back(a);
  return axes;
}
} // namespace

int64_t shardCount(const Split &split, const Mesh &mesh) {
  int64_t n = 1;
  for (int a : axesInOrder(split))
    n *= mesh.sizes[a];
  return n;
}

int64_t shardIndex(const Split &split, const Mesh &mesh,
                   const std::vector<int64_t> &coords) {
  int64_t index = 0;
  for (int a : axesInOrder(split))
    index = index * mesh.sizes[a] + coords[a];
  return index;
}

std::vector<int64_t> shardCoords(const Split &split, const Mesh &mesh,
                                 int64_t index) {
  std::vector<int64_t> coords(mesh.sizes.size(), 0);
  std::vector<int> axes = axesInOrder(split);
  for (size_t i = axes.size(); i-- > 0;) {
    coords[axes[i]] = index % mesh.sizes[axes[i]];
    index /= mesh.sizes[axes[i]];
  }
  return coords;
}

void copyBlock(char *global, char *local,
               const std::vector<int64_t> &globalShape,
               const std::vector<int64_t> &localShape,
               const std::vector<int64_t> &offsets, size_t elementSize,
               bool toLocal) {
  size_t rank = globalShape.size();
  for (int64_t d : localShape)
    if (d == 0)
      return;
  if (rank == 0) {
    if (toLocal)
      std::memcpy(local, global, elementSize);
    else
      std::memcpy(global, local, elementSize);
    return;
  }
  // Strides in elements; rows of the innermost dimension are contiguous.
  std::vector<int64_t> gStride(rank, 1), lStride(rank, 1);
  for (size_t d = rank - 1; d-- > 0;) {
    gStride[d] = gStride[d + 1] * globalShape[d + 1];
    lStride[d] = lStride[d + 1] * localShape[d + 1];
  }
  size_t row = static_cast<size_t>(localShape[rank - 1]) * elementSize;
  std::vector<int64_t> index(rank, 0);
  for (;;) {
    int64_t g = 0, l = 0;
    for (size_t d = 0; d < rank; ++d) {
      g += (index[d] + offsets[d]) * gStride[d];
      l += index[d] * lStride[d];
    }
    if (toLocal)
      std::memcpy(local + l * elementSize, global + g * elementSize, row);
    else
      std::memcpy(global + g * elementSize, local + l * elementSize, row);
    size_t d = rank - 1;
    for (;;) {
      if (d == 0)
        return;
      --d;
      if (++index[d] < localShape[d])
        break;
      index[d] = 0;
    }
  }
}

} // namespace tessera::sharding
