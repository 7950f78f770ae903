//===- TesseraOps.td - Operations of the tessera dialect ---*- tablegen -*-===//
//
// One op per ONNX operator family. Elementwise ops share classes; every op
// whose result type follows from its operands implements InferTypeOpInterface,
// so the verifier checks the declared result type against the inferred one.
//
//===----------------------------------------------------------------------===//

#ifndef TESSERA_OPS_TD
#define TESSERA_OPS_TD

include "dialects/Tessera/IR/TesseraBase.td"
include "mlir/IR/BuiltinAttributeInterfaces.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

class Tessera_Op<string mnemonic, list<Trait> traits = []>
    : Op<Tessera_Dialect, mnemonic, !listconcat([Pure], traits)>;

//===----------------------------------------------------------------------===//
// Constants and shapes
//===----------------------------------------------------------------------===//

def Tessera_ConstantOp : Tessera_Op<"constant", [ConstantLike,
    AllTypesMatch<["value", "output"]>]> {
  let summary = "A constant tensor (weights are dense resources)";
  let description = [{
    Holds a constant tensor. Small tensors (shape computations) carry a
    `dense<...>` attribute and fold; weights carry a `dense_resource<...>`
    blob, which keeps large models compact in text form.

    ```mlir
    %0 = tessera.constant dense<[1, 2]> : tensor<2xi64>
    %w = tessera.constant dense_resource<fc1.weight> : tensor<512x512xf32>
    ```
  }];
  let arguments = (ins ElementsAttr:$value);
  let results = (outs Tessera_Tensor:$output);
  let assemblyFormat = "attr-dict $value";
  let hasFolder = 1;
}

