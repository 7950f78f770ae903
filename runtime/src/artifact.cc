//===- artifact.cc - The .tsr container -----------------------------------===//

#include "artifact.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <sstream>

#include <sys/stat.h>
#include <unistd.h> // getpid

namespace tessera::artifact {

namespace {
constexpr char kMagic[4] = {'T', 'S', 'R', 'A'};
constexpr size_t kHeaderSize = 24;
constexpr size_t kEntrySize = 32;

void put32(std::string &out, uint32_t v) {
  for (int i = 0; i < 4; ++i)
    out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void put64(std::string &out, uint64_t v) {
  for (int i = 0; i < 8; ++i)
    out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
uint32_t get32(const char *p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i)
    v |= static_cast<uint32_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  return v;
}
uint64_t get64(const char *p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i)
    v |= static_cast<uint64_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  return v;
}

std::string escape(const std::string &s) {
  std::string out;
  for (unsigned char c : s) {
    if (c <= ' ' || c == '%' || c >= 0x7f) {
      char buf[4];
      std::snprintf(buf, sizeof(buf), "%%%02X", c);
      out += buf;
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out.empty() ? "%" : out; // "%" alone is the empty name
}

bool unescape(const std::string &s, std::string &out) {
  out.clear();
  if (s == "%")
    return true;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out.push_back(s[i]);
      continue;
    }
    if (i + 2 >= s.size())
      return false;
    unsigned v;
    if (std::sscanf(s.substr(i + 1, 2).c_str(), "%2X", &v) != 1)
      return false;
    out.push_back(static_cast<char>(v));
    i += 2;
  }
  return true;
}

std::string formatShape(const std::vector<int64_t> &shape) {
  if (shape.empty())
    return "scalar";
  std::string s;
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? "x" : "") + std::to_string(shape[i]);
  return s;
}

bool parseShape(const std::string &s, std::vector<int64_t> &shape) {
  shape.clear();
  if (s == "scalar")
    return true;
  size_t start = 0;
  while (start <= s.size()) {
    size_t end = s.find('x', start);
    std::string part = s.substr(start, end == std::string::npos ? end : end - start);
    if (part.empty() || part.size() > 18 ||
        part.find_first_not_of("0123456789") != std::string::npos)
      return false;
    shape.push_back(std::stoll(part));
    if (end == std::string::npos)
      break;
    start = end + 1;
  }
  return true;
}

bool parseU64(const std::string &s, uint64_t &v) {
  if (s.empty() || s.size() > 19 ||
      s.find_first_not_of("0123456789") != std::string::npos)
    return false;
  v = std::stoull(s);
  return true;
}
} // namespace

size_t dtypeSize(DType d) {
  switch (d) {
  case DType::F32: case DType::I32: return 4;
  case DType::U32: return 4;
  case DType::F16: case DType::BF16: case DType::I16: case DType::U16: return 2;
  case DType::F64: case DType::I64: case DType::U64: return 8;
  case DType::I8: case DType::Bool: case DType::U8: return 1;
  case DType::F8E4M3FN: case DType::F8E4M3FNUZ: case DType::F8E5M2:
  case DType::F8E5M2FNUZ: case DType::F4E2M1: case DType::F8E8M0: return 1;
  case DType::I4: case DType::U4: case DType::I2: case DType::U2: return 1;
  case DType::Invalid: return 0;
  }
  return 0;
}

const char *dtypeName(DType d) {
  switch (d) {
  case DType::F32: return "f32";
  case DType::F16: return "f16";
  case DType::BF16: return "bf16";
  case DType::F64: return "f64";
  case DType::I64: return "i64";
  case DType::I32: return "i32";
  case DType::I8: return "i8";
  case DType::Bool: return "bool";
  case DType::I16: return "i16";
  case DType::U8: return "u8";
  case DType::U16: return "u16";
  case DType::U32: return "u32";
  case DType::U64: return "u64";
  case DType::F8E4M3FN: return "f8e4m3fn";
  case DType::F8E4M3FNUZ: return "f8e4m3fnuz";
  case DType::F8E5M2: return "f8e5m2";
  case DType::F8E5M2FNUZ: return "f8e5m2fnuz";
  case DType::F4E2M1: return "f4e2m1";
  case DType::F8E8M0: return "f8e8m0";
  case DType::I4: return "i4";
  case DType::U4: return "u4";
  case DType::I2: return "i2";
  case DType::U2: return "u2";
  case DType::Invalid: return "invalid";
  }
  return "invalid";
}

