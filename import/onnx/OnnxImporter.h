//===- OnnxImporter.h - ONNX ModelProto to the tessera dialect --*- C++ -*-===//
//
// The library entry point of the importer: reads an ONNX model (Protobuf
// ModelProto, opsets 1 to 21, external data inside the model's directory)
// and returns a module holding `func.func @main` in the tessera dialect.
// Every failure is one line of text naming the file, node, op and opset.
//
//===----------------------------------------------------------------------===//

#ifndef TESSERA_IMPORT_ONNX_ONNXIMPORTER_H
#define TESSERA_IMPORT_ONNX_ONNXIMPORTER_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <string>

namespace mlir {
class MLIRContext;
} // namespace mlir

namespace mlir::tessera::onnx_import {

/// The default-domain opsets the importer reads.
constexpr int64_t kMinOpset = 1;
constexpr int64_t kMaxOpset = 28;

struct ImportOptions {
  /// Static shapes for graph inputs, by ONNX name; they replace the declared
  /// shape (which must agree wherever it is static).
  llvm::StringMap<llvm::SmallVector<int64_t>> inputShapes;
  /// Graph inputs bound to constant values (ONNX TensorProto files), by
  /// name: shape operands that a model takes as inputs become foldable.
  llvm::StringMap<std::string> boundInputs;
  /// When set, every graph input of rank 1 or more takes this first
  /// dimension, whatever its declared or given size (tessera-compile pads a
  /// batch the data-parallel axis does not divide).
  int64_t batch = -1;
  /// Floating-point constants with more elements than this become dense
  /// resources (blobs); smaller ones stay `dense<...>`.
  int64_t resourceThreshold = 16;
  /// The same limit for integer constants, which hold shape computations
  /// that must fold.
  int64_t integerResourceThreshold = 1024;
};

/// Parses one `--input-shape` value, `NAME:2x128` (a scalar is `NAME:`), into
/// `options`.
llvm::Error parseInputShape(llvm::StringRef spec, ImportOptions &options);

/// Parses one `--bind-input` value, `NAME=FILE.pb`, into `options`.
llvm::Error parseBindInput(llvm::StringRef spec, ImportOptions &options);

/// Registers the dialects the importer creates ops of.
void registerImportDialects(mlir::MLIRContext &context);

/// Imports the model file at `path`. External data is resolved inside the
/// file's directory.
llvm::Expected<mlir::OwningOpRef<mlir::ModuleOp>>
importOnnxFile(mlir::MLIRContext &context, llvm::StringRef path,
               const ImportOptions &options = {});

/// Imports a model held in memory. `modelDir` is where external data may be
/// read from; when empty, a model with external data is rejected. `name`
/// names the model in messages.
llvm::Expected<mlir::OwningOpRef<mlir::ModuleOp>>
importOnnxBuffer(mlir::MLIRContext &context, llvm::StringRef bytes,
                 llvm::StringRef modelDir, llvm::StringRef name,
                 const ImportOptions &options = {});

} // namespace mlir::tessera::onnx_import

#endif // TESSERA_IMPORT_ONNX_ONNXIMPORTER_H
