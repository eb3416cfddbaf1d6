#include "agent/tenant_networks.h"

#include <gtest/gtest.h>

#include <set>

namespace lattice::agent {
namespace {

TEST(PickSubnet, TakesTheFirstFreeSubnetOfThePool) {
  auto s = PickSubnet("10.213.0.0/16", 26, {});
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(s->cidr, "10.213.0.0/26");
  EXPECT_EQ(s->gateway, "10.213.0.1");
}

TEST(PickSubnet, SkipsSubnetsThatOverlapAnyTakenOne) {
  // A /24 someone else holds covers four /26s; a /26 of ours follows it.
  auto s = PickSubnet("10.213.0.0/16", 26, {"10.213.0.0/24", "10.213.1.0/26", "fd00::/64"});
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(s->cidr, "10.213.1.64/26");
  EXPECT_EQ(s->gateway, "10.213.1.65");
}

TEST(PickSubnet, AWiderTakenNetworkAroundThePoolLeavesNothing) {
  auto s = PickSubnet("10.213.0.0/16", 26, {"10.0.0.0/8"});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kUnavailable);
}

TEST(PickSubnet, HundredsOfTenantsFitInTheDefaultPool) {
  std::vector<std::string> taken;
  std::set<std::string> seen;
  for (int i = 0; i < 1024; ++i) {
    auto s = PickSubnet("10.213.0.0/16", 26, taken);
    ASSERT_TRUE(s.ok()) << i << ": " << s.error().message;
    EXPECT_TRUE(seen.insert(s->cidr).second) << s->cidr;
    taken.push_back(s->cidr);
  }
  EXPECT_FALSE(PickSubnet("10.213.0.0/16", 26, taken).ok());  // 65536 / 64 = 1024, all used
}

TEST(PickSubnet, RefusesMalformedPoolsAndPrefixes) {
  EXPECT_EQ(PickSubnet("10.213.0.0", 26, {}).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(PickSubnet("nope/16", 26, {}).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(PickSubnet("10.213.0.0/16", 12, {}).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(PickSubnet("10.213.0.0/16", 31, {}).error().code, ErrorCode::kInvalidArgument);
}

TEST(TenantNames, BridgeNamesFitLinuxAndShareThePrefixTheFirewallMatches) {
  const std::string a = TenantBridgeName("usr_0123456789abcdef");
  const std::string b = TenantBridgeName("usr_0123456789abcdeg");
  EXPECT_LE(a.size(), 15u);
  EXPECT_EQ(a.rfind("lt-", 0), 0u);
  EXPECT_NE(a, b);
  EXPECT_EQ(a, TenantBridgeName("usr_0123456789abcdef"));
  EXPECT_EQ(TenantNetworkName("usr_1"), "lattice-t-usr_1");
}

}  // namespace
}  // namespace lattice::agent
