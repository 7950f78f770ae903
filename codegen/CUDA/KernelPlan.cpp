//===- KernelPlan.cpp - how a linalg op maps onto a launch ----------------===//

#include "codegen/CUDA/KernelPlan.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "llvm/Support/MathExtras.h"

using namespace mlir;
using namespace mlir::tessera::cuda;

namespace {
constexpr int64_t kMaxBlockSize = 256;
/// Up to this many output points a reduction is shared by a block even
/// when its loads are not contiguous: fewer points than that leave most of
/// the GPU idle with one thread each.
constexpr int64_t kManyPoints = 65536;
/// Device buffers (the allocator's blocks, the memory plan's offsets)
/// start at multiples of this many bytes.
constexpr int64_t kBufferAlignment = 64;

/// Element types a block combines values of (widened to 32 bits when
/// narrower: shuffles move 32-bit words).
bool canAllReduce(Type type) {
  if (!type.isIntOrFloat() || type.isIndex())
    return false;
  unsigned bits = type.getIntOrFloatBitWidth();
  return bits >= 8 && bits <= 64;
}

/// Whether `operand` is a memref whose innermost dimension is read by loop
/// `loop` alone, with unit stride; its strides and offset in `strides`,
/// `offset`.
bool innermostIsLoop(linalg::GenericOp op, OpOperand &operand, unsigned loop,
                     SmallVector<int64_t> &strides, int64_t &offset) {
  auto type = dyn_cast<MemRefType>(operand.get().getType());
  AffineMap map = op.getMatchingIndexingMap(&operand);
  if (!type || map.getNumResults() == 0)
    return false;
  auto last = dyn_cast<AffineDimExpr>(map.getResults().back());
  return last && last.getPosition() == loop &&
         llvm::none_of(map.getResults().drop_back(),
                       [&](AffineExpr e) { return e.isFunctionOfDim(loop); }) &&
         succeeded(type.getStridesAndOffset(strides, offset)) &&
         strides.back() == 1;
}

/// Whether some input reads the last reduction loop with unit stride, so a
/// block's threads striding over it load neighbouring elements.
bool contiguousReduction(linalg::GenericOp op) {
  SmallVector<int64_t> strides;
  int64_t offset;
  return llvm::any_of(op.getDpsInputOperands(), [&](OpOperand *in) {
    return innermostIsLoop(op, *in, op.getNumLoops() - 1, strides, offset);
  });
}
} // namespace

std::optional<gpu::AllReduceOperation>
mlir::tessera::cuda::allReduceOperation(Operation *combiner) {
  // Linalg's vectorizer knows the combining ops; gpu.all_reduce spells
  // the same kinds the same way.
  std::optional<vector::CombiningKind> kind = linalg::getCombinerOpKind(combiner);
  if (!kind)
    return std::nullopt;
  return gpu::symbolizeAllReduceOperation(vector::stringifyCombiningKind(*kind));
}

FailureOr<SmallVector<Operation *>>
mlir::tessera::cuda::reductionCombiners(linalg::GenericOp op) {
  Block *body = op.getBlock();
  Operation *yield = body->getTerminator();
  SmallVector<Operation *> combiners;
  for (unsigned j = 0, e = op.getNumDpsInits(); j < e; ++j) {
    BlockArgument out = op.getMatchingBlockArgument(op.getDpsInitOperand(j));
    Value yielded = yield->getOperand(j);
    Operation *combiner = yielded.getDefiningOp();
    if (!combiner || combiner->getBlock() != body || !out.hasOneUse() ||
        *out.getUsers().begin() != combiner || !yielded.hasOneUse() ||
        combiner->getNumOperands() != 2 ||
        combiner->getOperand(0) == combiner->getOperand(1) ||
        !allReduceOperation(combiner) ||
        !arith::getNeutralElement(combiner))
      return failure();
    combiners.push_back(combiner);
  }
  return combiners;
}

bool mlir::tessera::cuda::isContiguousInLastLoop(linalg::GenericOp op,
                                                 OpOperand &operand,
                                                 unsigned numParallel,
                                                 int64_t vectorWidth) {
  auto type = dyn_cast<MemRefType>(operand.get().getType());
  if (!type || numParallel == 0)
    return false;
  Type element = type.getElementType();
  // Booleans are bytes in memory but bits in a vector: not vectorized;
  // nor are types of other than 1, 2, 4 or 8 bytes.
  if (!element.isIntOrFloat() || element.isIndex() ||
      element.getIntOrFloatBitWidth() < 8 ||
      !llvm::isPowerOf2_64(element.getIntOrFloatBitWidth()) ||
      vectorWidth * element.getIntOrFloatBitWidth() / 8 > kBufferAlignment)
    return false;
  SmallVector<int64_t> strides;
  int64_t offset;
  if (!innermostIsLoop(op, operand, numParallel - 1, strides, offset) ||
      ShapedType::isDynamic(offset) || offset % vectorWidth != 0)
    return false;
  for (int64_t s : ArrayRef(strides).drop_back())
    if (ShapedType::isDynamic(s) || s % vectorWidth != 0)
      return false;
  return true;
}

KernelPlan mlir::tessera::cuda::planKernel(linalg::GenericOp op,
                                           const KernelPlanOptions &options) {
  KernelPlan plan;
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  auto iterators = op.getIteratorTypesArray();
  while (plan.numParallel < iterators.size() &&
         iterators[plan.numParallel] == utils::IteratorType::parallel)
    ++plan.numParallel;
  for (auto [d, range] : llvm::enumerate(ranges))
    (d < plan.numParallel ? plan.points : plan.reductionPoints) *= range;
  bool hasReduction = plan.numParallel < iterators.size();

  if (hasReduction && options.cooperativeReductions &&
      plan.reductionPoints >= kMinCooperativeReduction &&
      plan.points <= std::numeric_limits<int32_t>::max() &&
      llvm::all_of(op.getDpsInits(),
                   [](Value v) {
                     return canAllReduce(getElementTypeOrSelf(v.getType()));
                   }) &&
      succeeded(reductionCombiners(op)) &&
      (plan.points <= kManyPoints || contiguousReduction(op))) {
    plan.kind = KernelPlan::Kind::Cooperative;
    plan.gridSize = plan.points;
    plan.blockSize = std::clamp<int64_t>(
        llvm::PowerOf2Ceil(plan.reductionPoints), kMinCooperativeReduction,
        kMaxBlockSize);
    return plan;
  }

  int64_t width = options.vectorWidth;
  if (!hasReduction && width > 1 && llvm::isPowerOf2_64(width) &&
      plan.numParallel > 0 && ranges[plan.numParallel - 1] % width == 0 &&
      llvm::any_of(op->getOpOperands(), [&](OpOperand &operand) {
        return isContiguousInLastLoop(op, operand, plan.numParallel, width);
      }))
    plan.vectorWidth = width;
  int64_t threads = plan.points / plan.vectorWidth;
  plan.blockSize = std::min(threads, kMaxBlockSize);
  plan.gridSize = plan.blockSize ? (threads + plan.blockSize - 1) / plan.blockSize : 0;
  return plan;
}
