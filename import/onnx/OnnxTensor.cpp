//===- OnnxTensor.cpp - ONNX TensorProto to ElementsAttr ------------------===//
//
// Initializers and Constant values: typed fields, raw data and external data
// files. External data is read only from inside the model's directory:
// absolute paths, `..` components and symlinks that leave the directory are
// rejected, and offset + length must lie inside the file. Large tensors are
// mapped, not copied, and become dense resources.
//
//===----------------------------------------------------------------------===//

#include "import/onnx/ImporterImpl.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MathExtras.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <cstring>
#include <memory>

using namespace mlir;
using namespace mlir::tessera::onnx_import;

std::optional<int64_t>
tessera::onnx_import::checkedNumElements(llvm::ArrayRef<int64_t> shape,
                                         int64_t elementBytes) {
  int64_t n = elementBytes;
  for (int64_t d : shape) {
    if (d < 0 || llvm::MulOverflow(n, d, n))
      return std::nullopt;
  }
  if (elementBytes == 0)
    return std::nullopt;
  return n / elementBytes;
}

Type tessera::onnx_import::convertDataType(MLIRContext *ctx, int32_t dt) {
  Builder b(ctx);
  switch (dt) {
  case onnx::TensorProto::FLOAT: return b.getF32Type();
  case onnx::TensorProto::FLOAT16: return b.getF16Type();
  case onnx::TensorProto::BFLOAT16: return b.getBF16Type();
  case onnx::TensorProto::DOUBLE: return b.getF64Type();
  case onnx::TensorProto::INT64: return b.getI64Type();
  case onnx::TensorProto::INT32: return b.getI32Type();
  case onnx::TensorProto::INT16: return b.getIntegerType(16);
  case onnx::TensorProto::INT8: return b.getI8Type();
  case onnx::TensorProto::UINT64: return b.getIntegerType(64, /*isSigned=*/false);
  case onnx::TensorProto::UINT32: return b.getIntegerType(32, /*isSigned=*/false);
  case onnx::TensorProto::UINT16: return b.getIntegerType(16, /*isSigned=*/false);
  case onnx::TensorProto::UINT8: return b.getIntegerType(8, /*isSigned=*/false);
  case onnx::TensorProto::BOOL: return b.getI1Type();
  case onnx::TensorProto::FLOAT8E4M3FN: return b.getType<Float8E4M3FNType>();
  case onnx::TensorProto::FLOAT8E4M3FNUZ: return b.getType<Float8E4M3FNUZType>();
  case onnx::TensorProto::FLOAT8E5M2: return b.getType<Float8E5M2Type>();
  case onnx::TensorProto::FLOAT8E5M2FNUZ: return b.getType<Float8E5M2FNUZType>();
  case onnx::TensorProto::FLOAT4E2M1: return b.getType<Float4E2M1FNType>();
  case onnx::TensorProto::FLOAT8E8M0: return b.getType<Float8E8M0FNUType>();
  case onnx::TensorProto::INT4: return b.getIntegerType(4);
  case onnx::TensorProto::UINT4: return b.getIntegerType(4, /*isSigned=*/false);
  case onnx::TensorProto::INT2: return b.getIntegerType(2);
  case onnx::TensorProto::UINT2: return b.getIntegerType(2, /*isSigned=*/false);
  default: return {};
  }
}

std::string tessera::onnx_import::dataTypeName(int32_t dt) {
  if (onnx::TensorProto::DataType_IsValid(dt))
    return llvm::StringRef(onnx::TensorProto::DataType_Name(
                               static_cast<onnx::TensorProto::DataType>(dt)))
        .lower();
  return "data type " + std::to_string(dt);
}

/// Bytes per element as Tessera stores it (a 4-bit float takes a byte).
static int64_t byteWidth(Type t) {
  return t.isInteger(1) ? 1 : std::max<int64_t>(1, t.getIntOrFloatBitWidth() / 8);
}

namespace {
/// Bytes of a tensor, owned or mapped.
struct TensorBytes {
  llvm::ArrayRef<char> data;
  std::unique_ptr<llvm::MemoryBuffer> mapped; // keeps `data` alive if set
  std::vector<char> owned;                    // or this does
};
} // namespace

/// Parses a non-negative decimal int64 strictly.
static std::optional<int64_t> parseOffset(llvm::StringRef s) {
  int64_t v;
  if (s.empty() || s.getAsInteger(10, v) || v < 0)
    return std::nullopt;
  return v;
}

