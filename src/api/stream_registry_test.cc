#include "api/stream_registry.h"

#include <gtest/gtest.h>

#include <memory>
#include <tuple>
#include <vector>

namespace lattice::api {
namespace {

Principal Who(std::string user, std::string session) {
  return Principal{std::move(user), "x@example.com", "user", std::move(session), 0};
}

TEST(StreamRegistry, CapsEachKindPerUser) {
  StreamRegistry reg(StreamLimits{2, 1});
  std::vector<std::unique_ptr<StreamRegistry::Lease>> held;
  for (int i = 0; i < 2; ++i) {
    auto l = reg.Open(StreamKind::kEvents, Who("a", "s1"), [] {});
    ASSERT_TRUE(l.ok());
    held.push_back(std::move(l).value());
  }
  auto over = reg.Open(StreamKind::kEvents, Who("a", "s2"), [] {});
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().code, ErrorCode::kRateLimited);
  EXPECT_EQ(over.error().type, "too-many-streams");
  EXPECT_GT(over.error().retry_after_seconds, 0);
  // Another user, and another kind, are not affected.
  EXPECT_TRUE(reg.Open(StreamKind::kEvents, Who("b", "s3"), [] {}).ok());
  auto logs = reg.Open(StreamKind::kFollowedLogs, Who("a", "s1"), [] {});
  ASSERT_TRUE(logs.ok());
  EXPECT_FALSE(reg.Open(StreamKind::kFollowedLogs, Who("a", "s1"), [] {}).ok());
  // A stream that ends gives its place back.
  held.pop_back();
  EXPECT_EQ(reg.Count(StreamKind::kEvents, "a"), 1);
  EXPECT_TRUE(reg.Open(StreamKind::kEvents, Who("a", "s2"), [] {}).ok());
}

TEST(StreamRegistry, RevocationClosesTheCoveredStreamsOnce) {
  StreamRegistry reg(StreamLimits{8, 8});
  int s1 = 0, s2 = 0, other = 0;
  auto a = reg.Open(StreamKind::kEvents, Who("a", "s1"), [&] { ++s1; });
  auto b = reg.Open(StreamKind::kFollowedLogs, Who("a", "s2"), [&] { ++s2; });
  auto c = reg.Open(StreamKind::kEvents, Who("b", "s3"), [&] { ++other; });
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());

  reg.Revoke({"a", "s1"});  // a logout
  EXPECT_EQ(std::make_tuple(s1, s2, other), std::make_tuple(1, 0, 0));
  reg.Revoke({"a", ""});  // a password change: every session of the user
  EXPECT_EQ(std::make_tuple(s1, s2, other), std::make_tuple(1, 1, 0));
  reg.Revoke({"a", ""});  // closed already: not again
  EXPECT_EQ(std::make_tuple(s1, s2, other), std::make_tuple(1, 1, 0));
}

}  // namespace
}  // namespace lattice::api
