//===- npy.cpp - Reading and writing NumPy .npy files ---------------------===//

#include "npy.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace tessera::npy {

namespace {
struct Descr {
  const char *text;
  tsr_dtype_t dtype;
} const kDescrs[] = {
    {"<f4", TSR_DTYPE_F32}, {"<f2", TSR_DTYPE_F16}, {"<f8", TSR_DTYPE_F64},
    {"<i8", TSR_DTYPE_I64}, {"<i4", TSR_DTYPE_I32}, {"|i1", TSR_DTYPE_I8},
    {"|b1", TSR_DTYPE_BOOL}, {"<i2", TSR_DTYPE_I16}, {"|u1", TSR_DTYPE_U8},
    {"<u2", TSR_DTYPE_U16}, {"<u4", TSR_DTYPE_U32}, {"<u8", TSR_DTYPE_U64},
};

/// The value of `'key':` in the header dictionary, up to the next top-level
/// comma or the closing brace.
bool field(const std::string &header, const std::string &key, std::string &value) {
  size_t k = header.find("'" + key + "'");
  if (k == std::string::npos)
    return false;
  size_t colon = header.find(':', k);
  if (colon == std::string::npos)
    return false;
  size_t start = header.find_first_not_of(' ', colon + 1);
  if (start == std::string::npos)
    return false;
  size_t end = start;
  int depth = 0;
  for (; end < header.size(); ++end) {
    char c = header[end];
    if (c == '(')
      ++depth;
    else if (c == ')')
      --depth;
    else if ((c == ',' || c == '}') && depth == 0)
      break;
  }
  value = header.substr(start, end - start);
  while (!value.empty() && value.back() == ' ')
    value.pop_back();
  return true;
}

/// Reads exactly `size` bytes at `offset` of `fd` (EINTR retried).
bool readAt(int fd, char *dst, size_t size, off_t offset) {
  while (size) {
    ssize_t n = ::pread(fd, dst, size, offset);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return false;
    dst += n;
    size -= static_cast<size_t>(n);
    offset += n;
  }
  return true;
}

/// Writes all `size` bytes to `fd` (EINTR retried; a short write is an
/// error with errno set).
bool writeAll(int fd, const char *src, size_t size) {
  while (size) {
    ssize_t n = ::write(fd, src, size);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      if (n == 0)
        errno = ENOSPC;
      return false;
    }
    src += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

const char *fileKind(mode_t mode) {
  if (S_ISDIR(mode))
    return "a directory";
  if (S_ISFIFO(mode))
    return "a FIFO";
  if (S_ISCHR(mode))
    return "a character device";
  if (S_ISBLK(mode))
    return "a block device";
  if (S_ISSOCK(mode))
    return "a socket";
  return "not a regular file";
}

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0)
      ::close(fd);
  }
};
} // namespace

