// RUN: tessera-opt %s --split-input-file --tessera-convert-to-linalg --verify-diagnostics | FileCheck %s

// Unsigned integers become signless ones of the same width (signature
// included), and the ops whose meaning depends on the signedness take the
// unsigned arith forms.
// CHECK-LABEL: func @unsigned_ops
// CHECK-SAME: (%{{.*}}: tensor<4xi8>, %{{.*}}: tensor<4xi8>) -> (tensor<4xi8>, tensor<4xi1>, tensor<4xf32>, tensor<4xi32>)
// CHECK: arith.divui
// CHECK: arith.maxui
// CHECK: arith.cmpi ult
// CHECK: arith.uitofp
// CHECK: arith.extui
// CHECK-NOT: arith.divsi
// CHECK-NOT: arith.maxsi
// CHECK-NOT: arith.sitofp
// CHECK-NOT: arith.extsi
func.func @unsigned_ops(%a: tensor<4xui8>, %b: tensor<4xui8>)
    -> (tensor<4xui8>, tensor<4xi1>, tensor<4xf32>, tensor<4xi32>) {
  %0 = tessera.div %a, %b : (tensor<4xui8>, tensor<4xui8>) -> tensor<4xui8>
  %1 = tessera.max %0, %b : (tensor<4xui8>, tensor<4xui8>) -> tensor<4xui8>
  %2 = tessera.less %1, %a : (tensor<4xui8>, tensor<4xui8>) -> tensor<4xi1>
  %3 = tessera.cast %1 : tensor<4xui8> -> tensor<4xf32>
  %4 = tessera.cast %1 : tensor<4xui8> -> tensor<4xi32>
  return %1, %2, %3, %4 : tensor<4xui8>, tensor<4xi1>, tensor<4xf32>, tensor<4xi32>
}

// -----

// A float cast to unsigned truncates with fptoui; a reduction's maximum
// starts from 0 and compares unsigned.
// CHECK-LABEL: func @to_unsigned
// CHECK: arith.fptoui
// CHECK: arith.constant 0 : i16
// CHECK: arith.maxui
func.func @to_unsigned(%x: tensor<2x3xf32>) -> tensor<2x1xui16> {
  %0 = tessera.cast %x : tensor<2x3xf32> -> tensor<2x3xui16>
  %1 = tessera.reduce_max %0 {axes = array<i64: 1>} : tensor<2x3xui16> -> tensor<2x1xui16>
  return %1 : tensor<2x1xui16>
}

// -----

// An unsigned constant keeps its bytes (255 reads -1 as a signless i8).
// CHECK-LABEL: func @unsigned_constant
// CHECK: arith.constant dense<[-1, 1]> : tensor<2xi8>
func.func @unsigned_constant() -> tensor<2xui8> {
  %0 = tessera.constant dense<[255, 1]> : tensor<2xui8>
  return %0 : tensor<2xui8>
}

// -----

// An op on unsigned integers with no unsigned lowering is an error, not a
// signed computation.
func.func @unsupported(%d: tensor<3x4xui8>, %i: tensor<3x2xi64>, %u: tensor<3x2xui8>) -> tensor<3x4xui8> {
  // expected-error @+1 {{'tessera.scatter_elements' on unsigned integers (ui8) is unsupported}}
  %0 = tessera.scatter_elements %d, %i, %u {axis = 1 : i64, reduction = "max"}
       : (tensor<3x4xui8>, tensor<3x2xi64>, tensor<3x2xui8>) -> tensor<3x4xui8>
  return %0 : tensor<3x4xui8>
}
