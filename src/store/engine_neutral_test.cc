#include "store/engine_neutral.h"

#include <gtest/gtest.h>

namespace lattice::store {
namespace {

TEST(DecideAdmission, FollowsThePolicy) {
  EXPECT_EQ(*DecideAdmission({Registration::kOpen, "", 1}), AdmissionStep::kAdmit);
  auto closed = DecideAdmission({Registration::kClosed, "h", 1});
  ASSERT_FALSE(closed.ok());
  EXPECT_EQ(closed.error().code, ErrorCode::kPermissionDenied);
  EXPECT_EQ(closed.error().type, "registration-closed");
  auto no_invite = DecideAdmission({Registration::kInvite, "", 1});
  ASSERT_FALSE(no_invite.ok());
  EXPECT_EQ(no_invite.error().type, "invite-required");
  EXPECT_EQ(*DecideAdmission({Registration::kInvite, "h", 1}), AdmissionStep::kUseInvite);
  EXPECT_EQ(InviteInvalid().type, "invite-invalid");
}

TEST(PlanPublicPorts, TakesTheLowestFreeUsablePortsAndKeepsWhatIsHeld) {
  const std::vector<PublicPort> held = {{20000, "wl_a", 80}, {20002, "wl_b", 5432}};
  auto plan = PlanPublicPorts(held, "wl_b", {5432, 9000, 9001}, 20000, 20010,
                              [](int p) { return p != 20001; });  // 20001: bound by someone
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  ASSERT_EQ(plan->to_insert.size(), 2u);
  EXPECT_EQ(plan->to_insert[0].port, 20003);
  EXPECT_EQ(plan->to_insert[0].container_port, 9000);
  EXPECT_EQ(plan->to_insert[1].port, 20004);
  ASSERT_EQ(plan->all.size(), 3u);
  EXPECT_EQ(plan->all[0].port, 20002);  // kept
  EXPECT_EQ(plan->all[0].container_port, 5432);
}

TEST(PlanPublicPorts, SaysWhenTheRangeIsFull) {
  auto plan =
      PlanPublicPorts({{20000, "wl_a", 80}}, "wl_b", {80}, 20000, 20000, [](int) { return true; });
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(plan.error().message.find("--public-ports"), std::string::npos);
}

TEST(PlanPublicPorts, NothingToDoWhenEveryPortIsHeld) {
  auto plan =
      PlanPublicPorts({{20005, "wl_a", 80}}, "wl_a", {80}, 20000, 20010, [](int) { return true; });
  ASSERT_TRUE(plan.ok());
  EXPECT_TRUE(plan->to_insert.empty());
  ASSERT_EQ(plan->all.size(), 1u);
  EXPECT_EQ(plan->all[0].port, 20005);
}

}  // namespace
}  // namespace lattice::store
