//===- ManifestTest.cpp - The artifact manifest's text form ---------------===//

#include "artifact.h"

#include <gtest/gtest.h>

using tessera::artifact::DType;
using tessera::artifact::Manifest;
using tessera::artifact::TensorSpec;

namespace {
TEST(Manifest, WorkspaceRoundTrips) {
  Manifest m;
  m.workspaceBytes = 73728;
  Manifest back;
  std::string error;
  ASSERT_TRUE(back.parse(m.serialize(), error)) << error;
  EXPECT_EQ(back.workspaceBytes, 73728u);
}

TEST(Manifest, NoWorkspaceLineMeansNone) {
  Manifest m;
  std::string error;
  ASSERT_TRUE(m.parse("tessera-artifact 1\ntarget cpu\n", error)) << error;
  EXPECT_EQ(m.workspaceBytes, 0u);
}

TEST(Manifest, CudaEntriesRoundTrip) {
  Manifest m;
  m.target = "cuda";
  m.gpuArch = "sm_90";
  m.kernels = {"main_kernel_0", "main kernel 1", "fused%gelu"};
  Manifest back;
  std::string error;
  std::string text = m.serialize();
  ASSERT_TRUE(back.parse(text, error)) << error;
  EXPECT_EQ(back.target, "cuda");
  EXPECT_EQ(back.gpuArch, "sm_90");
  EXPECT_EQ(back.kernels, m.kernels);
  // Names are escaped in the text, one kernel line each, in launch order.
  EXPECT_NE(text.find("gpu-arch sm_90\n"), std::string::npos) << text;
  EXPECT_LT(text.find("kernel main_kernel_0"), text.find("kernel main%20kernel%201"))
      << text;
}

TEST(Manifest, BadKernelIsAnError) {
  for (const char *line : {"kernel", "kernel a b", "kernel %zz"}) {
    Manifest m;
    std::string error;
    EXPECT_FALSE(m.parse(std::string("tessera-artifact 1\ntarget cuda\n") + line + "\n",
                         error))
        << line;
    EXPECT_EQ(error, "manifest line 3: bad kernel entry") << line;
  }
}

TEST(Manifest, BadWorkspaceIsAnError) {
  for (const char *line : {"workspace", "workspace -5", "workspace 12x",
                           "workspace 1 2", "workspace 2000000000000"}) {
    Manifest m;
    std::string error;
    EXPECT_FALSE(m.parse(std::string("tessera-artifact 1\ntarget cpu\n") + line + "\n",
                         error))
        << line;
    EXPECT_EQ(error, "manifest line 3: bad workspace size") << line;
  }
}
} // namespace

TEST(Manifest, PaddedBatchRoundTrips) {
  Manifest m;
  m.mesh = "dp=2";
  TensorSpec x;
  x.name = "x";
  x.dtype = DType::F32;
  x.shape = {4, 8};
  x.split = "0,-";
  x.batch = 3;
  m.inputs.push_back(x);
  TensorSpec y = x;
  y.name = "y";
  m.outputs.push_back(y);
  std::string text = m.serialize();
  EXPECT_NE(text.find("input x f32 4x8 split=0,- batch=3\n"), std::string::npos) << text;
  Manifest back;
  std::string error;
  ASSERT_TRUE(back.parse(text, error)) << error;
  EXPECT_EQ(back.inputs[0].batch, 3);
  EXPECT_EQ(back.outputs[0].batch, 3);
  EXPECT_EQ(back.inputs[0].shape, (std::vector<int64_t>{4, 8}));
  EXPECT_EQ(back.inputs[0].userShape(), (std::vector<int64_t>{3, 8}));
  EXPECT_EQ(back.inputs[0].userByteSize(), 3 * 8 * 4);
}

TEST(Manifest, BadBatchIsAnError) {
  // Not a number, no rows, as many rows as the padded batch or more, a
  // scalar, and a weight (never padded).
  for (const char *line :
       {"input x f32 4x8 batch=x", "input x f32 4x8 batch=0", "input x f32 4x8 batch=4",
        "output y f32 4x8 batch=9", "input x f32 scalar batch=1",
        "input x f32 4x8 batch=3 batch=2"}) {
    Manifest m;
    std::string error;
    EXPECT_FALSE(m.parse(std::string("tessera-artifact 1\ntarget cpu\n") + line + "\n", error))
        << line;
    EXPECT_EQ(error.rfind("manifest line 3: ", 0), 0u) << error;
  }
  Manifest m;
  std::string error;
  EXPECT_FALSE(m.parse("tessera-artifact 1\ntarget cpu\nweight w f32 4 0 16 batch=2\n", error));
  EXPECT_EQ(error, "manifest line 3: unknown field 'batch=2'");
}
