//===- BufferBytes.h - Which buffers may share memory -----------*- C++ -*-===//
//
// After the memory plan (tessera-cpu-plan-memory) intermediate buffers are
// views of one workspace at constant byte offsets, and a buffer's bytes
// may be reused once it is dead. A rewrite that moves a write earlier (a
// GEMM or a reduction writing what a later op wrote) must check that the
// bytes written are not bytes still read: these helpers say what is known
// statically.
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

/// The bytes of a buffer: its root (a function argument) and the byte range
/// of a `memref.view` of it at a constant shift (the memory plan's views of
/// the workspace), or the whole root.
struct BufferBytes {
  Value root;
  int64_t begin = 0, end = std::numeric_limits<int64_t>::max();
};

inline std::optional<BufferBytes> bufferBytes(Value v) {
  if (isa<BlockArgument>(v))
    return BufferBytes{v};
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

} // namespace mlir::tessera

#endif // TESSERA_CODEGEN_COMMON_BUFFERBYTES_H
