//===- ArtifactVerifyTest.cpp - The artifact's semantic checks, rule by rule ===//
//
// One test per rule of artifact::verify, artifact::matchesCode and the
// manifest parser's semantic checks (repeated lines, tensor size limit),
// and runtime::parseMesh's split rules: each starts from a manifest that
// passes and breaks one thing.
//
//===----------------------------------------------------------------------===//

#include "artifact.h"
#include "mesh.h"

#include <gtest/gtest.h>

using namespace tessera;
using artifact::Manifest;
using artifact::View;

namespace {
const char kGood[] = "tessera-artifact 1\n"
                     "target cpu\n"
                     "input x f32 2x16\n"
                     "output y f32 2x4\n"
                     "weight w f32 16x4 0 256\n"
                     "weight b f32 4 256 16\n";

/// A view of `text` with a weights section of `weightBytes` (no host code).
struct Fixture {
  View view;
  std::string weights, ptx, cubin;
  bool parse(const std::string &text, std::string &error, size_t weightBytes = 320) {
    weights.assign(weightBytes, '\0');
    view.weights = weights.data();
    view.weightsSize = weights.size();
    return view.manifest.parse(text, error);
  }
  bool verify(std::string &error) {
    view.deviceCode = ptx.data();
    view.deviceCodeSize = ptx.size();
    view.deviceBinary = cubin.data();
    view.deviceBinarySize = cubin.size();
    return artifact::verify(view, error);
  }
};

/// Parses and verifies `text`; returns "" or the error.
std::string check(const std::string &text, const std::string &ptx = "",
                  const std::string &cubin = "") {
  Fixture f;
  std::string error;
  f.ptx = ptx;
  f.cubin = cubin;
  if (!f.parse(text, error) || !f.verify(error))
    return error;
  return "";
}

const char kCuda[] = "tessera-artifact 1\n"
                     "target cuda\n"
                     "input x f32 4x8\n"
                     "output y f32 4x4\n"
                     "gpu-arch sm_90\n"
                     "kernel k0\n"
                     "kernel k1\n";
const char kPtx[] = ".version 8.0\n.visible .entry k0(\n.param .u64 a)\n{ ret; }\n"
                    ".visible .entry k1 (\n.param .u64 a)\n{ ret; }\n";

TEST(ArtifactVerify, GoodManifestsPass) {
  EXPECT_EQ(check(kGood), "");
  EXPECT_EQ(check(kCuda, kPtx), "");
  EXPECT_EQ(check(kCuda, kPtx, std::string("\x7f" "ELF\x02\x01", 6)), "");
}

TEST(ArtifactVerify, RepeatedSingleLines) {
  for (const char *line : {"target cpu", "workspace 64", "mesh dp=2", "gpu-arch sm_90"}) {
    std::string text = std::string("tessera-artifact 1\n") + line + "\n" + line + "\n";
    EXPECT_EQ(check(text), std::string("manifest line 3: a second '") +
                               std::string(line).substr(0, std::string(line).find(' ')) +
                               "' line")
        << line;
  }
}

TEST(ArtifactVerify, TensorLargerThanTheLimit) {
  // 2^36 f32 elements: 2^38 bytes is the largest allowed, 2^38 + 4 is not.
  EXPECT_EQ(check("tessera-artifact 1\ntarget cpu\ninput x i8 262144x1048576\n"
                  "output y f32 2\n"),
            "");
  EXPECT_EQ(check("tessera-artifact 1\ntarget cpu\ninput x f32 68719476737\n"
                  "output y f32 2\n"),
            "manifest line 3: 'x' is 274877906948 bytes, more than the largest "
            "tensor Tessera loads (2^38 bytes)");
  EXPECT_EQ(check("tessera-artifact 1\ntarget cpu\ninput x f32 2\n"
                  "output y f32 1099511627776\n"),
            "manifest line 4: 'y' is 4398046511104 bytes, more than the largest "
            "tensor Tessera loads (2^38 bytes)");
}

TEST(ArtifactVerify, CudaNeedsItsArchKernelsAndDeviceCode) {
  std::string noArch = kCuda;
  noArch.erase(noArch.find("gpu-arch sm_90\n"), 15);
  EXPECT_EQ(check(noArch, kPtx), "the cuda artifact has no gpu-arch line");
  std::string badArch = kCuda;
  badArch.replace(badArch.find("sm_90"), 5, "x86");
  EXPECT_EQ(check(badArch, kPtx), "bad gpu-arch 'x86'");
  EXPECT_EQ(check(kCuda, ""), "the cuda artifact lacks its device code or kernel list");
  std::string noKernels = kCuda;
  noKernels.erase(noKernels.find("kernel k0\n"));
  EXPECT_EQ(check(noKernels, kPtx),
            "the cuda artifact lacks its device code or kernel list");
}

TEST(ArtifactVerify, CpuHasNoDeviceFields) {
  EXPECT_EQ(check(std::string(kGood) + "kernel k0\n", kPtx),
            "a 'cpu' artifact has gpu-arch, kernel lines or device code");
  EXPECT_EQ(check(std::string(kGood) + "gpu-arch sm_90\n"),
            "a 'cpu' artifact has gpu-arch, kernel lines or device code");
  EXPECT_EQ(check(kGood, kPtx), "a 'cpu' artifact has gpu-arch, kernel lines or device code");
}

TEST(ArtifactVerify, DeviceBinaryIsAnElfFile) {
  EXPECT_EQ(check(kCuda, kPtx, "PK\x03\x04"), "the device binary section is not an ELF cubin");
}

TEST(ArtifactVerify, AtLeastOneOutput) {
  EXPECT_EQ(check("tessera-artifact 1\ntarget cpu\ninput x f32 2\n"),
            "the manifest declares no output");
}

TEST(ArtifactVerify, NamesAreUniquePerList) {
  EXPECT_EQ(check(std::string(kGood) + "input x f32 2x16\n"), "input 'x' is declared twice");
  EXPECT_EQ(check(std::string(kGood) + "output y f32 2x4\n"), "output 'y' is declared twice");
  EXPECT_EQ(check(std::string(kGood) + "weight w f32 16x4 0 256\n"),
            "weight 'w' is declared twice");
}

TEST(ArtifactVerify, WeightsDoNotOverlap) {
  // b moved into w's block (still aligned and inside the section).
  std::string text = kGood;
  text.replace(text.find("4 256 16"), 8, "4 192 16");
  EXPECT_EQ(check(text), "weights 'w' and 'b' overlap");
}

TEST(ArtifactVerify, KernelsAreUniqueEntriesOfThePtx) {
  EXPECT_EQ(check(std::string(kCuda) + "kernel k0\n", kPtx), "kernel 'k0' is listed twice");
  std::string text = kCuda;
  text.replace(text.find("kernel k1"), 9, "kernel k2");
  EXPECT_EQ(check(text, kPtx), "kernel 'k2' is not an entry of the device code");
  // A prefix of an entry's name is not the entry.
  text = kCuda;
  text.replace(text.find("kernel k1"), 9, "kernel k");
  EXPECT_EQ(check(text, kPtx), "kernel 'k' is not an entry of the device code");
}

TEST(ArtifactVerify, ManifestMatchesTheCodesCopy) {
  Manifest m;
  std::string error;
  ASSERT_TRUE(m.parse(kGood, error)) << error;
  std::string code = m.codeText();
  EXPECT_TRUE(artifact::matchesCode(m, code.c_str(), error)) << error;
  // Entries of different kinds in another order mean the same manifest.
  Manifest reordered;
  ASSERT_TRUE(reordered.parse("tessera-artifact 1\nweight w f32 16x4 0 256\n"
                              "output y f32 2x4\ntarget cpu\ninput x f32 2x16\n"
                              "weight b f32 4 256 16\n",
                              error))
      << error;
  EXPECT_TRUE(artifact::matchesCode(reordered, code.c_str(), error)) << error;
  // Two weights' offsets swapped (a wrong answer, not a crash).
  Manifest swapped;
  ASSERT_TRUE(swapped.parse("tessera-artifact 1\ntarget cpu\ninput x f32 2x16\n"
                            "output y f32 2x4\nweight b f32 4 0 16\n"
                            "weight w f32 16x4 64 256\n",
                            error))
      << error;
  EXPECT_FALSE(artifact::matchesCode(swapped, code.c_str(), error));
  EXPECT_EQ(error, "the manifest is not the one the host code was compiled with: "
                   "entry 5 reads 'weight b f32 4 0 16', the code's "
                   "'weight w f32 16x4 0 256'");
  // The gpu-arch line is the device code's, not the host code's.
  Manifest cuda;
  ASSERT_TRUE(cuda.parse(kCuda, error)) << error;
  std::string cudaCode = cuda.codeText();
  EXPECT_EQ(cudaCode.find("gpu-arch"), std::string::npos) << cudaCode;
  cuda.gpuArch = "sm_80";
  EXPECT_TRUE(artifact::matchesCode(cuda, cudaCode.c_str(), error)) << error;
  // A longer manifest than the code's; none at all.
  Manifest longer = m;
  longer.outputs.push_back(longer.outputs[0]);
  longer.outputs.back().name = "z";
  EXPECT_FALSE(artifact::matchesCode(longer, code.c_str(), error));
  EXPECT_EQ(error, "the manifest is not the one the host code was compiled with: "
                   "entry 5 reads 'output z f32 2x4', the code's 'weight w f32 16x4 0 256'");
  EXPECT_FALSE(artifact::matchesCode(m, nullptr, error));
  EXPECT_EQ(error, "the host code carries no manifest (tessera_manifest)");
}

TEST(ArtifactVerify, SplitsFitTheMesh) {
  auto mesh = [](const std::string &text) {
    Manifest m;
    std::string error;
    if (!m.parse(text, error))
      return error;
    sharding::Mesh parsed;
    if (!runtime::parseMesh(m, parsed, error))
      return error;
    return std::string();
  };
  const std::string head = "tessera-artifact 1\ntarget cpu\nmesh dp=2,tp=2\n";
  EXPECT_EQ(mesh(head + "input x f32 4x16 split=0,-\noutput y f32 4x4 split=0,-\n"
                        "weight w f32 16x4 0 128 split=-,1 shards=2\n"),
            "");
  // An axis that does not divide its dimension.
  EXPECT_NE(mesh(head + "input x f32 3x16 split=0,-\noutput y f32 4x4\n"), "");
  // A split naming an axis the mesh lacks.
  EXPECT_NE(mesh(head + "input x f32 4x16 split=2,-\noutput y f32 4x4\n"), "");
  // A weight whose block size or shard count does not follow from its split.
  EXPECT_EQ(mesh(head + "input x f32 4x16\noutput y f32 4x4\n"
                        "weight w f32 16x4 0 256 split=-,1 shards=2\n"),
            "weight 'w' does not hold one block per shard");
  EXPECT_EQ(mesh(head + "input x f32 4x16\noutput y f32 4x4\n"
                        "weight w f32 16x4 0 128 split=-,1 shards=4\n"),
            "weight 'w' does not hold one block per shard");
}
} // namespace
