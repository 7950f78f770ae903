//===- ImporterTest.cpp - The importer's library entry points ------------===//

#include "import/onnx/ImporterImpl.h"
#include "import/onnx/OnnxImporter.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/MLIRContext.h"

#include <gtest/gtest.h>

#include <climits>

using namespace mlir;
using namespace mlir::tessera::onnx_import;

namespace {

TEST(InputShape, Parses) {
  ImportOptions options;
  ASSERT_FALSE(llvm::errorToBool(parseInputShape("tokens:2x128", options)));
  EXPECT_EQ(options.inputShapes["tokens"], (llvm::SmallVector<int64_t>{2, 128}));
  // Names may contain ':' (TensorFlow-exported models): the last one splits.
  ASSERT_FALSE(llvm::errorToBool(parseInputShape("input:0:4", options)));
  EXPECT_EQ(options.inputShapes["input:0"], (llvm::SmallVector<int64_t>{4}));
  ASSERT_FALSE(llvm::errorToBool(parseInputShape("scalar:", options)));
  EXPECT_TRUE(options.inputShapes["scalar"].empty());
}

TEST(InputShape, RejectsBadSpecs) {
  ImportOptions options;
  EXPECT_TRUE(llvm::errorToBool(parseInputShape("noshape", options)));
  EXPECT_TRUE(llvm::errorToBool(parseInputShape("x:2x-1", options)));
  EXPECT_TRUE(llvm::errorToBool(parseInputShape("x:2xabc", options)));
  // 2^62 * 2^62 elements overflow int64.
  EXPECT_TRUE(llvm::errorToBool(
      parseInputShape("x:4611686018427387904x4611686018427387904", options)));
}

TEST(CheckedNumElements, Overflow) {
  EXPECT_EQ(checkedNumElements({2, 3, 4}), 24);
  EXPECT_EQ(checkedNumElements({}), 1);
  EXPECT_EQ(checkedNumElements({0, INT64_MAX}), 0);
  EXPECT_FALSE(checkedNumElements({-1, 4}).has_value());
  EXPECT_FALSE(checkedNumElements({INT64_MAX / 2, 3}).has_value());
  // Bytes overflow even where the element count does not.
  EXPECT_FALSE(checkedNumElements({INT64_MAX / 4}, 8).has_value());
}

/// A one-node model built with the Protobuf API: y = Relu(x), x: 2x3 f32.
onnx::ModelProto reluModel() {
  onnx::ModelProto model;
  model.set_ir_version(8);
  model.add_opset_import()->set_version(17);
  auto *graph = model.mutable_graph();
  auto *node = graph->add_node();
  node->set_op_type("Relu");
  node->set_name("relu0");
  node->add_input("x");
  node->add_output("y");
  for (auto *vi : {graph->add_input(), graph->add_output()}) {
    vi->set_name(vi == &graph->input(0) ? "x" : "y");
    auto *tt = vi->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(onnx::TensorProto::FLOAT);
    tt->mutable_shape()->add_dim()->set_dim_value(2);
    tt->mutable_shape()->add_dim()->set_dim_value(3);
  }
  return model;
}

std::string importError(const onnx::ModelProto &model,
                        const ImportOptions &options = {}) {
  MLIRContext context;
  auto module = importOnnxBuffer(context, model.SerializeAsString(), "", "m",
                                 options);
  if (module)
    return "";
  return llvm::toString(module.takeError());
}

TEST(Import, BufferRoundTrip) {
  MLIRContext context;
  auto module = importOnnxBuffer(context, reluModel().SerializeAsString(), "",
                                 "relu.onnx");
  ASSERT_TRUE(static_cast<bool>(module)) << llvm::toString(module.takeError());
  auto func = *(*module)->getOps<func::FuncOp>().begin();
  EXPECT_EQ(func.getName(), "main");
  EXPECT_EQ(func.getFunctionType().getNumInputs(), 1u);
  EXPECT_EQ(cast<RankedTensorType>(func.getResultTypes()[0]).getShape(),
            ArrayRef<int64_t>({2, 3}));
}

TEST(Import, DynamicDimensionNeedsInputShape) {
  onnx::ModelProto model = reluModel();
  auto *dim = model.mutable_graph()->mutable_input(0)->mutable_type()
                  ->mutable_tensor_type()->mutable_shape()->mutable_dim(0);
  dim->set_dim_param("batch");
  EXPECT_EQ(importError(model),
            "m: input 'x' dimension 0 ('batch') is dynamic; fix it with "
            "--input-shape=x:DIMS");
  ImportOptions options;
  ASSERT_FALSE(llvm::errorToBool(parseInputShape("x:2x3", options)));
  EXPECT_EQ(importError(model, options), "");
  // The declared output shape (2x3) is checked against the computed one.
  ImportOptions wrong;
  ASSERT_FALSE(llvm::errorToBool(parseInputShape("x:5x3", wrong)));
  EXPECT_NE(importError(model, wrong).find("graph output 'y' is declared as"),
            std::string::npos);
}

TEST(Import, UnsupportedOpNamesNodeOpAndOpset) {
  onnx::ModelProto model = reluModel();
  model.mutable_graph()->mutable_node(0)->set_op_type("FancyOp");
  EXPECT_EQ(importError(model), "m: node 'relu0' (FancyOp, opset 17): unsupported op");
}

TEST(Import, OpsetRange) {
  onnx::ModelProto model = reluModel();
  model.mutable_opset_import(0)->set_version(kMaxOpset + 1);
  EXPECT_NE(importError(model).find("opset 29 is unsupported (Tessera reads opsets 1 to 28)"), std::string::npos);
}

} // namespace
