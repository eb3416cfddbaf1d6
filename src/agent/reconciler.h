// Reconciler: the agent's diff loop. It holds the node's desired workloads (as the server
// assigned them) and, on every change and every tick, lists the containers the engine actually
// has (found by the `lattice.workload` label, named deterministically) and hands each workload
// to its own WorkloadSupervisor (workload_supervisor.h), which performs one step towards the
// desired state: running (image, create or adopt, start, readiness), stopped, or deleted. The
// model is Nomad's client: a diff of desired against actual, one runner per allocation.
// Containers of this node whose workload is no longer assigned are stopped (never deleted:
// deleting data is always an explicit `deleted`).
//
// Steps run on a bounded pool of engine workers (`engine_workers` threads). A supervisor has at
// most one step in flight; one still busy is skipped by the pass (never queued twice). So a
// pull that hangs, or any slow engine call, occupies one worker while the other workloads
// proceed; only when every worker is blocked do new steps wait.
//
// Observed state leaves through the StatusSink, once per change of (generation, state, reason,
// bindings); Statuses() returns the latest of each, for re-sending after a reconnect.
//
// Threading: the diff loop runs on its own thread (Start() → Stop()) and makes one blocking
// Runtime call per pass (the list); every other engine call runs on an engine worker. Every
// public method is thread-safe and never blocks on the engine (except Stop(), which waits for
// the steps in flight, each bounded by the runtime's timeouts). The sink is called on engine
// workers and the loop thread, never for the same workload at once, with no lock held; it must
// not call back into Stop(). The Runtime and the clock must outlive the Reconciler.
#pragma once

#include <boost/asio/thread_pool.hpp>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "agent/container_target.h"
#include "agent/log_capture.h"
#include "agent/tenant_networks.h"
#include "agent/workload_supervisor.h"
#include "common/steady_clock.h"
#include "link/protocol.h"
#include "runtime/runtime.h"

namespace lattice::agent {

using StatusSink = std::function<void(const link::StatusReport&)>;

struct ReconcilerOptions {
  std::string node_id;                            // written to the lattice.node label
  std::chrono::milliseconds tick{2000};           // re-check period when nothing changes
  std::chrono::milliseconds fast_tick{100};       // while a workload is starting or restarting
  std::chrono::seconds stop_grace{10};            // SIGTERM → SIGKILL
  std::chrono::seconds ready_timeout{180};        // starting → failed
  std::chrono::milliseconds probe_timeout{2000};  // one readiness attempt
  std::chrono::seconds max_backoff{60};           // between restarts / retries of a failure
  int engine_workers = 4;                         // threads making engine calls (at least 1)
  // One network per tenant (tenant_networks.h). Off only to measure what isolation costs.
  bool tenant_networks = true;
  TenantNetworkOptions networks;
  std::string tool_image = "lattice/pgtools:15";  // restores (restore_job.h)
  // Keeps the workloads' logs (log_capture.h): told what every listing found, drained before a
  // container is replaced, and told to forget a deleted workload. Not owned; may be null.
  LogCapture* logs = nullptr;
};

class Reconciler final : private SupervisorHost {
 public:
  Reconciler(ReconcilerOptions options, runtime::Runtime& runtime, StatusSink sink);
  // With an injected clock (backoffs and readiness deadlines follow it; tests move it).
  Reconciler(ReconcilerOptions options, runtime::Runtime& runtime, StatusSink sink,
             const SteadyClock& clock);
  ~Reconciler() override;  // Stop()
  Reconciler(const Reconciler&) = delete;
  Reconciler& operator=(const Reconciler&) = delete;

  // Starts the diff loop. Call once.
  void Start();
  // Stops the loop and waits for the steps in flight (queued ones are dropped). Containers are
  // left as they are. Idempotent.
  void Stop();

  // The node's full desired state: replaces everything held. Also turns on the stopping of
  // unassigned containers, which waits for this first full list.
  void SetAssignments(std::vector<link::Assignment> items);
  // Adds or replaces one workload (ignored when older than the generation already held).
  void Upsert(link::Assignment assignment);
  // Forgets one workload; its container, if any, is then stopped as unassigned.
  void Remove(const std::string& workload_id);
  // Registries the server's administrator allowed by name (link::Welcome::registries).
  void SetAllowedRegistries(std::vector<std::string> registries);

  // The workload's assignment as held now; nullopt if it is not assigned here. Thread-safe.
  std::optional<link::Assignment> AssignmentOf(const std::string& workload_id) const;
  // The latest status of every assigned workload that has reported one.
  std::vector<link::StatusReport> Statuses() const;
  // How many assigned workloads are reported running.
  int RunningCount() const;
  // The ids of the assigned workloads reported running (what the stats sampler reads).
  std::vector<std::string> RunningWorkloads() const;
  // Where the node reaches the workload's container port, per its supervisor's latest report:
  // the container's own address (no docker-proxy), else a host port this reconciler published.
  // Only a tcp port the workload's assignment declares, never one a caller merely names;
  // nullopt when there is none or the container is not starting or running. Thread-safe.
  std::optional<ContainerTarget> TargetOf(const std::string& workload_id, int container_port) const;

 private:
  static TenantNetworkOptions NetworkOptions(const ReconcilerOptions& o);
  static SupervisorOptions StepOptions(const ReconcilerOptions& o);
  void Loop();
  void Pass();  // one diff of desired against actual; hands out the steps
  // Hands each idle supervisor a step from `actual`, except one whose step ended after
  // `ended_before` (its StepsEnded() before `actual` was listed) was taken.
  void Dispatch(const std::map<std::string, link::Assignment>& desired,
                const std::vector<runtime::ContainerInfo>& actual,
                const std::map<std::string, std::uint64_t>& ended_before);
  // Engine workers: a step ended and wants the next pass at `next`.
  void StepEnded(NextPass next);
  void StopOrphans(const std::vector<runtime::ContainerInfo>& actual,
                   const std::map<std::string, link::Assignment>& desired);
  bool Busy(const std::string& workload_id) const;  // loop thread
  bool Stopping() const;

  // SupervisorHost.
  std::vector<std::string> AllowedRegistries() const override;
  void Report(const link::Assignment& a, WorkloadStatus state, std::string reason, Reach reach,
              std::string detail) override;

  // Constant after construction (networks_ is thread-safe).
  const ReconcilerOptions options_;
  runtime::Runtime& runtime_;
  const StatusSink sink_;
  TenantNetworks networks_;
  const SupervisorContext context_;

  // Protected by mu_.
  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::map<std::string, link::Assignment> desired_;
  std::map<std::string, link::StatusReport> reported_;
  std::map<std::string, std::string> addresses_;  // workload → its running container's address
  std::vector<std::string> registries_;           // allowed by name
  std::set<std::string> orphan_stops_;            // container names being stopped by a worker
  bool have_truth_ = false;
  bool dirty_ = false;  // the desired set changed, or a step wants the next pass now
  bool hurry_ = false;  // a step wants the fast tick
  bool stopping_ = false;

  // Loop thread only.
  std::map<std::string, std::unique_ptr<WorkloadSupervisor>> supervisors_;
  std::map<std::string, bool> orphans_seen_;  // container name → logged
  bool engine_down_ = false;                  // logged once per outage

  std::thread loop_;
  boost::asio::thread_pool engine_pool_;  // options_.engine_workers threads
};

}  // namespace lattice::agent
