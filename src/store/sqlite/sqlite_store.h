// SqliteStore: the embedded Store. A small pool of connections to one WAL database file;
// each call borrows one connection exclusively, so readers run in parallel and writers are
// serialised by SQLite itself (busy timeout 5 s). Thread-safe.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "store/sqlite/sqlite_db.h"
#include "store/store.h"

namespace lattice::store::sqlite {

class SqliteStore final : public Store,
                          public BackupStore,
                          public MetricsStore,
                          public ProbeStore,
                          public NotificationStore {
 public:
  // Opens `path`, applies migrations, and fills a pool of `pool_size` connections.
  static Result<std::unique_ptr<SqliteStore>> Open(const std::string& path, int pool_size = 4);

  Status Ping() override;
  int Concurrency() const override { return pool_size_; }
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

  // sqlite_nodes.cc
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

  // sqlite_invites.cc
  Status CreateInvite(const Invite& invite) override;
  Result<std::vector<Invite>> ListInvites() override;
  Status DeleteInvite(const std::string& id) override;

  // sqlite_audit.cc
  Status AppendAudit(const AuditEvent& e) override;
  Result<std::vector<AuditEvent>> ListAudit(std::int64_t before, int limit) override;

  // sqlite_workloads.cc
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
  Result<std::vector<PublicPort>> AllocatePublicPorts(
      const std::string& workload_id, const std::vector<int>& container_ports, int low, int high,
      const std::function<bool(int)>& usable) override;
  Result<std::vector<PublicPort>> ListPublicPorts() override;
  Result<std::vector<PublicPort>> ListPublicPortsOf(const std::string& workload_id) override;

  // sqlite_backups.cc (store/backup_store.h)
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

  // sqlite_metrics.cc (store/metrics_store.h)
  MetricsStore& Metrics() override { return *this; }
  Result<std::int64_t> RecordMetrics(const std::string& node_id,
                                     const std::vector<MetricSample>& samples) override;
  Result<std::vector<MetricPoint>> QueryMetrics(const MetricQuery& q) override;
  Result<std::vector<LatestMetric>> LatestMetrics(std::int64_t since) override;
  Result<std::int64_t> PruneMetrics(const MetricRetention& keep, std::int64_t now) override;

  // sqlite_probes.cc (store/probe_store.h)
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
  // Exclusive use of one pooled connection for the lifetime of the lease.
  class Lease {
   public:
    Lease(SqliteStore& s, std::unique_ptr<Connection> c) : store_(s), conn_(std::move(c)) {}
    ~Lease();
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    Connection* operator->() { return conn_.get(); }
    Connection& operator*() { return *conn_; }

   private:
    SqliteStore& store_;
    std::unique_ptr<Connection> conn_;
  };
  Lease Acquire();

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Connection>> idle_;  // guarded by mu_
  int pool_size_ = 0;                              // constant after Open()
};

// Applies pending migrations on `conn`. Exposed for tests.
Status Migrate(Connection& conn);

// Lets a sign-up by `user_id` in under `admission` (Store::CreateUser's rules for a server that
// has users), consuming the invite; call inside the sign-up's transaction. sqlite_invites.cc.
Status Admit(Connection& c, const Admission& admission, const std::string& user_id);

// Appends one audit event on `c` (inside the caller's transaction, if any). sqlite_audit.cc.
Status InsertAudit(Connection& c, const AuditEvent& e);

// Runs `body` (returning Status) inside BEGIN IMMEDIATE … COMMIT, rolling back on error.
template <typename F>
Status InTransaction(Connection& c, F&& body) {
  if (Status s = c.Exec("BEGIN IMMEDIATE"); !s.ok()) return s;
  Status s = body();
  if (!s.ok()) {
    (void)c.Exec("ROLLBACK");
    return s;
  }
  if (Status cs = c.Exec("COMMIT"); !cs.ok()) {
    (void)c.Exec("ROLLBACK");
    return cs;
  }
  return Status::Ok();
}

}  // namespace lattice::store::sqlite

namespace lattice::store {

// Opens (creating if needed) the SQLite store at `path` and applies pending migrations.
Result<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path);

}  // namespace lattice::store
