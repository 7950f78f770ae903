//===- PretransposeWeightsPass.cpp - Transpose Gemm weights once ----------===//
//
// `tessera.gemm` with `trans_b` on a weight reads B column-wise; the GEMM
// microkernel would repack it on every run. This pass stores the weight
// transposed in the artifact instead (a new dense resource `<name>.T`) and
// clears `trans_b`, so the compiled code reads B row-wise with no copy.
//
//===----------------------------------------------------------------------===//

#include "codegen/CPU/Passes.h"
#include "dialects/Tessera/IR/TesseraOps.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"

#define DEBUG_TYPE "tessera-cpu-pretranspose-weights"

namespace mlir::tessera {
#define GEN_PASS_DEF_PRETRANSPOSEWEIGHTSPASS
#include "codegen/CPU/Passes.h.inc"
} // namespace mlir::tessera

using namespace mlir;
using namespace mlir::tessera;

namespace {
/// The 2-D weight `attr` transposed, as a new dense resource.
DenseResourceElementsAttr transposed(DenseResourceElementsAttr attr) {
  AsmResourceBlob *blob = attr.getRawHandle().getBlob();
  auto type = cast<ShapedType>(attr.getType());
  if (!blob || type.getRank() != 2 || !type.getElementType().isIntOrFloat())
    return {};
  unsigned bits = type.getElementType().getIntOrFloatBitWidth();
  if (bits % 8 != 0)
    return {};
  size_t width = bits / 8;
  int64_t rows = type.getDimSize(0), cols = type.getDimSize(1);
  ArrayRef<char> data = blob->getData();
  if (data.size() != size_t(rows * cols) * width)
    return {};
  std::vector<char> out(data.size());
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c)
      std::memcpy(&out[(c * rows + r) * width], &data[(r * cols + c) * width],
                  width);
  auto newType = RankedTensorType::get({cols, rows}, type.getElementType());
  std::string name = (attr.getRawHandle().getKey() + ".T").str();
  return DenseResourceElementsAttr::get(
      newType, name,
      HeapAsmResourceBlob::allocateAndCopyWithAlign(out, alignof(uint64_t)));
}

struct PretransposeWeightsPass
    : mlir::tessera::impl::PretransposeWeightsPassBase<PretransposeWeightsPass> {
  void runOnOperation() override {
    llvm::DenseMap<Value, Value> done;
    getOperation().walk([&](GemmOp gemm) {
      if (!gemm.getTransB())
        return;
      auto constant = gemm.getB().getDefiningOp<ConstantOp>();
      if (!constant)
        return;
      Value &t = done[gemm.getB()];
      if (!t) {
        auto attr = dyn_cast<DenseResourceElementsAttr>(constant.getValue());
        DenseResourceElementsAttr flipped = attr ? transposed(attr) : nullptr;
        if (!flipped)
          return;
        OpBuilder b(constant);
        t = ConstantOp::create(b, constant.getLoc(), flipped).getResult();
        ++numWeights;
      }
      gemm.getBMutable().assign(t);
      gemm.setTransB(false);
    });
    // The original weights, if nothing else reads them, go away.
    for (auto &[original, _] : done)
      if (original.use_empty())
        original.getDefiningOp()->erase();
  }
};
} // namespace
