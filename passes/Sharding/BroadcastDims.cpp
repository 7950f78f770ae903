//===- BroadcastDims.cpp - Broadcasts without constant indices ------------===//
//
// tessera-drop-broadcast-unit-dims: see Passes.td.
//
//===----------------------------------------------------------------------===//

#include "passes/Sharding/Passes.h"

namespace mlir::tessera {
#define GEN_PASS_DEF_DROPBROADCASTUNITDIMSPASS
#include "passes/Sharding/Passes.h.inc"
} // namespace mlir::tessera

using namespace mlir;

namespace {

/// Whether result `i` of `map` reads size-1 dimension `i` at constant 0.
bool isBroadcastUnitDim(AffineMap map, RankedTensorType type, unsigned i) {
  auto c = dyn_cast<AffineConstantExpr>(map.getResult(i));
  return c && c.getValue() == 0 && type.getDimSize(i) == 1;
}

/// Rewrites input `operand` of `generic` without its broadcast size-1
/// dimensions; false if it has none.
bool dropUnitDims(linalg::GenericOp generic, OpOperand &operand) {
  auto type = dyn_cast<RankedTensorType>(operand.get().getType());
  if (!type)
    return false;
  AffineMap map = generic.getMatchingIndexingMap(&operand);
  SmallVector<ReassociationIndices> groups;
  SmallVector<AffineExpr> kept;
  SmallVector<int64_t> leadingUnits;
  bool dropped = false;
  for (unsigned i = 0; i < map.getNumResults(); ++i) {
    if (isBroadcastUnitDim(map, type, i)) {
      dropped = true;
      if (groups.empty())
        leadingUnits.push_back(i);
      else
        groups.back().push_back(i);
      continue;
    }
    ReassociationIndices g(leadingUnits.begin(), leadingUnits.end());
    leadingUnits.clear();
    g.push_back(i);
    groups.push_back(g);
    kept.push_back(map.getResult(i));
  }
  if (!dropped)
    return false;
  SmallVector<int64_t> shape;
  for (const ReassociationIndices &g : groups) {
    int64_t size = 1;
    for (int64_t d : g)
      size *= type.getDimSize(d);
    shape.push_back(size);
  }
  OpBuilder b(generic);
  auto collapsed = tensor::CollapseShapeOp::create(
      b, generic.getLoc(), RankedTensorType::get(shape, type.getElementType()),
      operand.get(), groups);
  operand.set(collapsed);
  SmallVector<AffineMap> maps = generic.getIndexingMapsArray();
  maps[operand.getOperandNumber()] =
      AffineMap::get(map.getNumDims(), 0, kept, generic.getContext());
  generic.setIndexingMapsAttr(b.getAffineMapArrayAttr(maps));
  return true;
}

struct DropBroadcastUnitDimsPass
    : mlir::tessera::impl::DropBroadcastUnitDimsPassBase<
          DropBroadcastUnitDimsPass> {
  void runOnOperation() override {
    getOperation().walk([](linalg::GenericOp generic) {
      for (OpOperand *input : generic.getDpsInputOperands())
        dropUnitDims(generic, *input);
    });
  }
};

} // namespace
