//===- LoweringUtils.h - Helpers the tessera lowerings share ----*- C++ -*-===//
//
// Internal to codegen/Conversion/TesseraToLinalg: the pieces that
// TesseraToLinalg.cpp, ElementwiseLowering.cpp, ScatterLowering.cpp,
// ResizeLowering.cpp and Signedness.cpp need.
//
//===----------------------------------------------------------------------===//
#ifndef TESSERA_CODEGEN_CONVERSION_TESSERATOLINALG_LOWERINGUTILS_H
#define TESSERA_CODEGEN_CONVERSION_TESSERATOLINALG_LOWERINGUTILS_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"

#include <functional>

namespace mlir::func {
class FuncOp;
} // namespace mlir::func

namespace mlir::tessera::lowering {

inline RankedTensorType tensorType(Value v) {
  return cast<RankedTensorType>(v.getType());
}

/// Whether `t` (or its element type) is a float.
bool isFloat(Type t);

/// Whether `t` is a float format LLVM has no type for (the float8 formats,
/// f4E2M1FN): its values convert in software (MiniFloat.cpp).
bool isMiniFloat(Type t);
/// The f32 `x` in mini-float type `to`: rounded to nearest even; past the
/// largest finite value, that value with `saturate`, else infinity or NaN
/// as the format has them (ONNX Cast's semantics).
Value truncToMiniFloat(OpBuilder &b, Location loc, Value x, Type to, bool saturate);
/// The mini-float `x` as f32 (exact).
Value extFromMiniFloat(OpBuilder &b, Location loc, Value x);
/// A scalar arith constant of `type` (float or integer) holding `value`.
Value scalarConstant(OpBuilder &b, Location loc, Type type, double value);

/// Maps an elementwise op's operand scalars to its result scalar.
using ElementBody = std::function<Value(OpBuilder &, Location, ValueRange)>;
/// An elementwise `linalg.generic` over `resultType` reading `operands` with
/// NumPy broadcasting (size-1 and missing dimensions read through constant
/// or dropped map results).
Value buildElementwise(OpBuilder &b, Location loc, RankedTensorType resultType,
                       ValueRange operands, const ElementBody &body);

/// How two values combine (reductions, scatter's reduction attribute).
/// UMax and UMin compare integers as unsigned.
enum class Combine { Add, Mul, Max, Min, UMax, UMin };

/// The marks dropSignedness (Signedness.cpp) leaves: the op's integer
/// operands were unsigned; a cast's result was unsigned.
constexpr llvm::StringLiteral kUnsignedAttr = "tessera.unsigned";
constexpr llvm::StringLiteral kUnsignedResultAttr = "tessera.unsigned_result";
bool isUnsignedOp(Operation *op);
bool hasUnsignedResult(Operation *op);
/// The unsigned form of a signed integer comparison (others unchanged).
arith::CmpIPredicate unsignedPredicate(arith::CmpIPredicate p);
/// Max and Min as UMax and UMin when `isUnsigned`.
Combine withSignedness(Combine kind, bool isUnsigned);

/// Retypes `func`'s unsigned integers as signless ones of the same width,
/// marking the ops whose lowering depends on the signedness; an op on
/// unsigned integers that no lowering handles is an error (emitted).
LogicalResult dropSignedness(func::FuncOp func);

/// x `kind` y, float or integer. With `reassociate`, float adds may be
/// reordered (reduction loops then vectorize; sums differ from a
/// sequential order by rounding only).
Value combine(OpBuilder &b, Location loc, Combine kind, Value x, Value y,
              bool reassociate = false);

/// An index tensor's element as `index`, negative values counted from the
/// end of a dimension of `size` (the ONNX convention). Not range-checked:
/// gathers clamp it, scatters skip what falls outside.
Value wrapIndex(OpBuilder &b, Location loc, Value raw, int64_t size);

/// A tensor of `type` whose every element is `element(b, loc)`, computed
/// from its position (`linalg.index`): a linalg.generic with no inputs.
Value buildIndexedGeneric(OpBuilder &b, Location loc, RankedTensorType type,
                          function_ref<Value(OpBuilder &, Location)> element);

} // namespace mlir::tessera::lowering

#endif // TESSERA_CODEGEN_CONVERSION_TESSERATOLINALG_LOWERINGUTILS_H
