// Metrics on the server: the query plan (pure) and the service on a real SQLite store with a
// manual clock — ingest with the agent's clock skew corrected, what a node may record, owner
// scope, resolution picked from range and step, and pruning.
#include "control/metrics_service.h"

#include <gtest/gtest.h>

#include "store/testing/temp_sqlite.h"

namespace lattice::control {
namespace {

using store::MetricResolution;
constexpr std::int64_t kNow = 1'800'000'000 - 1'800'000'000 % 3600;  // on an hour

MetricsParams P(std::optional<std::string> from, std::optional<std::string> to = std::nullopt,
                std::optional<std::string> step = std::nullopt) {
  return {std::move(from), std::move(to), std::move(step)};
}

std::string FieldOf(const Result<MetricsPlan>& r) {
  return r.ok() || r.error().fields.empty() ? "" : r.error().fields[0].field;
}

TEST(MetricsQuery, DefaultsToTheLastHourInAboutThreeHundredPoints) {
  auto p = PlanMetricsQuery({}, kNow, {});
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->to, kNow);
  EXPECT_EQ(p->from, kNow - 3600);
  EXPECT_EQ(p->step, 30);
  EXPECT_EQ(p->resolution, MetricResolution::kRaw);
}

TEST(MetricsQuery, TheResolutionFollowsTheStepAndTheAgeOfTheRange) {
  auto day = PlanMetricsQuery(P("-1d"), kNow, {});
  ASSERT_TRUE(day.ok());
  EXPECT_EQ(day->step, 300);
  EXPECT_EQ(day->resolution, MetricResolution::kMinute);
  auto week = PlanMetricsQuery(P("-7d"), kNow, {});
  ASSERT_TRUE(week.ok());
  EXPECT_EQ(week->step, 3600);
  EXPECT_EQ(week->resolution, MetricResolution::kHour);
  // An explicit step: raw rows for 10 s, minute rollups for 2 minutes, hour rollups for 1 h.
  EXPECT_EQ(PlanMetricsQuery(P("-1h", {}, "10s"), kNow, {})->resolution, MetricResolution::kRaw);
  EXPECT_EQ(PlanMetricsQuery(P("-1h", {}, "120"), kNow, {})->resolution, MetricResolution::kMinute);
  EXPECT_EQ(PlanMetricsQuery(P("-1d", {}, "1h"), kNow, {})->resolution, MetricResolution::kHour);
  // Three days back there are no raw samples: 10 s becomes a minute.
  auto old = PlanMetricsQuery(P("-3d", "-2d", "10s"), kNow, {});
  ASSERT_TRUE(old.ok());
  EXPECT_EQ(old->step, 60);
  EXPECT_EQ(old->resolution, MetricResolution::kMinute);
  // Thirty days back, only hours.
  auto month = PlanMetricsQuery(P("-30d", "-29d", "5m"), kNow, {});
  ASSERT_TRUE(month.ok());
  EXPECT_EQ(month->step, 3600);
  EXPECT_EQ(month->resolution, MetricResolution::kHour);
}

TEST(MetricsQuery, TimesAreUnixSecondsRfc3339OrADurationAgo) {
  auto p = PlanMetricsQuery(P(std::to_string(kNow - 600), "2027-01-15T08:00:00Z", "60"), kNow, {});
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->from, kNow - 600);
  EXPECT_EQ(p->to, kNow);  // 2027-01-15T08:00:00Z is kNow
  auto q = PlanMetricsQuery(P("-90m", "-30m", "7"), kNow + 5, {});
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->to, kNow + 5 - 1800);
  EXPECT_EQ(q->from % 7, 0);  // aligned to the step
  EXPECT_LE(q->from, kNow + 5 - 5400);
}

TEST(MetricsQuery, BadParametersAreNamed) {
  EXPECT_EQ(FieldOf(PlanMetricsQuery(P("yesterday"), kNow, {})), "from");
  EXPECT_EQ(FieldOf(PlanMetricsQuery(P({}, "soon"), kNow, {})), "to");
  EXPECT_EQ(FieldOf(PlanMetricsQuery(P({}, {}, "0"), kNow, {})), "step");
  EXPECT_EQ(FieldOf(PlanMetricsQuery(P({}, {}, "-5"), kNow, {})), "step");
  EXPECT_EQ(FieldOf(PlanMetricsQuery(P({}, {}, "5x"), kNow, {})), "step");
  EXPECT_EQ(FieldOf(PlanMetricsQuery(P("-1h", "-2h"), kNow, {})), "from");  // not before to
  EXPECT_EQ(FieldOf(PlanMetricsQuery(P("-100d"), kNow, {})), "from");       // longer than kept
  EXPECT_EQ(FieldOf(PlanMetricsQuery(P("-1h", {}, "2h"), kNow, {})), "step");
  EXPECT_EQ(FieldOf(PlanMetricsQuery(P("-1d", {}, "1"), kNow, {})), "step");  // 86,400 points
  auto both = PlanMetricsQuery(P("x", "y", "z"), kNow, {});
  ASSERT_FALSE(both.ok());
  EXPECT_EQ(both.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(both.error().fields.size(), 3u);
}

class MetricsServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    owner_ = {db_.user().id, db_.user().email, "user", "", 1};
    stranger_ = {"usr_2", "b@x.io", "admin", "", 1};
    store::Workload w;
    w.id = "wl_1";
    w.owner_id = owner_.user_id;
    w.name = "burner";
    w.template_name = "custom";
    w.image = "img";
    w.spec_enc = "s";
    w.node_id = "node_1";
    w.created_at = w.updated_at = 1;
    ASSERT_TRUE(db_.store().CreateWorkload(w, {}).ok());
    ASSERT_TRUE(db_.store().SetPlacement("wl_1", "node_1", WorkloadStatus::kRunning, "", 1).ok());
    ASSERT_TRUE(
        db_.store().CreateJoinToken({"jt", "h", owner_.user_id, 0, kNow, std::nullopt, ""}).ok());
    store::Node n;
    n.id = "node_1";
    n.name = "box";
    n.secret_hash = "s";
    ASSERT_TRUE(db_.store().JoinNode("h", n, 1).ok());
  }
  static link::UsageSample U(std::int64_t at, double cpu) {
    return {at, cpu, 1e6, 2e6, 10, 20, 30, 40};
  }

  store::testing::TempSqlite db_{"lattice-metrics"};
  ManualClock clock_{kNow};
  MetricsService svc_{db_.store(), clock_};
  Principal owner_, stranger_;
};

