//===- ShapeInferenceTest.cpp - Result types of tessera ops --------------===//
//
// Expected shapes come from the NumPy broadcasting and matmul rules and the
// output-size formulas of the ONNX operator specification, worked by hand.
//
//===----------------------------------------------------------------------===//

#include "dialects/Tessera/IR/TesseraOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/MLIRContext.h"

#include <gtest/gtest.h>

using namespace mlir;
using namespace mlir::tessera;

namespace {

TEST(Broadcast, NumPyRules) {
  // numpy.broadcast_shapes((8, 1, 6, 1), (7, 1, 5)) == (8, 7, 6, 5)
  auto r = broadcastShapes({8, 1, 6, 1}, {7, 1, 5});
  ASSERT_TRUE(succeeded(r));
  EXPECT_EQ(SmallVector<int64_t>(*r), (SmallVector<int64_t>{8, 7, 6, 5}));
  // numpy.broadcast_shapes((5, 4), ()) == (5, 4)
  r = broadcastShapes({5, 4}, {});
  ASSERT_TRUE(succeeded(r));
  EXPECT_EQ(SmallVector<int64_t>(*r), (SmallVector<int64_t>{5, 4}));
  // (2, 1) and (8, 4, 3) do not broadcast: 2 vs 4.
  EXPECT_TRUE(failed(broadcastShapes({2, 1}, {8, 4, 3})));
  // A zero-size dimension broadcasts with 1 to 0.
  r = broadcastShapes({0, 3}, {1, 3});
  ASSERT_TRUE(succeeded(r));
  EXPECT_EQ(SmallVector<int64_t>(*r), (SmallVector<int64_t>{0, 3}));
}

class InferTest : public ::testing::Test {
protected:
  InferTest() : builder(&context) {
    context.loadDialect<TesseraDialect>();
    module = ModuleOp::create(builder.getUnknownLoc());
    builder.setInsertionPointToStart(module->getBody());
  }
  Value arg(ArrayRef<int64_t> shape, Type element = {}) {
    if (!element)
      element = builder.getF32Type();
    auto type = RankedTensorType::get(shape, element);
    // A constant stands in for a value of this type.
    return ConstantOp::create(builder, builder.getUnknownLoc(),
                              DenseElementsAttr::get(type, builder.getZeroAttr(element)));
  }
  MLIRContext context;
  OpBuilder builder;
  OwningOpRef<ModuleOp> module;
};

TEST_F(InferTest, MatMulFollowsNumpyMatmul) {
  // numpy.matmul of (2, 1, 3, 4) and (5, 4, 6) has shape (2, 5, 3, 6).
  auto op = MatMulOp::create(builder, builder.getUnknownLoc(), arg({2, 1, 3, 4}),
                             arg({5, 4, 6}));
  EXPECT_EQ(op.getType().getShape(), ArrayRef<int64_t>({2, 5, 3, 6}));
  // A 1-D left operand is a row vector that is dropped: (4,) @ (4, 6) -> (6,)
  auto vec = MatMulOp::create(builder, builder.getUnknownLoc(), arg({4}), arg({4, 6}));
  EXPECT_EQ(vec.getType().getShape(), ArrayRef<int64_t>({6}));
}

TEST_F(InferTest, ConvOutputSizeFormula) {
  // ONNX Conv: out = floor((in + pb + pe - dil * (k - 1) - 1) / stride) + 1.
  // in 7x5, k 3x3, pads 1, strides 2: ((7+2-2-1)/2)+1 = 4, ((5+2-2-1)/2)+1 = 3
  // (the test_conv_with_strides_padding node test).
  auto op = ConvOp::create(
      builder, builder.getUnknownLoc(), arg({1, 1, 7, 5}), arg({1, 1, 3, 3}),
      Value(), builder.getDenseI64ArrayAttr({2, 2}),
      builder.getDenseI64ArrayAttr({1, 1, 1, 1}),
      builder.getDenseI64ArrayAttr({1, 1}), builder.getI64IntegerAttr(1));
  EXPECT_EQ(op.getType().getShape(), ArrayRef<int64_t>({1, 1, 4, 3}));
}

TEST_F(InferTest, MaxPoolCeilMode) {
  // test_maxpool_2d_ceil: 4x4 input, kernel 3, stride 2, ceil_mode -> 2x2.
  auto op = MaxPoolOp::create(
      builder, builder.getUnknownLoc(), arg({1, 1, 4, 4}),
      builder.getDenseI64ArrayAttr({3, 3}), builder.getDenseI64ArrayAttr({2, 2}),
      builder.getDenseI64ArrayAttr({0, 0, 0, 0}),
      builder.getDenseI64ArrayAttr({1, 1}), builder.getBoolAttr(true));
  EXPECT_EQ(op.getType().getShape(), ArrayRef<int64_t>({1, 1, 2, 2}));
}

TEST_F(InferTest, GatherShape) {
  // data (3, 4, 5), indices (2, 6), axis 1 -> (3, 2, 6, 5).
  auto op = GatherOp::create(builder, builder.getUnknownLoc(), arg({3, 4, 5}),
                             arg({2, 6}, builder.getI64Type()),
                             builder.getI64IntegerAttr(1));
  EXPECT_EQ(op.getType().getShape(), ArrayRef<int64_t>({3, 2, 6, 5}));
}

TEST_F(InferTest, ShapeFoldsToConstant) {
  Value x = arg({3, 4, 5});
  SmallVector<Value> folded;
  OpBuilder b(&context);
  b.setInsertionPointToEnd(module->getBody());
  Value s = b.createOrFold<ShapeOp>(builder.getUnknownLoc(), x,
                                    b.getI64IntegerAttr(1), b.getI64IntegerAttr(3));
  DenseElementsAttr attr;
  ASSERT_TRUE(matchPattern(s, m_Constant(&attr)));
  SmallVector<int64_t> values;
  for (const APInt &v : attr.getValues<APInt>())
    values.push_back(v.getSExtValue());
  EXPECT_EQ(values, (SmallVector<int64_t>{4, 5}));
}

} // namespace
