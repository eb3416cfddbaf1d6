// The MetricsStore contract (store/metrics_store.h) on both engines: raw samples and their
// rollups (which must agree with them), duplicates, what a node may record, retention, the
// latest sample per series, and a deleted workload's metrics going with it.
#include <gtest/gtest.h>

#include <cmath>

#include "store/store_test_fixture.h"

namespace lattice::store {
namespace {

// An hour boundary, so that samples straddle two hour rollups.
constexpr std::int64_t kHour0 = 1'800'000'000 - 1'800'000'000 % 3600;

class MetricsStoreTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    auto u = store_->CreateUser(NewUser("a@x.io"), {});
    ASSERT_TRUE(u.ok());
    owner_ = u->id;
    for (const char* id : {"wl_1", "wl_2", "wl_other"}) {
      Workload w;
      w.id = id;
      w.owner_id = owner_;
      w.name = std::string("name-") + id;
      w.template_name = "custom";
      w.image = "img";
      w.spec_enc = "s";
      w.created_at = w.updated_at = 1;
      ASSERT_TRUE(store_->CreateWorkload(w, {}).ok());
    }
    ASSERT_TRUE(store_->SetPlacement("wl_1", "node_1", WorkloadStatus::kRunning, "", 2).ok());
    ASSERT_TRUE(store_->SetPlacement("wl_2", "node_1", WorkloadStatus::kRunning, "", 2).ok());
    ASSERT_TRUE(store_->SetPlacement("wl_other", "node_2", WorkloadStatus::kRunning, "", 2).ok());
  }
  MetricsStore& m() { return store_->Metrics(); }

  // A sample whose values follow `i`, so sums and maxima are known.
  static MetricSample Sample(const std::string& series, std::int64_t at, double i) {
    return MetricSample{series, at, i, 1000 * i, 1e9, 10 * i, 20 * i, 30 * i, 40 * i};
  }
  std::vector<MetricPoint> Query(const std::string& series, MetricResolution r, std::int64_t step,
                                 std::int64_t from = kHour0 - 86400,
                                 std::int64_t to = kHour0 + 86400) {
    auto got = m().QueryMetrics({series, r, from, to, step});
    EXPECT_TRUE(got.ok()) << got.error().message;
    return got.ok() ? *got : std::vector<MetricPoint>{};
  }

  std::string owner_;
};

void ExpectSame(const MetricPoint& a, const MetricPoint& b) {
  EXPECT_EQ(a.at, b.at);
  EXPECT_EQ(a.samples, b.samples) << "at " << a.at;
  for (auto [x, y] : {std::pair{a.cpu_avg, b.cpu_avg},
                      {a.cpu_max, b.cpu_max},
                      {a.memory_avg, b.memory_avg},
                      {a.memory_max, b.memory_max},
                      {a.memory_limit, b.memory_limit},
                      {a.net_rx_avg, b.net_rx_avg},
                      {a.net_rx_max, b.net_rx_max},
                      {a.net_tx_avg, b.net_tx_avg},
                      {a.net_tx_max, b.net_tx_max},
                      {a.disk_read_avg, b.disk_read_avg},
                      {a.disk_read_max, b.disk_read_max},
                      {a.disk_write_avg, b.disk_write_avg},
                      {a.disk_write_max, b.disk_write_max}})
    EXPECT_NEAR(x, y, 1e-6 * std::max(1.0, std::fabs(y))) << "at " << a.at;
}