static LogicalResult readExternal(const onnx::TensorProto &tensor,
                                  llvm::StringRef modelDir, int64_t needed,
                                  TensorBytes &out, std::string &error) {
  const std::string &name = tensor.name();
  if (modelDir.empty()) {
    error = "tensor '" + name +
            "' uses external data, which needs the model's directory";
    return failure();
  }
  std::string location;
  std::optional<int64_t> offset = 0, length;
  for (const auto &kv : tensor.external_data()) {
    if (kv.key() == "location") {
      location = kv.value();
    } else if (kv.key() == "offset") {
      if (!(offset = parseOffset(kv.value()))) {
        error = "tensor '" + name + "': invalid external data offset '" +
                kv.value() + "'";
        return failure();
      }
    } else if (kv.key() == "length") {
      if (!(length = parseOffset(kv.value()))) {
        error = "tensor '" + name + "': invalid external data length '" +
                kv.value() + "'";
        return failure();
      }
    }
  }
  if (location.empty()) {
    error = "tensor '" + name + "': external data has no location";
    return failure();
  }
  llvm::StringRef loc(location);
  if (llvm::sys::path::is_absolute(loc) ||
      llvm::any_of(llvm::make_range(llvm::sys::path::begin(loc),
                                    llvm::sys::path::end(loc)),
                   [](llvm::StringRef c) { return c == ".."; }) ||
      loc.contains('\0')) {
    error = "tensor '" + name + "': external data location '" + location +
            "' is outside the model's directory";
    return failure();
  }
  llvm::SmallString<256> path(modelDir);
  llvm::sys::path::append(path, loc);
  llvm::SmallString<256> realDir, realFile;
  if (llvm::sys::fs::real_path(modelDir, realDir) ||
      llvm::sys::fs::real_path(path, realFile)) {
    error = "tensor '" + name + "': external data file '" + location +
            "' not found";
    return failure();
  }
  llvm::SmallString<256> prefix(realDir);
  prefix += llvm::sys::path::get_separator();
  if (!llvm::StringRef(realFile).starts_with(prefix)) {
    error = "tensor '" + name + "': external data location '" + location +
            "' resolves outside the model's directory";
    return failure();
  }
  llvm::sys::fs::file_status status;
  if (llvm::sys::fs::status(realFile, status) ||
      !llvm::sys::fs::is_regular_file(status)) {
    error = "tensor '" + name + "': external data '" + location +
            "' is not a regular file";
    return failure();
  }
  int64_t fileSize = static_cast<int64_t>(status.getSize());
  if (*offset > fileSize || (length && *length > fileSize - *offset)) {
    error = "tensor '" + name + "': external data range [" +
            std::to_string(*offset) + ", +" +
            std::to_string(length ? *length : 0) + ") lies beyond the " +
            std::to_string(fileSize) + "-byte file '" + location + "'";
    return failure();
  }
  int64_t available = length ? *length : fileSize - *offset;
  if (length ? available != needed : available < needed) {
    error = "tensor '" + name + "': external data has " +
            std::to_string(available) + " bytes, its shape needs " +
            std::to_string(needed);
    return failure();
  }
  if (needed == 0)
    return success();
  auto buffer = llvm::MemoryBuffer::getFileSlice(realFile, needed, *offset,
                                                 /*IsVolatile=*/false);
  if (!buffer) {
    error = "tensor '" + name + "': cannot read '" + location +
            "': " + buffer.getError().message();
    return failure();
  }
  out.mapped = std::move(*buffer);
  out.data = llvm::ArrayRef<char>(out.mapped->getBufferStart(),
                                  out.mapped->getBufferSize());
  return success();
}

template <typename Field>
static void appendField(const Field &field, size_t bytesEach,
                        std::vector<char> &out) {
  for (auto v : field) {
    char buf[8];
    std::memcpy(buf, &v, sizeof(v));
    out.insert(out.end(), buf, buf + bytesEach);
  }
}

