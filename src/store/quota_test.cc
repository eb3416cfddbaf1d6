#include "store/quota.h"

#include <gtest/gtest.h>

#include <variant>

namespace lattice::store {
namespace {

const ProblemMember* Member(const Error& e, const std::string& name) {
  for (const auto& m : e.members)
    if (m.name == name) return &m;
  return nullptr;
}

Workload Sized(std::int64_t memory_mb, double cpus) {
  Workload w;
  w.memory_mb = memory_mb;
  w.cpus = cpus;
  return w;
}

TEST(Quota, ChargeUsesStandInsForUnsetLimits) {
  const Quota q{0, 0, 0, 256, 1};
  const QuotaUse set = Charge(Sized(512, 0.5), q);
  EXPECT_EQ(set.workloads, 1);
  EXPECT_EQ(set.memory_mb, 512);
  EXPECT_EQ(set.cpus, 0.5);
  const QuotaUse unset = Charge(Sized(0, 0), q);
  EXPECT_EQ(unset.memory_mb, 256);
  EXPECT_EQ(unset.cpus, 1);
}

TEST(Quota, ZeroMeansNoLimit) {
  EXPECT_TRUE(CheckQuota(Quota{}, {1000, 1 << 20, 500}, {1, 1 << 20, 64}).ok());
  EXPECT_FALSE(HasLimits(Quota{}));
  EXPECT_TRUE(HasLimits(Quota{1, 0, 0, 256, 1}));
  EXPECT_TRUE(HasLimits(Quota{0, 1, 0, 256, 1}));
  EXPECT_TRUE(HasLimits(Quota{0, 0, 0.5, 256, 1}));
}

TEST(Quota, ExactlyAtTheLimitIsAllowed) {
  const Quota q{3, 1024, 2, 256, 1};
  EXPECT_TRUE(CheckQuota(q, {2, 512, 1.5}, {1, 512, 0.5}).ok());
  // Decimal CPU amounts add up without a rounding error refusing the last slot.
  EXPECT_TRUE(CheckQuota(Quota{0, 0, 0.3, 256, 1}, {0, 0, 0.1 + 0.1}, {1, 0, 0.1}).ok());
}

TEST(Quota, EachLimitIsNamedWithLimitUseAndRequest) {
  const Quota q{3, 1024, 2, 256, 1};
  struct Case {
    QuotaUse used, request;
    std::string quota;
    std::string text;
  };
  for (const Case& c : {Case{{3, 0, 0}, {1, 16, 0.1}, "workloads", "the limit is 3, you use 3"},
                        Case{{1, 1000, 0}, {1, 100, 0.1}, "memory_mb", "1024 MB"},
                        Case{{1, 0, 1.75}, {1, 16, 0.5}, "cpus", "you use 1.75 and this"}}) {
    Status s = CheckQuota(q, c.used, c.request);
    ASSERT_FALSE(s.ok()) << c.quota;
    const Error& e = s.error();
    EXPECT_EQ(e.code, ErrorCode::kPermissionDenied);
    EXPECT_EQ(e.type, "quota-exceeded");
    ASSERT_NE(Member(e, "quota"), nullptr);
    EXPECT_EQ(std::get<std::string>(Member(e, "quota")->value), c.quota);
    EXPECT_NE(Member(e, "limit"), nullptr);
    EXPECT_NE(Member(e, "used"), nullptr);
    EXPECT_NE(Member(e, "requested"), nullptr);
    EXPECT_NE(e.message.find(c.text), std::string::npos) << e.message;
  }
}

TEST(Quota, WorkloadsAreCheckedFirst) {
  Status s = CheckQuota(Quota{1, 1, 1, 256, 1}, {1, 100, 100}, {1, 100, 100});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(std::get<std::string>(Member(s.error(), "quota")->value), "workloads");
}

}  // namespace
}  // namespace lattice::store
