//===- artifact.h - The .tsr container: layout, writer, reader --*- C++ -*-===//
//
// A .tsr artifact is a little-endian container:
//
//   header   "TSRA", u32 format version, u32 section count, u32 reserved,
//            u64 file size
//   table    per section: u32 kind, u32 reserved, u64 offset, u64 size,
//            u64 checksum (of the section's bytes)
//   sections MANIFEST (text, see below), HOST_CODE (an ELF shared object
//            exporting `tessera_entry`), WEIGHTS (raw tensors, each 64-byte
//            aligned; the section starts on a 4096-byte boundary so a rank
//            can map just its slice), and for `target cuda`:
//            DEVICE_CODE (PTX text of every kernel) and, when the compiler
//            found `ptxas`, DEVICE_BINARY (a cubin for the manifest's
//            gpu-arch; the runtime prefers it and falls back to the PTX)
//
// The manifest is line-based text, names percent-escaped:
//
//   tessera-artifact 1
//   target cpu
//   input  x f32 2x16
//   output y f32 2x4
//   weight fc1.weight f32 16x32 0 2048      (offset and size in WEIGHTS)
//   gpu-arch sm_90                          (target cuda)
//   kernel main_kernel_0                    (target cuda: the PTX entry of
//                                            launch index 0, 1, ...)
//
// Buffers are passed to `tessera_entry(void **buffers)` in the order:
// inputs, weights, outputs.
//
// Shared by the compiler (writer) and the runtime (reader); no LLVM here.
//
//===----------------------------------------------------------------------===//
#ifndef TESSERA_RUNTIME_SRC_ARTIFACT_H
#define TESSERA_RUNTIME_SRC_ARTIFACT_H

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace tessera::artifact {

constexpr uint32_t kFormatVersion = 1;
constexpr size_t kWeightAlignment = 64;
constexpr size_t kSectionAlignment = 4096;
/// The largest tensor (input, output, weight or intermediate) Tessera
/// compiles or loads: 2^38 bytes (256 GiB), more than any one device holds.
constexpr int64_t kMaxTensorBytes = int64_t(1) << 38;
/// The host code's ABI (`tessera_abi_version`): 2 since the host code
/// carries its manifest (`tessera_manifest`, see Manifest::codeText).
constexpr int32_t kHostAbiVersion = 2;

enum class SectionKind : uint32_t {
  Manifest = 1,
  HostCode = 2,
  Weights = 3,
  DeviceCode = 4,   // PTX text
  DeviceBinary = 5, // cubin
};

/// Element types, numbered as tsr_dtype_t.
enum class DType : int {
  Invalid = 0, F32 = 1, F16 = 2, BF16 = 3, F64 = 4, I64 = 5, I32 = 6, I8 = 7,
  Bool = 8, I16 = 9, U8 = 10, U16 = 11, U32 = 12, U64 = 13,
  // Float8 and float4 formats, a byte per element (its bit pattern).
  F8E4M3FN = 14, F8E4M3FNUZ = 15, F8E5M2 = 16, F8E5M2FNUZ = 17, F4E2M1 = 18,
  F8E8M0 = 19,
  // 4- and 2-bit integers, a byte per element: the value in the low bits.
  I4 = 20, U4 = 21, I2 = 22, U2 = 23,
};
size_t dtypeSize(DType d);
const char *dtypeName(DType d);
DType dtypeFromName(const std::string &name);

struct TensorSpec {
  std::string name;
  DType dtype = DType::Invalid;
  /// The whole tensor's shape (on a mesh, each rank holds a shard of it).
  std::vector<int64_t> shape;
  /// How it is split over the mesh (sharding.h's text form); "" replicated.
  std::string split;
  /// A batch padded so that the data-parallel axis divides it: the first
  /// dimension callers pass and get back (shape[0] is what the program
  /// computes; the rows past `batch` are zeros in, discarded out). -1: the
  /// tensor is not padded.
  int64_t batch = -1;
  /// Elements times element size; -1 when it overflows.
  int64_t byteSize() const;
  /// The shape callers see: `shape` with the first dimension `batch`.
  std::vector<int64_t> userShape() const;
  /// userShape()'s bytes.
  int64_t userByteSize() const;
};

struct WeightSpec : TensorSpec {
  uint64_t offset = 0; // of the first shard in the WEIGHTS section
  uint64_t size = 0;   // bytes of one shard (the whole tensor unsplit)
  uint64_t shards = 1; // stored one after another, shardStride() apart
  uint64_t shardStride() const {
    return (size + kWeightAlignment - 1) / kWeightAlignment * kWeightAlignment;
  }
};

struct Manifest {
  std::string target = "cpu";
  std::vector<TensorSpec> inputs, outputs;
  std::vector<WeightSpec> weights;
  /// The device mesh ("dp=2,tp=2"), "" for one device.
  std::string mesh;
  /// Bytes of scratch memory the host code takes as its last buffer (the
  /// planned intermediate tensors); 0 for none.
  uint64_t workspaceBytes = 0;
  /// `target cuda`: the SM architecture the device code is for ("sm_90")
  /// and the kernels' entry names, by launch index.
  std::string gpuArch;
  std::vector<std::string> kernels;

  std::string serialize() const;
  /// The manifest as the host code carries it (`tessera_manifest`, a
  /// NUL-terminated string): serialize() without the gpu-arch line, which
  /// belongs to the device code sections (the same host code serves every
  /// architecture).
  std::string codeText() const;
  /// Parses `text`; on failure returns false and sets `error`.
  bool parse(const std::string &text, std::string &error);
};

/// A 64-bit checksum of `size` bytes (FNV-1a over 8-byte words).
uint64_t checksum(const void *data, size_t size);

/// checksum() over bytes that arrive in pieces: update() any number of
/// times, then finish() gives what checksum() gives for their
/// concatenation.
class Checksum {
public:
  void update(const void *data, size_t size);
  uint64_t finish() const;

private:
  uint64_t hash_ = 1469598103934665603ull;
  uint64_t size_ = 0;
  unsigned char tail_[8];
  size_t tailSize_ = 0;
};

/// Produces the WEIGHTS section in order: calls `emit(data, size)` for
/// consecutive pieces; returns false (with `error` set) to abandon the
/// write. The pieces must add up to the size given to write().
using Emit = std::function<bool(const char *data, size_t size)>;
using WeightWriter = std::function<bool(const Emit &emit, std::string &error)>;

/// Whether an artifact can be written at `path`: it does not exist or is a
/// regular file. An artifact is written beside its path and renamed over
/// it, which would replace a device or a FIFO (`-o /dev/null`) with a file.
bool canWriteAt(const std::string &path, std::string &error);

/// Writes an artifact whose WEIGHTS section of `weightsSize` bytes comes
/// from `weights` piece by piece, so that no copy of the whole section is
/// held in memory (the compiler streams mapped weights through it).
bool write(const std::string &path, const Manifest &manifest,
           const std::string &hostCode, uint64_t weightsSize,
           const WeightWriter &weights, std::string &error,
           const std::string &deviceCode = {}, const std::string &deviceBinary = {});

/// Writes an artifact. `weights` holds the WEIGHTS section bytes, laid out
/// as the manifest's offsets say (see WeightLayout).
/// `deviceCode` (PTX) and `deviceBinary` (cubin) are written as sections
/// when not empty.
bool write(const std::string &path, const Manifest &manifest,
           const std::string &hostCode, const std::vector<char> &weights,
           std::string &error, const std::string &deviceCode = {},
           const std::string &deviceBinary = {});

/// One section of a container: its kind and bytes.
struct SectionData {
  SectionKind kind;
  const char *data;
  size_t size;
};

/// The whole container in memory (header, table with checksums, sections
/// at their alignments), for tests and fuzzing that rewrite artifacts.
std::string pack(const std::vector<SectionData> &sections);

/// Assigns aligned offsets to weights (each `shards` blocks of `size`
/// bytes, `size` defaulting to the whole tensor); returns the section size.
uint64_t layoutWeights(std::vector<WeightSpec> &weights);

/// A verified view of an artifact in memory.
struct View {
  Manifest manifest;
  const char *hostCode = nullptr;
  size_t hostCodeSize = 0;
  const char *weights = nullptr;
  size_t weightsSize = 0;
  const char *deviceCode = nullptr; // PTX, deviceCodeSize bytes (no NUL)
  size_t deviceCodeSize = 0;
  const char *deviceBinary = nullptr;
  size_t deviceBinarySize = 0;
};

/// Verifies `size` bytes at `data` (header, every section's bounds and
/// checksum, the manifest, weight bounds). On failure returns false and sets
/// `error`.
bool read(const char *data, size_t size, View &view, std::string &error);

/// The semantic checks of a read artifact (artifact_verify.cc): the
/// manifest's entries against each other and the sections: unique names,
/// at least one output, the target's sections and fields, weight blocks
/// aligned, inside the section and disjoint, kernels named in the PTX, the
/// cubin an ELF file. The mesh and splits are checked by
/// runtime::parseMesh. On failure returns false and sets `error`.
bool verify(const View &view, std::string &error);

/// Compares the manifest with the copy the host code carries
/// (`codeManifest`, the host code's `tessera_manifest`; null when it has
/// none): a manifest changed after compilation is refused, naming the first
/// line that differs.
bool matchesCode(const Manifest &manifest, const char *codeManifest,
                 std::string &error);

} // namespace tessera::artifact

#endif // TESSERA_RUNTIME_SRC_ARTIFACT_H
