#include "agent/stats_sampler.h"

#include <spdlog/spdlog.h>

#include <set>

#include "agent/workload_container.h"

namespace lattice::agent {
namespace {

// Bytes per second from a counter's two readings; nullopt if it went backwards.
std::optional<double> Rate(std::uint64_t before, std::uint64_t after, double seconds) {
  if (after < before) return std::nullopt;
  return static_cast<double>(after - before) / seconds;
}

}  // namespace

std::optional<link::UsageSample> ContainerUsage(const runtime::ContainerStats& before,
                                                const runtime::ContainerStats& after,
                                                double seconds, std::int64_t at) {
  if (!(seconds > 0) || after.cpu_total_ns < before.cpu_total_ns) return std::nullopt;
  const auto rx = Rate(before.net_rx_bytes, after.net_rx_bytes, seconds);
  const auto tx = Rate(before.net_tx_bytes, after.net_tx_bytes, seconds);
  const auto rd = Rate(before.disk_read_bytes, after.disk_read_bytes, seconds);
  const auto wr = Rate(before.disk_write_bytes, after.disk_write_bytes, seconds);
  if (!rx || !tx || !rd || !wr) return std::nullopt;
  const double cpu = static_cast<double>(after.cpu_total_ns - before.cpu_total_ns);
  link::UsageSample u;
  u.at = at;
  if (after.system_cpu_ns > before.system_cpu_ns && after.online_cpus > 0) {
    const double system = static_cast<double>(after.system_cpu_ns - before.system_cpu_ns);
    u.cpu_percent = cpu / system * after.online_cpus * 100.0;
  } else {
    u.cpu_percent = cpu / (seconds * 1e9) * 100.0;
  }
  u.memory_bytes = static_cast<double>(after.memory_bytes);
  u.memory_limit_bytes = static_cast<double>(after.memory_limit_bytes);
  u.net_rx_bps = *rx;
  u.net_tx_bps = *tx;
  u.disk_read_bps = *rd;
  u.disk_write_bps = *wr;
  return u;
}

std::optional<link::UsageSample> NodeUsage(const NodeCounters& before, const NodeCounters& after,
                                           double seconds, std::int64_t at) {
  if (!(seconds > 0) || !before.ok || !after.ok ||
      after.cpu_total_ticks <= before.cpu_total_ticks ||
      after.cpu_idle_ticks < before.cpu_idle_ticks)
    return std::nullopt;
  const auto rx = Rate(before.net_rx_bytes, after.net_rx_bytes, seconds);
  const auto tx = Rate(before.net_tx_bytes, after.net_tx_bytes, seconds);
  const auto rd = Rate(before.disk_read_bytes, after.disk_read_bytes, seconds);
  const auto wr = Rate(before.disk_write_bytes, after.disk_write_bytes, seconds);
  link::UsageSample u;
  u.at = at;
  const double total = static_cast<double>(after.cpu_total_ticks - before.cpu_total_ticks);
  const double idle = static_cast<double>(after.cpu_idle_ticks - before.cpu_idle_ticks);
  const double busy = total > idle ? total - idle : 0;
  u.cpu_percent = busy / total * std::max(after.cpus, 1) * 100.0;
  u.memory_limit_bytes = static_cast<double>(after.memory_total_bytes);
  u.memory_bytes =
      after.memory_total_bytes > after.memory_available_bytes
          ? static_cast<double>(after.memory_total_bytes - after.memory_available_bytes)
          : 0;
  // An interface or disk that went away makes its sum go backwards: that interval reads 0.
  u.net_rx_bps = rx.value_or(0);
  u.net_tx_bps = tx.value_or(0);
  u.disk_read_bps = rd.value_or(0);
  u.disk_write_bps = wr.value_or(0);
  return u;
}

StatsSampler::StatsSampler(runtime::Runtime& runtime, RunningLookup running, BatchSink sink,
                           StatsSamplerOptions options, const SteadyClock& clock)
    : runtime_(runtime),
      running_(std::move(running)),
      sink_(std::move(sink)),
      options_(std::move(options)),
      clock_(clock) {}

StatsSampler::~StatsSampler() {
  Stop();
}

void StatsSampler::Start() {
  thread_ = std::thread([this] { Loop(); });
}

void StatsSampler::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool StatsSampler::Stopping() {
  std::lock_guard lock(mu_);
  return stopping_;
}

void StatsSampler::Loop() {
  auto next = std::chrono::steady_clock::now();
  for (;;) {
    {
      std::unique_lock lock(mu_);
      if (wake_.wait_until(lock, next, [this] { return stopping_; })) return;
    }
    const std::int64_t at = std::chrono::duration_cast<std::chrono::seconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count();
    const auto began = std::chrono::steady_clock::now();
    link::MetricsBatch batch = SampleOnce(at);
    const auto took = std::chrono::steady_clock::now() - began;
    // A pass longer than the interval means samples come less often than asked: say so once
    // per run of such passes (the engine's latency per reading is what bounds a pass).
    if (took > options_.interval && !overran_)
      spdlog::warn("event=stats_pass_overran samples={} took_ms={} interval_ms={}",
                   batch.workloads.size(),
                   std::chrono::duration_cast<std::chrono::milliseconds>(took).count(),
                   options_.interval.count());
    overran_ = took > options_.interval;
    if (!batch.node.empty() || !batch.workloads.empty()) sink_(std::move(batch));
    // A fixed cadence; a pass that overran its interval is followed by the next one at once,
    // never by a burst of the ones it missed.
    next += options_.interval;
    if (next < std::chrono::steady_clock::now()) next = std::chrono::steady_clock::now();
  }
}

link::MetricsBatch StatsSampler::SampleOnce(std::int64_t at) {
  link::MetricsBatch batch;
  batch.interval_seconds = static_cast<int>(std::max<std::int64_t>(
      1, std::chrono::duration_cast<std::chrono::seconds>(options_.interval).count()));
  if (options_.node_totals) {
    NodeCounters node = ReadNodeCounters(options_.proc_root, options_.sys_root);
    const SteadyClock::time_point now = clock_.Now();
    if (previous_node_) {
      const double seconds = std::chrono::duration<double>(now - previous_node_when_).count();
      if (auto u = NodeUsage(*previous_node_, node, seconds, at)) batch.node.push_back(*u);
    }
    previous_node_ = node;
    previous_node_when_ = now;
  }

  const std::vector<std::string> ids = running_();
  std::set<std::string> seen;
  int failures = 0;
  for (const std::string& id : ids) {
    if (Stopping()) break;  // Stop() waits for this pass: do not make it wait for every reading
    if (!seen.insert(id).second) continue;
    auto stats = runtime_.Stats(ContainerName(id), options_.request_timeout);
    const SteadyClock::time_point when = clock_.Now();
    if (!stats.ok()) {
      previous_.erase(id);
      if (stats.error().code != ErrorCode::kNotFound && stats.error().code != ErrorCode::kConflict)
        ++failures;
      spdlog::debug("event=stats_failed workload={} error=\"{}\"", id, stats.error().message);
      continue;
    }
    auto prev = previous_.find(id);
    if (prev != previous_.end()) {
      const double seconds = std::chrono::duration<double>(when - prev->second.when).count();
      if (auto u = ContainerUsage(prev->second.stats, *stats, seconds, at))
        batch.workloads.push_back({id, *u});
    }
    previous_[id] = Reading{*stats, when};
  }
  for (auto it = previous_.begin(); it != previous_.end();)  // no longer running
    it = seen.count(it->first) ? std::next(it) : previous_.erase(it);
  if (failures > 0 && !engine_failing_)
    spdlog::warn("event=stats_unavailable failed={} of={}", failures, ids.size());
  engine_failing_ = failures > 0;
  return batch;
}

}  // namespace lattice::agent