TEST_F(MetricsServiceTest, SamplesAreRecordedWithTheAgentsClockSkewCorrected) {
  // The agent's clock is 100 s behind: its "now" is kNow - 100.
  link::MetricsBatch b{kNow - 100, 10, {U(kNow - 110, 150)}, {{"wl_1", U(kNow - 110, 42)}}};
  ASSERT_TRUE(svc_.OnBatch("node_1", b).ok());
  auto s = svc_.ForWorkload(owner_, "wl_1", P("-5m", {}, "10s"));
  ASSERT_TRUE(s.ok()) << s.error().message;
  ASSERT_EQ(s->points.size(), 1u);
  EXPECT_EQ(s->points[0].at, kNow - 10);  // the server's time of the sample
  EXPECT_DOUBLE_EQ(s->points[0].cpu_avg, 42);
  auto n = svc_.ForNode("node_1", P("-5m", {}, "10s"));
  ASSERT_TRUE(n.ok());
  ASSERT_EQ(n->points.size(), 1u);
  EXPECT_DOUBLE_EQ(n->points[0].cpu_max, 150);
  auto latest = svc_.Latest();
  ASSERT_TRUE(latest.ok());
  EXPECT_EQ(latest->size(), 2u);
}

TEST_F(MetricsServiceTest, SamplesOutsideTheKeptWindowAreDropped) {
  link::MetricsBatch b{
      kNow,
      10,
      {},
      {{"wl_1", U(kNow + 3600, 1)}, {"wl_1", U(kNow - 2 * 86400, 2)}, {"wl_1", U(kNow - 20, 3)}}};
  ASSERT_TRUE(svc_.OnBatch("node_1", b).ok());
  auto all =
      db_.store().Metrics().QueryMetrics({"wl_1", MetricResolution::kRaw, 0, kNow + 86400, 86400});
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ((*all)[0].samples, 1);
  EXPECT_DOUBLE_EQ((*all)[0].cpu_avg, 3);
}

TEST_F(MetricsServiceTest, OnlyTheOwnerSeesAWorkloadsMetrics) {
  ASSERT_TRUE(svc_.OnBatch("node_1", {kNow, 10, {}, {{"wl_1", U(kNow - 5, 7)}}}).ok());
  EXPECT_TRUE(svc_.ForWorkload(owner_, "wl_1", {}).ok());
  auto other = svc_.ForWorkload(stranger_, "wl_1", {});  // an admin too: workloads are owned
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(svc_.ForWorkload(owner_, "wl_none", {}).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(svc_.ForNode("node_none", {}).error().code, ErrorCode::kNotFound);
  auto bad = svc_.ForWorkload(owner_, "wl_1", P("nope"));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
  // Someone else's bad parameters do not tell them the workload exists.
  EXPECT_EQ(svc_.ForWorkload(stranger_, "wl_1", P("nope")).error().code, ErrorCode::kNotFound);
}

TEST_F(MetricsServiceTest, TickPrunesWhatAgedOutAtMostEveryFewMinutes) {
  ASSERT_TRUE(svc_.OnBatch("node_1", {kNow, 10, {}, {{"wl_1", U(kNow - 60, 1)}}}).ok());
  svc_.Tick();  // nothing is old yet
  clock_.Advance(2 * 86400);
  svc_.Tick();
  auto raw = db_.store().Metrics().QueryMetrics(
      {"wl_1", MetricResolution::kRaw, 0, kNow + 3 * 86400, 86400});
  ASSERT_TRUE(raw.ok());
  EXPECT_TRUE(raw->empty());  // gone after 24 h
  auto minutes = db_.store().Metrics().QueryMetrics(
      {"wl_1", MetricResolution::kMinute, 0, kNow + 3 * 86400, 86400});
  EXPECT_EQ(minutes->size(), 1u);  // kept for 7 days
}

}  // namespace
}  // namespace lattice::control