DType dtypeFromName(const std::string &name) {
  for (int d = 1; d <= static_cast<int>(DType::U2); ++d)
    if (name == dtypeName(static_cast<DType>(d)))
      return static_cast<DType>(d);
  return DType::Invalid;
}

int64_t TensorSpec::byteSize() const {
  int64_t n = static_cast<int64_t>(dtypeSize(dtype));
  for (int64_t d : shape)
    if (d < 0 || __builtin_mul_overflow(n, d, &n))
      return -1;
  return n;
}

std::vector<int64_t> TensorSpec::userShape() const {
  std::vector<int64_t> s = shape;
  if (batch >= 0 && !s.empty())
    s[0] = batch;
  return s;
}

int64_t TensorSpec::userByteSize() const {
  TensorSpec t;
  t.dtype = dtype;
  t.shape = userShape();
  return t.byteSize();
}

namespace {
std::string serializeManifest(const Manifest &m, bool withGpuArch) {
  std::ostringstream os;
  os << "tessera-artifact " << kFormatVersion << "\n";
  os << "target " << m.target << "\n";
  if (!m.mesh.empty())
    os << "mesh " << m.mesh << "\n";
  auto split = [](const TensorSpec &t) {
    return (t.split.empty() ? std::string() : " split=" + t.split) +
           (t.batch < 0 ? std::string() : " batch=" + std::to_string(t.batch));
  };
  for (const TensorSpec &t : m.inputs)
    os << "input " << escape(t.name) << " " << dtypeName(t.dtype) << " "
       << formatShape(t.shape) << split(t) << "\n";
  for (const TensorSpec &t : m.outputs)
    os << "output " << escape(t.name) << " " << dtypeName(t.dtype) << " "
       << formatShape(t.shape) << split(t) << "\n";
  for (const WeightSpec &w : m.weights)
    os << "weight " << escape(w.name) << " " << dtypeName(w.dtype) << " "
       << formatShape(w.shape) << " " << w.offset << " " << w.size
       << (w.split.empty() ? "" : " split=" + w.split + " shards=" + std::to_string(w.shards))
       << "\n";
  if (m.workspaceBytes)
    os << "workspace " << m.workspaceBytes << "\n";
  if (withGpuArch && !m.gpuArch.empty())
    os << "gpu-arch " << m.gpuArch << "\n";
  for (const std::string &k : m.kernels)
    os << "kernel " << escape(k) << "\n";
  return os.str();
}
} // namespace

std::string Manifest::serialize() const { return serializeManifest(*this, true); }
std::string Manifest::codeText() const { return serializeManifest(*this, false); }

