//===- RuntimeCalls.h - Declaring the functions compiled code calls -*- C++ -*-===//
//
// The microkernels (tessera_uk_*) and runtime hooks (tessera_rt_*) that
// lowerings call are private declarations in the module, linked in later
// (codegen/CPU/CpuTarget.cpp).
//
//===----------------------------------------------------------------------===//
#ifndef TESSERA_CODEGEN_COMMON_RUNTIMECALLS_H
#define TESSERA_CODEGEN_COMMON_RUNTIMECALLS_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"

namespace mlir::tessera {

/// `name` in `module`, declared private with this signature if it is not
/// there yet.
inline func::FuncOp lookupOrDeclareFunc(ModuleOp module, StringRef name,
                                        TypeRange args, TypeRange results) {
  if (auto f = module.lookupSymbol<func::FuncOp>(name))
    return f;
  OpBuilder b = OpBuilder::atBlockEnd(module.getBody());
  auto f = func::FuncOp::create(b, module.getLoc(), name,
                                b.getFunctionType(args, results));
  f.setPrivate();
  return f;
}

} // namespace mlir::tessera

#endif // TESSERA_CODEGEN_COMMON_RUNTIMECALLS_H
