//===- Passes.h - Tessera conversion passes ---------------------*- C++ -*-===//
#ifndef TESSERA_CODEGEN_CONVERSION_PASSES_H
#define TESSERA_CODEGEN_CONVERSION_PASSES_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Pass/Pass.h"

namespace mlir::tessera {

#define GEN_PASS_DECL
#include "codegen/Conversion/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "codegen/Conversion/Passes.h.inc"

} // namespace mlir::tessera

#endif // TESSERA_CODEGEN_CONVERSION_PASSES_H