bool Manifest::parse(const std::string &text, std::string &error) {
  std::istringstream is(text);
  std::string line;
  int lineNo = 0;
  bool sawHeader = false;
  // Lines that may appear once: a repeat is a broken or edited manifest.
  std::vector<std::string> seenOnce;
  while (std::getline(is, line)) {
    ++lineNo;
    std::istringstream ls(line);
    std::vector<std::string> f;
    for (std::string w; ls >> w;)
      f.push_back(w);
    auto bad = [&](const std::string &what) {
      error = "manifest line " + std::to_string(lineNo) + ": " + what;
      return false;
    };
    if (f.empty())
      continue;
    if (!sawHeader) {
      if (f.size() != 2 || f[0] != "tessera-artifact")
        return bad("not a Tessera manifest");
      if (f[1] != std::to_string(kFormatVersion))
        return bad("manifest version " + f[1] + " is not supported (this runtime reads " +
                   std::to_string(kFormatVersion) + ")");
      sawHeader = true;
      continue;
    }
    for (const char *once : {"target", "mesh", "gpu-arch", "workspace"}) {
      if (f[0] != once)
        continue;
      for (const std::string &seen : seenOnce)
        if (seen == once)
          return bad("a second '" + f[0] + "' line");
      seenOnce.push_back(f[0]);
    }
    if (f[0] == "target" && f.size() == 2) {
      target = f[1];
      continue;
    }
    if (f[0] == "mesh" && f.size() == 2) {
      mesh = f[1];
      continue;
    }
    if (f[0] == "gpu-arch" && f.size() == 2) {
      gpuArch = f[1];
      continue;
    }
    if (f[0] == "kernel") {
      std::string name;
      if (f.size() != 2 || !unescape(f[1], name) || name.empty())
        return bad("bad kernel entry");
      kernels.push_back(name);
      continue;
    }
    if (f[0] == "workspace") {
      // At most 1 TiB: a larger value is corruption, not a plan.
      if (f.size() != 2 || !parseU64(f[1], workspaceBytes) ||
          workspaceBytes > (uint64_t(1) << 40))
        return bad("bad workspace size");
      continue;
    }
    bool isWeight = f[0] == "weight";
    // Optional trailing key=value fields: split= (and shards= for weights,
    // batch= for inputs and outputs).
    std::string splitText, shardsText, batchText;
    size_t fixed = isWeight ? 6 : 4;
    for (size_t i = fixed; i < f.size(); ++i) {
      if (f[i].rfind("split=", 0) == 0 && splitText.empty())
        splitText = f[i].substr(6);
      else if (isWeight && f[i].rfind("shards=", 0) == 0 && shardsText.empty())
        shardsText = f[i].substr(7);
      else if (!isWeight && f[i].rfind("batch=", 0) == 0 && batchText.empty())
        batchText = f[i].substr(6);
      else
        return bad("unknown field '" + f[i] + "'");
    }
    if ((f[0] == "input" || f[0] == "output") ? f.size() < 4
        : isWeight                            ? f.size() < 6
                                              : true)
      return bad("unknown or malformed entry '" + f[0] + "'");
    WeightSpec t;
    t.split = splitText;
    if (!unescape(f[1], t.name))
      return bad("bad name");
    t.dtype = dtypeFromName(f[2]);
    if (t.dtype == DType::Invalid)
      return bad("unknown element type '" + f[2] + "'");
    if (!parseShape(f[3], t.shape) || t.byteSize() < 0)
      return bad("bad shape '" + f[3] + "'");
    if (t.byteSize() > kMaxTensorBytes)
      return bad("'" + t.name + "' is " + std::to_string(t.byteSize()) +
                 " bytes, more than the largest tensor Tessera loads (2^38 bytes)");
    if (!batchText.empty()) {
      // Padding adds fewer rows than the batch it pads to.
      uint64_t b = 0;
      if (!parseU64(batchText, b) || t.shape.empty() ||
          b >= static_cast<uint64_t>(t.shape[0]) || b == 0)
        return bad("bad batch '" + batchText + "' for '" + t.name + "'");
      t.batch = static_cast<int64_t>(b);
    }
    if (isWeight) {
      if (!shardsText.empty() &&
          (!parseU64(shardsText, t.shards) || t.shards < 1 || t.shards > 4096))
        return bad("bad shard count");
      // A split weight's shards are checked against the mesh when loaded.
      if (!parseU64(f[4], t.offset) || !parseU64(f[5], t.size) ||
          (t.split.empty() && t.size != static_cast<uint64_t>(t.byteSize())) ||
          t.size > static_cast<uint64_t>(t.byteSize()))
        return bad("bad weight offset or size");
      weights.push_back(t);
    } else if (f[0] == "input") {
      inputs.push_back(t);
    } else {
      outputs.push_back(t);
    }
  }
  if (!sawHeader) {
    error = "empty manifest";
    return false;
  }
  return true;
}

