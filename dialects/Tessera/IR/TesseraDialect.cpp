//===- TesseraDialect.cpp - The tessera dialect ---------------------------===//

#include "dialects/Tessera/IR/TesseraDialect.h"
#include "dialects/Tessera/IR/TesseraOps.h"

using namespace mlir;
using namespace mlir::tessera;

#include "dialects/Tessera/IR/TesseraDialect.cpp.inc"

void TesseraDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "dialects/Tessera/IR/TesseraOps.cpp.inc"
      >();
}

Operation *TesseraDialect::materializeConstant(OpBuilder &builder,
                                               Attribute value, Type type,
                                               Location loc) {
  auto elements = dyn_cast<ElementsAttr>(value);
  if (!elements || elements.getType() != type)
    return nullptr;
  return ConstantOp::create(builder, loc, elements);
}
