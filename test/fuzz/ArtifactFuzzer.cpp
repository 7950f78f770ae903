//===- ArtifactFuzzer.cpp - libFuzzer target for the artifact loader ------===//
//
// Any byte string must load or fail with a status; a module that loads must
// run on zero inputs and give outputs of the manifest's sizes. A crash, a
// sanitizer report or a leak is a finding.
//
// The mutator is structure-aware: when the bytes are an artifact whose
// section table reads, it edits the manifest as a buggy or hostile producer
// would (a line repeated, dropped or moved, two fields swapped, a number
// changed, or libFuzzer's byte mutations of the text) and packs the
// artifact again with every checksum recomputed, so that the edits reach
// the semantic checks instead of stopping at the checksum.
//
// Host code is native code, trusted as a shared library is (see
// docs/architecture.md): the loader keeps its buffers consistent with what
// the code was compiled for, it cannot make hostile code safe, and a
// corrupted ELF file crashes the dynamic loader inside dlopen. Since the
// mutator recomputes every checksum, a byte mutation of the host-code
// section would reach dlopen; so the target loads only artifacts whose host
// code is byte for byte one of its seeds' (TESSERA_FUZZ_HOST_CODE, a
// colon-separated list of seed artifacts). Every other section, the
// container and the manifest stay fully mutable.
//
//===----------------------------------------------------------------------===//

#include "artifact.h"
#include "tessera/runtime.h"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <random>
#include <sstream>
#include <string>
#include <vector>

extern "C" size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t maxSize);

namespace {
namespace art = tessera::artifact;

uint64_t get64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i)
    v |= static_cast<uint64_t>(p[i]) << (8 * i);
  return v;
}
uint32_t get32(const uint8_t *p) {
  return static_cast<uint32_t>(get64(p) & 0xffffffffu);
}

/// The sections of a container whose table reads, else false.
bool unpack(const uint8_t *data, size_t size, std::vector<art::SectionKind> &kinds,
            std::vector<std::string> &bytes) {
  if (size < 24 || std::memcmp(data, "TSRA", 4) != 0)
    return false;
  uint32_t count = get32(data + 8);
  if (count > 8 || 24 + 32ull * count > size)
    return false;
  for (uint32_t i = 0; i < count; ++i) {
    const uint8_t *e = data + 24 + 32 * i;
    uint64_t off = get64(e + 8), len = get64(e + 16);
    if (get32(e) < 1 || get32(e) > 5 || off > size || len > size - off)
      return false;
    kinds.push_back(static_cast<art::SectionKind>(get32(e)));
    bytes.emplace_back(reinterpret_cast<const char *>(data + off), len);
  }
  return true;
}

std::vector<std::string> splitLines(const std::string &text) {
  std::vector<std::string> lines;
  std::istringstream is(text);
  for (std::string l; std::getline(is, l);)
    lines.push_back(l);
  return lines;
}

/// One edit of a manifest's text.
std::string editManifest(const std::string &text, std::mt19937_64 &rng, size_t maxSize) {
  std::vector<std::string> lines = splitLines(text);
  auto pick = [&](size_t n) { return static_cast<size_t>(rng() % n); };
  if (lines.size() > 1) {
    size_t i = 1 + pick(lines.size() - 1);
    switch (pick(6)) {
    case 0: // repeat a line
      lines.insert(lines.begin() + 1 + pick(lines.size()), lines[i]);
      break;
    case 1: // drop a line
      lines.erase(lines.begin() + i);
      break;
    case 2: { // move a line
      std::string l = lines[i];
      lines.erase(lines.begin() + i);
      lines.insert(lines.begin() + 1 + pick(lines.size()), l);
      break;
    }
    case 3: { // swap two fields
      std::istringstream ls(lines[i]);
      std::vector<std::string> f;
      for (std::string w; ls >> w;)
        f.push_back(w);
      if (f.size() > 2)
        std::swap(f[1 + pick(f.size() - 1)], f[1 + pick(f.size() - 1)]);
      std::string joined;
      for (const std::string &w : f)
        joined += (joined.empty() ? "" : " ") + w;
      lines[i] = joined;
      break;
    }
    case 4: { // change a number
      std::string &l = lines[i];
      std::vector<size_t> starts;
      for (size_t k = 0; k < l.size(); ++k)
        if (isdigit(static_cast<unsigned char>(l[k])) &&
            (k == 0 || !isdigit(static_cast<unsigned char>(l[k - 1]))))
          starts.push_back(k);
      if (!starts.empty()) {
        size_t k = starts[pick(starts.size())], e = k;
        while (e < l.size() && isdigit(static_cast<unsigned char>(l[e])))
          ++e;
        static const char *values[] = {"0", "1", "2", "3", "63", "64", "65", "4096",
                                       "2147483648", "1099511627776",
                                       "9223372036854775807"};
        l.replace(k, e - k, values[pick(sizeof(values) / sizeof(values[0]))]);
      }
      break;
    }
    default: { // libFuzzer's byte mutations of one line
      std::string l = lines[i];
      l.resize(l.size() + 16);
      l.resize(LLVMFuzzerMutate(reinterpret_cast<uint8_t *>(l.data()), l.size() - 16,
                                l.size()));
      lines[i] = l;
      break;
    }
    }
  }
  std::string out;
  for (const std::string &l : lines)
    out += l + "\n";
  return out.size() > maxSize ? text : out;
}

/// The bytes of a tensor of `ti`'s dtype and shape (the manifest checked
/// that they do not overflow).
size_t byteSize(const tsr_tensor_info_t &ti) {
  size_t bytes = tsr_dtype_size(ti.dtype);
  for (size_t d = 0; d < ti.rank; ++d)
    bytes *= static_cast<size_t>(ti.shape[d]);
  return bytes;
}

