// ControlPlane: the desired-state core of the server. Users change what should run (create,
// stop, start, delete); the scheduler places pending workloads on ready nodes; agents report
// what is (status per generation) and the control plane records it, keeps each workload's
// timeline, and tells browsers (EventBus) and agents (AgentHub) about changes.
// Three jobs live in services of their own, which it owns and drives: the node side (join
// tokens, agent authentication, link bookkeeping, node loss by timing: NodeRegistry,
// node_registry.h), the placement pass with its tally (Placer, placer.h) and the edge's route
// table (PublicRoutes, public_routes.h). Its node methods delegate to the registry.
// Everything durable is in the store, so a restarted server loses nothing.
// Holds references to its collaborators, which must outlive it. Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/keyring.h"
#include "common/principal.h"
#include "common/result.h"
#include "control/agent_hub.h"
#include "control/alerts.h"
#include "control/cluster.h"
#include "control/create_extras.h"
#include "control/event_bus.h"
#include "control/node_registry.h"
#include "control/placer.h"
#include "control/public_routes.h"
#include "control/views.h"
#include "link/protocol.h"
#include "store/store.h"
#include "templates/admission.h"
#include "templates/template.h"

namespace lattice::control {

struct ControlOptions {
  templates::ImageConfig images;
  int heartbeat_seconds = 5;
  std::int64_t lost_grace_seconds = 30;  // a silent node's workloads become `lost` after this
  // A replica that has not refreshed its row for this long is gone: its nodes go down.
  std::int64_t replica_timeout_seconds = 10;
  std::int64_t join_token_ttl_seconds = 3600;
  store::Quota quota;  // per user, checked when a workload is created
  // What workloads may ask for (registries, user ids, capabilities); checked at create.
  templates::AdmissionPolicy admission;
  // What agents dial (https://HOST:PORT), shown in join commands. Empty: the server's own
  // listening address, learned through SetDefaultAdvertiseUrl once it is bound.
  std::string advertise_url;
  // The edge (tunnels): each exposed port of a workload holds a public port in
  // [public_port_low, public_port_high] for the workload's life, shown to users at public_host.
  // public_port_high == 0: no edge; endpoints then name the node's own address.
  std::string public_host;
  int public_port_low = 0;
  int public_port_high = 0;
  std::function<bool(int)> public_port_usable;  // e.g. "can be bound now"; unset: any
  // The server CA's fingerprint (tls::ServerPki::Fingerprint), carried by every join token so
  // the agent can pin it.
  std::string ca_fingerprint;
};

class ControlPlane {
 public:
  // `alerts` hears of workloads that fail, are lost or recover, of owners nearly out of quota,
  // and (through the node registry) of nodes lost and back.
  ControlPlane(store::Store& store, const Clock& clock, const Keyring& keys, EventBus& events,
               AgentHub& hub, Cluster& cluster, AlertSink& alerts, ControlOptions opts);
  ControlPlane(const ControlPlane&) = delete;
  ControlPlane& operator=(const ControlPlane&) = delete;

  // --- users (every call is owner-scoped: another user's workload is kNotFound)
  // One store transaction writes the workload, its public ports, its first event and `audit`
  // (the create's record, its target filled in here); nothing is read back.
  // `extras` (server-made workloads only) are applied after validation and admission.
  Result<WorkloadView> CreateWorkload(const Principal& who, const templates::WorkloadRequest& req,
                                      std::optional<store::AuditEvent> audit = std::nullopt,
                                      const CreateExtras& extras = {});
  // With its endpoints' current probe states (WorkloadView::probes).
  Result<WorkloadView> GetWorkload(const Principal& who, const std::string& id);
  Result<std::vector<WorkloadView>> ListWorkloads(const Principal& who);
  Result<WorkloadView> SetDesired(const Principal& who, const std::string& id,
                                  DesiredState desired);
  // Restores `restore` over the workload's own data (docs/backups.md "Restore in place"): a new
  // volume epoch with `restore` in its spec and a new generation, desired running, `event` on its
  // timeline. The agent fills new volumes and removes the old ones only once the workload is
  // ready on them. kConflict while it is being deleted, not placed, or still restoring.
  Result<WorkloadView> RestoreInPlace(const Principal& who, const std::string& id,
                                      templates::RestoreSource restore, const std::string& event);
  Result<std::vector<store::WorkloadEvent>> Timeline(const Principal& who, const std::string& id);
  // Where the workload runs (for logs): kNotFound / kConflict if it has no node yet.
  Result<std::string> NodeOf(const Principal& who, const std::string& id);

