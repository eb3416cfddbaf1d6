// MetricsStore: the durable side of metrics (docs/metrics.md). Samples of resource usage, each
// for one series — a workload (its id) or a node (its id) — are kept at three resolutions:
//   raw      every sample as the agent sent it                 kept 24 hours by default
//   minute   1-minute rollups (sample count, sums and maxima)   kept 7 days
//   hour     1-hour rollups                                      kept 90 days
// Rollups are maintained as samples arrive, in the same transaction, so a rollup's average
// (sum / count) and maximum always agree with the raw samples it covers. A series holds at most
// one raw row per second and one rollup row per bucket, and retention (PruneMetrics) deletes
// what has aged out, so the store holds at most ~24 h × 3600 + 7 × 1440 + 90 × 24 rows per
// series (about 21,000 at the default 10 s interval); a deleted workload's rows go with it
// (Store::DeleteWorkload).
//
// Both engines implement it (store/sqlite/sqlite_metrics.cc, store/postgres/pg_metrics.cc) with
// the same contract, pinned by metrics_store_test.cc on both. Who may read a series is the
// caller's business (control/metrics.h). Thread-safe like Store.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"

namespace lattice::store {

// Seconds per row of each resolution (raw rows are as frequent as the agent samples).
enum class MetricResolution : int { kRaw = 0, kMinute = 60, kHour = 3600 };

// One reading of one series.
struct MetricSample {
  std::string series;   // workload or node id
  std::int64_t at = 0;  // Unix seconds
  double cpu_percent = 0;
  double memory_bytes = 0;
  double memory_limit_bytes = 0;
  double net_rx_bps = 0;
  double net_tx_bps = 0;
  double disk_read_bps = 0;
  double disk_write_bps = 0;
};

// An aggregate over one bucket of a series: how many samples, their averages and maxima (the
// memory limit is the largest seen).
struct MetricPoint {
  std::int64_t at = 0;  // the bucket's start
  std::int64_t samples = 0;
  double cpu_avg = 0, cpu_max = 0;
  double memory_avg = 0, memory_max = 0;
  double memory_limit = 0;
  double net_rx_avg = 0, net_rx_max = 0;
  double net_tx_avg = 0, net_tx_max = 0;
  double disk_read_avg = 0, disk_read_max = 0;
  double disk_write_avg = 0, disk_write_max = 0;
};

struct MetricQuery {
  std::string series;
  MetricResolution resolution = MetricResolution::kRaw;
  std::int64_t from = 0;  // inclusive, Unix seconds
  std::int64_t to = 0;    // exclusive
  // Rows are grouped into buckets of `step` seconds starting at multiples of it (a positive
  // multiple of the resolution's seconds; any positive number for raw rows).
  std::int64_t step = 60;
};

// How long each resolution is kept, in seconds.
struct MetricRetention {
  std::int64_t raw = 24 * 3600;
  std::int64_t minute = 7 * 86400;
  std::int64_t hour = 90 * 86400;
};

// The newest raw sample of a series, with the name of its workload or node ("" if neither
// exists any more).
struct LatestMetric {
  MetricSample sample;
  std::string name;
  bool is_node = false;
};

class MetricsStore {
 public:
  virtual ~MetricsStore() = default;

  // Records samples reported by node `node_id`, in one transaction: each sample of a series that
  // is the node itself or a workload placed on it (any other is dropped: a node speaks only for
  // itself) becomes a raw row and is added to its minute and hour rollups. A sample whose
  // (series, second) is already stored is skipped, rollups included, so a batch sent twice
  // changes nothing. Returns how many samples were stored.
  virtual Result<std::int64_t> RecordMetrics(const std::string& node_id,
                                             const std::vector<MetricSample>& samples) = 0;
  // The points of `q.series` at `q.resolution` in [from, to), aggregated into buckets of
  // `q.step` seconds, oldest first; buckets without rows are left out.
  virtual Result<std::vector<MetricPoint>> QueryMetrics(const MetricQuery& q) = 0;
  // The newest raw sample since `since` of every series that has one, ordered by series.
  virtual Result<std::vector<LatestMetric>> LatestMetrics(std::int64_t since) = 0;
  // Deletes the rows of each resolution older than its retention at `now`. Returns how many.
  virtual Result<std::int64_t> PruneMetrics(const MetricRetention& keep, std::int64_t now) = 0;
};

}  // namespace lattice::store
