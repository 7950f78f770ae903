//===- OutlineWeightsPass.cpp - Weights become function arguments ---------===//

#include "codegen/CPU/Passes.h"
#include "dialects/Tessera/IR/TesseraOps.h"

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
  void runOnOperation() override {
    func::FuncOp func = getOperation();
    if (func.isExternal())
      return;
    SmallVector<ConstantOp> weights;
    func.walk([&](ConstantOp c) {
      if (isa<DenseResourceElementsAttr>(c.getValue()))
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
