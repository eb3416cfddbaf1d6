// Reconciler: the agent's heart. It holds the node's desired workloads (as the server assigned
// them) and, on every change and every tick, compares them with the containers the engine
// actually has (found by the `lattice.workload` label, named deterministically) and acts on the
// difference:
//   desired running  → ensure the image, create (or adopt an existing container of that name),
//                      start, probe readiness: reports creating → starting → running; a container
//                      that exits on its own is reported failed and restarted with backoff
//   desired stopped  → stop (SIGTERM, then SIGKILL after the grace period) → stopped
//   desired deleted  → remove the container and its named volumes → deleted
// Containers of this node whose workload is no longer assigned are stopped (never deleted:
// deleting data is always an explicit `deleted`).
//
// Observed state leaves through the StatusSink, once per change of (generation, state, reason,
// bindings); Statuses() returns the latest of each, for re-sending after a reconnect.
//
// Threading: all work happens on one worker thread (Start() → Stop()) making blocking Runtime
// calls. Every public method is thread-safe and never blocks on the engine (except Stop(),
// which waits for the call in flight). The sink is called on the worker thread with no lock
// held; it must not call back into Stop(). The Runtime must outlive the Reconciler.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "agent/tenant_networks.h"
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
  // One network per tenant (tenant_networks.h). Off only to measure what isolation costs.
  bool tenant_networks = true;
  TenantNetworkOptions networks;
};

class Reconciler {
 public:
  Reconciler(ReconcilerOptions options, runtime::Runtime& runtime, StatusSink sink);
  ~Reconciler();  // Stop()
  Reconciler(const Reconciler&) = delete;
  Reconciler& operator=(const Reconciler&) = delete;

  // Starts the worker thread. Call once.
  void Start();
  // Stops the worker (waits for the engine call in flight). Containers are left as they are.
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

  // The latest status of every assigned workload that has reported one.
  std::vector<link::StatusReport> Statuses() const;
  // How many assigned workloads are reported running.
  int RunningCount() const;
  // The host port (on the node's loopback) this reconciler published for the workload's
  // container port, per its latest report; nullopt if it published none. Thread-safe.
  std::optional<int> PublishedPort(const std::string& workload_id, int container_port) const;

 private:
  using Clock = std::chrono::steady_clock;
  // What the worker remembers about one workload, for the generation it was acting on.
  struct Progress {
    std::int64_t generation = -1;
    bool expect_running = false;   // started (or adopted running) for this generation
    bool ready = false;            // readiness passed since the last start
    bool volumes_removed = false;  // desired deleted: done
    Clock::time_point ready_deadline;
    Clock::time_point running_since;
    Clock::time_point retry_at;  // no new attempt before this (after a failure)
    int failures = 0;            // consecutive failures/restarts, for the backoff
    std::string probe_error;     // the last failed readiness attempt
  };

  static TenantNetworkOptions NetworkOptions(const ReconcilerOptions& o);
  void Loop();
  bool Pass();  // one reconciliation; true when something wants the fast tick
  bool ReconcileOne(const link::Assignment& a, const runtime::ContainerInfo* c, Progress& p);
  void EnsureRunning(const link::Assignment& a, const runtime::ContainerInfo* c, Progress& p);
  void EnsureStopped(const link::Assignment& a, const runtime::ContainerInfo* c, Progress& p);
  void EnsureDeleted(const link::Assignment& a, const runtime::ContainerInfo* c, Progress& p);
  void CheckReady(const link::Assignment& a, const runtime::ContainerInfo& c, Progress& p);
  void StopOrphans(const std::vector<runtime::ContainerInfo>& actual,
                   const std::map<std::string, link::Assignment>& desired);
  void Report(const link::Assignment& a, std::string state, std::string reason,
              std::vector<link::PortBindingReport> bindings = {}, std::string detail = {});
  // The network `a`'s container joins: its tenant's, or "" (the engine's default bridge).
  std::string NetworkFor(const link::Assignment& a) const;
  // Removes tenant networks no container names any more (after a workload is deleted).
  void PruneNetworks();
  std::chrono::seconds Backoff(int failures) const;
  bool Stopping() const;

  // Constant after construction.
  const ReconcilerOptions options_;
  runtime::Runtime& runtime_;
  const StatusSink sink_;

  // Protected by mu_.
  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::map<std::string, link::Assignment> desired_;
  std::map<std::string, link::StatusReport> reported_;
  std::vector<std::string> registries_;  // allowed by name
  bool have_truth_ = false;
  bool dirty_ = false;
  bool stopping_ = false;

  // Worker thread only.
  TenantNetworks networks_;
  std::map<std::string, Progress> progress_;
  std::map<std::string, bool> orphans_seen_;  // container name → logged
  bool engine_down_ = false;                  // logged once per outage

  std::thread worker_;
};

}  // namespace lattice::agent