FailureOr<ElementsAttr> tessera::onnx_import::convertTensor(
    MLIRContext *ctx, const onnx::TensorProto &tensor, llvm::StringRef modelDir,
    const ImportOptions &options, std::string &error) {
  const std::string &name = tensor.name();
  Type element = convertDataType(ctx, tensor.data_type());
  if (!element) {
    error = "tensor '" + name + "' has unsupported element type " +
            dataTypeName(tensor.data_type());
    return failure();
  }
  if (tensor.has_segment()) {
    error = "tensor '" + name + "' is segmented, which is unsupported";
    return failure();
  }
  llvm::SmallVector<int64_t> shape(tensor.dims().begin(), tensor.dims().end());
  int64_t width = byteWidth(element);
  std::optional<int64_t> count = checkedNumElements(shape, width);
  if (!count) {
    error = "tensor '" + name + "' has a negative or overflowing dimension";
    return failure();
  }
  int64_t needed = *count * width;
  auto type = RankedTensorType::get(shape, element);
  // ONNX packs 4-bit elements two to a byte and 2-bit ones four, the first
  // in the lowest bits.
  unsigned bits = element.getIntOrFloatBitWidth();
  bool packed4 = bits == 4 || bits == 2;
  int64_t perByte = packed4 ? 8 / bits : 1;
  if (packed4)
    needed = (*count + perByte - 1) / perByte;

  TensorBytes bytes;
  if (tensor.data_location() == onnx::TensorProto::EXTERNAL) {
    if (failed(readExternal(tensor, modelDir, needed, bytes, error)))
      return failure();
  } else if (tensor.has_raw_data()) {
    const std::string &raw = tensor.raw_data();
    if (static_cast<int64_t>(raw.size()) != needed) {
      error = "tensor '" + name + "' has " + std::to_string(raw.size()) +
              " bytes of data, its shape needs " + std::to_string(needed);
      return failure();
    }
    bytes.data = llvm::ArrayRef<char>(raw.data(), raw.size());
  } else if (packed4) {
    // int32_data holds the packed bytes, one per value.
    for (int32_t v : tensor.int32_data())
      bytes.owned.push_back(static_cast<char>(v));
    bytes.data = bytes.owned;
  } else {
    int64_t given = 0;
    switch (tensor.data_type()) {
    case onnx::TensorProto::FLOAT:
      given = tensor.float_data_size();
      if (given == *count) appendField(tensor.float_data(), 4, bytes.owned);
      break;
    case onnx::TensorProto::DOUBLE:
      given = tensor.double_data_size();
      if (given == *count) appendField(tensor.double_data(), 8, bytes.owned);
      break;
    case onnx::TensorProto::INT64:
      given = tensor.int64_data_size();
      if (given == *count) appendField(tensor.int64_data(), 8, bytes.owned);
      break;
    case onnx::TensorProto::UINT64:
    case onnx::TensorProto::UINT32:
      given = tensor.uint64_data_size();
      if (given == *count) appendField(tensor.uint64_data(), width, bytes.owned);
      break;
    default: // (u)int16, (u)int8, int32, bool, float16, bfloat16: int32_data
      given = tensor.int32_data_size();
      if (given == *count) appendField(tensor.int32_data(), width, bytes.owned);
      break;
    }
    if (given != *count) {
      error = "tensor '" + name + "' has " + std::to_string(given) +
              " values, its shape needs " + std::to_string(*count);
      return failure();
    }
    bytes.data = bytes.owned;
  }

  if (packed4) {
    if (static_cast<int64_t>(bytes.data.size()) != needed) {
      error = "tensor '" + name + "' has " + std::to_string(bytes.data.size()) +
              " bytes of data, its shape needs " + std::to_string(needed);
      return failure();
    }
    // Tessera keeps a byte per element: the value, sign-extended for the
    // signed integer types.
    bool sext = element.isSignedInteger() || element.isSignlessInteger();
    std::vector<char> unpacked(static_cast<size_t>(*count));
    for (int64_t i = 0; i < *count; ++i) {
      unsigned v = (static_cast<unsigned char>(bytes.data[i / perByte]) >>
                    ((i % perByte) * bits)) & ((1u << bits) - 1);
      if (sext && (v >> (bits - 1)))
        v |= ~((1u << bits) - 1);
      unpacked[i] = static_cast<char>(v);
    }
    return cast<ElementsAttr>(DenseElementsAttr::getFromRawBuffer(type, unpacked));
  }
  if (element.isInteger(1)) {
    llvm::SmallVector<bool> values;
    for (char c : bytes.data)
      values.push_back(c != 0);
    return cast<ElementsAttr>(DenseElementsAttr::get(type, values));
  }
  if (*count <= (isa<IntegerType>(element) ? options.integerResourceThreshold
                                            : options.resourceThreshold))
    return cast<ElementsAttr>(
        DenseElementsAttr::getFromRawBuffer(type, bytes.data));

  // A weight: a dense resource, mapped when the mapping is aligned.
  size_t align = static_cast<size_t>(width);
  AsmResourceBlob blob;
  if (bytes.mapped &&
      reinterpret_cast<uintptr_t>(bytes.data.data()) % align == 0) {
    std::shared_ptr<llvm::MemoryBuffer> keep = std::move(bytes.mapped);
    blob = AsmResourceBlob(bytes.data, align,
                           [keep](void *, size_t, size_t) {}, false);
  } else {
    blob = HeapAsmResourceBlob::allocateAndCopyWithAlign(bytes.data, align);
  }
  // Resource keys print bare in the IR: keep them to identifier characters.
  std::string blobName = name.empty() ? "tensor" : name;
  for (char &c : blobName)
    if (!llvm::isAlnum(c) && c != '_' && c != '.')
      c = '_';
  if (llvm::isDigit(blobName[0]) || blobName[0] == '.')
    blobName.insert(0, "t");
  return cast<ElementsAttr>(
      DenseResourceElementsAttr::get(type, blobName, std::move(blob)));
}
