//===- npy.cpp - Reading and writing NumPy .npy files ---------------------===//

#include "npy.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>

namespace tessera::npy {

namespace {
struct Descr {
  const char *text;
  tsr_dtype_t dtype;
} const kDescrs[] = {
    {"<f4", TSR_DTYPE_F32}, {"<f2", TSR_DTYPE_F16}, {"<f8", TSR_DTYPE_F64},
    {"<i8", TSR_DTYPE_I64}, {"<i4", TSR_DTYPE_I32}, {"|i1", TSR_DTYPE_I8},
    {"|b1", TSR_DTYPE_BOOL},
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
} // namespace

bool read(const std::string &path, Array &out, std::string &error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = path + ": " + std::strerror(errno);
    return false;
  }
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto bad = [&](const std::string &why) {
    error = path + ": not a usable .npy file (" + why + ")";
    return false;
  };
  if (bytes.size() < 10 || bytes.compare(0, 6, "\x93NUMPY") != 0)
    return bad("bad magic");
  int major = static_cast<unsigned char>(bytes[6]);
  size_t headerLen, headerStart;
  if (major == 1) {
    headerLen = static_cast<unsigned char>(bytes[8]) |
                (static_cast<size_t>(static_cast<unsigned char>(bytes[9])) << 8);
    headerStart = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12)
      return bad("truncated header");
    headerLen = 0;
    for (int i = 0; i < 4; ++i)
      headerLen |= static_cast<size_t>(static_cast<unsigned char>(bytes[8 + i])) << (8 * i);
    headerStart = 12;
  } else {
    return bad("format version " + std::to_string(major));
  }
  if (headerLen > bytes.size() - headerStart)
    return bad("truncated header");
  std::string header = bytes.substr(headerStart, headerLen);
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
  size_t dataStart = headerStart + headerLen;
  if (bytes.size() - dataStart != static_cast<size_t>(need))
    return bad("holds " + std::to_string(bytes.size() - dataStart) +
               " bytes of data, its shape needs " + std::to_string(need));
  out.data.assign(bytes.begin() + dataStart, bytes.end());
  return true;
}

bool write(const std::string &path, const Array &array, std::string &error) {
  const char *descr = nullptr;
  for (const Descr &d : kDescrs)
    if (d.dtype == array.dtype)
      descr = d.text;
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
  std::ofstream out(path, std::ios::binary);
  if (!out) {
    error = path + ": " + std::strerror(errno);
    return false;
  }
  out.write("\x93NUMPY\x01\x00", 8);
  char len[2] = {static_cast<char>(header.size() & 0xff),
                 static_cast<char>((header.size() >> 8) & 0xff)};
  out.write(len, 2);
  out << header;
  out.write(array.data.data(), static_cast<std::streamsize>(array.data.size()));
  if (!out) {
    error = path + ": write failed";
    return false;
  }
  return true;
}

} // namespace tessera::npy