uint64_t checksum(const void *data, size_t size) {
  const unsigned char *p = static_cast<const unsigned char *>(data);
  uint64_t h = 1469598103934665603ull;
  size_t i = 0;
  for (; i + 8 <= size; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    h = (h ^ w) * 1099511628211ull;
    h ^= h >> 29;
  }
  for (; i < size; ++i)
    h = (h ^ p[i]) * 1099511628211ull;
  return h ^ size;
}

void Checksum::update(const void *data, size_t size) {
  const unsigned char *p = static_cast<const unsigned char *>(data);
  size_ += size;
  // Complete a word left over from the last piece first.
  while (tailSize_ && size) {
    tail_[tailSize_++] = *p++;
    --size;
    if (tailSize_ == 8) {
      uint64_t w;
      std::memcpy(&w, tail_, 8);
      hash_ = (hash_ ^ w) * 1099511628211ull;
      hash_ ^= hash_ >> 29;
      tailSize_ = 0;
    }
  }
  if (tailSize_)
    return; // the piece ended inside the word
  for (; size >= 8; p += 8, size -= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    hash_ = (hash_ ^ w) * 1099511628211ull;
    hash_ ^= hash_ >> 29;
  }
  std::memcpy(tail_, p, size);
  tailSize_ = size;
}

uint64_t Checksum::finish() const {
  uint64_t h = hash_;
  for (size_t i = 0; i < tailSize_; ++i)
    h = (h ^ tail_[i]) * 1099511628211ull;
  return h ^ size_;
}

uint64_t layoutWeights(std::vector<WeightSpec> &weights) {
  uint64_t offset = 0;
  for (WeightSpec &w : weights) {
    offset = (offset + kWeightAlignment - 1) / kWeightAlignment * kWeightAlignment;
    w.offset = offset;
    if (!w.size)
      w.size = static_cast<uint64_t>(w.byteSize());
    offset += (w.shards - 1) * w.shardStride() + w.size;
  }
  return offset;
}

namespace {
size_t alignmentOf(SectionKind kind) {
  switch (kind) {
  case SectionKind::Manifest: return 8;
  case SectionKind::Weights: return kSectionAlignment;
  default: return 64;
  }
}

/// Each section's offset in a container of sections of `sizes`.
std::vector<uint64_t> offsetsFor(const std::vector<SectionKind> &kinds,
                                 const std::vector<uint64_t> &sizes,
                                 uint64_t &fileSize) {
  std::vector<uint64_t> offsets;
  uint64_t offset = kHeaderSize + kinds.size() * kEntrySize;
  for (size_t i = 0; i < kinds.size(); ++i) {
    size_t align = alignmentOf(kinds[i]);
    offset = (offset + align - 1) / align * align;
    offsets.push_back(offset);
    offset += sizes[i];
  }
  fileSize = offset;
  return offsets;
}

/// The header and table of sections of `kinds`, `sizes` and `sums` at
/// `offsets`.
std::string headerOf(const std::vector<SectionKind> &kinds,
                     const std::vector<uint64_t> &sizes,
                     const std::vector<uint64_t> &sums,
                     const std::vector<uint64_t> &offsets, uint64_t fileSize) {
  std::string head;
  head.append(kMagic, 4);
  put32(head, kFormatVersion);
  put32(head, static_cast<uint32_t>(kinds.size()));
  put32(head, 0);
  put64(head, fileSize);
  for (size_t i = 0; i < kinds.size(); ++i) {
    put32(head, static_cast<uint32_t>(kinds[i]));
    put32(head, 0);
    put64(head, offsets[i]);
    put64(head, sizes[i]);
    put64(head, sums[i]);
  }
  return head;
}

/// The header and table for `sections`; fills each section's offset.
std::string headerFor(const std::vector<SectionData> &sections,
                      std::vector<uint64_t> &offsets) {
  std::vector<SectionKind> kinds;
  std::vector<uint64_t> sizes, sums;
  for (const SectionData &s : sections) {
    kinds.push_back(s.kind);
    sizes.push_back(s.size);
    sums.push_back(checksum(s.data, s.size));
  }
  uint64_t fileSize = 0;
  offsets = offsetsFor(kinds, sizes, fileSize);
  return headerOf(kinds, sizes, sums, offsets, fileSize);
}
} // namespace