TEST_P(MetricsStoreTest, RollupsAgreeWithTheRawSamples) {
  // Every 10 s for 2 hours, in batches as an agent would send them, values rising and falling.
  std::vector<MetricSample> all;
  for (std::int64_t t = kHour0 - 3600; t < kHour0 + 3600; t += 10)
    all.push_back(Sample("wl_1", t, static_cast<double>((t / 10) % 37)));
  for (std::size_t i = 0; i < all.size(); i += 100) {
    std::vector<MetricSample> batch(all.begin() + i, all.begin() + std::min(all.size(), i + 100));
    auto n = m().RecordMetrics("node_1", batch);
    ASSERT_TRUE(n.ok()) << n.error().message;
    EXPECT_EQ(*n, static_cast<std::int64_t>(batch.size()));
  }
  // The raw samples, aggregated per minute at query time, are the minute rollups; per hour, the
  // hour rollups; and the minute rollups aggregated per hour are the hour rollups too.
  const auto raw_minutes = Query("wl_1", MetricResolution::kRaw, 60);
  const auto minutes = Query("wl_1", MetricResolution::kMinute, 60);
  ASSERT_EQ(minutes.size(), 120u);
  ASSERT_EQ(raw_minutes.size(), minutes.size());
  for (std::size_t i = 0; i < minutes.size(); ++i) {
    EXPECT_EQ(minutes[i].samples, 6);
    ExpectSame(minutes[i], raw_minutes[i]);
  }
  const auto raw_hours = Query("wl_1", MetricResolution::kRaw, 3600);
  const auto hours = Query("wl_1", MetricResolution::kHour, 3600);
  const auto minute_hours = Query("wl_1", MetricResolution::kMinute, 3600);
  ASSERT_EQ(hours.size(), 2u);
  EXPECT_EQ(hours[0].at, kHour0 - 3600);
  EXPECT_EQ(hours[1].at, kHour0);
  for (std::size_t i = 0; i < hours.size(); ++i) {
    EXPECT_EQ(hours[i].samples, 360);
    ExpectSame(hours[i], raw_hours[i]);
    ExpectSame(hours[i], minute_hours[i]);
  }
  // The values themselves: the first minute holds samples 0..5 of the pattern.
  const double first = static_cast<double>(((kHour0 - 3600) / 10) % 37);
  std::vector<double> v;
  for (int k = 0; k < 6; ++k) v.push_back(std::fmod(first + k, 37));
  double sum = 0, max = 0;
  for (double x : v) sum += x, max = std::max(max, x);
  EXPECT_NEAR(minutes[0].cpu_avg, sum / 6, 1e-9);
  EXPECT_DOUBLE_EQ(minutes[0].cpu_max, max);
  EXPECT_NEAR(minutes[0].disk_write_avg, 40 * sum / 6, 1e-6);
  EXPECT_DOUBLE_EQ(minutes[0].memory_limit, 1e9);
  // A range and a coarser step on raw rows.
  const auto part = Query("wl_1", MetricResolution::kRaw, 10, kHour0, kHour0 + 60);
  ASSERT_EQ(part.size(), 6u);
  EXPECT_EQ(part[0].at, kHour0);
  EXPECT_EQ(part[0].samples, 1);
}

TEST_P(MetricsStoreTest, ABatchSentTwiceChangesNothing) {
  std::vector<MetricSample> batch = {Sample("wl_1", kHour0, 5), Sample("wl_1", kHour0 + 10, 7)};
  ASSERT_EQ(*m().RecordMetrics("node_1", batch), 2);
  EXPECT_EQ(*m().RecordMetrics("node_1", batch), 0);
  batch.push_back(Sample("wl_1", kHour0 + 20, 9));
  EXPECT_EQ(*m().RecordMetrics("node_1", batch), 1);
  const auto minute = Query("wl_1", MetricResolution::kMinute, 60);
  ASSERT_EQ(minute.size(), 1u);
  EXPECT_EQ(minute[0].samples, 3);
  EXPECT_NEAR(minute[0].cpu_avg, 7, 1e-9);
  EXPECT_DOUBLE_EQ(minute[0].cpu_max, 9);
  EXPECT_EQ(Query("wl_1", MetricResolution::kHour, 3600)[0].samples, 3);
}

TEST_P(MetricsStoreTest, ANodeRecordsOnlyItselfAndItsOwnWorkloads) {
  auto n = m().RecordMetrics("node_1", {Sample("wl_1", kHour0, 1), Sample("node_1", kHour0, 2),
                                        Sample("wl_other", kHour0, 3), Sample("node_2", kHour0, 4),
                                        Sample("wl_nope", kHour0, 5)});
  ASSERT_TRUE(n.ok()) << n.error().message;
  EXPECT_EQ(*n, 2);
  EXPECT_EQ(Query("wl_1", MetricResolution::kRaw, 10).size(), 1u);
  EXPECT_EQ(Query("node_1", MetricResolution::kRaw, 10).size(), 1u);
  EXPECT_TRUE(Query("wl_other", MetricResolution::kRaw, 10).empty());
  EXPECT_TRUE(Query("wl_other", MetricResolution::kMinute, 60).empty());
  EXPECT_TRUE(Query("node_2", MetricResolution::kRaw, 10).empty());
  EXPECT_EQ(*m().RecordMetrics("node_1", {}), 0);
}