bool read(const std::string &path, Array &out, std::string &error) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer.
  Fd f;
  f.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (f.fd < 0) {
    error = path + ": " + std::strerror(errno);
    return false;
  }
  struct stat st;
  if (::fstat(f.fd, &st) != 0) {
    error = path + ": " + std::strerror(errno);
    return false;
  }
  if (!S_ISREG(st.st_mode)) {
    error = path + ": " + fileKind(st.st_mode) + ", not a .npy file";
    return false;
  }
  auto bad = [&](const std::string &why) {
    error = path + ": not a usable .npy file (" + why + ")";
    return false;
  };
  auto ioError = [&]() {
    error = path + ": read failed: " +
            (errno ? std::strerror(errno) : "the file changed while being read");
    return false;
  };
  size_t fileSize = static_cast<size_t>(st.st_size);
  char prefix[12];
  size_t prefixSize = std::min(fileSize, sizeof(prefix));
  errno = 0;
  if (!readAt(f.fd, prefix, prefixSize, 0))
    return ioError();
  if (prefixSize < 10 || std::memcmp(prefix, "\x93NUMPY", 6) != 0)
    return bad("bad magic");
  int major = static_cast<unsigned char>(prefix[6]);
  size_t headerLen, headerStart;
  if (major == 1) {
    headerLen = static_cast<unsigned char>(prefix[8]) |
                (static_cast<size_t>(static_cast<unsigned char>(prefix[9])) << 8);
    headerStart = 10;
  } else if (major == 2 || major == 3) {
    if (prefixSize < 12)
      return bad("truncated header");
    headerLen = 0;
    for (int i = 0; i < 4; ++i)
      headerLen |= static_cast<size_t>(static_cast<unsigned char>(prefix[8 + i])) << (8 * i);
    headerStart = 12;
  } else {
    return bad("format version " + std::to_string(major));
  }
  if (headerLen > fileSize - headerStart)
    return bad("truncated header");
  if (headerLen > kMaxHeaderBytes)
    return bad("a header of " + std::to_string(headerLen) + " bytes");
  std::string header(headerLen, '\0');
  errno = 0;
  if (!readAt(f.fd, header.data(), headerLen, static_cast<off_t>(headerStart)))
    return ioError();
  std::string descr, order, shape;
  if (!field(header, "descr", descr) || !field(header, "fortran_order", order) ||
      !field(header, "shape", shape))
    return bad("header lacks descr, fortran_order or shape");
  if (order != "False")
    return bad("Fortran order; save with numpy.ascontiguousarray");
  out.dtype = TSR_DTYPE_INVALID;
  for (const Descr &d : kDescrs)
    if (descr == std::string("'") + d.text + "'")
      out.dtype = d.dtype;
  if (out.dtype == TSR_DTYPE_INVALID)
    return bad("element type " + descr + " is unsupported");
  out.shape.clear();
  if (shape.size() < 2 || shape.front() != '(' || shape.back() != ')')
    return bad("bad shape");
  std::string dims = shape.substr(1, shape.size() - 2);
  int64_t count = 1;
  size_t pos = 0;
  while (pos < dims.size()) {
    size_t comma = dims.find(',', pos);
    std::string d = dims.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    size_t a = d.find_first_not_of(' '), b = d.find_last_not_of(' ');
    if (a != std::string::npos) {
      d = d.substr(a, b - a + 1);
      if (d.empty() || d.size() > 18 || d.find_first_not_of("0123456789") != std::string::npos)
        return bad("bad shape");
      int64_t v = std::stoll(d);
      if (__builtin_mul_overflow(count, v, &count))
        return bad("shape overflows");
      out.shape.push_back(v);
    }
    if (comma == std::string::npos)
      break;
    pos = comma + 1;
  }
  int64_t need;
  if (__builtin_mul_overflow(count, static_cast<int64_t>(tsr_dtype_size(out.dtype)), &need))
    return bad("shape overflows");
  // The size is checked before any data is read or allocated.
  size_t dataStart = headerStart + headerLen;
  if (fileSize - dataStart != static_cast<size_t>(need))
    return bad("holds " + std::to_string(fileSize - dataStart) +
               " bytes of data, its shape needs " + std::to_string(need));
  out.data.resize(static_cast<size_t>(need));
  errno = 0;
  if (!readAt(f.fd, out.data.data(), out.data.size(), static_cast<off_t>(dataStart)))
    return ioError();
  return true;
}

PendingFile::PendingFile(PendingFile &&other) noexcept
    : path_(std::move(other.path_)), temp_(std::move(other.temp_)) {
  other.temp_.clear();
}

PendingFile::~PendingFile() {
  if (!temp_.empty())
    ::unlink(temp_.c_str());
}

