//===- LinalgMatch.h - Matching linalg ops for microkernels ----*- C++ -*-===//
//
// What the passes that hand linalg ops on buffers to the CPU microkernels
// (tessera-cpu-contractions-to-ukernels, -depthwise-to-ukernels) match
// alike: a multiply-add body, and the coefficients of an indexing map
// whose results are linear in the loops (a convolution's window reads).
//
//===----------------------------------------------------------------------===//
#ifndef TESSERA_CODEGEN_CPU_LINALGMATCH_H
#define TESSERA_CODEGEN_CPU_LINALGMATCH_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"

namespace mlir::tessera {

/// True if the body is `yield(acc + lhs * rhs)` (either operand order of
/// the add and the mul).
inline bool isMulAddBody(linalg::LinalgOp op) {
  Block *body = op.getBlock();
  if (body->getOperations().size() != 3)
    return false;
  auto add = body->getTerminator()->getOperand(0).getDefiningOp<arith::AddFOp>();
  if (!add)
    return false;
  Value acc = body->getArgument(2);
  Value other = add.getLhs() == acc ? add.getRhs() : add.getLhs();
  auto mul = other.getDefiningOp<arith::MulFOp>();
  if ((add.getLhs() != acc && add.getRhs() != acc) || !mul)
    return false;
  Value x = body->getArgument(0), y = body->getArgument(1);
  return (mul.getLhs() == x && mul.getRhs() == y) ||
         (mul.getLhs() == y && mul.getRhs() == x);
}

/// How much result `result` of `map` grows per unit of dimension `dim`,
/// read off the map at the origin and at that dimension's unit vector
/// (callers compare the map with the linear one these rebuild).
inline int64_t mapCoefficient(AffineMap map, unsigned result, unsigned dim) {
  SmallVector<int64_t> point(map.getNumDims(), 0);
  int64_t at0 = map.compose(point)[result];
  point[dim] = 1;
  return map.compose(point)[result] - at0;
}

} // namespace mlir::tessera

#endif // TESSERA_CODEGEN_CPU_LINALGMATCH_H
