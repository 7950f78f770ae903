//===- ArtifactWriteTest.cpp - Streaming artifact writes ------------------===//
//
// artifact::Checksum over pieces equals artifact::checksum over the whole,
// and a WEIGHTS section written piece by piece reads back byte for byte as
// the one written from memory, with the same checksums.
//
//===----------------------------------------------------------------------===//

#include "artifact.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <random>

using namespace tessera;

namespace {
std::string slurp(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

artifact::Manifest manifestFor(uint64_t bytes) {
  artifact::Manifest m;
  artifact::WeightSpec w;
  w.name = "w";
  w.dtype = artifact::DType::U8;
  w.shape = {static_cast<int64_t>(bytes)};
  m.weights.push_back(w);
  artifact::layoutWeights(m.weights);
  return m;
}
} // namespace

TEST(ArtifactWrite, ChecksumOverPiecesEqualsWhole) {
  std::mt19937 rng(7);
  for (size_t size : {0u, 1u, 7u, 8u, 9u, 63u, 1000u, 4099u}) {
    std::string bytes(size, '\0');
    for (char &c : bytes)
      c = static_cast<char>(rng());
    // Pieces of every length from 1 to 13, in turn.
    artifact::Checksum sum;
    size_t at = 0, piece = 1;
    while (at < size) {
      size_t n = std::min(piece, size - at);
      sum.update(bytes.data() + at, n);
      at += n;
      piece = piece % 13 + 1;
    }
    EXPECT_EQ(sum.finish(), artifact::checksum(bytes.data(), size)) << size << " bytes";
  }
}

TEST(ArtifactWrite, StreamedWeightsMatchWholeWrite) {
  std::string weights(100003, '\0');
  std::mt19937 rng(11);
  for (char &c : weights)
    c = static_cast<char>(rng());
  artifact::Manifest m = manifestFor(weights.size());
  std::string dir = ::testing::TempDir();
  std::string whole = dir + "/whole.tsr", streamed = dir + "/streamed.tsr";
  std::string error;
  ASSERT_TRUE(artifact::write(whole, m, "code",
                              std::vector<char>(weights.begin(), weights.end()), error))
      << error;
  ASSERT_TRUE(artifact::write(
      streamed, m, "code", weights.size(),
      [&](const artifact::Emit &emit, std::string &) {
        for (size_t at = 0; at < weights.size(); at += 4093)
          if (!emit(weights.data() + at, std::min<size_t>(4093, weights.size() - at)))
            return false;
        return true;
      },
      error))
      << error;
  std::string a = slurp(whole), b = slurp(streamed);
  EXPECT_EQ(a, b);
  artifact::View view;
  ASSERT_TRUE(artifact::read(b.data(), b.size(), view, error)) << error;
  EXPECT_EQ(std::string(view.weights, view.weightsSize), weights);
}

TEST(ArtifactWrite, ShortOrFailingProducerLeavesNoFile) {
  artifact::Manifest m = manifestFor(64);
  std::string path = ::testing::TempDir() + "/short.tsr";
  std::remove(path.c_str());
  std::string error;
  std::string bytes(32, 'x');
  EXPECT_FALSE(artifact::write(
      path, m, "code", 64,
      [&](const artifact::Emit &emit, std::string &) { return emit(bytes.data(), 32); },
      error));
  EXPECT_FALSE(std::ifstream(path).good());
  EXPECT_FALSE(artifact::write(
      path, m, "code", 64,
      [&](const artifact::Emit &, std::string &e) {
        e = "weight 'w': cannot read";
        return false;
      },
      error));
  EXPECT_EQ(error, "weight 'w': cannot read");
  EXPECT_FALSE(std::ifstream(path).good());
}
