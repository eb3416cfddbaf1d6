#include "runtime/docker/pull_error.h"

#include <gtest/gtest.h>

namespace lattice::runtime::docker {
namespace {

TEST(PullError, ClassifiesWhatDocker20AnswersForAFailedPull) {
  EXPECT_EQ(ClassifyPullError("manifest for lattice/nope:1 not found: manifest unknown: manifest "
                              "unknown"),
            PullFailure::kNotFound);
  EXPECT_EQ(ClassifyPullError("pull access denied for nope, repository does not exist or may "
                              "require 'docker login': denied: requested access to the resource "
                              "is denied"),
            PullFailure::kAuthRequired);
  EXPECT_EQ(ClassifyPullError("Get \"https://127.0.0.1:5000/v2/\": dial tcp 127.0.0.1:5000: "
                              "connect: connection refused"),
            PullFailure::kUnreachable);
  EXPECT_EQ(ClassifyPullError("Get \"https://registry-1.example/v2/\": dial tcp: lookup "
                              "registry-1.example on 10.0.0.2:53: no such host"),
            PullFailure::kUnreachable);
  EXPECT_EQ(ClassifyPullError("Head \"https://r.example/v2/x/manifests/1\": unauthorized: "
                              "authentication required"),
            PullFailure::kAuthRequired);
  EXPECT_EQ(ClassifyPullError("something else entirely"), PullFailure::kOther);
}

TEST(PullError, ReasonsNameTheImageButNoEngineText) {
  const std::string r = PullFailureReason(PullFailure::kUnreachable, "127.0.0.1:5000/x:1");
  EXPECT_NE(r.find("127.0.0.1:5000/x:1"), std::string::npos);  // the user's own input
  EXPECT_EQ(r.find("dial"), std::string::npos);
  EXPECT_EQ(r.find("connection refused"), std::string::npos);
  for (auto f : {PullFailure::kNotFound, PullFailure::kAuthRequired, PullFailure::kNotAllowed,
                 PullFailure::kUnreachable, PullFailure::kOther}) {
    EXPECT_FALSE(PullFailureReason(f, "x").empty());
    EXPECT_FALSE(PullFailureSlug(f).empty());
  }
}

}  // namespace
}  // namespace lattice::runtime::docker
