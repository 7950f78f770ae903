//===- BufferBytes.h - Which buffers may share memory -----------*- C++ -*-===//
//
// After the memory plan (tessera-cpu-plan-memory) intermediate buffers are
// views of one workspace at constant byte offsets, and a buffer's bytes
// may be reused once it is dead. A rewrite that moves a write earlier (a
// GEMM or a reduction writing what a later op wrote) must check that the
// bytes written are not bytes still read: these helpers say what is known
// statically, and which values such a write needs can move before it.
//
//===----------------------------------------------------------------------===//
#ifndef TESSERA_CODEGEN_COMMON_BUFFERBYTES_H
#define TESSERA_CODEGEN_COMMON_BUFFERBYTES_H

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include <limits>
#include <optional>

namespace mlir::tessera {

/// The bytes of a buffer: its root (a function argument, or an allocation
/// before the memory plan) and the byte range of a `memref.view` of it at a
/// constant shift (the memory plan's views of the workspace), or the whole
/// root; reshapes see their source's bytes.
struct BufferBytes {
  Value root;
  int64_t begin = 0, end = std::numeric_limits<int64_t>::max();
};

inline std::optional<BufferBytes> bufferBytes(Value v) {
  if (isa<BlockArgument>(v))
    return BufferBytes{v};
  // Before the memory plan: an allocation is its own root.
  if (v.getDefiningOp<memref::AllocOp>())
    return BufferBytes{v};
  // A reshape views the same bytes as its source.
  if (Operation *def = v.getDefiningOp();
      def && isa<memref::ExpandShapeOp, memref::CollapseShapeOp>(def))
    return bufferBytes(def->getOperand(0));
  auto view = v.getDefiningOp<memref::ViewOp>();
  auto type = dyn_cast<MemRefType>(v.getType());
  APInt shift;
  if (!view || !type || !isa<BlockArgument>(view.getSource()) ||
      !type.hasStaticShape() || !view.getSizes().empty() ||
      !matchPattern(view.getByteShift(), m_ConstantInt(&shift)))
    return std::nullopt;
  int64_t begin = shift.getSExtValue();
  int64_t bytes = type.getNumElements() *
                  llvm::divideCeil(type.getElementTypeBitWidth(), 8);
  return BufferBytes{view.getSource(), begin, begin + bytes};
}

/// Whether buffers `x` and `y` may share memory (distinct function
/// arguments do not: inputs, outputs, weights and the workspace are
/// separate allocations).
inline bool mayShareBytes(Value x, Value y) {
  std::optional<BufferBytes> a = bufferBytes(x), b = bufferBytes(y);
  if (!a || !b)
    return true;
  if (a->root != b->root)
    return false;
  return a->begin < b->end && b->begin < a->end;
}

/// The nearest op before or after `op` in its block that may touch memory.
inline Operation *memoryNeighbour(Operation *op, bool before) {
  for (Operation *p = before ? op->getPrevNode() : op->getNextNode(); p;
       p = before ? p->getPrevNode() : p->getNextNode())
    if (!isMemoryEffectFree(p))
      return p;
  return nullptr;
}

/// Whether `v` is defined before `op` in its block (or above it), or by
/// pure ops there (views of the workspace, reshapes, constants) that can
/// move before `op`.
inline bool availableAt(Value v, Operation *op) {
  Operation *def = v.getDefiningOp();
  if (!def)
    return v.getParentBlock() == op->getBlock() ||
           v.getParentRegion()->isProperAncestor(op->getParentRegion());
  if (def->getBlock() != op->getBlock())
    return false;
  if (def->isBeforeInBlock(op))
    return true;
  return isMemoryEffectFree(def) && def->getNumRegions() == 0 &&
         llvm::all_of(def->getOperands(),
                      [&](Value operand) { return availableAt(operand, op); });
}

/// Moves what `v` needs before `op` (availableAt(v, op) holds).
inline void makeAvailableAt(Value v, Operation *op) {
  Operation *def = v.getDefiningOp();
  if (!def || def->getBlock() != op->getBlock() || def->isBeforeInBlock(op))
    return;
  for (Value operand : def->getOperands())
    makeAvailableAt(operand, op);
  def->moveBefore(op);
}

} // namespace mlir::tessera

#endif // TESSERA_CODEGEN_COMMON_BUFFERBYTES_H
