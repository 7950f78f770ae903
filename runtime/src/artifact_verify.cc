//===- artifact_verify.cc - The semantic checks of a .tsr artifact --------===//
//
// artifact::read checks the container (bounds, checksums) and the syntax of
// each manifest line; the checks here are about meaning, the ones a producer
// with a bug (or one that edits the manifest and recomputes the checksums)
// gets past read. The rule that catches every edit after compilation is the
// last: the host code carries the manifest it was compiled for, and a
// manifest that differs from it is refused. The rules before it keep the
// runtime's own buffers (the ones it allocates and slices from the manifest)
// consistent even for host code that carries a matching, bad manifest.
//
// The host code itself is native code and is trusted as a shared library
// is: these checks keep the runtime from reading or writing outside what
// the manifest declares; they cannot make hostile code safe.
//
//===----------------------------------------------------------------------===//

#include "artifact.h"

#include <algorithm>
#include <cstring>
#include <set>
#include <sstream>

namespace tessera::artifact {

namespace {
bool fail(std::string &error, const std::string &why) {
  error = why;
  return false;
}

/// Whether the PTX text declares `.entry NAME` (followed by '(' or a space).
bool ptxHasEntry(const char *ptx, size_t size, const std::string &name) {
  std::string needle = ".entry " + name;
  const char *end = ptx + size;
  for (const char *p = ptx; p < end;) {
    const char *hit = std::search(p, end, needle.begin(), needle.end());
    if (hit == end)
      return false;
    const char *after = hit + needle.size();
    if (after < end && (*after == '(' || *after == ' ' || *after == '\n' ||
                        *after == '\t' || *after == '\r'))
      return true;
    p = hit + 1;
  }
  return false;
}

bool isSmArch(const std::string &arch) {
  return arch.size() > 3 && arch.size() < 8 && arch.compare(0, 3, "sm_") == 0 &&
         std::all_of(arch.begin() + 3, arch.end(),
                     [](char c) { return (c >= '0' && c <= '9') || c == 'a'; });
}
} // namespace

bool verify(const View &view, std::string &error) {
  const Manifest &m = view.manifest;
  bool cuda = m.target == "cuda";

  // The target's fields and sections.
  if (cuda) {
    if (!isSmArch(m.gpuArch))
      return fail(error, m.gpuArch.empty()
                             ? "the cuda artifact has no gpu-arch line"
                             : "bad gpu-arch '" + m.gpuArch + "'");
    if (m.kernels.empty() || !view.deviceCodeSize)
      return fail(error, "the cuda artifact lacks its device code or kernel list");
  } else if (!m.gpuArch.empty() || !m.kernels.empty() || view.deviceCodeSize ||
             view.deviceBinarySize) {
    return fail(error, "a '" + m.target +
                           "' artifact has gpu-arch, kernel lines or device code");
  }
  if (view.deviceBinarySize &&
      (view.deviceBinarySize < 4 || std::memcmp(view.deviceBinary, "\x7f" "ELF", 4) != 0))
    return fail(error, "the device binary section is not an ELF cubin");

  // Names: each list's unique (the runtime finds inputs and outputs by
  // name), and at least one output.
  if (m.outputs.empty())
    return fail(error, "the manifest declares no output");
  auto unique = [&](const auto &list, const char *what) {
    std::set<std::string> names;
    for (const auto &t : list)
      if (!names.insert(t.name).second)
        return fail(error, std::string(what) + " '" + t.name + "' is declared twice");
    return true;
  };
  if (!unique(m.inputs, "input") || !unique(m.outputs, "output") ||
      !unique(m.weights, "weight"))
    return false;

  // Weight blocks: aligned and inside the section (read checked), and no two
  // overlapping (an edited offset would alias two weights).
  std::vector<std::pair<uint64_t, size_t>> spans; // (offset, index)
  for (size_t i = 0; i < m.weights.size(); ++i)
    spans.push_back({m.weights[i].offset, i});
  std::sort(spans.begin(), spans.end());
  for (size_t k = 1; k < spans.size(); ++k) {
    const WeightSpec &a = m.weights[spans[k - 1].second];
    const WeightSpec &b = m.weights[spans[k].second];
    uint64_t aEnd = a.offset + (a.shards - 1) * a.shardStride() + a.size;
    if (b.offset < aEnd && (a.size || b.size))
      return fail(error, "weights '" + a.name + "' and '" + b.name + "' overlap");
  }

  // Kernels: unique, each an entry of the PTX.
  std::set<std::string> kernels;
  for (const std::string &k : m.kernels) {
    if (!kernels.insert(k).second)
      return fail(error, "kernel '" + k + "' is listed twice");
    if (!ptxHasEntry(view.deviceCode, view.deviceCodeSize, k))
      return fail(error, "kernel '" + k + "' is not an entry of the device code");
  }
  return true;
}

bool matchesCode(const Manifest &manifest, const char *codeManifest,
                 std::string &error) {
  if (!codeManifest)
    return fail(error, "the host code carries no manifest (tessera_manifest)");
  std::string ours = manifest.codeText();
  if (ours == codeManifest)
    return true;
  // Name the first line that differs.
  std::istringstream a(ours), b(codeManifest);
  std::string la, lb;
  for (int line = 1;; ++line) {
    bool moreA = static_cast<bool>(std::getline(a, la));
    bool moreB = static_cast<bool>(std::getline(b, lb));
    if (!moreA && !moreB)
      break;
    if (!moreA)
      la = "(nothing)";
    if (!moreB)
      lb = "(nothing)";
    if (la != lb)
      return fail(error, "the manifest is not the one the host code was compiled "
                         "with: entry " + std::to_string(line) + " reads '" + la +
                         "', the code's '" + lb + "'");
  }
  return fail(error, "the manifest is not the one the host code was compiled with");
}

} // namespace tessera::artifact
