//===- ContractionsToUkernelsPass.cpp - f32 GEMMs to the microkernel ------===//
//
// Rewrites f32 contractions on buffers into calls of the blocked GEMM
// microkernel `tessera_uk_sgemm_f32` (codegen/CPU/ukernels/Sgemm.cpp):
//
//   void tessera_uk_sgemm_f32(b0, b1, b2, m, n, k,
//                             a, a_b0, a_b1, a_b2, a_m, a_k,
//                             b, b_b0, b_b1, b_b2, b_k, b_n,
//                             c, c_b0, c_b1, c_b2, c_m, c_n)
//
// with addresses and element strides as index values.
//
//===----------------------------------------------------------------------===//

#include "codegen/CPU/Passes.h"
#include "codegen/Common/RuntimeCalls.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/Matchers.h"

#define DEBUG_TYPE "tessera-cpu-contractions-to-ukernels"

namespace mlir::tessera {
#define GEN_PASS_DEF_CONTRACTIONSTOUKERNELSPASS
#include "codegen/CPU/Passes.h.inc"
} // namespace mlir::tessera

using namespace mlir;

namespace {
constexpr llvm::StringLiteral kSgemm = "tessera_uk_sgemm_f32";
constexpr llvm::StringLiteral kRuntimeGemm = "tessera_rt_gemm";
constexpr int64_t kMaxBatch = 3;

/// The loops of a contraction: up to three batch loops, then m, n, k.
struct ContractionLoops {
  SmallVector<unsigned> batch;
  unsigned m, n, k;
};

/// True if the body is `yield(acc + lhs * rhs)` on f32 (either operand
/// order of the add and the mul).
bool isMulAddBody(linalg::LinalgOp op) {
  Block *body = op.getBlock();
  if (body->getOperations().size() != 3)
    return false;
  auto yield = cast<linalg::YieldOp>(body->getTerminator());
  auto add = yield.getOperand(0).getDefiningOp<arith::AddFOp>();
  if (!add)
    return false;
  Value acc = body->getArgument(2);
  Value other = add.getLhs() == acc ? add.getRhs() : add.getLhs();
  if (add.getLhs() != acc && add.getRhs() != acc)
    return false;
  auto mul = other.getDefiningOp<arith::MulFOp>();
  if (!mul)
    return false;
  Value x = body->getArgument(0), y = body->getArgument(1);
  return (mul.getLhs() == x && mul.getRhs() == y) ||
         (mul.getLhs() == y && mul.getRhs() == x);
}

/// The result position of loop `d` in `map`, if the map reads it.
std::optional<unsigned> positionOf(AffineMap map, unsigned d) {
  for (auto [i, e] : llvm::enumerate(map.getResults()))
    if (auto dim = dyn_cast<AffineDimExpr>(e); dim && dim.getPosition() == d)
      return i;
  return std::nullopt;
}

/// Classifies the loops of a buffer-semantics f32 contraction whose maps
/// read every operand dimension by a loop or at constant 0 (a broadcast
/// unit dimension). The output's last two dimensions are m and n.
std::optional<ContractionLoops> matchContraction(linalg::LinalgOp op,
                                                 bool lowPrecision) {
  if (!op.hasPureBufferSemantics() || op.getNumDpsInputs() != 2 ||
      op.getNumDpsInits() != 1 || !isMulAddBody(op))
    return std::nullopt;
  Type element;
  for (OpOperand &operand : op->getOpOperands()) {
    auto type = dyn_cast<MemRefType>(operand.get().getType());
    if (!type || !type.hasStaticShape())
      return std::nullopt;
    Type t = type.getElementType();
    if (!(t.isF32() || (lowPrecision && (t.isF16() || t.isBF16()))) ||
        (element && t != element))
      return std::nullopt;
    element = t;
  }
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  for (AffineMap map : maps)
    for (AffineExpr e : map.getResults()) {
      if (isa<AffineDimExpr>(e))
        continue;
      auto c = dyn_cast<AffineConstantExpr>(e);
      if (!c || c.getValue() != 0)
        return std::nullopt;
    }
  AffineMap out = maps[2];
  if (out.getNumResults() < 2)
    return std::nullopt;
  auto m = dyn_cast<AffineDimExpr>(out.getResult(out.getNumResults() - 2));
  auto n = dyn_cast<AffineDimExpr>(out.getResult(out.getNumResults() - 1));
  if (!m || !n)
    return std::nullopt;
  ContractionLoops loops;
  loops.m = m.getPosition();
  loops.n = n.getPosition();
  std::optional<unsigned> k;
  for (auto [d, kind] : llvm::enumerate(op.getIteratorTypesArray())) {
    if (kind == utils::IteratorType::reduction) {
      if (k)
        return std::nullopt;
      k = d;
    } else if (d != loops.m && d != loops.n) {
      if (!positionOf(out, d))
        return std::nullopt;
      loops.batch.push_back(d);
    }
  }
  if (!k || loops.batch.size() > kMaxBatch)
    return std::nullopt;
  loops.k = *k;
  // m is a row of lhs only, n a column of rhs only, k read by both.
  if (!positionOf(maps[0], loops.m) || positionOf(maps[1], loops.m) ||
      !positionOf(maps[1], loops.n) || positionOf(maps[0], loops.n) ||
      !positionOf(maps[0], loops.k) || !positionOf(maps[1], loops.k))
    return std::nullopt;
  return loops;
}

/// Whether every operand has a unit static stride along one of its two
/// matrix dimensions (what a BLAS call takes: row- or column-major).
bool blasLayout(linalg::LinalgOp op, const ContractionLoops &loops) {
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  std::pair<unsigned, unsigned> inner[3] = {
      {loops.m, loops.k}, {loops.k, loops.n}, {loops.m, loops.n}};
  for (unsigned i = 0; i < 3; ++i) {
    auto type = cast<MemRefType>(op->getOperand(i).getType());
    SmallVector<int64_t> strides;
    int64_t offset;
    if (failed(type.getStridesAndOffset(strides, offset)))
      return false;
    auto unit = [&](unsigned d) {
      std::optional<unsigned> pos = positionOf(maps[i], d);
      return pos && strides[*pos] == 1;
    };
    if (!unit(inner[i].first) && !unit(inner[i].second))
      return false;
  }
  return true;
}

void rewrite(linalg::LinalgOp op, const ContractionLoops &loops,
             func::FuncOp callee, bool runtimeGemm) {
  OpBuilder b(op);
  Location loc = op.getLoc();
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  auto index = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(b, loc, v);
  };
  SmallVector<Value> args;
  Type element = cast<MemRefType>(op->getOperand(0).getType()).getElementType();
  if (runtimeGemm) // a tsr_dtype_t
    args.push_back(index(element.isF32() ? 1 : element.isF16() ? 2 : 3));
  int64_t elementBytes = element.getIntOrFloatBitWidth() / 8;
  for (int64_t i = 0; i < kMaxBatch; ++i)
    args.push_back(index(i < int64_t(loops.batch.size())
                             ? ranges[loops.batch[i]]
                             : 1));
  args.push_back(index(ranges[loops.m]));
  args.push_back(index(ranges[loops.n]));
  args.push_back(index(ranges[loops.k]));
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  auto addOperand = [&](unsigned i, ArrayRef<unsigned> inner) {
    Value buffer = op->getOperand(i);
    auto meta = memref::ExtractStridedMetadataOp::create(b, loc, buffer);
    Value base =
        memref::ExtractAlignedPointerAsIndexOp::create(b, loc, buffer);
    Value byteOffset = arith::MulIOp::create(b, loc, meta.getOffset(),
                                             index(elementBytes));
    args.push_back(arith::AddIOp::create(b, loc, base, byteOffset));
    auto strideOf = [&](unsigned d) -> Value {
      std::optional<unsigned> pos = positionOf(maps[i], d);
      return pos ? meta.getStrides()[*pos] : index(0);
    };
    for (int64_t j = 0; j < kMaxBatch; ++j)
      args.push_back(j < int64_t(loops.batch.size()) ? strideOf(loops.batch[j])
                                                     : index(0));
    for (unsigned d : inner)
      args.push_back(strideOf(d));
  };
  addOperand(0, {loops.m, loops.k});
  addOperand(1, {loops.k, loops.n});
  addOperand(2, {loops.m, loops.n});
  func::CallOp::create(b, loc, callee, args);
  op->erase();
}

struct ContractionsToUkernelsPass
    : mlir::tessera::impl::ContractionsToUkernelsPassBase<
          ContractionsToUkernelsPass> {
  using Base::Base;
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<std::pair<linalg::LinalgOp, ContractionLoops>> matches;
    module.walk([&](linalg::LinalgOp op) {
      std::optional<ContractionLoops> loops = matchContraction(op, runtimeGemm);
      if (loops && (!runtimeGemm || blasLayout(op, *loops)))
        matches.emplace_back(op, *loops);
    });
    if (matches.empty())
      return;
    SmallVector<Type> args((runtimeGemm ? 7 : 6) + 3 * (kMaxBatch + 3),
                           IndexType::get(module.getContext()));
    func::FuncOp callee = mlir::tessera::lookupOrDeclareFunc(
        module, runtimeGemm ? kRuntimeGemm : kSgemm, args, {});
    for (auto &[op, loops] : matches)
      rewrite(op, loops, callee, runtimeGemm);
    numCalls += matches.size();
  }
};
} // namespace