TEST_P(MetricsStoreTest, RetentionRemovesEachResolutionAtItsOwnAge) {
  const std::int64_t now = kHour0 + 100 * 86400;
  // A sample 30 days, 3 days and 1 hour old, and one 100 days old.
  for (std::int64_t age : {100 * 86400, 30 * 86400, 3 * 86400, 3600})
    ASSERT_EQ(*m().RecordMetrics("node_1", {Sample("wl_1", now - age, 1)}), 1);
  const auto count = [&](MetricResolution r) {
    auto got = m().QueryMetrics({"wl_1", r, 0, now + 1, 3600});
    EXPECT_TRUE(got.ok());
    return got.ok() ? got->size() : 0u;
  };
  EXPECT_EQ(count(MetricResolution::kRaw), 4u);
  auto pruned = m().PruneMetrics(MetricRetention{}, now);
  ASSERT_TRUE(pruned.ok()) << pruned.error().message;
  EXPECT_EQ(count(MetricResolution::kRaw), 1u);     // 24 h: only the hour-old one
  EXPECT_EQ(count(MetricResolution::kMinute), 2u);  // 7 days: 3 days and 1 hour
  EXPECT_EQ(count(MetricResolution::kHour), 3u);    // 90 days: all but the 100-day one
  EXPECT_EQ(*pruned, 3 + 2 + 1);
  EXPECT_EQ(*m().PruneMetrics(MetricRetention{}, now), 0);  // idempotent
}

TEST_P(MetricsStoreTest, TheLatestSampleOfEachSeriesComesWithItsName) {
  ASSERT_TRUE(store_->CreateJoinToken({"jt_1", "h", owner_, 0, 100, std::nullopt, ""}).ok());
  Node n;
  n.id = "node_1";
  n.name = "box";
  n.secret_hash = "s";
  ASSERT_TRUE(store_->JoinNode("h", n, 10).ok());
  ASSERT_TRUE(m().RecordMetrics("node_1",
                                {Sample("wl_1", kHour0, 1), Sample("wl_1", kHour0 + 10, 2),
                                 Sample("wl_2", kHour0 - 500, 3), Sample("node_1", kHour0 + 5, 4)})
                  .ok());
  auto latest = m().LatestMetrics(kHour0 - 60);
  ASSERT_TRUE(latest.ok()) << latest.error().message;
  ASSERT_EQ(latest->size(), 2u);  // wl_2's sample is too old
  EXPECT_EQ((*latest)[0].sample.series, "node_1");
  EXPECT_EQ((*latest)[0].name, "box");
  EXPECT_TRUE((*latest)[0].is_node);
  EXPECT_EQ((*latest)[1].sample.series, "wl_1");
  EXPECT_EQ((*latest)[1].sample.at, kHour0 + 10);
  EXPECT_DOUBLE_EQ((*latest)[1].sample.cpu_percent, 2);
  EXPECT_DOUBLE_EQ((*latest)[1].sample.disk_write_bps, 80);
  EXPECT_EQ((*latest)[1].name, "name-wl_1");
  EXPECT_FALSE((*latest)[1].is_node);
}

TEST_P(MetricsStoreTest, ADeletedWorkloadsMetricsGoWithIt) {
  ASSERT_TRUE(
      m().RecordMetrics("node_1", {Sample("wl_1", kHour0, 1), Sample("wl_2", kHour0, 1)}).ok());
  ASSERT_TRUE(store_->DeleteWorkload("wl_1").ok());
  EXPECT_TRUE(Query("wl_1", MetricResolution::kRaw, 10).empty());
  EXPECT_TRUE(Query("wl_1", MetricResolution::kHour, 3600).empty());
  EXPECT_EQ(Query("wl_2", MetricResolution::kMinute, 60).size(), 1u);
}

INSTANTIATE_TEST_SUITE_P(Engines, MetricsStoreTest, ::testing::Values(SqliteImpl(), PostgresImpl()),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace lattice::store
