// WorkloadSupervisor: one workload's life on this node, in the spirit of Nomad's AllocRunner.
// The Reconciler (the diff loop) owns one per assigned workload; on each pass it lists the
// engine's containers once and hands every supervisor that is not busy one step: the workload's
// assignment and the container the engine has under its name (if any). A step moves the
// container towards the desired state and reports what it saw:
//   running  → ensure the image (registry guard before a pull), create or adopt, write the
//              secret files, start, probe readiness: creating → starting → running; a container
//              that exits on its own is reported failed and restarted after a backoff. A
//              workload restored from a backup (spec.restore) first has its data volume filled
//              by the restore job (restore_job.h), reported as creating, "restoring backup …".
//              A restore in place comes as a new volume epoch: the container is replaced, the
//              restore fills the new (empty) volumes, and the older epochs' volumes are removed
//              only once the workload is ready on the restored data.
//   stopped  → stop (SIGTERM, then SIGKILL after the grace period) → stopped
//   deleted  → remove the container and its named volumes (every epoch's), prune unused tenant
//              networks, delete the logs kept on the node (log_capture.h)
// The supervisor keeps what it learnt for the generation it is acting on (started, ready,
// deadlines, consecutive failures) between steps; a new generation starts afresh.
//
// Threading: at most one step is in flight per supervisor. The diff loop claims it with
// TryClaim() (false while a step runs: the workload is skipped in that pass) and posts Step() to
// an engine worker; Step() makes blocking Runtime calls (bounded by the runtime's timeouts) and
// releases the claim as its very last act, so the loop may destroy an idle supervisor at any
// time. Busy()/TryClaim()/ForgetProgress() are thread-safe; the rest of the state belongs to
// the step in flight. The SupervisorContext must outlive the supervisor.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/log_capture.h"
#include "agent/tenant_networks.h"
#include "agent/workload_container.h"
#include "common/states.h"
#include "common/steady_clock.h"
#include "link/protocol.h"
#include "runtime/runtime.h"

namespace lattice::agent {

// When the diff loop should next look at a workload, as its last step saw it.
enum class NextPass {
  kOnTick,  // nothing pending: the ordinary tick
  kSoon,    // readiness is being probed, or a retry is due within a tick: the fast tick
  kNow,     // a new generation arrived while the step ran: act on it without waiting
};

// The part of ReconcilerOptions a step needs.
struct SupervisorOptions {
  std::string node_id;                            // written to the lattice.node label
  std::chrono::milliseconds tick{2000};           // a retry due sooner than this wants kSoon
  std::chrono::seconds stop_grace{10};            // SIGTERM → SIGKILL
  std::chrono::seconds ready_timeout{180};        // starting → failed
  std::chrono::milliseconds probe_timeout{2000};  // one readiness attempt
  std::chrono::seconds max_backoff{60};           // between restarts / retries of a failure
  bool tenant_networks = true;                    // one network per tenant (tenant_networks.h)
  std::string tool_image = "lattice/pgtools:15";  // the restore job's (restore_job.h)
  LogCapture* logs = nullptr;  // drained before a replacement, told of a deletion; may be null
};

// What a supervisor asks of the reconciler that owns it. Thread-safe.
class SupervisorHost {
 public:
  virtual ~SupervisorHost() = default;
  // Registries the administrator allowed by name (link::Welcome::registries).
  virtual std::vector<std::string> AllowedRegistries() const = 0;
  // Records and sends `a`'s status, unless (generation, state, reason, bindings) is unchanged or
  // `a` is no longer the assignment held; `reach.address` is kept for tunnels whatever the
  // rest (a re-created container has a new one). `detail` is for logs and administrators only.
  // `state` is one the agent observes: creating, starting, running, stopped, failed, deleted.
  virtual void Report(const link::Assignment& a, WorkloadStatus state, std::string reason,
                      Reach reach, std::string detail) = 0;
};

// What every supervisor of one reconciler shares. Owned by the reconciler; all thread-safe.
struct SupervisorContext {
  SupervisorOptions options;
  runtime::Runtime& runtime;
  const SteadyClock& clock;
  TenantNetworks& networks;
  SupervisorHost& host;
};

class WorkloadSupervisor {
 public:
  explicit WorkloadSupervisor(const SupervisorContext& context) : ctx_(context) {}
  WorkloadSupervisor(const WorkloadSupervisor&) = delete;
  WorkloadSupervisor& operator=(const WorkloadSupervisor&) = delete;

