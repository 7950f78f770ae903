//===- TesseraBase.td - The tessera dialect and its type constraints -*- tablegen -*-===//
//
// The `tessera` dialect is Tessera's graph dialect: one op per ONNX operator
// (after the importer's normalisation), on statically shaped tensors.
//
//===----------------------------------------------------------------------===//

#ifndef TESSERA_BASE_TD
#define TESSERA_BASE_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"

def Tessera_Dialect : Dialect {
  let name = "tessera";
  let cppNamespace = "::mlir::tessera";
  let summary = "Tessera's graph dialect: ONNX-level ops on static tensors";
  let description = [{
    The `tessera` dialect holds a trained model as imported from ONNX. Every
    value is a ranked, statically shaped tensor whose element type is one of
    f32, f16, bf16, f64, i64, i32, i16, i8, ui64, ui32, ui16, ui8 or i1.
    Integers keep ONNX's signedness (signless integers are signed, `ui`
    types unsigned) until the lowering to linalg, which makes them signless
    and picks the unsigned arith op where the signedness matters. Weights are `tessera.constant`
    ops whose value is a dense resource, so large models print compactly.

    Elementwise binary ops follow NumPy broadcasting. Attributes are stored in
    normalised form (non-negative axes, explicit pads), so later passes never
    re-derive ONNX defaults.

    ```mlir
    func.func @main(%x: tensor<2x4xf32>, %w: tensor<4x8xf32>) -> tensor<2x8xf32> {
      %0 = tessera.matmul %x, %w : (tensor<2x4xf32>, tensor<4x8xf32>) -> tensor<2x8xf32>
      %1 = tessera.relu %0 : tensor<2x8xf32>
      return %1 : tensor<2x8xf32>
    }
    ```
  }];
  let hasConstantMaterializer = 1;
  let dependentDialects = ["::mlir::func::FuncDialect"];
}

//===----------------------------------------------------------------------===//
// Type constraints
//===----------------------------------------------------------------------===//

def Tessera_Float : AnyTypeOf<[F32, F16, BF16, F64]>;
def Tessera_Int : AnyTypeOf<[I64, I32, I16, I8, UI64, UI32, UI16, UI8]>;
// The float8 and float4 formats (ONNX FLOAT8E4M3FN, ..., FLOAT4E2M1) are
// elements of tensors that Cast converts and data-movement ops carry; no
// arithmetic takes them (Tessera_Float does not).
def Tessera_MiniFloat : AnyTypeOf<[F8E4M3FN, F8E4M3FNUZ, F8E5M2, F8E5M2FNUZ,
                                   F4E2M1FN, F8E8M0FNU]>;
// ONNX's INT4, UINT4, INT2 and UINT2: likewise only converted and moved.
def Tessera_NarrowInt : AnyTypeOf<[I<4>, UI<4>, I<2>, UI<2>]>;
def Tessera_Element : AnyTypeOf<[F32, F16, BF16, F64, I64, I32, I16, I8, UI64, UI32,
                                  UI16, UI8, I1, Tessera_MiniFloat, Tessera_NarrowInt]>;

def Tessera_Tensor : RankedTensorOf<[Tessera_Element]>;
def Tessera_FloatTensor : RankedTensorOf<[Tessera_Float]>;
def Tessera_NumericTensor : RankedTensorOf<[Tessera_Float, Tessera_Int]>;
def Tessera_BoolTensor : RankedTensorOf<[I1]>;
def Tessera_BitsTensor : RankedTensorOf<[I1, Tessera_Int]>;
def Tessera_IndexTensor : RankedTensorOf<[I64, I32]>;
def Tessera_ShapeTensor : 1DTensorOf<[I64]>;

#endif // TESSERA_BASE_TD