  // --- nodes: the registry's (node_registry.h states their contracts)
  Result<JoinTokenIssued> CreateJoinToken(const std::string& created_by) {
    return registry_.CreateJoinToken(created_by);
  }
  Result<std::vector<NodeView>> ListNodes() { return registry_.ListNodes(); }

  // --- agent link
  Result<link::Welcome> AuthenticateAgent(const link::Hello& hello) {
    return registry_.AuthenticateAgent(hello);
  }
  // After the link is attached: marks the node ready, sends its assignments, schedules.
  void OnAgentConnected(const std::string& node_id);
  void OnAgentDisconnected(const std::string& node_id) { registry_.OnAgentDisconnected(node_id); }
  // Applies an agent's report. A report about a workload that is not (or no longer) the
  // node's, or about a superseded generation, is ignored (Ok). kUnavailable if the store could
  // not be read or written: the report was not applied and may be offered again.
  Status OnStatus(const std::string& node_id, const link::StatusReport& report);
  void OnHeartbeat(const std::string& node_id) { registry_.OnHeartbeat(node_id); }

  // Periodic duties, every couple of seconds on every replica: refresh this replica's row;
  // on the leader only, also notice replicas gone silent (their nodes go down), place pending
  // workloads and mark the workloads of nodes down longer than the grace `lost`. A replica
  // that has just become leader counts the grace from then.
  void Tick();
  // Runs the placement pass that a request during the last pass's gap left owed (see
  // SchedulePending). Called every few hundred milliseconds, off the I/O threads.
  void ScheduleIfOwed();

  // At start-up: a lone server (not Shared) knows no agent is connected yet, so every node is
  // down until its agent dials in; with replicas the leader sorts that out (ReapReplicas).
  // Loads the public ports. The lost-grace clock starts now. First rewrites every stored spec
  // in an older storage format in the current one (MigrateStoredSpecs).
  void RecoverAfterRestart();
  // Re-seals specs written in an older storage format (templates/spec_storage.h) in the
  // current one; idempotent, so replicas starting together are harmless. Returns how many.
  int MigrateStoredSpecs();

  // A message from another replica (Cluster::Handler): re-publishes what changed there to this
  // replica's SSE subscribers and edge, pushes it to agents linked here, schedules if leader.
  void OnClusterMessage(const std::string& kind, const boost::json::object& body);
  // The advertise URL in use (what agents dial to reach this replica).
  std::string AdvertiseUrl() { return registry_.AdvertiseUrl(); }

  // The URL shown in join commands, once the real listening address is known (--listen may
  // name port 0). Ignored if the operator set --advertise-url.
  void SetDefaultAdvertiseUrl(std::string url) { registry_.SetDefaultAdvertiseUrl(std::move(url)); }

  // --- the edge
  // Told a workload's routes whenever they may have changed (an empty list: none any more).
  // Called on the thread making the change; set once, before serving.
  using RouteObserver = PublicRoutes::Observer;
  void SetRouteObserver(RouteObserver observer);
  // Every route, from the store (the edge's starting point).
  std::vector<PublicRoute> Routes();

