// MetricsService: the server's side of metrics (docs/metrics.md). Agents send what they sampled
// (link::MetricsBatch) over their links; the service corrects the samples' times for the skew
// between the agent's clock and the server's, drops what is outside the raw retention or in the
// future, and records the rest (store::MetricsStore keeps the raw samples and their 1-minute and
// 1-hour rollups, and records only a node's own series and its workloads'). It answers
// queries for one workload (its owner only: another user's workload is kNotFound, as on every
// workload route) or one node (the API lets administrators only), picking the resolution from
// the range and step (metrics_query.h), and prunes what has aged out, at most every
// `prune_every_seconds`, from Tick().
//
// Every call touches the store: run it off the network threads. Thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/principal.h"
#include "common/result.h"
#include "control/metrics_query.h"
#include "link/protocol.h"
#include "store/store.h"

namespace lattice::control {

struct MetricsOptions {
  store::MetricRetention keep;
  std::int64_t prune_every_seconds = 300;
  // A sample more than this far ahead of the server's clock (after the skew correction) is
  // dropped.
  std::int64_t max_future_seconds = 60;
};

// A series over a range, as planned.
struct MetricSeries {
  std::string series;  // workload or node id
  MetricsPlan plan;
  std::vector<store::MetricPoint> points;
};

class MetricsService {
 public:
  MetricsService(store::Store& store, const Clock& clock, MetricsOptions options = {});
  MetricsService(const MetricsService&) = delete;
  MetricsService& operator=(const MetricsService&) = delete;

  // Records one batch from node `node_id`'s agent. kUnavailable if the store could not take it.
  Status OnBatch(const std::string& node_id, const link::MetricsBatch& batch);

  // Workload `id`'s series, for its owner. kNotFound for anyone else or no such workload;
  // kInvalidArgument (naming the parameter) for bad parameters.
  Result<MetricSeries> ForWorkload(const Principal& who, const std::string& id,
                                   const MetricsParams& params);
  // Node `id`'s totals. kNotFound if there is no such node.
  Result<MetricSeries> ForNode(const std::string& id, const MetricsParams& params);
  // The newest sample of every series that reported within the last `window_seconds`.
  Result<std::vector<store::LatestMetric>> Latest(std::int64_t window_seconds = 120);

  // Deletes aged-out rows, if the last pruning is `prune_every_seconds` old. Safe on every
  // replica at once (deleting what is old is idempotent).
  void Tick();
  // Prunes now; returns how many rows went.
  Result<std::int64_t> Prune();

 private:
  Result<MetricSeries> Query(const std::string& series, const MetricsParams& params);

  store::Store& store_;
  const Clock& clock_;
  const MetricsOptions options_;
  std::atomic<std::int64_t> last_prune_{0};
};

}  // namespace lattice::control
