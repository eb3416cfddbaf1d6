#include "control/metrics_service.h"

#include <spdlog/spdlog.h>

namespace lattice::control {

MetricsService::MetricsService(store::Store& store, const Clock& clock, MetricsOptions options)
    : store_(store), clock_(clock), options_(options) {}

Status MetricsService::OnBatch(const std::string& node_id, const link::MetricsBatch& batch) {
  const std::int64_t now = clock_.NowSeconds();
  // The agent stamped the batch as it sent it: the difference to our clock is its skew (plus
  // the trip, well under a second), by which every sample's time is corrected.
  const std::int64_t skew = batch.sent_at > 0 ? now - batch.sent_at : 0;
  std::vector<store::MetricSample> samples;
  samples.reserve(batch.node.size() + batch.workloads.size());
  std::size_t dropped = 0;
  const auto add = [&](const std::string& series, const link::UsageSample& u) {
    const std::int64_t at = u.at + skew;
    if (at > now + options_.max_future_seconds || at < now - options_.keep.raw) {
      ++dropped;
      return;
    }
    samples.push_back({series, at, u.cpu_percent, u.memory_bytes, u.memory_limit_bytes,
                       u.net_rx_bps, u.net_tx_bps, u.disk_read_bps, u.disk_write_bps});
  };
  for (const auto& u : batch.node) add(node_id, u);
  for (const auto& w : batch.workloads) add(w.workload_id, w.usage);
  if (dropped > 0)
    spdlog::warn("msg=\"metrics outside the kept window dropped\" node={} dropped={} skew_s={}",
                 node_id, dropped, skew);
  auto stored = store_.Metrics().RecordMetrics(node_id, samples);
  if (!stored.ok()) return std::move(stored).error();
  if (static_cast<std::size_t>(*stored) < samples.size())
    spdlog::debug("msg=\"metrics not recorded\" node={} offered={} stored={}", node_id,
                  samples.size(), *stored);
  return Status::Ok();
}

Result<MetricSeries> MetricsService::ForWorkload(const Principal& who, const std::string& id,
                                                 const MetricsParams& params) {
  auto w = store_.GetWorkload(id);
  if (!w.ok() || w->owner_id != who.user_id) {
    if (!w.ok() && w.error().code != ErrorCode::kNotFound) return std::move(w).error();
    return Error::NotFound("No workload with id '" + id.substr(0, 64) + "'.");
  }
  return Query(id, params);
}

Result<MetricSeries> MetricsService::ForNode(const std::string& id, const MetricsParams& params) {
  auto n = store_.GetNode(id);
  if (!n.ok()) {
    if (n.error().code != ErrorCode::kNotFound) return std::move(n).error();
    return Error::NotFound("No node with id '" + id.substr(0, 64) + "'.");
  }
  return Query(id, params);
}

Result<MetricSeries> MetricsService::Query(const std::string& series, const MetricsParams& params) {
  auto plan = PlanMetricsQuery(params, clock_.NowSeconds(), options_.keep);
  if (!plan.ok()) return std::move(plan).error();
  auto points =
      store_.Metrics().QueryMetrics({series, plan->resolution, plan->from, plan->to, plan->step});
  if (!points.ok()) return std::move(points).error();
  return MetricSeries{series, *plan, std::move(points).value()};
}

Result<std::vector<store::LatestMetric>> MetricsService::Latest(std::int64_t window_seconds) {
  return store_.Metrics().LatestMetrics(clock_.NowSeconds() - window_seconds);
}

void MetricsService::Tick() {
  const std::int64_t now = clock_.NowSeconds();
  std::int64_t last = last_prune_.load();
  if (now - last < options_.prune_every_seconds) return;
  if (!last_prune_.compare_exchange_strong(last, now)) return;  // another thread prunes
  if (auto n = Prune(); !n.ok())
    spdlog::warn("msg=\"metrics not pruned\" error=\"{}\"", n.error().message);
  else if (*n > 0)
    spdlog::info("msg=\"metrics pruned\" rows={}", *n);
}

Result<std::int64_t> MetricsService::Prune() {
  return store_.Metrics().PruneMetrics(options_.keep, clock_.NowSeconds());
}

}  // namespace lattice::control