/// The host code of the seed artifacts, read at start.
std::vector<std::string> &trustedHostCode() {
  static std::vector<std::string> blobs;
  return blobs;
}

/// Whether `data` holds host code that dlopen may be given: none (the
/// loader refuses it before dlopen), or a seed's.
bool hostCodeTrusted(const uint8_t *data, size_t size) {
  art::View view;
  std::string error;
  if (!art::read(reinterpret_cast<const char *>(data), size, view, error) || !view.hostCode)
    return true; // the loader stops before dlopen
  std::string code(view.hostCode, view.hostCodeSize);
  for (const std::string &blob : trustedHostCode())
    if (blob == code)
      return true;
  return false;
}

/// A runtime, made once.
tsr_runtime_t runtime() {
  static tsr_runtime_t rt = [] {
    tsr_runtime_options_t options;
    tsr_runtime_options_initialize(&options);
    options.cpu_threads = 1;
    tsr_runtime_t r = nullptr;
    tsr_status_free(tsr_runtime_create(&options, &r));
    return r;
  }();
  return rt;
}
} // namespace

extern "C" int LLVMFuzzerInitialize(int *, char ***) {
  const char *list = std::getenv("TESSERA_FUZZ_HOST_CODE");
  if (!list || !*list) {
    std::fprintf(stderr, "tessera-artifact-fuzzer: set TESSERA_FUZZ_HOST_CODE to the seed "
                         "artifacts (path:path...) whose host code may be loaded\n");
    std::exit(2);
  }
  std::string paths = list;
  for (size_t start = 0; start <= paths.size();) {
    size_t end = paths.find(':', start);
    if (end == std::string::npos)
      end = paths.size();
    std::string path = paths.substr(start, end - start);
    start = end + 1;
    if (path.empty())
      continue;
    std::ifstream in(path, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    art::View view;
    std::string error;
    if (!in.good() && !in.eof()) {
      std::fprintf(stderr, "tessera-artifact-fuzzer: cannot read %s\n", path.c_str());
      std::exit(2);
    }
    if (!art::read(bytes.data(), bytes.size(), view, error) || !view.hostCode) {
      std::fprintf(stderr, "tessera-artifact-fuzzer: %s is not an artifact with host code: %s\n",
                   path.c_str(), error.c_str());
      std::exit(2);
    }
    trustedHostCode().emplace_back(view.hostCode, view.hostCodeSize);
  }
  return 0;
}

extern "C" size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t maxSize,
                                          unsigned int seed) {
  std::vector<art::SectionKind> kinds;
  std::vector<std::string> bytes;
  std::mt19937_64 rng(seed);
  if (!unpack(data, size, kinds, bytes) || rng() % 8 == 0)
    return LLVMFuzzerMutate(data, size, maxSize);
  for (size_t i = 0; i < kinds.size(); ++i)
    if (kinds[i] == art::SectionKind::Manifest)
      bytes[i] = editManifest(bytes[i], rng, 1 << 16);
  std::vector<art::SectionData> sections;
  for (size_t i = 0; i < kinds.size(); ++i)
    sections.push_back({kinds[i], bytes[i].data(), bytes[i].size()});
  std::string packed = art::pack(sections);
  if (packed.size() > maxSize)
    return LLVMFuzzerMutate(data, size, maxSize);
  std::memcpy(data, packed.data(), packed.size());
  return packed.size();
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!hostCodeTrusted(data, size))
    return 0; // native code that is not a seed's: out of the loader's scope
  tsr_module_t module = nullptr;
  if (tsr_status_t s = tsr_module_load_memory(runtime(), data, size, &module)) {
    tsr_status_free(s);
    return 0;
  }
  tsr_device_t device = nullptr;
  tsr_session_t session = nullptr;
  std::vector<tsr_tensor_t> inputs, outputs(tsr_module_num_outputs(module), nullptr);
  tsr_status_free(tsr_device_create(runtime(), "cpu:0", &device));
  bool ok = device && std::strcmp(tsr_module_target(module), "cpu") == 0;
  if (ok) {
    tsr_session_options_t options;
    tsr_session_options_initialize(&options);
    if (tsr_status_t s = tsr_session_create(module, device, &options, &session)) {
      tsr_status_free(s);
      ok = false;
    }
  }
  for (size_t i = 0; ok && i < tsr_module_num_inputs(module); ++i) {
    tsr_tensor_info_t ti;
    tsr_status_free(tsr_module_input_info(module, i, &ti));
    size_t bytes = byteSize(ti);
    if (bytes > (64u << 20)) { // the manifest passed; keep a run small
      ok = false;
      break;
    }
    std::vector<char> zeros(bytes);
    tsr_tensor_t t = nullptr;
    tsr_status_free(tsr_tensor_create_from_host(device, ti.dtype, ti.rank, ti.shape,
                                                zeros.data(), bytes, &t));
    inputs.push_back(t);
    ok = t != nullptr;
  }
  if (ok) {
    if (tsr_status_t s = tsr_session_run(session, inputs.data(), inputs.size(),
                                         outputs.data(), outputs.size())) {
      tsr_status_free(s);
    } else {
      for (size_t i = 0; i < outputs.size(); ++i) {
        tsr_tensor_info_t ti;
        tsr_status_free(tsr_module_output_info(module, i, &ti));
        if (tsr_tensor_size_bytes(outputs[i]) != byteSize(ti))
          __builtin_trap(); // an output of another size than the manifest's
      }
    }
  }
  for (tsr_tensor_t t : inputs)
    tsr_tensor_release(t);
  for (tsr_tensor_t t : outputs)
    tsr_tensor_release(t);
  tsr_session_release(session);
  tsr_device_release(device);
  tsr_module_release(module);
  return 0;
}
