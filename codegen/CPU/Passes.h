//===- Passes.h - CPU codegen passes ----------------------------*- C++ -*-===//
#ifndef TESSERA_CODEGEN_CPU_PASSES_H
#define TESSERA_CODEGEN_CPU_PASSES_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Pass/Pass.h"

namespace mlir::tessera {

/// Marks the `scf.for` over a batch that tessera-cpu-serialize-batch
/// creates; tessera-cpu-outline-loops outlines the nests of its body.
inline constexpr llvm::StringLiteral kBatchSerialAttr = "tessera.batch_serial";

#define GEN_PASS_DECL
#include "codegen/CPU/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "codegen/CPU/Passes.h.inc"

} // namespace mlir::tessera

#endif // TESSERA_CODEGEN_CPU_PASSES_H
