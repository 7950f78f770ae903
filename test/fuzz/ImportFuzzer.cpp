//===- ImportFuzzer.cpp - libFuzzer target for the ONNX importer ---------===//
//
// Any byte string must import or fail with an error; a crash, an assertion,
// a sanitizer report or a leak is a finding.
//
//===----------------------------------------------------------------------===//

#include "import/onnx/OnnxImporter.h"

#include "mlir/IR/MLIRContext.h"

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  mlir::MLIRContext context(mlir::MLIRContext::Threading::DISABLED);
  mlir::tessera::onnx_import::ImportOptions options;
  auto module = mlir::tessera::onnx_import::importOnnxBuffer(
      context, llvm::StringRef(reinterpret_cast<const char *>(data), size),
      /*modelDir=*/"", "fuzz", options);
  if (!module)
    llvm::consumeError(module.takeError());
  return 0;
}
