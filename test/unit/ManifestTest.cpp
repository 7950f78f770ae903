//===- ManifestTest.cpp - The artifact manifest's text form ---------------===//

#include "artifact.h"

#include <gtest/gtest.h>

using tessera::artifact::Manifest;

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
