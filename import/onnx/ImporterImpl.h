//===- ImporterImpl.h - Shared state of the ONNX importer -------*- C++ -*-===//
//
// Internal to import/onnx. GraphImporter owns the builder, the value table
// and the current node; op converters (OnnxOps.cpp) use its helpers to read
// attributes and constant inputs and to create verified, folded ops.
//
//===----------------------------------------------------------------------===//

#ifndef TESSERA_IMPORT_ONNX_IMPORTERIMPL_H
#define TESSERA_IMPORT_ONNX_IMPORTERIMPL_H

#include "import/onnx/OnnxImporter.h"
#include "onnx.pb.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Diagnostics.h"
#include "llvm/ADT/StringMap.h"

#include <optional>
#include <string>

namespace mlir::tessera::onnx_import {

using mlir::FailureOr;
using mlir::LogicalResult;
using mlir::Type;
using mlir::Value;

/// Thrown-free error channel: the first failure's message, one line.
struct ImportError {
  std::string message;
  explicit operator bool() const { return !message.empty(); }
};

/// Element count of `shape` with overflow checks; nullopt on a negative
/// dimension or when the product (times `elementBytes`) overflows int64.
std::optional<int64_t> checkedNumElements(llvm::ArrayRef<int64_t> shape,
                                          int64_t elementBytes = 1);

/// The MLIR element type of an ONNX TensorProto data type, or null.
Type convertDataType(mlir::MLIRContext *ctx, int32_t dataType);
/// ONNX's name of a data type, for messages ("uint8").
std::string dataTypeName(int32_t dataType);

/// Reads a TensorProto (initializer or Constant value) into an ElementsAttr;
/// `modelDir` resolves external data (empty: external data is an error).
FailureOr<mlir::ElementsAttr>
convertTensor(mlir::MLIRContext *ctx, const onnx::TensorProto &tensor,
              llvm::StringRef modelDir, const ImportOptions &options,
              std::string &error);

class GraphImporter {
public:
  GraphImporter(mlir::MLIRContext *ctx, const ImportOptions &options,
                std::string modelDir, std::string modelName, int64_t opset)
      : ctx(ctx), builder(ctx), options(options),
        modelDir(std::move(modelDir)), modelName(std::move(modelName)),
        opset(opset) {}

  /// Converts `node` (the current node for messages) and binds its outputs.
  LogicalResult convertNode(const onnx::NodeProto &node);

  //===--------------------------------------------------------------------===//
  // Helpers for op converters
  //===--------------------------------------------------------------------===//

  /// Records "node 'n' (Op, opset N): <msg>" as the import error.
  LogicalResult fail(const llvm::Twine &msg);
  /// Same, saying the feature is unsupported.
  LogicalResult unsupported(const llvm::Twine &what);

  int64_t numInputs() const { return node->input_size(); }
  /// Input `i`, or a null Value when absent (out of range or empty name).
  Value input(int i) const;
  /// Input `i`, failing with a message when absent.
  FailureOr<Value> requiredInput(int i);
  mlir::RankedTensorType inputType(int i) const;

  const onnx::AttributeProto *attr(llvm::StringRef name) const;
  int64_t attrInt(llvm::StringRef name, int64_t dflt) const;
  float attrFloat(llvm::StringRef name, float dflt) const;
  std::string attrString(llvm::StringRef name, llvm::StringRef dflt) const;
  std::optional<llvm::SmallVector<int64_t>> attrInts(llvm::StringRef name) const;

  /// The integer values of a constant input; fails naming the input when it
  /// is not a constant.
  FailureOr<llvm::SmallVector<int64_t>> constantInts(int i);
  /// The values of a constant floating-point input (any float type); fails
  /// naming the input when it is not a constant.
  FailureOr<llvm::SmallVector<double>> constantFloats(int i);
  /// The single floating-point value of a constant scalar input.
  FailureOr<double> constantScalar(int i);

  /// Axes from input `i` (newer opsets) or the `axes` attribute; nullopt
  /// when neither is given.
  FailureOr<std::optional<llvm::SmallVector<int64_t>>> axesInput(int i);
  /// The normalised, sorted axes of a Reduce* node over a `rank`-d input:
  /// nullopt when the node is a no-op (empty axes with
  /// noop_with_empty_axes), all axes when none are given.
  FailureOr<std::optional<llvm::SmallVector<int64_t>>> reductionAxes(int64_t rank);
  /// A reduction op over `axes`.
  template <typename ReduceOpTy>
  FailureOr<Value> reduce(Value x, llvm::ArrayRef<int64_t> axes, bool keepdims) {
    return create1<ReduceOpTy>(
        x, {named("axes", builder.getDenseI64ArrayAttr(axes)),
            named("keepdims", builder.getBoolAttr(keepdims))});
  }
  /// When `axes` of `x` include a zero-size dimension: the reduction's
  /// result, every element `identity` (infinities give the type's extreme
  /// values for integers); otherwise null.
  Value emptyReduction(Value x, llvm::ArrayRef<int64_t> axes, bool keepdims,
                       double identity);
  /// A 0-d constant of `element` type holding `value`.
  Value scalar(Type element, double value);