std::string pack(const std::vector<SectionData> &sections) {
  std::vector<uint64_t> offsets;
  std::string out = headerFor(sections, offsets);
  for (size_t i = 0; i < sections.size(); ++i) {
    out.resize(offsets[i], '\0');
    out.append(sections[i].data, sections[i].size);
  }
  return out;
}

bool write(const std::string &path, const Manifest &manifest,
           const std::string &hostCode, const std::vector<char> &weights,
           std::string &error, const std::string &deviceCode,
           const std::string &deviceBinary) {
  return write(
      path, manifest, hostCode, weights.size(),
      [&](const Emit &emit, std::string &) {
        return weights.empty() || emit(weights.data(), weights.size());
      },
      error, deviceCode, deviceBinary);
}

bool canWriteAt(const std::string &path, std::string &error) {
  struct stat st;
  if (::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
    error = "cannot write an artifact at '" + path +
            "': not a regular file (an artifact is written beside it and renamed over it)";
    return false;
  }
  return true;
}

bool write(const std::string &path, const Manifest &manifest,
           const std::string &hostCode, uint64_t weightsSize,
           const WeightWriter &weights, std::string &error,
           const std::string &deviceCode, const std::string &deviceBinary) {
  std::string manifestText = manifest.serialize();
  struct Section {
    SectionKind kind;
    const std::string *bytes; // null: the weights
  };
  std::vector<Section> sections = {{SectionKind::Manifest, &manifestText},
                                   {SectionKind::HostCode, &hostCode},
                                   {SectionKind::Weights, nullptr}};
  if (!deviceCode.empty())
    sections.push_back({SectionKind::DeviceCode, &deviceCode});
  if (!deviceBinary.empty())
    sections.push_back({SectionKind::DeviceBinary, &deviceBinary});
  std::vector<SectionKind> kinds;
  std::vector<uint64_t> sizes, sums;
  for (const Section &s : sections) {
    kinds.push_back(s.kind);
    sizes.push_back(s.bytes ? s.bytes->size() : weightsSize);
  }
  uint64_t fileSize = 0;
  std::vector<uint64_t> offsets = offsetsFor(kinds, sizes, fileSize);
  // Written under a temporary name and renamed: a failed write (or a
  // compiler killed while writing) leaves no partial artifact at `path`.
  // The table's checksums are known once the sections are written: the
  // header is written last, over its placeholder.
  if (!canWriteAt(path, error))
    return false;
  std::string temp = path + ".tessera-tmp-" + std::to_string(::getpid());
  FILE *f = std::fopen(temp.c_str(), "wbx");
  if (!f) {
    error = "cannot open '" + path + "' for writing: " + std::strerror(errno);
    return false;
  }
  std::string placeholder(kHeaderSize + kinds.size() * kEntrySize, '\0');
  bool ok = std::fwrite(placeholder.data(), 1, placeholder.size(), f) == placeholder.size();
  uint64_t pos = placeholder.size();
  std::string producerError;
  for (size_t i = 0; ok && i < sections.size(); ++i) {
    static const char zeros[4096] = {};
    while (ok && pos < offsets[i]) {
      size_t k = static_cast<size_t>(std::min<uint64_t>(offsets[i] - pos, sizeof(zeros)));
      ok = std::fwrite(zeros, 1, k, f) == k;
      pos += k;
    }
    Checksum sum;
    uint64_t written = 0;
    Emit emit = [&](const char *data, size_t size) {
      if (size == 0)
        return true;
      if (written + size > sizes[i] || std::fwrite(data, 1, size, f) != size)
        return false;
      sum.update(data, size);
      written += size;
      return true;
    };
    if (sections[i].bytes)
      ok = ok && emit(sections[i].bytes->data(), sections[i].bytes->size());
    else
      ok = ok && weights(emit, producerError);
    ok = ok && written == sizes[i];
    pos += written;
    sums.push_back(sum.finish());
  }
  if (ok) {
    std::string head = headerOf(kinds, sizes, sums, offsets, fileSize);
    ok = std::fseek(f, 0, SEEK_SET) == 0 &&
         std::fwrite(head.data(), 1, head.size(), f) == head.size();
  }
  ok = (std::fclose(f) == 0) && ok;
  if (ok && std::rename(temp.c_str(), path.c_str()) != 0) {
    error = "cannot rename '" + temp + "' to '" + path + "': " + std::strerror(errno);
    std::remove(temp.c_str());
    return false;
  }
  if (!ok) {
    error = !producerError.empty() ? producerError
                                   : "cannot write '" + path + "': " + std::strerror(errno);
    std::remove(temp.c_str());
  }
  return ok;
}