def Tessera_ShapeOp : Tessera_Op<"shape", [InferTypeOpAdaptor]> {
  let summary = "The shape of a tensor as a 1-D i64 tensor (ONNX Shape)";
  let description = [{
    Returns dimensions `[start, end)` of the operand's shape. Shapes are
    static, so this op always folds to a constant.

    ```mlir
    %s = tessera.shape %x {start = 0 : i64, end = 2 : i64} : tensor<2x3x4xf32> -> tensor<2xi64>
    ```
  }];
  let arguments = (ins Tessera_Tensor:$input, I64Attr:$start, I64Attr:$end);
  let results = (outs Tessera_ShapeTensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
  let hasFolder = 1;
}

//===----------------------------------------------------------------------===//
// Elementwise unary
//===----------------------------------------------------------------------===//

class Tessera_UnaryOp<string mnemonic, TypeConstraint type, string onnx,
                      list<Trait> traits = []>
    : Tessera_Op<mnemonic, !listconcat([SameOperandsAndResultType,
                                       Elementwise], traits)> {
  let summary = "Elementwise " # onnx # " (ONNX " # onnx # ")";
  let description = [{
    Applies the operation to every element; the result has the operand's
    type.

    ```mlir
    %y = tessera.}] # mnemonic # [{ %x : tensor<4x8xf32>
    ```
  }];
  let arguments = (ins type:$input);
  let results = (outs type:$output);
  let assemblyFormat = "$input attr-dict `:` type($input)";
}

def Tessera_SqrtOp : Tessera_UnaryOp<"sqrt", Tessera_FloatTensor, "Sqrt">;
def Tessera_ExpOp : Tessera_UnaryOp<"exp", Tessera_FloatTensor, "Exp">;
def Tessera_LogOp : Tessera_UnaryOp<"log", Tessera_FloatTensor, "Log">;
def Tessera_TanhOp : Tessera_UnaryOp<"tanh", Tessera_FloatTensor, "Tanh">;
def Tessera_ErfOp : Tessera_UnaryOp<"erf", Tessera_FloatTensor, "Erf">;
def Tessera_SigmoidOp : Tessera_UnaryOp<"sigmoid", Tessera_FloatTensor, "Sigmoid">;
def Tessera_ReluOp : Tessera_UnaryOp<"relu", Tessera_NumericTensor, "Relu">;
def Tessera_ReciprocalOp : Tessera_UnaryOp<"reciprocal", Tessera_FloatTensor, "Reciprocal">;
def Tessera_FloorOp : Tessera_UnaryOp<"floor", Tessera_FloatTensor, "Floor">;
def Tessera_CeilOp : Tessera_UnaryOp<"ceil", Tessera_FloatTensor, "Ceil">;
def Tessera_SinOp : Tessera_UnaryOp<"sin", Tessera_FloatTensor, "Sin">;
def Tessera_CosOp : Tessera_UnaryOp<"cos", Tessera_FloatTensor, "Cos">;
def Tessera_TanOp : Tessera_UnaryOp<"tan", Tessera_FloatTensor, "Tan">;
def Tessera_AsinOp : Tessera_UnaryOp<"asin", Tessera_FloatTensor, "Asin">;
def Tessera_AcosOp : Tessera_UnaryOp<"acos", Tessera_FloatTensor, "Acos">;
def Tessera_AtanOp : Tessera_UnaryOp<"atan", Tessera_FloatTensor, "Atan">;
def Tessera_SinhOp : Tessera_UnaryOp<"sinh", Tessera_FloatTensor, "Sinh">;
def Tessera_CoshOp : Tessera_UnaryOp<"cosh", Tessera_FloatTensor, "Cosh">;
def Tessera_AsinhOp : Tessera_UnaryOp<"asinh", Tessera_FloatTensor, "Asinh">;
def Tessera_AcoshOp : Tessera_UnaryOp<"acosh", Tessera_FloatTensor, "Acosh">;
def Tessera_AtanhOp : Tessera_UnaryOp<"atanh", Tessera_FloatTensor, "Atanh">;
def Tessera_RoundOp : Tessera_UnaryOp<"round", Tessera_FloatTensor, "Round (half to even)">;
def Tessera_NegOp : Tessera_UnaryOp<"neg", Tessera_NumericTensor, "Neg"> {
  let hasFolder = 1;
}
def Tessera_AbsOp : Tessera_UnaryOp<"abs", Tessera_NumericTensor, "Abs">;
def Tessera_NotOp : Tessera_UnaryOp<"not", Tessera_BoolTensor, "Not"> {
  let hasFolder = 1;
}

class Tessera_AlphaUnaryOp<string mnemonic, string onnx, string alphaDefault>
    : Tessera_UnaryOp<mnemonic, Tessera_FloatTensor, onnx> {
  let arguments = (ins Tessera_FloatTensor:$input,
                       DefaultValuedAttr<F32Attr, alphaDefault>:$alpha);
}
def Tessera_LeakyReluOp : Tessera_AlphaUnaryOp<"leaky_relu", "LeakyRelu", "0.01">;
def Tessera_EluOp : Tessera_AlphaUnaryOp<"elu", "Elu", "1.0">;

def Tessera_GeluOp : Tessera_UnaryOp<"gelu", Tessera_FloatTensor, "Gelu"> {
  let arguments = (ins Tessera_FloatTensor:$input,
                       DefaultValuedAttr<BoolAttr, "false">:$tanh_approximation);
}

def Tessera_ClipOp : Tessera_Op<"clip", [AllTypesMatch<["input", "output"]>,
    AttrSizedOperandSegments]> {
  let summary = "Clamp every element into [min, max] (ONNX Clip)";
  let description = [{
    `min` and `max` are optional 0-d tensors of the input's element type.

    ```mlir
    %y = tessera.clip %x min(%lo : tensor<f32>) max(%hi : tensor<f32>) : tensor<4xf32>
    ```
  }];
  let arguments = (ins Tessera_NumericTensor:$input,
                       Optional<Tessera_NumericTensor>:$min,
                       Optional<Tessera_NumericTensor>:$max);
  let results = (outs Tessera_NumericTensor:$output);
  let assemblyFormat = [{
    $input (`min` `(` $min^ `:` type($min) `)`)? (`max` `(` $max^ `:` type($max) `)`)?
    attr-dict `:` type($input)
  }];
  let hasVerifier = 1;
}

def Tessera_CastOp : Tessera_Op<"cast", [Elementwise]> {
  let summary = "Convert every element to another element type (ONNX Cast)";
  let description = [{
    Float to int truncates toward zero; to i1 is `x != 0`. To a float8 or
    float4 format, values round to nearest even; past the format's largest
    finite value they become that value with `saturate` (the default, as
    in ONNX), else infinity or NaN as the format has them.

    ```mlir
    %y = tessera.cast %x : tensor<4xf32> -> tensor<4xi64>
    %z = tessera.cast %x {saturate = false} : tensor<4xf32> -> tensor<4xf8E4M3FN>
    ```
  }];
  let arguments = (ins Tessera_Tensor:$input,
                       DefaultValuedAttr<BoolAttr, "true">:$saturate);
  let results = (outs Tessera_Tensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
  let hasFolder = 1;
}

//===----------------------------------------------------------------------===//
// Elementwise binary and ternary, with NumPy broadcasting
//===----------------------------------------------------------------------===//

// Pointwise with NumPy broadcasting; the trait marks them for the sharding
// strategies (it verifies nothing: the ops' own inference does).
def Tessera_BroadcastPointwise : NativeOpTrait<"BroadcastPointwise"> {
  let cppNamespace = "::mlir::tessera::OpTrait";
}
class Tessera_BroadcastOp<string mnemonic, list<Trait> traits = []>
    : Tessera_Op<mnemonic, !listconcat([InferTypeOpAdaptor,
                                        Tessera_BroadcastPointwise], traits)> {
  let extraClassDefinition = [{
    ::llvm::LogicalResult $cppClass::inferReturnTypes(
        ::mlir::MLIRContext *context, std::optional<::mlir::Location> location,
        Adaptor adaptor, ::llvm::SmallVectorImpl<::mlir::Type> &types) {
      return inferBroadcastOp(location, adaptor.getOperands(),
                              resultElementType(adaptor.getOperands()), types);
    }
  }];
}

class Tessera_BinaryOp<string mnemonic, TypeConstraint type, string onnx,
                       list<Trait> traits = []>
    : Tessera_BroadcastOp<mnemonic, traits> {
  let summary = "Elementwise " # onnx # " with NumPy broadcasting (ONNX " # onnx # ")";
  let description = [{
    Both operands have one element type; shapes broadcast as in NumPy.

    ```mlir
    %z = tessera.}] # mnemonic # [{ %x, %y : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
    ```
  }];
  let arguments = (ins type:$lhs, type:$rhs);
  let results = (outs type:$output);
  let assemblyFormat = [{
    $lhs `,` $rhs attr-dict `:` `(` type($lhs) `,` type($rhs) `)` `->` type($output)
  }];
  let hasFolder = 1;
  let extraClassDeclaration = [{
    static ::mlir::Type resultElementType(::mlir::ValueRange operands) {
      return getElementTypeOrSelf(operands.front().getType());
    }
  }];
}

def Tessera_AddOp : Tessera_BinaryOp<"add", Tessera_NumericTensor, "Add", [Commutative]>;
def Tessera_SubOp : Tessera_BinaryOp<"sub", Tessera_NumericTensor, "Sub">;
def Tessera_MulOp : Tessera_BinaryOp<"mul", Tessera_NumericTensor, "Mul", [Commutative]>;
def Tessera_DivOp : Tessera_BinaryOp<"div", Tessera_NumericTensor, "Div">;
def Tessera_PowOp : Tessera_BinaryOp<"pow", Tessera_NumericTensor, "Pow">;
def Tessera_MaxOp : Tessera_BinaryOp<"max", Tessera_NumericTensor, "Max", [Commutative]>;
def Tessera_MinOp : Tessera_BinaryOp<"min", Tessera_NumericTensor, "Min", [Commutative]>;
def Tessera_ModOp : Tessera_BinaryOp<"mod", Tessera_NumericTensor, "Mod"> {
  let description = [{
    With `fmod`, the remainder has the sign of the dividend (C's fmod);
    without it, the sign of the divisor (Python's %, NumPy's `mod`; floats
    too since opset 28).

    ```mlir
    %z = tessera.mod %x, %y {fmod = true} : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
    ```
  }];
  let arguments = (ins Tessera_NumericTensor:$lhs, Tessera_NumericTensor:$rhs,
                       DefaultValuedAttr<BoolAttr, "false">:$fmod);
  let hasFolder = 1;
}
// Logical on i1 (And, Or, Xor), bitwise on integers (BitwiseAnd, ...).
def Tessera_AndOp : Tessera_BinaryOp<"and", Tessera_BitsTensor, "And", [Commutative]>;
def Tessera_OrOp : Tessera_BinaryOp<"or", Tessera_BitsTensor, "Or", [Commutative]>;
def Tessera_XorOp : Tessera_BinaryOp<"xor", Tessera_BitsTensor, "Xor", [Commutative]>;

class Tessera_CompareOp<string mnemonic, string onnx>
    : Tessera_BinaryOp<mnemonic, Tessera_Tensor, onnx> {
  let results = (outs Tessera_BoolTensor:$output);
  let extraClassDeclaration = [{
    static ::mlir::Type resultElementType(::mlir::ValueRange operands) {
      return ::mlir::IntegerType::get(operands.front().getContext(), 1);
    }
  }];
}
def Tessera_EqualOp : Tessera_CompareOp<"equal", "Equal">;
def Tessera_LessOp : Tessera_CompareOp<"less", "Less">;
def Tessera_LessEqualOp : Tessera_CompareOp<"less_equal", "LessOrEqual">;
def Tessera_GreaterOp : Tessera_CompareOp<"greater", "Greater">;
def Tessera_GreaterEqualOp : Tessera_CompareOp<"greater_equal", "GreaterOrEqual">;

def Tessera_WhereOp : Tessera_BroadcastOp<"where"> {
  let summary = "Select from two tensors by a condition (ONNX Where)";
  let description = [{
    All three operands broadcast together; `x` and `y` share an element type.

    ```mlir
    %z = tessera.where %c, %x, %y : (tensor<4x4xi1>, tensor<4x4xf32>, tensor<f32>) -> tensor<4x4xf32>
    ```
  }];
  let arguments = (ins Tessera_BoolTensor:$condition, Tessera_Tensor:$x,
                       Tessera_Tensor:$y);
  let results = (outs Tessera_Tensor:$output);
  let assemblyFormat = [{
    $condition `,` $x `,` $y attr-dict `:` `(` type($condition) `,` type($x) `,`
    type($y) `)` `->` type($output)
  }];
  let hasFolder = 1;
  let extraClassDeclaration = [{
    static ::mlir::Type resultElementType(::mlir::ValueRange operands) {
      return getElementTypeOrSelf(operands[1].getType());
    }
  }];
}

//===----------------------------------------------------------------------===//
// Linear algebra and convolution
//===----------------------------------------------------------------------===//

def Tessera_MatMulOp : Tessera_Op<"matmul", [InferTypeOpAdaptor]> {
  let summary = "Matrix product with NumPy semantics (ONNX MatMul)";
  let description = [{
    1-D operands are promoted as in `numpy.matmul`; batch dimensions
    broadcast.

    ```mlir
    %y = tessera.matmul %a, %b : (tensor<8x2x4xf32>, tensor<4x3xf32>) -> tensor<8x2x3xf32>
    ```
  }];
  let arguments = (ins Tessera_NumericTensor:$lhs, Tessera_NumericTensor:$rhs);
  let results = (outs Tessera_NumericTensor:$output);
  let assemblyFormat = [{
    $lhs `,` $rhs attr-dict `:` `(` type($lhs) `,` type($rhs) `)` `->` type($output)
  }];
}

def Tessera_GemmOp : Tessera_Op<"gemm", [InferTypeOpAdaptor]> {
  let summary = "alpha * op(A) * op(B) + beta * C (ONNX Gemm)";
  let description = [{
    `A` and `B` are 2-D, optionally transposed; `C` is optional and
    broadcasts to the `MxN` result.

    ```mlir
    %y = tessera.gemm %a, %b, %c {trans_b = true} : (tensor<2x4xf32>, tensor<3x4xf32>, tensor<3xf32>) -> tensor<2x3xf32>
    ```
  }];
  let arguments = (ins Tessera_NumericTensor:$a, Tessera_NumericTensor:$b,
                       Optional<Tessera_NumericTensor>:$c,
                       DefaultValuedAttr<F32Attr, "1.0">:$alpha,
                       DefaultValuedAttr<F32Attr, "1.0">:$beta,
                       DefaultValuedAttr<BoolAttr, "false">:$trans_a,
                       DefaultValuedAttr<BoolAttr, "false">:$trans_b);
  let results = (outs Tessera_NumericTensor:$output);
  let assemblyFormat = [{
    $a `,` $b (`,` $c^)? attr-dict `:` `(` type($a) `,` type($b) (`,` type($c)^)? `)`
    `->` type($output)
  }];
}

def Tessera_ConvOp : Tessera_Op<"conv", [InferTypeOpAdaptor]> {
  let summary = "N-d convolution with groups, strides, pads, dilations (ONNX Conv)";
  let description = [{
    Input `NxCxD1x...`, weight `MxC/groupxK1x...`, optional bias `M`. Pads
    are explicit: `[begin_1, ..., begin_n, end_1, ..., end_n]` (ONNX order);
    the importer resolves `auto_pad`.

    ```mlir
    %y = tessera.conv %x, %w, %b {strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>,
           dilations = array<i64: 1, 1>, group = 1 : i64}
         : (tensor<1x3x8x8xf32>, tensor<16x3x3x3xf32>, tensor<16xf32>) -> tensor<1x16x8x8xf32>
    ```
  }];
  let arguments = (ins Tessera_FloatTensor:$input, Tessera_FloatTensor:$weight,
                       Optional<Tessera_FloatTensor>:$bias,
                       DenseI64ArrayAttr:$strides, DenseI64ArrayAttr:$pads,
                       DenseI64ArrayAttr:$dilations, I64Attr:$group);
  let results = (outs Tessera_FloatTensor:$output);
  let assemblyFormat = [{
    $input `,` $weight (`,` $bias^)? attr-dict `:` `(` type($input) `,` type($weight)
    (`,` type($bias)^)? `)` `->` type($output)
  }];
}

class Tessera_PoolOp<string mnemonic, string onnx>
    : Tessera_Op<mnemonic, [InferTypeOpAdaptor]> {
  let summary = onnx # " over the spatial dimensions (ONNX " # onnx # ")";
  let description = [{
    Window `kernel_shape` with `strides`, explicit `pads` (ONNX order) and
    `dilations`; `ceil_mode` rounds the output size up.

    ```mlir
    %y = tessera.}] # mnemonic # [{ %x {kernel_shape = array<i64: 2, 2>, strides = array<i64: 2, 2>,
           pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>}
         : tensor<1x3x8x8xf32> -> tensor<1x3x4x4xf32>
    ```
  }];
  let results = (outs Tessera_FloatTensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
}

def Tessera_MaxPoolOp : Tessera_PoolOp<"max_pool", "MaxPool"> {
  let arguments = (ins Tessera_FloatTensor:$input,
                       DenseI64ArrayAttr:$kernel_shape, DenseI64ArrayAttr:$strides,
                       DenseI64ArrayAttr:$pads, DenseI64ArrayAttr:$dilations,
                       DefaultValuedAttr<BoolAttr, "false">:$ceil_mode);
}
def Tessera_AveragePoolOp : Tessera_PoolOp<"average_pool", "AveragePool"> {
  let arguments = (ins Tessera_FloatTensor:$input,
                       DenseI64ArrayAttr:$kernel_shape, DenseI64ArrayAttr:$strides,
                       DenseI64ArrayAttr:$pads, DenseI64ArrayAttr:$dilations,
                       DefaultValuedAttr<BoolAttr, "false">:$ceil_mode,
                       DefaultValuedAttr<BoolAttr, "false">:$count_include_pad);
}

def Tessera_GlobalAveragePoolOp : Tessera_Op<"global_average_pool",
    [InferTypeOpAdaptor]> {
  let summary = "Mean over all spatial dimensions (ONNX GlobalAveragePool)";
  let description = [{
    ```mlir
    %y = tessera.global_average_pool %x : tensor<1x8x7x7xf32> -> tensor<1x8x1x1xf32>
    ```
  }];
  let arguments = (ins Tessera_FloatTensor:$input);
  let results = (outs Tessera_FloatTensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
}

//===----------------------------------------------------------------------===//
// Normalisation
//===----------------------------------------------------------------------===//

def Tessera_BatchNormOp : Tessera_Op<"batch_norm",
    [AllTypesMatch<["input", "output"]>]> {
  let summary = "Inference-mode batch normalisation (ONNX BatchNormalization)";
  let description = [{
    `scale`, `bias`, `mean` and `variance` are 1-D of the channel size
    (dimension 1 of the input).

    ```mlir
    %y = tessera.batch_norm %x, %s, %b, %m, %v {epsilon = 1.0e-05 : f32}
         : tensor<1x8x4x4xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>
    ```
  }];
  let arguments = (ins Tessera_FloatTensor:$input, Tessera_FloatTensor:$scale,
                       Tessera_FloatTensor:$bias, Tessera_FloatTensor:$mean,
                       Tessera_FloatTensor:$variance,
                       DefaultValuedAttr<F32Attr, "1.0e-5">:$epsilon);
  let results = (outs Tessera_FloatTensor:$output);
  let assemblyFormat = [{
    $input `,` $scale `,` $bias `,` $mean `,` $variance attr-dict `:` type($input) `,`
    type($scale) `,` type($bias) `,` type($mean) `,` type($variance)
  }];
  let hasVerifier = 1;
}

def Tessera_LayerNormOp : Tessera_Op<"layer_norm",
    [AllTypesMatch<["input", "output"]>]> {
  let summary = "Layer normalisation over dimensions [axis, rank) (ONNX LayerNormalization)";
  let description = [{
    `scale` and the optional `bias` broadcast to the normalised dimensions.

    ```mlir
    %y = tessera.layer_norm %x, %g, %b {axis = 2 : i64, epsilon = 1.0e-05 : f32}
         : tensor<2x16x64xf32>, tensor<64xf32>, tensor<64xf32>
    ```
  }];
  let arguments = (ins Tessera_FloatTensor:$input, Tessera_FloatTensor:$scale,
                       Optional<Tessera_FloatTensor>:$bias, I64Attr:$axis,
                       DefaultValuedAttr<F32Attr, "1.0e-5">:$epsilon);
  let results = (outs Tessera_FloatTensor:$output);
  let assemblyFormat = [{
    $input `,` $scale (`,` $bias^)? attr-dict `:` type($input) `,` type($scale)
    (`,` type($bias)^)?
  }];
  let hasVerifier = 1;
}

class Tessera_SoftmaxOp<string mnemonic, string onnx>
    : Tessera_Op<mnemonic, [AllTypesMatch<["input", "output"]>]> {
  let summary = onnx # " along one axis (ONNX " # onnx # ", opset 13 semantics)";
  let description = [{
    ```mlir
    %y = tessera.}] # mnemonic # [{ %x {axis = 1 : i64} : tensor<2x10xf32>
    ```
  }];
  let arguments = (ins Tessera_FloatTensor:$input, I64Attr:$axis);
  let results = (outs Tessera_FloatTensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input)";
  let hasVerifier = 1;
}
def Tessera_SoftmaxOp : Tessera_SoftmaxOp<"softmax", "Softmax">;
def Tessera_LogSoftmaxOp : Tessera_SoftmaxOp<"log_softmax", "LogSoftmax">;

//===----------------------------------------------------------------------===//
// Reductions
//===----------------------------------------------------------------------===//

class Tessera_ReduceOp<string mnemonic, string onnx>
    : Tessera_Op<mnemonic, [InferTypeOpAdaptor]> {
  let summary = onnx # " over the listed axes (ONNX " # onnx # ")";
  let description = [{
    `axes` are non-negative, strictly increasing; `keepdims` keeps reduced
    dimensions with size 1.

    ```mlir
    %y = tessera.}] # mnemonic # [{ %x {axes = array<i64: 1>, keepdims = true} : tensor<2x8xf32> -> tensor<2x1xf32>
    ```
  }];
  let arguments = (ins Tessera_NumericTensor:$input, DenseI64ArrayAttr:$axes,
                       DefaultValuedAttr<BoolAttr, "true">:$keepdims);
  let results = (outs Tessera_NumericTensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
  let hasFolder = 1;
  let extraClassDefinition = [{
    ::llvm::LogicalResult $cppClass::inferReturnTypes(
        ::mlir::MLIRContext *context, std::optional<::mlir::Location> location,
        Adaptor adaptor, ::llvm::SmallVectorImpl<::mlir::Type> &types) {
      return inferReduceOp(location, adaptor.getInput(), adaptor.getAxes(),
                           adaptor.getKeepdims(), types);
    }
  }];
}
def Tessera_ReduceSumOp : Tessera_ReduceOp<"reduce_sum", "ReduceSum">;
def Tessera_ReduceMeanOp : Tessera_ReduceOp<"reduce_mean", "ReduceMean">;
def Tessera_ReduceMaxOp : Tessera_ReduceOp<"reduce_max", "ReduceMax">;
def Tessera_ReduceMinOp : Tessera_ReduceOp<"reduce_min", "ReduceMin">;
def Tessera_ReduceProdOp : Tessera_ReduceOp<"reduce_prod", "ReduceProd">;

class Tessera_ArgOp<string mnemonic, string onnx>
    : Tessera_Op<mnemonic, [InferTypeOpAdaptor]> {
  let summary = "Index of the " # onnx # " along one axis (ONNX " # onnx # ")";
  let description = [{
    The first position wins ties unless `select_last_index` is set.

    ```mlir
    %i = tessera.}] # mnemonic # [{ %x {axis = 1 : i64, keepdims = false} : tensor<2x8xf32> -> tensor<2xi64>
    ```
  }];
  let arguments = (ins Tessera_NumericTensor:$input, I64Attr:$axis,
                       DefaultValuedAttr<BoolAttr, "true">:$keepdims,
                       DefaultValuedAttr<BoolAttr, "false">:$select_last_index);
  let results = (outs RankedTensorOf<[I64]>:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
  let extraClassDefinition = [{
    ::llvm::LogicalResult $cppClass::inferReturnTypes(
        ::mlir::MLIRContext *context, std::optional<::mlir::Location> location,
        Adaptor adaptor, ::llvm::SmallVectorImpl<::mlir::Type> &types) {
      return inferArgOp(location, adaptor.getInput(),
                        static_cast<int64_t>(adaptor.getAxis()),
                        adaptor.getKeepdims(), types);
    }
  }];
}
def Tessera_ArgMaxOp : Tessera_ArgOp<"arg_max", "ArgMax">;
def Tessera_ArgMinOp : Tessera_ArgOp<"arg_min", "ArgMin">;

//===----------------------------------------------------------------------===//
// Data movement
//===----------------------------------------------------------------------===//

def Tessera_ReshapeOp : Tessera_Op<"reshape"> {
  let summary = "Same elements, another static shape (ONNX Reshape, Flatten, Squeeze, Unsqueeze)";
  let description = [{
    ```mlir
    %y = tessera.reshape %x : tensor<2x3x4xf32> -> tensor<6x4xf32>
    ```
  }];
  let arguments = (ins Tessera_Tensor:$input);
  let results = (outs Tessera_Tensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
  let hasVerifier = 1;
  let hasFolder = 1;
  let hasCanonicalizer = 1;
}

def Tessera_TransposeOp : Tessera_Op<"transpose", [InferTypeOpAdaptor]> {
  let summary = "Permute dimensions (ONNX Transpose)";
  let description = [{
    Result dimension `i` is operand dimension `perm[i]`.

    ```mlir
    %y = tessera.transpose %x {perm = array<i64: 1, 0>} : tensor<2x3xf32> -> tensor<3x2xf32>
    ```
  }];
  let arguments = (ins Tessera_Tensor:$input, DenseI64ArrayAttr:$perm);
  let results = (outs Tessera_Tensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
  let hasFolder = 1;
}

def Tessera_ConcatOp : Tessera_Op<"concat", [InferTypeOpAdaptor]> {
  let summary = "Join tensors along one axis (ONNX Concat)";
  let description = [{
    ```mlir
    %y = tessera.concat %a, %b {axis = 0 : i64} : (tensor<2x3xf32>, tensor<4x3xf32>) -> tensor<6x3xf32>
    ```
  }];
  let arguments = (ins Variadic<Tessera_Tensor>:$inputs, I64Attr:$axis);
  let results = (outs Tessera_Tensor:$output);
  let assemblyFormat = [{
    $inputs attr-dict `:` `(` type($inputs) `)` `->` type($output)
  }];
  let hasFolder = 1;
}

def Tessera_SplitOp : Tessera_Op<"split", [InferTypeOpAdaptor]> {
  let summary = "Cut a tensor into pieces along one axis (ONNX Split)";
  let description = [{
    ```mlir
    %a, %b = tessera.split %x {axis = 1 : i64, sizes = array<i64: 2, 6>}
             : tensor<4x8xf32> -> tensor<4x2xf32>, tensor<4x6xf32>
    ```
  }];
  let arguments = (ins Tessera_Tensor:$input, I64Attr:$axis,
                       DenseI64ArrayAttr:$sizes);
  let results = (outs Variadic<Tessera_Tensor>:$outputs);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($outputs)";
}

def Tessera_SliceOp : Tessera_Op<"slice", [InferTypeOpAdaptor]> {
  let summary = "Strided slice with one entry per dimension (ONNX Slice)";
  let description = [{
    Result dimension `d` has `sizes[d]` elements; element `j` reads operand
    index `starts[d] + j * steps[d]`. Steps may be negative. The importer
    turns ONNX's clamped start/end pairs into this exact form.

    ```mlir
    %y = tessera.slice %x {starts = array<i64: 0, 1>, sizes = array<i64: 2, 2>, steps = array<i64: 1, 2>}
         : tensor<2x6xf32> -> tensor<2x2xf32>
    ```
  }];
  let arguments = (ins Tessera_Tensor:$input, DenseI64ArrayAttr:$starts,
                       DenseI64ArrayAttr:$sizes, DenseI64ArrayAttr:$steps);
  let results = (outs Tessera_Tensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
  let hasFolder = 1;
}

def Tessera_GatherOp : Tessera_Op<"gather", [InferTypeOpAdaptor]> {
  let summary = "Gather slices along one axis by index (ONNX Gather)";
  let description = [{
    Negative indices count from the end. The result shape is
    `data[:axis] + indices + data[axis+1:]`.

    ```mlir
    %y = tessera.gather %table, %ids {axis = 0 : i64}
         : (tensor<100x16xf32>, tensor<2x5xi64>) -> tensor<2x5x16xf32>
    ```
  }];
  let arguments = (ins Tessera_Tensor:$data, Tessera_IndexTensor:$indices,
                       I64Attr:$axis);
  let results = (outs Tessera_Tensor:$output);
  let assemblyFormat = [{
    $data `,` $indices attr-dict `:` `(` type($data) `,` type($indices) `)` `->` type($output)
  }];
  let hasFolder = 1;
  let hasCanonicalizer = 1;
}

def Tessera_GatherElementsOp : Tessera_Op<"gather_elements", [InferTypeOpAdaptor]> {
  let summary = "Gather single elements along one axis by index (ONNX GatherElements)";
  let description = [{
    `out[i0, .., iaxis, ..] = data[i0, .., indices[i0, .., iaxis, ..], ..]`;
    negative indices count from the end. The result has the indices' shape.

    ```mlir
    %y = tessera.gather_elements %d, %i {axis = 1 : i64}
         : (tensor<3x4xf32>, tensor<3x2xi64>) -> tensor<3x2xf32>
    ```
  }];
  let arguments = (ins Tessera_Tensor:$data, Tessera_IndexTensor:$indices,
                       I64Attr:$axis);
  let results = (outs Tessera_Tensor:$output);
  let assemblyFormat = [{
    $data `,` $indices attr-dict `:` `(` type($data) `,` type($indices) `)` `->` type($output)
  }];
}

class Tessera_ScatterOp<string mnemonic, list<Trait> traits = []>
    : Tessera_Op<mnemonic, !listconcat([InferTypeOpAdaptor], traits)> {
  let results = (outs Tessera_Tensor:$output);
  let assemblyFormat = [{
    $data `,` $indices `,` $updates attr-dict `:` `(` type($data) `,` type($indices) `,`
    type($updates) `)` `->` type($output)
  }];
}

def Tessera_ScatterElementsOp : Tessera_ScatterOp<"scatter_elements"> {
  let summary = "Write or combine single elements along one axis by index (ONNX ScatterElements, Scatter)";
  let description = [{
    The result starts as `data`; then, for every position `p` of `updates`
    in row-major order, `updates[p]` goes to `out[p0, .., indices[p], ..]`
    (the index replaces dimension `axis`). `reduction` is `none` (write;
    among duplicate indices the last write wins), `add`, `mul`, `max` or
    `min` (combine with the value there). `indices` and `updates` have one
    shape, no larger than `data`'s outside `axis`.

    Negative indices count from the end. An index still outside the
    dimension is skipped: its update is not applied. ONNX leaves such
    indices undefined; Tessera never writes out of bounds.

    ```mlir
    %y = tessera.scatter_elements %d, %i, %u {axis = 1 : i64, reduction = "add"}
         : (tensor<3x4xf32>, tensor<3x2xi64>, tensor<3x2xf32>) -> tensor<3x4xf32>
    ```
  }];
  let arguments = (ins Tessera_Tensor:$data, Tessera_IndexTensor:$indices,
                       Tessera_Tensor:$updates, I64Attr:$axis,
                       DefaultValuedAttr<StrAttr, "\"none\"">:$reduction);
}

def Tessera_ScatterNDOp : Tessera_ScatterOp<"scatter_nd"> {
  let summary = "Write or combine slices addressed by index tuples (ONNX ScatterND)";
  let description = [{
    `indices` has shape `I x k`: each of its `I` rows is an index into the
    first `k` dimensions of `data`, and `updates` (shape `I` followed by
    `data`'s dimensions from `k` on) holds the slice written there. The
    result starts as `data`; rows are applied in row-major order with
    `reduction` `none` (write; the last write wins), `add`, `mul`, `max` or
    `min`.

    Negative indices count from the end. A row with an index still outside
    its dimension is skipped, as in `scatter_elements`.

    ```mlir
    %y = tessera.scatter_nd %d, %i, %u {reduction = "none"}
         : (tensor<4x4x4xf32>, tensor<2x1xi64>, tensor<2x4x4xf32>) -> tensor<4x4x4xf32>
    ```
  }];
  let arguments = (ins Tessera_Tensor:$data, Tessera_IndexTensor:$indices,
                       Tessera_Tensor:$updates,
                       DefaultValuedAttr<StrAttr, "\"none\"">:$reduction);
}

def Tessera_ExpandOp : Tessera_Op<"expand"> {
  let summary = "Broadcast to a larger static shape (ONNX Expand)";
  let description = [{
    ```mlir
    %y = tessera.expand %x : tensor<1x4xf32> -> tensor<3x4xf32>
    ```
  }];
  let arguments = (ins Tessera_Tensor:$input);
  let results = (outs Tessera_Tensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

def Tessera_PadOp : Tessera_Op<"pad", [InferTypeOpAdaptor]> {
  let summary = "Pad with a constant, reflection or edge values (ONNX Pad)";
  let description = [{
    `pads` is `[begin_0, ..., begin_n-1, end_0, ..., end_n-1]`; negative
    pads crop. `mode` is `constant`, `reflect` or `edge`; `value` (0-d, the
    input's element type) is used in constant mode and defaults to zero.

    ```mlir
    %y = tessera.pad %x {mode = "constant", pads = array<i64: 0, 1, 0, 1>} : tensor<2x2xf32> -> tensor<2x4xf32>
    ```
  }];
  let arguments = (ins Tessera_Tensor:$input, Optional<Tessera_Tensor>:$value,
                       DenseI64ArrayAttr:$pads,
                       DefaultValuedAttr<StrAttr, "\"constant\"">:$mode);
  let results = (outs Tessera_Tensor:$output);
  let assemblyFormat = [{
    $input (`value` $value^)? attr-dict `:` type($input) (`,` type($value)^)? `->`
    type($output)
  }];
}

def Tessera_ResizeOp : Tessera_Op<"resize"> {
  let summary = "Resample by nearest, linear or cubic interpolation (ONNX Resize, Upsample)";
  let description = [{
    Output index `y` of dimension `d` maps to the source coordinate `x` by
    `coordinate_transformation_mode`, with `s = scales[d]`, `in` and `out`
    the dimension's sizes and `w = s * in` (fractional when the scale does
    not divide evenly), as in ONNX's reference implementation:

    | mode | `x` |
    | --- | --- |
    | `half_pixel` | `(y + 0.5) / s - 0.5` |
    | `half_pixel_symmetric` | `in / 2 * (1 - out / w) + (y + 0.5) / s - 0.5` |
    | `pytorch_half_pixel` | `w == 1 ? -0.5 : (y + 0.5) / s - 0.5` |
    | `align_corners` | `w == 1 ? 0 : y * (in - 1) / (w - 1)` |
    | `asymmetric` | `y / s` |
    | `tf_half_pixel_for_nn` | `(y + 0.5) / s` |
    | `tf_crop_and_resize` | `w == 1 ? (e - b) * (in - 1) / 2 : y * (e - b) * (in - 1) / (w - 1)`, plus `b * (in - 1)` |

    `roi` (`tf_crop_and_resize` only) holds the starts `b` then the ends
    `e` of every dimension; `e - b` and `b * (in - 1)` are rounded to f32.
    Where `x` falls outside `[0, in - 1]` in that mode, the result is
    `extrapolation_value`, cast as ONNX's reference casts (saturated;
    integers round half to even). A dimension with `s == 1` and `out == in` is
    copied (in `tf_crop_and_resize` when its roi is `[0, 1]`; never in
    `tf_half_pixel_for_nn`).

    `nearest` reads `x` rounded by `nearest_mode`; `linear` weighs the 2
    and `cubic` (coefficient `cubic_coeff_a`) the 4 neighbours of `x` per
    dimension, so resizing k dimensions reads 2^k or 4^k elements; these
    two modes need a float element type and compute in f64. Indices are
    clamped to the edges; with `exclude_outside` (linear and cubic only),
    neighbours outside the input get weight 0 and the others are
    renormalised.

    `out` lies between `floor(s * in)` (scales given) and
    `floor(s * in + 0.5)` (sizes with a kept aspect ratio).

    ```mlir
    %y = tessera.resize %x {mode = "linear", scales = array<f64: 1.0, 1.0, 2.0, 2.0>}
         : tensor<1x3x4x4xf32> -> tensor<1x3x8x8xf32>
    ```
  }];
  let arguments = (ins Tessera_Tensor:$input, DenseF64ArrayAttr:$scales,
                       DefaultValuedAttr<StrAttr, "\"nearest\"">:$mode,
                       DefaultValuedAttr<StrAttr, "\"half_pixel\"">:$coordinate_transformation_mode,
                       DefaultValuedAttr<StrAttr, "\"round_prefer_floor\"">:$nearest_mode,
                       DefaultValuedAttr<F32Attr, "-0.75">:$cubic_coeff_a,
                       DefaultValuedAttr<BoolAttr, "false">:$exclude_outside,
                       DefaultValuedAttr<F32Attr, "0.0">:$extrapolation_value,
                       OptionalAttr<DenseF64ArrayAttr>:$roi);
  let results = (outs Tessera_Tensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
  let hasVerifier = 1;
  let hasFolder = 1;
  let extraClassDeclaration = [{
    /// Whether dimension `d` is copied unchanged (scale 1, same size, and a
    /// coordinate mode that maps y to y).
    bool isIdentityDim(int64_t d);
  }];
}

def Tessera_TriluOp : Tessera_Op<"trilu", [AllTypesMatch<["input", "output"]>]> {
  let summary = "Keep the upper or lower triangle of the last two dimensions (ONNX Trilu)";
  let description = [{
    Keeps elements with `col - row >= k` (upper) or `col - row <= k`
    (lower); others become zero.

    ```mlir
    %y = tessera.trilu %x {upper = false, k = 0 : i64} : tensor<4x4xf32>
    ```
  }];
  let arguments = (ins Tessera_Tensor:$input, BoolAttr:$upper, I64Attr:$k);
  let results = (outs Tessera_Tensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input)";
  let hasVerifier = 1;
}

#endif // TESSERA_OPS_TD
