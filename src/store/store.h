// Store: the control plane's persistence interface. Handlers depend only on this; SQLite
// (embedded default) and PostgreSQL (scale-out) implement it with the same semantics.
// Every method is safe to call from any thread and is atomic: it either fully happens or
// returns an error and changes nothing. Errors: kNotFound, kConflict (unique constraints),
// kUnavailable (the database cannot be reached), kInternal.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "store/backup_store.h"
#include "store/metrics_store.h"
#include "store/models.h"
#include "store/notification_store.h"
#include "store/probe_store.h"

namespace lattice::store {

class Store {
 public:
  virtual ~Store() = default;

  // Cheap round trip to the database (readiness).
  virtual Status Ping() = 0;
  // How many calls can run at once (the size of the connection pool): callers that run store
  // calls on a pool of their own size it by this; more threads would only wait for a
  // connection. Constant after construction.
  virtual int Concurrency() const = 0;
  // Backup targets, policies and backups (store/backup_store.h), in the same database.
  virtual BackupStore& Backups() = 0;
  // Metric samples and their rollups (store/metrics_store.h), in the same database.
  virtual MetricsStore& Metrics() = 0;
  // Endpoint probe states and history (store/probe_store.h), in the same database.
  virtual ProbeStore& Probes() = 0;
  // Notification channels and their delivery log (store/notification_store.h).
  virtual NotificationStore& Notifications() = 0;

  // Inserts `user` if `admission` lets it in, deciding atomically (in one transaction):
  //  - no user exists yet: it becomes the "admin", whatever the policy (an invite is not used);
  //  - otherwise it is a "user", admitted by the policy: kOpen admits anyone; kClosed nobody;
  //    kInvite only with the hash of an invite that is unused and not expired at
  //    `admission.now`, which is marked used by the new user in the same transaction (so an
  //    invite admits exactly one account even under concurrent sign-ups, and a sign-up that
  //    fails for another reason leaves it unused).
  // The stored role is returned in the result. kConflict if the email is taken.
  // kPermissionDenied when not admitted, with `type` "registration-closed" (kClosed),
  // "invite-required" (kInvite without a hash) or "invite-invalid" (unknown, used or expired).
  virtual Result<User> CreateUser(const User& user, const Admission& admission) = 0;
  virtual Result<User> GetUserById(const std::string& id) = 0;
  virtual Result<User> GetUserByEmail(const std::string& email) = 0;
  // Whether any account exists (if not, the next sign-up creates the admin).
  virtual Result<bool> HasUsers() = 0;
  // Replaces the password hash and revokes every session of the user, in one transaction.
  virtual Status UpdatePassword(const std::string& user_id, const std::string& hash,
                                std::int64_t now) = 0;

  virtual Status CreateSession(const Session& session) = 0;
  // The session and its user. kNotFound if either is missing.
  virtual Result<SessionWithUser> GetSession(const std::string& id) = 0;
  // Marks a session revoked (idempotent). kNotFound if it does not exist.
  virtual Status RevokeSession(const std::string& id, std::int64_t now) = 0;
  // Deletes sessions that expired before `now` (housekeeping). Returns how many.
  virtual Result<std::int64_t> DeleteExpiredSessions(std::int64_t now) = 0;

  // --- nodes and join tokens
  virtual Status CreateJoinToken(const JoinToken& token) = 0;
  // Marks the token with this hash used by `node_id`, atomically with creating `node`.
  // kUnauthenticated if no such token, or it expired, or it was already used.
  virtual Status JoinNode(const std::string& token_hash, const Node& node, std::int64_t now) = 0;
  virtual Result<Node> GetNode(const std::string& id) = 0;
  virtual Result<std::vector<Node>> ListNodes() = 0;
  // The nodes among `ids` that exist, in one round trip (unknown ids are left out; order is
  // unspecified). A list of workloads names its nodes with this, not one GetNode per item.
  virtual Result<std::vector<Node>> GetNodes(const std::vector<std::string>& ids) = 0;
  // Updates what the agent reports about itself at each (re)connection.
  virtual Status UpdateNodeInfo(const Node& node) = 0;
  virtual Status SetNodeStatus(const std::string& id, NodeStatus status,
                               std::int64_t last_heartbeat) = 0;

  // --- replicas and agent links
  // The node's agent is linked to `replica_id`: status "ready", heartbeat `now`, down_since 0.
  // kNotFound if there is no such node.
  virtual Status ClaimNodeLink(const std::string& node_id, const std::string& replica_id,
                               std::int64_t now) = 0;
  // The link of the node on `replica_id` ended: status "down", down_since `now`, no replica —
  // only if the node's link is still `replica_id`'s (another replica may have claimed it
  // since). Returns whether the node changed.
  virtual Result<bool> ReleaseNodeLink(const std::string& node_id, const std::string& replica_id,
                                       std::int64_t now) = 0;
  // Records that the replica is alive now (inserting its row the first time).
  virtual Status TouchReplica(const Replica& replica) = 0;
  // Replicas seen at or after `seen_since`, oldest row first (agents learn where to fail over).
  virtual Result<std::vector<Replica>> ListReplicas(std::int64_t seen_since) = 0;
  // Replicas not seen since `stale_before` are gone: in one transaction, every node linked to
  // one of them (or to a replica with no row) becomes "down", down since that replica was last
  // seen (`now` if unknown), and their rows are deleted. Returns the ids of those nodes.
  virtual Result<std::vector<std::string>> ReapReplicas(std::int64_t stale_before,
                                                        std::int64_t now) = 0;

