//===- OutlineWeightsPass.cpp - Weights become function arguments ---------===//

#include "codegen/CPU/Passes.h"
#include "dialects/Tessera/IR/TesseraOps.h"

#include "mlir/IR/DialectResourceBlobManager.h"

#define DEBUG_TYPE "tessera-cpu-outline-weights"

namespace mlir::tessera {
#define GEN_PASS_DEF_OUTLINEWEIGHTSPASS
#include "codegen/CPU/Passes.h.inc"
} // namespace mlir::tessera

using namespace mlir;
using namespace mlir::tessera;

namespace {
struct OutlineWeightsPass
    : mlir::tessera::impl::OutlineWeightsPassBase<OutlineWeightsPass> {
  using Base::Base;
  void runOnOperation() override {
    func::FuncOp func = getOperation();
    if (func.isExternal())
      return;
    SmallVector<ConstantOp> weights;
    unsigned counter = 0;
    func.walk([&](ConstantOp c) {
      if (isa<DenseResourceElementsAttr>(c.getValue())) {
        weights.push_back(c);
        return;
      }
      // A small dense constant becomes a resource of its own.
      auto dense = dyn_cast<DenseElementsAttr>(c.getValue());
      if (!allConstants || !dense || dense.isSplat() ||
          !dense.getElementType().isIntOrFloat() ||
          dense.getElementType().getIntOrFloatBitWidth() % 8 != 0)
        return;
      ArrayRef<char> raw = dense.getRawData();
      std::string name = "constant" + std::to_string(counter++);
      c.setValueAttr(DenseResourceElementsAttr::get(
          cast<ShapedType>(dense.getType()), name,
          HeapAsmResourceBlob::allocateAndCopyWithAlign(raw, alignof(uint64_t))));
      weights.push_back(c);
    });
    Block &entry = func.getBody().front();
    for (ConstantOp c : weights) {
      unsigned index = func.getNumArguments();
      if (failed(func.insertArgument(
              index, c.getType(),
              DictionaryAttr::get(&getContext(),
                                  {NamedAttribute(kWeightAttrName, c.getValue())}),
              c.getLoc()))) {
        signalPassFailure();
        return;
      }
      c.getResult().replaceAllUsesWith(entry.getArgument(index));
      c.erase();
      ++numWeights;
    }
  }
};
} // namespace
