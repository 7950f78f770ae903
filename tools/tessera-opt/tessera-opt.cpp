//===- tessera-opt.cpp - Tessera's optimizer driver -----------------------===//
//
// MlirOptMain with Tessera's dialects and passes plus every upstream dialect,
// extension and pass (the pipelines of later phases use linalg, tensor,
// bufferization, shard, gpu and llvm), so any pipeline the driver runs can be
// replayed here.
//
//===----------------------------------------------------------------------===//

#include "codegen/CPU/CpuPipeline.h"
#include "codegen/CUDA/CudaPipeline.h"
#include "codegen/CUDA/Passes.h"
#include "codegen/Collectives/Passes.h"
#include "codegen/CPU/Passes.h"
#include "codegen/Conversion/Passes.h"
#include "dialects/Tessera/IR/TesseraDialect.h"
#include "passes/Sharding/Passes.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::registerAllPasses();
  mlir::tessera::registerTesseraConversionPasses();
  mlir::tessera::registerCpuPipelines();
  mlir::tessera::registerTesseraCpuPasses();
  mlir::tessera::registerCudaPipelines();
  mlir::tessera::registerTesseraCudaPasses();
  mlir::tessera::registerTesseraShardingPasses();
  mlir::tessera::registerTesseraCollectivesPasses();
  mlir::DialectRegistry registry;
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  mlir::tessera::registerShardingExternalModels(registry);
  mlir::registerAllToLLVMIRTranslations(registry);
  registry.insert<mlir::tessera::TesseraDialect>();
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "Tessera optimizer driver\n", registry));
}
