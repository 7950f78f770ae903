//===- TesseraDialect.h - The tessera dialect -------------------*- C++ -*-===//
#ifndef TESSERA_DIALECTS_TESSERA_IR_TESSERADIALECT_H
#define TESSERA_DIALECTS_TESSERA_IR_TESSERADIALECT_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"

#include "dialects/Tessera/IR/TesseraDialect.h.inc"

namespace mlir::tessera {
/// The argument attribute of an outlined weight: its value (a
/// DenseResourceElementsAttr), on a trailing argument of `@main`.
constexpr llvm::StringLiteral kWeightAttrName = "tessera.weight";
} // namespace mlir::tessera

#endif // TESSERA_DIALECTS_TESSERA_IR_TESSERADIALECT_H
