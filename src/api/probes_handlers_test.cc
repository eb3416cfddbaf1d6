// The probes route's parameters (api/probes_handlers.h): defaults, each accepted form of
// `since`, the bounds of `limit`, and problems naming the bad parameter.
#include "api/probes_handlers.h"

#include <gtest/gtest.h>

namespace lattice::api {
namespace {

constexpr std::int64_t kNow = 1'800'000'000;

std::string FieldOf(const Result<ProbeQuery>& q) {
  return q.ok() || q.error().fields.empty() ? "" : q.error().fields[0].field;
}

TEST(ProbeQuery, DefaultsToTheLastDayAndAHundredRows) {
  auto q = ParseProbeQuery(std::nullopt, std::nullopt, kNow);
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->since, kNow - 86400);
  EXPECT_EQ(q->limit, 100);
}

TEST(ProbeQuery, SinceIsUnixSecondsATimeOrADurationBeforeNow) {
  EXPECT_EQ(ParseProbeQuery("1700000000", std::nullopt, kNow)->since, 1'700'000'000);
  EXPECT_EQ(ParseProbeQuery("2027-01-15T07:00:00Z", std::nullopt, kNow)->since, kNow - 3600);
  EXPECT_EQ(ParseProbeQuery("6h", std::nullopt, kNow)->since, kNow - 6 * 3600);
  EXPECT_EQ(ParseProbeQuery("-6h", std::nullopt, kNow)->since, kNow - 6 * 3600);
  EXPECT_EQ(FieldOf(ParseProbeQuery("soon", std::nullopt, kNow)), "since");
}

TEST(ProbeQuery, LimitIsOneToAThousand) {
  EXPECT_EQ(ParseProbeQuery(std::nullopt, "1000", kNow)->limit, 1000);
  for (const char* bad : {"0", "1001", "ten", "-1", "5x"})
    EXPECT_EQ(FieldOf(ParseProbeQuery(std::nullopt, bad, kNow)), "limit") << bad;
}

}  // namespace
}  // namespace lattice::api
