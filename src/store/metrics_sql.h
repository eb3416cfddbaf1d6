// What both engines' MetricsStore share (store/metrics_store.h): the columns, the aggregate
// query's select list, and the pure parts of recording — which samples a node may record and
// which rollup buckets a sample falls in. SQL text only; no dialect-specific syntax.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "store/metrics_store.h"

namespace lattice::store::metrics_sql {

inline constexpr const char* kColumns =
    "series, resolution, at, samples, cpu_sum, cpu_max, memory_sum, memory_max, memory_limit, "
    "net_rx_sum, net_rx_max, net_tx_sum, net_tx_max, disk_read_sum, disk_read_max, "
    "disk_write_sum, disk_write_max";

// The aggregate of a bucket, after its start: the row reader MetricPointFromSums expects this
// order (samples, then each sum and maximum; the limit is a maximum).
inline constexpr const char* kAggregates =
    "SUM(samples), SUM(cpu_sum), MAX(cpu_max), SUM(memory_sum), MAX(memory_max), "
    "MAX(memory_limit), SUM(net_rx_sum), MAX(net_rx_max), SUM(net_tx_sum), MAX(net_tx_max), "
    "SUM(disk_read_sum), MAX(disk_read_max), SUM(disk_write_sum), MAX(disk_write_max)";

// The rollups every raw sample feeds.
inline constexpr MetricResolution kRollups[] = {MetricResolution::kMinute, MetricResolution::kHour};

inline std::int64_t BucketStart(std::int64_t at, MetricResolution r) {
  const auto size = static_cast<std::int64_t>(r);
  return size > 0 ? at - at % size : at;
}

// The samples node `node_id` may record: its own series and those of the workloads placed on it
// (`placed`), in order.
inline std::vector<const MetricSample*> Admissible(const std::string& node_id,
                                                   const std::set<std::string>& placed,
                                                   const std::vector<MetricSample>& samples) {
  std::vector<const MetricSample*> out;
  for (const auto& s : samples)
    if (s.series == node_id || placed.count(s.series)) out.push_back(&s);
  return out;
}

// A point from a bucket's start and kAggregates' fourteen values (`v`).
template <typename Value>
MetricPoint MetricPointFromSums(std::int64_t at, Value v) {
  MetricPoint p;
  p.at = at;
  p.samples = static_cast<std::int64_t>(v(0));
  const double n = p.samples > 0 ? static_cast<double>(p.samples) : 1.0;
  p.cpu_avg = v(1) / n;
  p.cpu_max = v(2);
  p.memory_avg = v(3) / n;
  p.memory_max = v(4);
  p.memory_limit = v(5);
  p.net_rx_avg = v(6) / n;
  p.net_rx_max = v(7);
  p.net_tx_avg = v(8) / n;
  p.net_tx_max = v(9);
  p.disk_read_avg = v(10) / n;
  p.disk_read_max = v(11);
  p.disk_write_avg = v(12) / n;
  p.disk_write_max = v(13);
  return p;
}

}  // namespace lattice::store::metrics_sql