bool read(const char *data, size_t size, View &view, std::string &error) {
  if (size < kHeaderSize || std::memcmp(data, kMagic, 4) != 0) {
    error = size < kHeaderSize ? "the file is too short to be an artifact"
                               : "not a Tessera artifact (bad magic)";
    return false;
  }
  uint32_t version = get32(data + 4), count = get32(data + 8);
  uint64_t fileSize = get64(data + 16);
  if (version != kFormatVersion) {
    error = "artifact format version " + std::to_string(version) +
            " is not supported (this runtime reads " +
            std::to_string(kFormatVersion) + ")";
    return false;
  }
  if (fileSize != size) {
    error = "the artifact is " + std::to_string(size) + " bytes, its header says " +
            std::to_string(fileSize) + " (truncated or padded)";
    return false;
  }
  if (count > 64 || kHeaderSize + static_cast<uint64_t>(count) * kEntrySize > size) {
    error = "the section table lies outside the file";
    return false;
  }
  bool seen[6] = {};
  for (uint32_t i = 0; i < count; ++i) {
    const char *e = data + kHeaderSize + i * kEntrySize;
    uint32_t kind = get32(e);
    uint64_t off = get64(e + 8), len = get64(e + 16), sum = get64(e + 24);
    if (off > size || len > size - off) {
      error = "section " + std::to_string(i) + " lies outside the file";
      return false;
    }
    if (checksum(data + off, len) != sum) {
      error = "section " + std::to_string(i) + " is corrupted (checksum mismatch)";
      return false;
    }
    if (kind < 1 || kind > 5 || seen[kind]) {
      error = "unknown or repeated section kind " + std::to_string(kind);
      return false;
    }
    seen[kind] = true;
    switch (static_cast<SectionKind>(kind)) {
    case SectionKind::Manifest:
      if (!view.manifest.parse(std::string(data + off, len), error))
        return false;
      break;
    case SectionKind::HostCode:
      view.hostCode = data + off;
      view.hostCodeSize = len;
      break;
    case SectionKind::Weights:
      view.weights = data + off;
      view.weightsSize = len;
      break;
    case SectionKind::DeviceCode:
      view.deviceCode = data + off;
      view.deviceCodeSize = len;
      break;
    case SectionKind::DeviceBinary:
      view.deviceBinary = data + off;
      view.deviceBinarySize = len;
      break;
    }
  }
  if (!seen[1] || !seen[2] || !seen[3]) {
    error = "the artifact lacks a manifest, host code or weights section";
    return false;
  }
  for (const WeightSpec &w : view.manifest.weights) {
    uint64_t span = (w.shards - 1) * w.shardStride() + w.size;
    if (w.offset > view.weightsSize || span > view.weightsSize - w.offset ||
        w.offset % kWeightAlignment != 0) {
      error = "weight '" + w.name + "' lies outside the weights section";
      return false;
    }
  }
  return true;
}

} // namespace tessera::artifact
