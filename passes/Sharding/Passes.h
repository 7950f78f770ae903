//===- Passes.h - Sharding strategies ---------------------------*- C++ -*-===//
#ifndef TESSERA_PASSES_SHARDING_PASSES_H
#define TESSERA_PASSES_SHARDING_PASSES_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Shard/IR/ShardDialect.h"
#include "mlir/Dialect/Shard/IR/ShardOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace mlir::tessera {

#define GEN_PASS_DECL
#include "passes/Sharding/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "passes/Sharding/Passes.h.inc"

/// The module attribute naming the mesh axes (an array of strings), in the
/// order of the `shard.grid @mesh` dimensions.
constexpr llvm::StringLiteral kMeshAxesAttrName = "tessera.mesh_axes";
/// The grid symbol Tessera's strategies use.
constexpr llvm::StringLiteral kMeshName = "mesh";
/// Argument and result attribute: split axes per dimension.
constexpr llvm::StringLiteral kSplitAttrName = "tessera.split";

/// Adds `shard.grid @mesh` with `sizes` and the axis names to `module`.
void addMesh(ModuleOp module, llvm::ArrayRef<std::string> names,
             llvm::ArrayRef<int64_t> sizes);

/// Attaches Tessera's ShardingInterface models to upstream ops that have
/// none (tensor.expand_shape, tensor.collapse_shape).
void registerShardingExternalModels(DialectRegistry &registry);

} // namespace mlir::tessera

#endif // TESSERA_PASSES_SHARDING_PASSES_H
