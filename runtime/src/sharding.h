//===- sharding.h - Meshes and tensor shardings, without MLIR ---*- C++ -*-===//
//
// Shared by the compiler (slicing weights into per-rank shards, writing the
// manifest) and the runtime (slicing inputs, assembling outputs, finding a
// rank's weight shard). The conventions are the upstream `shard` dialect's:
// ranks are numbered row-major over the mesh (the last axis fastest); a
// tensor dimension split over axes [a, b] is cut into size(a) * size(b)
// blocks, block index coord(a) * size(b) + coord(b).
//
//===----------------------------------------------------------------------===//
#ifndef TESSERA_RUNTIME_SHARDING_H
#define TESSERA_RUNTIME_SHARDING_H

#include <cstdint>
#include <string>
#include <vector>

namespace tessera::sharding {

struct Mesh {
  std::vector<std::string> names;
  std::vector<int64_t> sizes;

  int64_t ranks() const;
  /// The coordinates of `rank`, one per axis.
  std::vector<int64_t> coords(int64_t rank) const;
  /// "dp=2,tp=2"; "" for no mesh.
  std::string format() const;
  /// Parses "dp=2,tp=4"; on failure returns false and sets `error`.
  bool parse(const std::string &text, std::string &error);
  /// The index of the axis `name`, or -1.
  int axis(const std::string &name) const;
};

/// Per tensor dimension, the mesh axes that split it (empty: whole).
using Split = std::vector<std::vector<int>>;

/// "-" for a whole dimension, "1" or "0+1" for split ones, comma separated;
/// "" for a fully replicated tensor of any rank.
std::string formatSplit(const Split &split);
/// Parses formatSplit's text for a tensor of `rank` dimensions over `mesh`.
bool parseSplit(const std::string &text, size_t rank, const Mesh &mesh,
                Split &split, std::string &error);
bool isReplicated(const Split &split);

/// The shard's shape; fails (with `error`) when an axis does not divide its
/// dimension.
bool localShape(const std::vector<int64_t> &global, const Split &split,
                const Mesh &mesh, std::vector<int64_t> &local,
                std::string &error);
/// Where the shard of the rank at `coords` starts, per dimension.
std::vector<int64_t> shardOffsets(const std::vector<int64_t> &local,
                                  const Split &split, const Mesh &mesh,
                                  const std::vector<int64_t> &coords);
/// How many distinct shards the split has, and which one `coords` holds
/// (row-major over the split axes in order of first use).
int64_t shardCount(const Split &split, const Mesh &mesh);
int64_t shardIndex(const Split &split, const Mesh &mesh,
                   const std::vector<int64_t> &coords);
/// The coordinates (on every axis; unused axes 0) of shard `index`.
std::vector<int64_t> shardCoords(const Split &split, const Mesh &mesh,
                                 int64_t index);

/// Copies the block at `offsets` of shape `local` between a dense global
/// tensor and a dense local one (toLocal: global -> local).
void copyBlock(char *global, char *local,
               const std::vector<int64_t> &globalShape,
               const std::vector<int64_t> &localShape,
               const std::vector<int64_t> &offsets, size_t elementSize,
               bool toLocal);

} // namespace tessera::sharding

#endif // TESSERA_RUNTIME_SHARDING_H
