// PostgresStore: the scale-out Store over libpq, with the same semantics as SqliteStore.
// A bounded pool of connections opened on demand; each call borrows one exclusively. A
// connection that broke (server restart, terminated backend, network) is dropped and
// replaced on a later call; when the server cannot be reached every call returns
// kUnavailable within the connect timeout instead of hanging. Several processes may share
// one database: migrations run under a transaction-scoped advisory lock, and operations whose
// atomicity spans rows (first user is admin, invites, join tokens, quotas) lock what they
// read. Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "store/postgres/pg_connection.h"
#include "store/store.h"

namespace lattice::store::postgres {

// The advisory-lock key under which migrations run ("lattice" + 1); other cluster-wide locks
// (e.g. leadership) must use other keys.
inline constexpr std::int64_t kMigrationLockKey = 0x6c61747469636501;

struct PoolOptions {
  int max_connections = 8;
  // How long a call waits for a connection when all are busy before kUnavailable.
  std::chrono::milliseconds acquire_timeout{10000};
};

class PostgresStore final : public Store,
                            public BackupStore,
                            public MetricsStore,
                            public ProbeStore,
                            public NotificationStore {
 public:
  // Connects, applies pending migrations, and keeps that connection in the pool.
  // kUnavailable if the server cannot be reached; kConflict if its schema is newer than
  // this binary's.
  static Result<std::unique_ptr<PostgresStore>> Open(const ConnectOptions& conn,
                                                     const PoolOptions& pool = {});
  PostgresStore(ConnectOptions conn, PoolOptions pool);  // use Open()
  ~PostgresStore() override;

  Status Ping() override;
  int Concurrency() const override { return pool_options_.max_connections; }
  Result<User> CreateUser(const User& user, const Admission& admission) override;
  Result<User> GetUserById(const std::string& id) override;
  Result<User> GetUserByEmail(const std::string& email) override;
  Result<bool> HasUsers() override;
  Status UpdatePassword(const std::string& user_id, const std::string& hash,
                        std::int64_t now) override;
  Status CreateSession(const Session& session) override;
  Result<SessionWithUser> GetSession(const std::string& id) override;
  Status RevokeSession(const std::string& id, std::int64_t now) override;
  Result<std::int64_t> DeleteExpiredSessions(std::int64_t now) override;

  // pg_nodes.cc
  Status CreateJoinToken(const JoinToken& token) override;
  Status JoinNode(const std::string& token_hash, const Node& node, std::int64_t now) override;
  Result<Node> GetNode(const std::string& id) override;
  Result<std::vector<Node>> ListNodes() override;
  Result<std::vector<Node>> GetNodes(const std::vector<std::string>& ids) override;
  Status UpdateNodeInfo(const Node& node) override;
  Status SetNodeStatus(const std::string& id, NodeStatus status,
                       std::int64_t last_heartbeat) override;
  Status ClaimNodeLink(const std::string& node_id, const std::string& replica_id,
                       std::int64_t now) override;
  Result<bool> ReleaseNodeLink(const std::string& node_id, const std::string& replica_id,
                               std::int64_t now) override;
  Status TouchReplica(const Replica& replica) override;
  Result<std::vector<Replica>> ListReplicas(std::int64_t seen_since) override;
  Result<std::vector<std::string>> ReapReplicas(std::int64_t stale_before,
                                                std::int64_t now) override;

  // pg_invites.cc
  Status CreateInvite(const Invite& invite) override;
  Result<std::vector<Invite>> ListInvites() override;
  Status DeleteInvite(const std::string& id) override;

  // pg_audit.cc
  Status AppendAudit(const AuditEvent& e) override;
  Result<std::vector<AuditEvent>> ListAudit(std::int64_t before, int limit) override;

  // pg_workloads.cc
  using Store::CreateWorkload;
  Status CreateWorkload(const NewWorkload& n) override;
  Result<Workload> GetWorkload(const std::string& id) override;
  Result<std::vector<Workload>> ListWorkloads(const WorkloadFilter& filter) override;
  Result<std::map<std::string, std::int64_t>> AllocatedMemoryByNode(
      std::int64_t default_request_mb) override;
  Result<Workload> SetDesiredState(const std::string& id, DesiredState desired,
                                   WorkloadStatus status, std::int64_t now) override;
  Status SetPlacement(const std::string& id, const std::string& node_id, WorkloadStatus status,
                      const std::string& reason, std::int64_t now) override;
  Status SetObservedStatus(const std::string& id, std::int64_t observed_generation,
                           WorkloadStatus status, const std::string& reason,
                           const std::string& bindings_json, std::int64_t now) override;
  Status UpdateWorkloadSpec(const std::string& id, const std::string& spec_enc) override;
  Status DeleteWorkload(const std::string& id) override;
  Status AppendEvent(const WorkloadEvent& e) override;
  Result<std::vector<WorkloadEvent>> ListEvents(const std::string& workload_id, int limit) override;

  // pg_ports.cc
  Result<std::vector<PublicPort>> AllocatePublicPorts(
      const std::string& workload_id, const std::vector<int>& container_ports, int low, int high,
      const std::function<bool(int)>& usable) override;
  Result<std::vector<PublicPort>> ListPublicPorts() override;
  Result<std::vector<PublicPort>> ListPublicPortsOf(const std::string& workload_id) override;

  // pg_backups.cc (store/backup_store.h)
  BackupStore& Backups() override { return *this; }
  Status CreateBackupTarget(const BackupTarget& t) override;
  Result<BackupTarget> GetBackupTarget(const std::string& id) override;
  Result<std::vector<BackupTarget>> ListBackupTargets(const std::string& owner_id) override;
  Status DeleteBackupTarget(const std::string& id) override;
  Status RecordTargetProbe(const BackupTarget& t) override;
  Status PutBackupPolicy(const BackupPolicy& p) override;
  Result<BackupPolicy> GetBackupPolicy(const std::string& workload_id) override;
  Status DeleteBackupPolicy(const std::string& workload_id) override;
  Result<bool> RecordArchiveState(const std::string& workload_id, ArchiveState state,
                                  const std::string& message, std::int64_t at) override;
  Result<std::vector<BackupPolicy>> ListBackupPolicies() override;
  Result<std::vector<BackupPolicy>> DueBackupPolicies(std::int64_t now, int limit) override;
  Result<bool> AdvanceBackupSchedule(const std::string& workload_id, std::int64_t expected_due,
                                     std::int64_t next_due) override;
  Status CreateBackup(const Backup& b) override;
  Result<Backup> GetBackup(const std::string& id) override;
  Result<std::vector<Backup>> ListBackups(const std::string& workload_id) override;
  Status FinishBackup(const Backup& b) override;
  Status RecordVerification(const Backup& b) override;
  Result<std::vector<Backup>> FailRunningBackups(const std::string& node_id, std::int64_t now,
                                                 const std::string& message) override;
  Status DeleteBackup(const std::string& id) override;
  Result<bool> MarkVerifying(const std::string& id, std::int64_t expected_verified_at) override;
  Result<std::vector<Backup>> BackupsToReverify(std::int64_t verified_before, int limit) override;
  Result<std::vector<BackupSummary>> SummarizeBackups() override;

  // pg_metrics.cc (store/metrics_store.h)
  MetricsStore& Metrics() override { return *this; }
  Result<std::int64_t> RecordMetrics(const std::string& node_id,
                                     const std::vector<MetricSample>& samples) override;
  Result<std::vector<MetricPoint>> QueryMetrics(const MetricQuery& q) override;
  Result<std::vector<LatestMetric>> LatestMetrics(std::int64_t since) override;
  Result<std::int64_t> PruneMetrics(const MetricRetention& keep, std::int64_t now) override;

  // pg_probes.cc (store/probe_store.h)
  ProbeStore& Probes() override { return *this; }
  Status RecordProbes(const std::vector<ProbeRecord>& records) override;
  Result<std::vector<ProbeRecord>> ProbeEndpoints(const std::string& workload_id) override;
  Result<std::vector<ProbeRecord>> ProbeHistory(const std::string& workload_id, std::int64_t since,
                                                int limit) override;
  Result<std::int64_t> PruneProbes(std::int64_t before) override;
  NotificationStore& Notifications() override { return *this; }
  Status CreateChannel(const NotificationChannel& c) override;
  Result<NotificationChannel> GetChannel(const std::string& id) override;
  Result<std::vector<NotificationChannel>> ListChannels(const std::string& owner_id) override;
  Status DeleteChannel(const std::string& id) override;
  Status AddDeliveries(const std::vector<Delivery>& deliveries) override;
  Result<std::vector<Delivery>> ClaimDueDeliveries(std::int64_t now, std::int64_t lease_until,
                                                   int limit) override;
  Status RecordAttempt(const std::string& delivery_id, const DeliveryAttempt& a) override;
  Result<Delivery> GetDelivery(const std::string& id) override;
  Result<std::vector<Delivery>> ListDeliveries(const std::string& channel_id, int limit) override;
  Result<std::int64_t> PruneDeliveries(std::int64_t before, int keep_per_channel) override;

 private:
  // Exclusive use of one pooled connection; returns it (or, if broken, drops it) on exit.
  class Lease {
   public:
    Lease(PostgresStore& s, std::unique_ptr<Connection> c) : store_(&s), conn_(std::move(c)) {}
    Lease(Lease&& other) noexcept = default;
    Lease& operator=(Lease&&) = delete;
    ~Lease();
    Connection* operator->() { return conn_.get(); }
    Connection& operator*() { return *conn_; }

   private:
    PostgresStore* store_;
    std::unique_ptr<Connection> conn_;
  };
  Result<Lease> Acquire();
  void Release(std::unique_ptr<Connection> c);

  const ConnectOptions conn_options_;  // constant after construction
  const PoolOptions pool_options_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Connection>> idle_;  // guarded by mu_
  int open_ = 0;                                   // guarded by mu_: idle + leased + opening
};

// Applies pending migrations on `c` in one transaction under pg_advisory_xact_lock, so
// replicas starting together migrate exactly once. Exposed for tests.
Status Migrate(Connection& c);

// Lets a sign-up by `user_id` in under `admission` (Store::CreateUser's rules for a server that
// has users), consuming the invite; call inside the sign-up's transaction. pg_invites.cc.
Status Admit(Connection& c, const Admission& admission, const std::string& user_id);

// Append one audit event / insert one public port on `c`, inside the caller's transaction if
// any (pg_audit.cc, pg_ports.cc). A port another workload holds: kConflict, type kPortTaken.
Status InsertAudit(Connection& c, const AuditEvent& e);
Status InsertPublicPort(Connection& c, const PublicPort& p);

// Runs `body` (returning Status) inside BEGIN … COMMIT, rolling back on error. A deadlock or
// serialization failure (SQLSTATE 40…) reruns the whole transaction, a few times at most.
template <typename F>
Status InTransaction(Connection& c, F&& body) {
  constexpr int kAttempts = 5;
  for (int attempt = 1;; ++attempt) {
    Status s = c.ExecScript("BEGIN");
    if (s.ok()) s = body();
    if (s.ok()) s = c.ExecScript("COMMIT");
    if (s.ok()) return s;
    const bool retry = c.last_sqlstate().rfind("40", 0) == 0 && attempt < kAttempts;
    if (!c.broken()) (void)c.ExecScript("ROLLBACK");
    if (!retry) return s;
  }
}

}  // namespace lattice::store::postgres

namespace lattice::store {

// Connects to the PostgreSQL database at `url` (postgres://…) and applies pending migrations,
// with `options` turned into the connection's deadlines. kUnavailable if it cannot be reached;
// kConflict if its schema is newer than this binary's.
Result<std::unique_ptr<Store>> OpenPostgresStore(const std::string& url,
                                                 const StoreOptions& options = {});

}  // namespace lattice::store
