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
      // Booleans are stored a byte each and narrowed by a kernel.
      bool boolean = dense && type.getElementType().isInteger(1);
      std::vector<char> bytes;
      if (boolean)
        for (bool v : dense.getValues<bool>())
          bytes.push_back(v ? 1 : 0);
      RankedTensorType stored =
          boolean ? RankedTensorType::get(type.getShape(), b.getI8Type()) : type;
      if (!dense || !type.getElementType().isIntOrFloat() ||
          (!boolean && type.getElementType().getIntOrFloatBitWidth() % 8 != 0)) {
        c.emitError("a tensor constant of ")
            << type << " the CUDA target cannot place in device memory";
        return signalPassFailure();
      }
      std::string name = "constant.late" + std::to_string(counter++);
      auto resource = DenseResourceElementsAttr::get(
          stored, name,
          HeapAsmResourceBlob::allocateAndCopyWithAlign(
              boolean ? ArrayRef<char>(bytes) : dense.getRawData(),
              alignof(uint64_t)));
      unsigned index = func.getNumArguments();
      if (failed(func.insertArgument(
              index, stored,
              DictionaryAttr::get(&getContext(),
                                  {NamedAttribute(mlir::tessera::kWeightAttrName, resource)}),
              c.getLoc())))
        return signalPassFailure();
      Value value = entry.getArgument(index);
      if (boolean) {
        Location loc = c.getLoc();
        Value empty = tensor::EmptyOp::create(b, loc, type.getShape(), b.getI1Type());
        AffineMap id = b.getMultiDimIdentityMap(type.getRank());
        value = linalg::GenericOp::create(
                    b, loc, TypeRange{type}, ValueRange{value}, ValueRange{empty},
                    ArrayRef<AffineMap>{id, id},
                    SmallVector<utils::IteratorType>(type.getRank(),
                                                     utils::IteratorType::parallel),
                    [](OpBuilder &nb, Location nloc, ValueRange args) {
                      Value bit = arith::TruncIOp::create(nb, nloc, nb.getI1Type(), args[0]);
                      linalg::YieldOp::create(nb, nloc, bit);
                    })
                    .getResult(0);
      }
      c.getResult().replaceAllUsesWith(value);
      c.erase();
    }
  }
};
} // namespace