  // --- invites (sign-up invitations)
  virtual Status CreateInvite(const Invite& invite) = 0;
  // Every invite, newest first, with the creator's and user's emails filled in.
  virtual Result<std::vector<Invite>> ListInvites() = 0;
  // Removes an invite (used or not); kNotFound if there is none with this id.
  virtual Status DeleteInvite(const std::string& id) = 0;

  // --- audit trail (append-only: there is no way to change or remove an event)
  // Stores `e` (its `id` is ignored; the store assigns the next one).
  virtual Status AppendAudit(const AuditEvent& e) = 0;
  // The newest `limit` events whose id is below `before` (every event if `before` <= 0),
  // newest first; page on with `before` = the last id returned.
  virtual Result<std::vector<AuditEvent>> ListAudit(std::int64_t before, int limit) = 0;

  // --- workloads
  // Everything a new workload starts with, written by CreateWorkload in one transaction.
  struct NewWorkload {
    Workload workload;
    Quota quota;
    // Public ports picked beforehand (PlanPublicPorts over the ports known to be held, the bind
    // probe done outside any transaction). A port another workload took meanwhile fails the
    // whole create with kConflict of type kPortTaken: plan again from ListPublicPorts.
    std::vector<PublicPort> ports;
    std::optional<WorkloadEvent> first_event;  // its workload_id is the workload's
    std::optional<AuditEvent> audit;           // the create's audit record, if any
  };
  static constexpr char kPortTaken[] = "public-port-taken";
  // Inserts the workload, its ports, first event and audit record if its owner's workloads that
  // are not deleted, plus this one (store::Charge), stay within `quota` (store::CheckQuota's
  // kPermissionDenied otherwise). The check and the inserts are one serialised transaction:
  // two concurrent creates cannot both take the last slot, and nothing is written unless all
  // is. kConflict if the owner already has a workload with this name.
  virtual Status CreateWorkload(const NewWorkload& n) = 0;
  // The workload alone (no ports, event or audit record).
  Status CreateWorkload(const Workload& w, const Quota& quota) {
    return CreateWorkload(NewWorkload{w, quota, {}, std::nullopt, std::nullopt});
  }
  virtual Result<Workload> GetWorkload(const std::string& id) = 0;
  // Ordered by creation time, then id.
  virtual Result<std::vector<Workload>> ListWorkloads(const WorkloadFilter& filter) = 0;
  // For each node with workloads placed on it that are not deleted: the sum of their memory
  // requests, a request of 0 MB or less counting as `default_request_mb` (the scheduler's
  // view, in one aggregate query instead of every workload row).
  virtual Result<std::map<std::string, std::int64_t>> AllocatedMemoryByNode(
      std::int64_t default_request_mb) = 0;
  // Sets the desired state and bumps the generation; returns the updated workload.
  virtual Result<Workload> SetDesiredState(const std::string& id, DesiredState desired,
                                           WorkloadStatus status, std::int64_t now) = 0;
  // Places the workload on a node (or clears placement with an empty node_id).
  virtual Status SetPlacement(const std::string& id, const std::string& node_id,
                              WorkloadStatus status, const std::string& reason,
                              std::int64_t now) = 0;
  // Records what a node observed. Ignored (ok, no change) unless `observed_generation` is the
  // current generation, so replays and late reports about superseded intents are harmless.
  virtual Status SetObservedStatus(const std::string& id, std::int64_t observed_generation,
                                   WorkloadStatus status, const std::string& reason,
                                   const std::string& bindings_json, std::int64_t now) = 0;
  // Replaces the sealed spec (a storage-format migration, or a restore in place, which then
  // bumps the generation with SetDesiredState; nothing else changes here, not even updated_at).
  // kNotFound if there is no such workload.
  virtual Status UpdateWorkloadSpec(const std::string& id, const std::string& spec_enc) = 0;
  // Deletes the workload, its events, its public ports, its metrics and its probe results.
  virtual Status DeleteWorkload(const std::string& id) = 0;
  virtual Status AppendEvent(const WorkloadEvent& e) = 0;

  // --- the edge's public ports
  // Gives each of `container_ports` of the workload a public port in [low, high], atomically:
  // ports it already holds are kept (idempotent), missing ones get the lowest port that no
  // workload holds and for which `usable(port)` is true. Returns all of the workload's ports.
  // kUnavailable if the range has no port left (nothing is allocated then).
  virtual Result<std::vector<PublicPort>> AllocatePublicPorts(
      const std::string& workload_id, const std::vector<int>& container_ports, int low, int high,
      const std::function<bool(int)>& usable) = 0;
  // Every allocated public port, ordered by port.
  virtual Result<std::vector<PublicPort>> ListPublicPorts() = 0;
  // One workload's public ports, ordered by port.
  virtual Result<std::vector<PublicPort>> ListPublicPortsOf(const std::string& workload_id) = 0;
  // The most recent `limit` events, oldest first.
  virtual Result<std::vector<WorkloadEvent>> ListEvents(const std::string& workload_id,
                                                        int limit) = 0;
};

// Tuning of the engines; the defaults suit production.
struct StoreOptions {
  // PostgreSQL: how long one round trip may take before the call fails with kUnavailable and
  // its connection is dropped (a frozen or unreachable server). The server-side
  // statement_timeout is 3/4 of it (so the server's clean timeout normally fires first), and
  // connecting or waiting for a pooled connection is bounded by it too (libpq's connect
  // timeout is at least 2 s). SQLite ignores it.
  std::chrono::milliseconds round_trip_deadline{20000};
};

}  // namespace lattice::store
