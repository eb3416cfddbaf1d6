// StatsSampler: the agent's metrics (docs/metrics.md). Every `interval` (10 s by default) it
// reads the counters of each running workload's container from the engine — one
// GET /containers/{id}/stats?stream=false&one-shot=true per container, one after the other — and
// the node's totals from /proc, turns the difference from the previous reading into usage over
// the interval (CPU percent of one core, memory and its limit, bytes per second in and out, read
// and written), and hands the interval's samples to its sink as one link::MetricsBatch.
//
// A container's first reading (and the first after its counters went backwards: a restart) is
// only the baseline, so a workload's first sample arrives one interval after it was first seen.
// A reading that fails (the container just stopped, the engine is slow) drops that container's
// baseline and nothing else.
//
// Threading: one thread of its own (Start() → Stop()), whatever the number of containers; the
// engine calls are blocking and each bounded by `request_timeout`, so a slow engine delays the
// next pass, never the link. The lookup and the sink are called on that thread and must not
// block for long (the agent's sink posts to its io_context). Stop() waits for the reading in
// flight (a pass stops between containers). The Runtime must outlive the sampler.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "agent/node_stats.h"
#include "common/steady_clock.h"
#include "link/protocol.h"
#include "runtime/runtime.h"

namespace lattice::agent {

struct StatsSamplerOptions {
  std::chrono::milliseconds interval{10000};
  std::chrono::milliseconds request_timeout{5000};  // one container's reading
  bool node_totals = true;                          // read /proc too
  std::string proc_root = "/proc";
  std::string sys_root = "/sys";
};

// A container's usage between two readings `seconds` apart, at `at` (Unix seconds); nullopt if
// a counter went backwards (the container restarted: `after` is a new baseline) or no time
// passed. CPU percent is Δ container CPU time / Δ host CPU time × online cores × 100, as
// `docker stats` computes it (100 = one core busy); without host CPU time, Δ CPU time / Δ time.
std::optional<link::UsageSample> ContainerUsage(const runtime::ContainerStats& before,
                                                const runtime::ContainerStats& after,
                                                double seconds, std::int64_t at);
// The node's usage between two readings; CPU percent in the same unit (100 = one core), so a
// busy 4-core node reads 400.
std::optional<link::UsageSample> NodeUsage(const NodeCounters& before, const NodeCounters& after,
                                           double seconds, std::int64_t at);

class StatsSampler {
 public:
  // The workloads whose containers run now (ids; the container is ContainerName(id)).
  using RunningLookup = std::function<std::vector<std::string>()>;
  using BatchSink = std::function<void(link::MetricsBatch)>;

  // Readings are timed by `clock` (tests move a manual one between passes); the thread's
  // cadence follows the real steady clock.
  StatsSampler(runtime::Runtime& runtime, RunningLookup running, BatchSink sink,
               StatsSamplerOptions options, const SteadyClock& clock = RealSteadyClock());
  ~StatsSampler();  // Stop()
  StatsSampler(const StatsSampler&) = delete;
  StatsSampler& operator=(const StatsSampler&) = delete;

  // Starts the sampling thread. Call once.
  void Start();
  // Ends the thread after the reading in flight. Idempotent.
  void Stop();

  // One pass at wall time `at` (Unix seconds): reads everything and returns the samples (empty
  // where there is only a baseline yet). The thread calls it every interval; tests call it
  // directly. Not thread-safe: one caller at a time.
  link::MetricsBatch SampleOnce(std::int64_t at);

 private:
  struct Reading {
    runtime::ContainerStats stats;
    SteadyClock::time_point when;
  };
  void Loop();
  bool Stopping();

  runtime::Runtime& runtime_;
  const RunningLookup running_;
  const BatchSink sink_;
  const StatsSamplerOptions options_;
  const SteadyClock& clock_;

  // The sampling thread's (SampleOnce's caller's) only.
  std::map<std::string, Reading> previous_;  // workload id → its last reading
  std::optional<NodeCounters> previous_node_;
  SteadyClock::time_point previous_node_when_;
  bool engine_failing_ = false;  // logged once per run of failures
  bool overran_ = false;         // the last pass took longer than the interval (logged once)

  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;  // guarded by mu_
  std::thread thread_;
};

}  // namespace lattice::agent