  /// Normalises a possibly negative axis against `rank`.
  FailureOr<int64_t> normalizeAxis(int64_t axis, int64_t rank);

  /// Creates an op, infers its result types when `resultTypes` is empty
  /// (InferTypeOpInterface), verifies it and folds it. Returns its results.
  FailureOr<llvm::SmallVector<Value>>
  create(llvm::StringRef opName, mlir::ValueRange operands,
         llvm::ArrayRef<mlir::NamedAttribute> attrs,
         llvm::ArrayRef<Type> resultTypes = {}, unsigned numResults = 1);
  template <typename OpTy>
  FailureOr<Value> create1(mlir::ValueRange operands,
                           llvm::ArrayRef<mlir::NamedAttribute> attrs = {},
                           llvm::ArrayRef<Type> resultTypes = {}) {
    auto r = create(OpTy::getOperationName(), operands, attrs, resultTypes);
    if (mlir::failed(r))
      return mlir::failure();
    return (*r)[0];
  }

  /// A constant op for `value`.
  Value constant(mlir::ElementsAttr value);
  /// A reshape to `shape`, or `v` itself when the shape already matches.
  FailureOr<Value> reshape(Value v, llvm::ArrayRef<int64_t> shape);
  /// A cast to `element`, or `v` itself when it already has that type.
  FailureOr<Value> castTo(Value v, Type element);

  /// Binds the node's outputs; more bound than produced is an error.
  LogicalResult setOutputs(mlir::ValueRange values);

  mlir::NamedAttribute named(llvm::StringRef name, mlir::Attribute value) {
    return builder.getNamedAttr(name, value);
  }

  mlir::MLIRContext *ctx;
  mlir::OpBuilder builder;
  const ImportOptions &options;
  std::string modelDir;
  std::string modelName;
  int64_t opset;
  llvm::StringMap<Value> values;
  const onnx::NodeProto *node = nullptr;
  mlir::Location loc = mlir::UnknownLoc::get(ctx);
  ImportError error;
  /// The last error diagnostic MLIR emitted (verifier, type inference).
  std::string lastDiagnostic;
};

/// An op converter; returns failure after recording an error.
using OpConverter = LogicalResult (*)(GraphImporter &);

/// The ranked tensor type of an imported value (every value is one).
inline mlir::RankedTensorType typeOf(mlir::Value v) {
  return mlir::cast<mlir::RankedTensorType>(v.getType());
}

/// In converters: `TRY(x, g.requiredInput(0));` binds `x` to the
/// FailureOr and returns failure (already reported) if it failed.
#define TRY(var, expr)                                                         \
  auto var = (expr);                                                           \
  if (failed(var))                                                             \
    return failure();

/// A transpose by `perm`, or `x` itself for the identity
/// (OnnxCompositeTensor.cpp).
FailureOr<Value> transpose(GraphImporter &g, Value x, llvm::ArrayRef<int64_t> perm);

/// Window attributes shared by Conv and the pools, with auto_pad resolved.
struct Window {
  llvm::SmallVector<int64_t> kernel, strides, pads, dilations;
};
/// The node's strides, pads (auto_pad resolved), dilations for `kernel`
/// over `input` ([N, C, spatial...]) (OnnxOps.cpp).
FailureOr<Window> readWindow(GraphImporter &g, mlir::RankedTensorType input,
                             llvm::SmallVector<int64_t> kernel);

/// The converter for a default-domain op type, or null when unsupported.
OpConverter lookupConverter(llvm::StringRef opType);
/// Converters of ops the importer composes from other tessera ops
/// (OnnxComposite.cpp), or null.
OpConverter lookupCompositeConverter(llvm::StringRef opType);
/// Layout and indexing ops composed from tessera ops (OnnxCompositeTensor.cpp).
OpConverter lookupTensorCompositeConverter(llvm::StringRef opType);
/// Transformer ops of opset 23 and later (RMSNormalization, RotaryEmbedding,
/// Attention) and the losses (OnnxCompositeNN.cpp).
OpConverter lookupNNCompositeConverter(llvm::StringRef opType);
/// Linear quantization (OnnxQuantize.cpp): QuantizeLinear,
/// DequantizeLinear, DynamicQuantizeLinear, MatMulInteger, QLinearMatMul.
OpConverter lookupQuantizeConverter(llvm::StringRef opType);
/// Pooling and normalization composites (OnnxPoolNorm.cpp): LpPool,
/// GlobalMaxPool, GlobalLpPool, LpNormalization, GroupNormalization,
/// Hardmax.
OpConverter lookupPoolNormConverter(llvm::StringRef opType);
/// Signal processing (OnnxSignal.cpp): DFT as dense cosine/sine maps.
OpConverter lookupSignalConverter(llvm::StringRef opType);
/// ConvTranspose as a convolution over the upsampled input
/// (OnnxConvTranspose.cpp).
LogicalResult convertConvTranspose(GraphImporter &g);

} // namespace mlir::tessera::onnx_import

#endif // TESSERA_IMPORT_ONNX_IMPORTERIMPL_H