 private:
  // The owner's view of `w`; without credentials (nothing decrypted) for events, which never
  // carry secrets.
  enum class Secrets { kInclude, kOmit };
  // The node's name and address come from `nodes` when given (a list reads them at once),
  // else from the store.
  Result<WorkloadView> View(store::Workload w, Secrets secrets = Secrets::kInclude,
                            const std::map<std::string, store::Node>* nodes = nullptr);
  Result<store::Workload> Owned(const Principal& who, const std::string& id);
  // Asks for a placement pass. A pass reads every node and every node's allocation, so a
  // request made within kPassGap of the last pass is owed instead (ScheduleIfOwed pays it):
  // a burst of 10,000 creates or agent connections costs a few passes, not 10,000, while a
  // lone create is still placed before its response. On a follower: asks the leader.
  // `placed`, if given, receives the workloads this call placed (id → node id).
  void SchedulePending(std::map<std::string, std::string>* placed = nullptr);
  // One placement pass, now (leader only). Node allocations come from a tally kept by the
  // passes themselves, and the nodes from the last pass's read unless one changed since;
  // `recount` (every Tick) rereads both from the store, and a local delete triggers a
  // recount, so a delete made on another replica frees its memory within one Tick.
  void PlacePending(bool recount = false, std::map<std::string, std::string>* placed = nullptr);
  // The placer's hook: a placement decision was written.
  void OnPlaced(const store::Workload& w, WorkloadStatus status, const std::string& message);
  // The workload's rendered spec, unsealed and decoded from its stored format.
  Result<templates::RenderedWorkload> SpecOf(const store::Workload& w) const;
  Result<link::Assignment> AssignmentFor(const store::Workload& w);
  void PushToNode(const store::Workload& w);
  void Record(const store::Workload& w, WorkloadStatus status, const std::string& message);
  // Raises an alert about `w` (alerts.h), unless this replica raised the same kind for it less
  // than kAlertQuietSeconds ago: a crash loop is one failed (and one recovered) alert per
  // quiet period, not one per restart.
  void Alert(const store::Workload& w, AlertKind kind, const std::string& message);
  // Every Tick, for the owners who created workloads since the last: alerts those whose use of
  // a quota reached 80 % (once, until it drops below again). Off the create path, which stays
  // one store call.
  void CheckQuotas();
  // Tells this replica's subscribers and edge, and the other replicas.
  void PublishWorkload(const std::string& id);
  void PublishDeleted(const std::string& id, const std::string& owner_id);
  void PublishDeletedLocally(const std::string& id, const std::string& owner_id);
  // This replica's subscribers and edge only. Returns whether the workload still exists.
  bool PublishWorkloadLocally(const std::string& id);
  // The same for a record the caller holds (just written): no read.
  void PublishWorkloadLocally(store::Workload w);
  // Marks the workloads of the nodes lost by now (NodeRegistry::LostNodes) `lost`.
  void MarkLost(std::int64_t now);
  void Forget(const std::string& workload_id);  // purged: drop its ports and routes

  store::Store& store_;
  const Clock& clock_;
  const Keyring& keys_;
  EventBus& events_;
  AgentHub& hub_;
  Cluster& cluster_;
  AlertSink& alerts_;
  const ControlOptions opts_;
  PublicRoutes routes_;    // the edge's ports and routes (thread-safe)
  NodeRegistry registry_;  // nodes, agent links, node loss (thread-safe)
  Placer placer_;          // the placement pass and its tally (thread-safe)

  static constexpr std::chrono::milliseconds kPassGap{100};
  std::mutex restore_in_place_mu_;  // RestoreInPlace's read-modify-write of the spec
  static constexpr std::int64_t kAlertQuietSeconds = 600;
  std::mutex alerted_mu_;
  // (workload id, kind) → when last raised; guarded by alerted_mu_
  std::map<std::pair<std::string, AlertKind>, std::int64_t> alerted_;
  std::mutex quota_mu_;
  std::set<std::string> quota_owed_;     // guarded by quota_mu_: owners who created since Tick
  std::set<std::string> quota_alerted_;  // guarded by quota_mu_: owners alerted at >= 80 %
  std::mutex owed_mu_;
  bool schedule_owed_ = false;                       // guarded by owed_mu_
  std::chrono::steady_clock::time_point last_pass_;  // guarded by owed_mu_
};

}  // namespace lattice::control
