//===- LowerCollectives.cpp - shard collectives to runtime calls ----------===//

#include "codegen/Collectives/Passes.h"
#include "codegen/Common/RuntimeCalls.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Shard/IR/ShardOps.h"
#include "mlir/Dialect/Shard/Transforms/Transforms.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::tessera {
#define GEN_PASS_DEF_LOWERCOLLECTIVESPASS
#include "codegen/Collectives/Passes.h.inc"
} // namespace mlir::tessera

using namespace mlir;
using mlir::tessera::lookupOrDeclareFunc;

namespace {
/// The runtime's element type codes (tsr_dtype_t): f32 1, f16 2, bf16 3,
/// f64 4, i64 5, i32 6.
std::optional<int64_t> dtypeCode(Type t) {
  if (t.isF32())
    return 1;
  if (t.isF16())
    return 2;
  if (t.isBF16())
    return 3;
  if (t.isF64())
    return 4;
  if (t.isInteger(64))
    return 5;
  if (t.isInteger(32))
    return 6;
  return std::nullopt;
}

/// 0 sum, 1 product, 2 max, 3 min (the runtime's ReduceKind).
std::optional<int64_t> reductionCode(shard::ReductionKind k) {
  switch (k) {
  case shard::ReductionKind::Sum:
    return 0;
  case shard::ReductionKind::Product:
    return 1;
  case shard::ReductionKind::Max:
    return 2;
  case shard::ReductionKind::Min:
    return 3;
  default:
    return std::nullopt;
  }
}

int64_t axesMask(ArrayRef<int16_t> axes) {
  int64_t m = 0;
  for (int16_t a : axes)
    m |= int64_t(1) << a;
  return m;
}

struct Lowering {
  ModuleOp module;
  OpBuilder b;
  Location loc;

  Value index(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }
  /// A buffer holding `t`'s value, read only.
  Value readBuffer(Value t) {
    auto type = cast<RankedTensorType>(t.getType());
    auto m = MemRefType::get(type.getShape(), type.getElementType());
    auto op = bufferization::ToBufferOp::create(b, loc, m, t);
    op.setReadOnly(true);
    return op;
  }
  Value address(Value buffer) {
    return memref::ExtractAlignedPointerAsIndexOp::create(b, loc, buffer);
  }
  Value newBuffer(RankedTensorType type) {
    return memref::AllocOp::create(
        b, loc, MemRefType::get(type.getShape(), type.getElementType()),
        b.getI64IntegerAttr(64));
  }
  Value asTensor(Value buffer, Type type) {
    return bufferization::ToTensorOp::create(b, loc, type, buffer,
                                             /*restrict=*/true, /*writable=*/true);
  }
};

LogicalResult lowerAllReduce(ModuleOp module, shard::AllReduceOp op) {
  Lowering l{module, OpBuilder(op), op.getLoc()};
  auto type = cast<RankedTensorType>(op.getResult().getType());
  std::optional<int64_t> dtype = dtypeCode(type.getElementType());
  std::optional<int64_t> red = reductionCode(op.getReduction());
  if (!dtype || !red || cast<RankedTensorType>(op.getInput().getType()) != type)
    return op.emitError("all_reduce of ")
           << type << " with reduction " << stringifyReductionKind(op.getReduction())
           << " is not supported by the runtime";
  Value in = l.readBuffer(op.getInput());
  Value out = l.newBuffer(type);
  memref::CopyOp::create(l.b, l.loc, in, out);
  Type idx = l.b.getIndexType();
  func::FuncOp callee = lookupOrDeclareFunc(module, "tessera_rt_all_reduce",
                                {idx, idx, idx, idx, idx}, {});
  func::CallOp::create(l.b, l.loc, callee,
                       ValueRange{l.address(out), l.index(type.getNumElements()),
                                  l.index(*dtype), l.index(*red),
                                  l.index(axesMask(op.getGridAxes()))});
  op.getResult().replaceAllUsesWith(l.asTensor(out, type));
  op.erase();
  return success();
}

LogicalResult lowerAllGather(ModuleOp module, shard::AllGatherOp op) {
  Lowering l{module, OpBuilder(op), op.getLoc()};
  auto in = cast<RankedTensorType>(op.getInput().getType());
  auto out = cast<RankedTensorType>(op.getResult().getType());
  if (!in.hasStaticShape() || !out.hasStaticShape() ||
      !in.getElementType().isIntOrFloat())
    return op.emitError("all_gather of ") << in << " is not supported";
  int64_t axis = op.getGatherAxis().getSExtValue();
  // Bytes per element as stored (an i1 takes a byte).
  int64_t outer = 1, inner = (in.getElementTypeBitWidth() + 7) / 8;
  for (int64_t d = 0; d < in.getRank(); ++d)
    (d < axis ? outer : inner) *= in.getDimSize(d);
  Value send = l.readBuffer(op.getInput());
  Value recv = l.newBuffer(out);
  Type idx = l.b.getIndexType();
  func::FuncOp callee = lookupOrDeclareFunc(module, "tessera_rt_all_gather",
                                {idx, idx, idx, idx, idx}, {});
  func::CallOp::create(l.b, l.loc, callee,
                       ValueRange{l.address(send), l.address(recv), l.index(outer),
                                  l.index(inner), l.index(axesMask(op.getGridAxes()))});
  op.getResult().replaceAllUsesWith(l.asTensor(recv, out));
  op.erase();
  return success();
}

struct LowerCollectivesPass
    : mlir::tessera::impl::LowerCollectivesPassBase<LowerCollectivesPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SymbolTableCollection symbols;
    RewritePatternSet patterns(&getContext());
    shard::populateAllSliceOpLoweringPatterns(patterns, symbols);
    shard::populateProcessMultiIndexOpLoweringPatterns(patterns, symbols);
    if (failed(applyPatternsGreedily(module, std::move(patterns))))
      return signalPassFailure();

