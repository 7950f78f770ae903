//===- TesseraOps.h - Operations of the tessera dialect ---------*- C++ -*-===//
#ifndef TESSERA_DIALECTS_TESSERA_IR_TESSERAOPS_H
#define TESSERA_DIALECTS_TESSERA_IR_TESSERAOPS_H

#include "dialects/Tessera/IR/TesseraDialect.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

namespace mlir::tessera {
namespace OpTrait {
/// Marks the elementwise ops whose operands broadcast as in NumPy (Add,
/// Equal, And, Where, ...).
template <typename ConcreteType>
class BroadcastPointwise
    : public ::mlir::OpTrait::TraitBase<ConcreteType, BroadcastPointwise> {};
} // namespace OpTrait

/// NumPy broadcast of two static shapes; failure when a pair of dimensions
/// is neither equal nor 1.
FailureOr<SmallVector<int64_t>> broadcastShapes(ArrayRef<int64_t> lhs,
                                                ArrayRef<int64_t> rhs);

/// Result type of an elementwise op whose operands broadcast together. The
/// last two operands (the values; `where` has a condition before them) must
/// share an element type.
LogicalResult inferBroadcastOp(std::optional<Location> loc, ValueRange operands,
                               Type elementType,
                               SmallVectorImpl<Type> &inferred);

/// Result type of a reduction over `axes`.
LogicalResult inferReduceOp(std::optional<Location> loc, Value input,
                            ArrayRef<int64_t> axes, bool keepdims,
                            SmallVectorImpl<Type> &inferred);

/// Result type of ArgMax/ArgMin (i64 indices) over `axis`.
LogicalResult inferArgOp(std::optional<Location> loc, Value input, int64_t axis,
                         bool keepdims, SmallVectorImpl<Type> &inferred);

/// Formats a shape as `2x3x4` for diagnostics.
std::string formatShape(ArrayRef<int64_t> shape);

} // namespace mlir::tessera

#define GET_OP_CLASSES
#include "dialects/Tessera/IR/TesseraOps.h.inc"

#endif // TESSERA_DIALECTS_TESSERA_IR_TESSERAOPS_H
