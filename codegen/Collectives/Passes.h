//===- Passes.h - Collectives to runtime calls ------------------*- C++ -*-===//
#ifndef TESSERA_CODEGEN_COLLECTIVES_PASSES_H
#define TESSERA_CODEGEN_COLLECTIVES_PASSES_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace mlir::tessera {

#define GEN_PASS_DECL
#include "codegen/Collectives/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "codegen/Collectives/Passes.h.inc"

} // namespace mlir::tessera

#endif // TESSERA_CODEGEN_COLLECTIVES_PASSES_H
