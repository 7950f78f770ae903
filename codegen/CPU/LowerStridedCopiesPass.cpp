//===- LowerStridedCopiesPass.cpp - Strided memref.copy to linalg.copy ----===//

#include "codegen/CPU/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

#define DEBUG_TYPE "tessera-cpu-lower-strided-copies"

namespace mlir::tessera {
#define GEN_PASS_DEF_LOWERSTRIDEDCOPIESPASS
#include "codegen/CPU/Passes.h.inc"
} // namespace mlir::tessera

using namespace mlir;

namespace {
bool contiguous(Value v) {
  auto type = dyn_cast<MemRefType>(v.getType());
  return type && type.getLayout().isIdentity();
}

struct LowerStridedCopiesPass
    : mlir::tessera::impl::LowerStridedCopiesPassBase<LowerStridedCopiesPass> {
  using Base::Base;
  void runOnOperation() override {
    SmallVector<memref::CopyOp> copies;
    getOperation().walk([&](memref::CopyOp copy) {
      if (allCopies || !contiguous(copy.getSource()) ||
          !contiguous(copy.getTarget()))
        copies.push_back(copy);
    });
    for (memref::CopyOp copy : copies) {
      OpBuilder b(copy);
      linalg::CopyOp::create(b, copy.getLoc(), copy.getSource(),
                             copy.getTarget());
      copy.erase();
    }
  }
};
} // namespace