bool PendingFile::write(const std::string &path, const Array &array, std::string &error) {
  const char *descr = nullptr;
  for (const Descr &d : kDescrs)
    if (d.dtype == array.dtype)
      descr = d.text;
  if (array.dtype == TSR_DTYPE_BF16)
    descr = "<u2"; // .npy has no bfloat16: its bit patterns
  if (array.dtype >= TSR_DTYPE_F8E4M3FN && array.dtype <= TSR_DTYPE_F8E8M0)
    descr = "|u1"; // nor float8 / float4: theirs, a byte each
  if (array.dtype == TSR_DTYPE_I4 || array.dtype == TSR_DTYPE_I2)
    descr = "|i1"; // nor 4- and 2-bit integers: their values
  if (array.dtype == TSR_DTYPE_U4 || array.dtype == TSR_DTYPE_U2)
    descr = "|u1";
  if (!descr) {
    error = path + ": cannot write element type " + tsr_dtype_name(array.dtype) + " to .npy";
    return false;
  }
  std::string shape = "(";
  for (size_t i = 0; i < array.shape.size(); ++i)
    shape += std::to_string(array.shape[i]) + (array.shape.size() == 1 || i + 1 < array.shape.size() ? "," : "");
  shape += ")";
  std::string header = std::string("{'descr': '") + descr +
                       "', 'fortran_order': False, 'shape': " + shape + ", }";
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header.push_back('\n');
  std::string head = std::string("\x93NUMPY\x01\x00", 8);
  head.push_back(static_cast<char>(header.size() & 0xff));
  head.push_back(static_cast<char>((header.size() >> 8) & 0xff));
  head += header;

  // A temporary name beside `path` (the same file system, so rename is
  // atomic), created exclusively; renamed over `path`, so what is there
  // must be a regular file (not a FIFO or a device to be replaced).
  struct stat st;
  if (::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
    error = path + ": not a regular file (an output is written beside it and renamed over it)";
    return false;
  }
  std::string temp = path + ".tessera-tmp-" + std::to_string(::getpid());
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  if (fd < 0) {
    error = path + ": cannot create " + temp + ": " + std::strerror(errno);
    return false;
  }
  path_ = path;
  temp_ = temp;
  // 4- and 2-bit integers: the host code leaves the bytes' upper bits
  // unspecified; the file holds each value sign- or zero-extended.
  const std::vector<char> *bytes = &array.data;
  std::vector<char> extended;
  int bits = array.dtype == TSR_DTYPE_I4 || array.dtype == TSR_DTYPE_U4   ? 4
             : array.dtype == TSR_DTYPE_I2 || array.dtype == TSR_DTYPE_U2 ? 2
                                                                          : 0;
  if (bits) {
    bool sign = array.dtype == TSR_DTYPE_I4 || array.dtype == TSR_DTYPE_I2;
    extended.resize(array.data.size());
    for (size_t i = 0; i < extended.size(); ++i) {
      unsigned v = static_cast<unsigned char>(array.data[i]) & ((1u << bits) - 1);
      if (sign && (v >> (bits - 1)))
        v |= ~((1u << bits) - 1);
      extended[i] = static_cast<char>(v);
    }
    bytes = &extended;
  }
  bool ok = writeAll(fd, head.data(), head.size()) &&
            writeAll(fd, bytes->data(), bytes->size()) && ::fsync(fd) == 0;
  int savedErrno = errno;
  if (::close(fd) != 0 && ok) {
    ok = false;
    savedErrno = errno;
  }
  if (!ok) {
    error = path + ": write failed: " + std::strerror(savedErrno);
    ::unlink(temp_.c_str());
    temp_.clear();
    return false;
  }
  return true;
}

bool PendingFile::commit(std::string &error) {
  if (::rename(temp_.c_str(), path_.c_str()) != 0) {
    error = path_ + ": cannot rename " + temp_ + " to it: " + std::strerror(errno);
    return false;
  }
  temp_.clear();
  return true;
}

bool write(const std::string &path, const Array &array, std::string &error) {
  PendingFile file;
  return file.write(path, array, error) && file.commit(error);
}

} // namespace tessera::npy
