//===- Signedness.cpp - Unsigned integers made signless for the lowering --===//
//
// The tessera dialect keeps ONNX's integer signedness (`ui8`, `ui16`, `ui32`,
// `ui64` next to the signless, signed `i8` ... `i64`); arith, linalg and the
// LLVM dialect take signless integers only and put the signedness in the op
// (`arith.divui`, `arith.cmpi ult`, `arith.uitofp`). Before the conversion,
// dropSignedness retypes every value of a function to signless integers of
// the same width (the bytes do not change) and marks the ops whose meaning
// depends on the signedness:
//
//   tessera.unsigned         its integer operands were unsigned
//   tessera.unsigned_result  (cast) its result was unsigned
//
// The lowerings read the marks (isUnsignedOp) to pick the unsigned arith op.
// An op on unsigned integers that no lowering handles is an error naming it,
// never a signed computation on unsigned data.
//
//===----------------------------------------------------------------------===//

#include "codegen/Conversion/TesseraToLinalg/LoweringUtils.h"
#include "dialects/Tessera/IR/TesseraOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"

using namespace mlir;
using namespace mlir::tessera;

namespace {

bool hasUnsigned(Type t) {
  return getElementTypeOrSelf(t).isUnsignedInteger();
}

Type signless(Type t) {
  auto it = dyn_cast<IntegerType>(getElementTypeOrSelf(t));
  if (!it || it.isSignless())
    return t;
  Type s = IntegerType::get(t.getContext(), it.getWidth());
  if (auto shaped = dyn_cast<ShapedType>(t))
    return shaped.clone(s);
  return s;
}

/// Ops whose lowering is the same for signed and unsigned integers of one
/// width (two's complement wraps alike; data movement copies bits).
bool signednessFree(Operation *op) {
  if (auto scatter = dyn_cast<ScatterElementsOp>(op))
    return scatter.getReduction() != "max" && scatter.getReduction() != "min";
  if (auto scatter = dyn_cast<ScatterNDOp>(op))
    return scatter.getReduction() != "max" && scatter.getReduction() != "min";
  return isa<ConstantOp, ShapeOp, AddOp, SubOp, MulOp, NegOp, NotOp, AndOp, OrOp,
             XorOp, EqualOp, WhereOp, ReshapeOp, TransposeOp, ConcatOp, SplitOp,
             SliceOp, GatherOp, GatherElementsOp, ExpandOp, TriluOp, PadOp,
             ReduceSumOp, ReduceProdOp, MatMulOp>(op);
}

/// Ops whose lowering reads the marks.
bool signednessAware(Operation *op) {
  return isa<DivOp, ModOp, MaxOp, MinOp, LessOp, LessEqualOp, GreaterOp,
             GreaterEqualOp, AbsOp, ReluOp, ClipOp, CastOp, ReduceMaxOp,
             ReduceMinOp, ReduceMeanOp, ArgMaxOp, ArgMinOp, MaxPoolOp>(op);
}

std::string typeText(Type t) {
  std::string s;
  llvm::raw_string_ostream os(s);
  t.print(os);
  return s;
}

/// The constant's value with a signless element type (same bytes).
Attribute signlessValue(ElementsAttr value) {
  auto type = cast<ShapedType>(signless(value.getShapedType()));
  if (auto dense = dyn_cast<DenseElementsAttr>(value))
    return dense.bitcast(type.getElementType());
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(value))
    return DenseResourceElementsAttr::get(type, resource.getRawHandle());
  return {};
}

} // namespace

bool lowering::isUnsignedOp(Operation *op) { return op->hasAttr(kUnsignedAttr); }

bool lowering::hasUnsignedResult(Operation *op) {
  return op->hasAttr(kUnsignedResultAttr);
}

/// The unsigned form of a signed integer comparison.
arith::CmpIPredicate lowering::unsignedPredicate(arith::CmpIPredicate p) {
  switch (p) {
  case arith::CmpIPredicate::slt: return arith::CmpIPredicate::ult;
  case arith::CmpIPredicate::sle: return arith::CmpIPredicate::ule;
  case arith::CmpIPredicate::sgt: return arith::CmpIPredicate::ugt;
  case arith::CmpIPredicate::sge: return arith::CmpIPredicate::uge;
  default: return p;
  }
}

lowering::Combine lowering::withSignedness(Combine kind, bool isUnsigned) {
  if (!isUnsigned)
    return kind;
  if (kind == Combine::Max)
    return Combine::UMax;
  if (kind == Combine::Min)
    return Combine::UMin;
  return kind;
}

LogicalResult lowering::dropSignedness(func::FuncOp func) {
  auto any = [](auto types) { return llvm::any_of(types, hasUnsigned); };
  if (!any(func.getFunctionType().getInputs()) &&
      !any(func.getFunctionType().getResults()) &&
      !func.walk([&](Operation *op) {
             return any(op->getOperandTypes()) || any(op->getResultTypes())
                        ? WalkResult::interrupt()
                        : WalkResult::advance();
           }).wasInterrupted())
    return success();

  // Mark, or refuse, every tessera op that sees an unsigned integer.
  WalkResult marked = func.walk([&](Operation *op) {
    if (!isa<TesseraDialect>(op->getDialect()))
      return WalkResult::advance();
    bool in = any(op->getOperandTypes()), out = any(op->getResultTypes());
    if (!in && !out)
      return WalkResult::advance();
    if (signednessFree(op))
      return WalkResult::advance();
    if (!signednessAware(op)) {
      Type t = in ? *llvm::find_if(op->getOperandTypes(), hasUnsigned)
                  : *llvm::find_if(op->getResultTypes(), hasUnsigned);
      op->emitError() << "'" << op->getName() << "' on unsigned integers ("
                      << typeText(getElementTypeOrSelf(t)) << ") is unsupported";
      return WalkResult::interrupt();
    }
    if (in)
      op->setAttr(kUnsignedAttr, UnitAttr::get(op->getContext()));
    if (out && isa<CastOp>(op))
      op->setAttr(kUnsignedResultAttr, UnitAttr::get(op->getContext()));
    return WalkResult::advance();
  });
  if (marked.wasInterrupted())
    return failure();

  // Retype: block arguments, results, constants and the signature.
  WalkResult retyped = func.walk([&](Operation *op) {
    for (Region &region : op->getRegions())
      for (Block &block : region)
        for (BlockArgument arg : block.getArguments())
          arg.setType(signless(arg.getType()));
    for (OpResult r : op->getResults())
      r.setType(signless(r.getType()));
    if (auto constant = dyn_cast<ConstantOp>(op)) {
      if (hasUnsigned(constant.getValue().getShapedType())) {
        Attribute value = signlessValue(constant.getValue());
        if (!value) {
          op->emitError("a constant of unsupported kind holds unsigned integers");
          return WalkResult::interrupt();
        }
        constant.setValueAttr(cast<ElementsAttr>(value));
      }
    }
    return WalkResult::advance();
  });
  if (retyped.wasInterrupted())
    return failure();
  SmallVector<Type> inputs, results;
  for (Type t : func.getFunctionType().getInputs())
    inputs.push_back(signless(t));
  for (Type t : func.getFunctionType().getResults())
    results.push_back(signless(t));
  func.setFunctionType(FunctionType::get(func.getContext(), inputs, results));
  return success();
}
