//===- OutlineConstantsPass.cpp - Tensor constants off the host -----------===//

#include "codegen/CUDA/Passes.h"
#include "dialects/Tessera/IR/TesseraDialect.h"

#include "mlir/IR/DialectResourceBlobManager.h"

namespace mlir::tessera {
#define GEN_PASS_DEF_OUTLINECONSTANTSPASS
#include "codegen/CUDA/Passes.h.inc"
} // namespace mlir::tessera

using namespace mlir;

namespace {
struct OutlineConstantsPass
    : mlir::tessera::impl::OutlineConstantsPassBase<OutlineConstantsPass> {
  void runOnOperation() override {
    func::FuncOp func = getOperation();
    if (func.isExternal())
      return;
    SmallVector<arith::ConstantOp> constants;
    func.walk([&](arith::ConstantOp c) {
      if (isa<RankedTensorType>(c.getType()))
        constants.push_back(c);
    });
    unsigned counter = 0;
    Block &entry = func.getBody().front();
    for (arith::ConstantOp c : constants) {
      auto dense = dyn_cast<DenseElementsAttr>(c.getValue());
      auto type = cast<RankedTensorType>(c.getType());
      OpBuilder b(c);
      if (dense && dense.isSplat()) {
        Value scalar = arith::ConstantOp::create(
            b, c.getLoc(), cast<TypedAttr>(dense.getSplatValue<Attribute>()));
        Value empty = tensor::EmptyOp::create(b, c.getLoc(), type.getShape(),
                                              type.getElementType());
        Value fill = linalg::FillOp::create(b, c.getLoc(), scalar, empty).getResult(0);
        c.getResult().replaceAllUsesWith(fill);
        c.erase();
        continue;
      }
      if (!dense || !type.getElementType().isIntOrFloat() ||
          type.getElementType().getIntOrFloatBitWidth() % 8 != 0) {
        c.emitError("a tensor constant of ")
            << type << " the CUDA target cannot place in device memory";
        return signalPassFailure();
      }
      std::string name = "constant.late" + std::to_string(counter++);
      auto resource = DenseResourceElementsAttr::get(
          type, name,
          HeapAsmResourceBlob::allocateAndCopyWithAlign(dense.getRawData(),
                                                        alignof(uint64_t)));
      unsigned index = func.getNumArguments();
      if (failed(func.insertArgument(
              index, type,
              DictionaryAttr::get(&getContext(),
                                  {NamedAttribute(mlir::tessera::kWeightAttrName, resource)}),
              c.getLoc())))
        return signalPassFailure();
      c.getResult().replaceAllUsesWith(entry.getArgument(index));
      c.erase();
    }
  }
};
} // namespace