  // Claims the supervisor for a step towards `generation`. False when a step is in flight:
  // nothing is queued; when that step acts on another generation, its end asks for the next
  // pass at once (NextPass::kNow).
  bool TryClaim(std::int64_t generation);
  // Whether a step is claimed or in flight.
  bool Busy() const { return busy_.load(std::memory_order_acquire); }
  // How many steps have ended. A claim made after a step ended that the caller's view of the
  // engine predates must be given back (Unclaim): that view may miss what the step did.
  std::uint64_t StepsEnded() const { return ended_.load(std::memory_order_acquire); }
  // Gives back a claim TryClaim() granted, with no step run.
  void Unclaim() { busy_.store(false, std::memory_order_release); }
  // The next step starts afresh, as for a new generation (the workload left the desired set
  // while its step ran; it may come back with the same generation).
  void ForgetProgress() { forget_.store(true); }

  // One step towards `a`'s desired state; `actual` is the engine's container named after the
  // workload (nullopt: none). Call only after TryClaim() returned true; releases the claim.
  NextPass Step(const link::Assignment& a, std::optional<runtime::ContainerInfo> actual);

 private:
  using TimePoint = SteadyClock::time_point;
  // What the supervisor remembers about its workload, for the generation it is acting on.
  struct Progress {
    std::int64_t generation = -1;
    bool expect_running = false;    // started (or adopted running) for this generation
    bool ready = false;             // readiness passed since the last start
    bool volumes_removed = false;   // desired deleted: done
    bool logs_removed = false;      // desired deleted: the kept logs are gone too
    bool restored = false;          // spec.restore: the data volume holds the restore
    bool replaced_removed = false;  // the volumes a restore in place replaced are gone
    TimePoint ready_deadline;
    TimePoint running_since;
    TimePoint retry_at;       // no new attempt before this (after a failure)
    int failures = 0;         // consecutive failures/restarts, for the backoff
    std::string probe_error;  // the last failed readiness attempt
  };

  // The step proper: true when the workload wants the fast tick.
  bool Reconcile(const link::Assignment& a, const runtime::ContainerInfo* c);
  void EnsureRunning(const link::Assignment& a, const runtime::ContainerInfo* c);
  void EnsureStopped(const link::Assignment& a, const runtime::ContainerInfo* c);
  void EnsureDeleted(const link::Assignment& a, const runtime::ContainerInfo* c);
  // Image, network, create or adopt, inspect: the container, or nullopt after reporting why not.
  std::optional<runtime::ContainerInfo> CreateOrAdopt(const link::Assignment& a,
                                                      const std::string& network);
  // spec.restore, before the container exists: true once the volume holds the restore; else
  // it is running (reported) or failed (reported, retried after the backoff).
  bool Restored(const link::Assignment& a, const std::string& network);
  // Secret files, start, inspect; then readiness (CheckReady).
  void StartContainer(const link::Assignment& a, const runtime::ContainerInfo& c);
  void CheckReady(const link::Assignment& a, const runtime::ContainerInfo& c);
  // After a restore in place, once the workload is ready on its new volumes: removes the
  // volumes of the epochs before (the data it replaced). Once per generation; a failure is
  // logged and tried again at the next generation (the workload runs on regardless).
  void RemoveReplacedVolumes(const link::Assignment& a);
  // Counts a failure and reports it; the next attempt waits for the backoff.
  void Fail(const link::Assignment& a, std::string reason, std::string detail = {});
  void Report(const link::Assignment& a, WorkloadStatus state, std::string reason = {},
              Reach reach = {}, std::string detail = {});
  // The network `a`'s container joins: its tenant's, or "" (the engine's default bridge).
  std::string NetworkFor(const link::Assignment& a) const;
  // Removes tenant networks no container names any more (after a workload is deleted).
  void PruneNetworks();
  std::chrono::seconds Backoff(int failures) const;

  const SupervisorContext& ctx_;

  // Thread-safe: the claim.
  std::atomic<bool> busy_{false};
  std::atomic<std::uint64_t> ended_{0};
  std::atomic<std::int64_t> claimed_generation_{-1};
  std::atomic<bool> owed_{false};    // a pass brought a new generation while busy
  std::atomic<bool> forget_{false};  // ForgetProgress() was called

  // The step in flight only.
  Progress p_;
};

}  // namespace lattice::agent