    bool failedAny = false;
    SmallVector<Operation *> ops;
    module.walk([&](Operation *op) {
      if (op->getDialect() && op->getDialect()->getNamespace() == "shard")
        ops.push_back(op);
    });
    for (Operation *op : ops) {
      LogicalResult r = success();
      if (auto ar = dyn_cast<shard::AllReduceOp>(op)) {
        r = lowerAllReduce(module, ar);
      } else if (auto ag = dyn_cast<shard::AllGatherOp>(op)) {
        r = lowerAllGather(module, ag);
      } else if (auto pli = dyn_cast<shard::ProcessLinearIndexOp>(op)) {
        OpBuilder b(op);
        func::FuncOp callee = lookupOrDeclareFunc(module, "tessera_rt_process_linear_index",
                                      {}, {b.getIndexType()});
        auto call = func::CallOp::create(b, op->getLoc(), callee, ValueRange{});
        pli.getResult().replaceAllUsesWith(call.getResult(0));
        op->erase();
      } else if (auto gs = dyn_cast<shard::GridShapeOp>(op)) {
        auto grid = symbols.lookupNearestSymbolFrom<shard::GridOp>(op, gs.getGridAttr());
        OpBuilder b(op);
        ArrayRef<int16_t> axes = gs.getAxes();
        for (auto [i, res] : llvm::enumerate(gs.getResults())) {
          int64_t axis = axes.empty() ? int64_t(i) : axes[i];
          res.replaceAllUsesWith(
              arith::ConstantIndexOp::create(b, op->getLoc(), grid.getShape()[axis]));
        }
        op->erase();
      } else if (isa<shard::GridOp>(op)) {
        continue;
      } else if (isa<shard::ShardOp, shard::ShardingOp>(op)) {
        continue; // removed below once unused
      } else {
        op->emitError("collective '") << op->getName()
                                      << "' is not supported by Tessera's runtime yet";
        r = failure();
      }
      failedAny |= failed(r);
    }
    if (failedAny)
      return signalPassFailure();
    // Leftover annotations (partition keeps none on values it rewrote).
    module.walk([&](shard::ShardOp s) {
      s.getResult().replaceAllUsesWith(s.getSrc());
      s.erase();
    });
    module.walk([&](shard::ShardingOp s) {
      if (s->use_empty())
        s.erase();
    });
    module.walk([&](shard::GridOp g) { g.erase(); });
  }
};
} // namespace
