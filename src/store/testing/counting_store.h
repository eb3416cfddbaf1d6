// CountingStore (tests only): a Store that forwards every call to another and counts the calls
// by method name, so a test can assert how many store round trips an operation costs. Each call
// of the Store interface is one trip to the engine (one transaction or one statement).
// Thread-safe; the inner store must outlive it.
#pragma once

#include <map>
#include <mutex>
#include <string>

#include "store/store.h"

namespace lattice::store::testing {

class CountingStore final : public Store {
 public:
  explicit CountingStore(Store& inner) : inner_(inner) {}

  // Calls since construction or the last Reset(), in all / of one method.
  int Total() const {
    std::lock_guard lock(mu_);
    int n = 0;
    for (const auto& [name, count] : counts_) n += count;
    return n;
  }
  int Of(const std::string& method) const {
    std::lock_guard lock(mu_);
    auto it = counts_.find(method);
    return it == counts_.end() ? 0 : it->second;
  }
  std::map<std::string, int> Counts() const {
    std::lock_guard lock(mu_);
    return counts_;
  }
  void Reset() {
    std::lock_guard lock(mu_);
    counts_.clear();
  }

  using Store::CreateWorkload;
  int Concurrency() const override { return inner_.Concurrency(); }
  BackupStore& Backups() override { return inner_.Backups(); }                    // not counted
  MetricsStore& Metrics() override { return inner_.Metrics(); }                   // not counted
  ProbeStore& Probes() override { return inner_.Probes(); }                       // not counted
  NotificationStore& Notifications() override { return inner_.Notifications(); }  // not counted
  Status Ping() override {
    Count("Ping");
    return inner_.Ping();
  }
  Result<User> CreateUser(const User& user, const Admission& admission) override {
    Count("CreateUser");
    return inner_.CreateUser(user, admission);
  }
  Result<User> GetUserById(const std::string& id) override {
    Count("GetUserById");
    return inner_.GetUserById(id);
  }
  Result<User> GetUserByEmail(const std::string& email) override {
    Count("GetUserByEmail");
    return inner_.GetUserByEmail(email);
  }
  Result<bool> HasUsers() override {
    Count("HasUsers");
    return inner_.HasUsers();
  }
  Status UpdatePassword(const std::string& user_id, const std::string& hash,
                        std::int64_t now) override {
    Count("UpdatePassword");
    return inner_.UpdatePassword(user_id, hash, now);
  }
  Status CreateSession(const Session& session) override {
    Count("CreateSession");
    return inner_.CreateSession(session);
  }
  Result<SessionWithUser> GetSession(const std::string& id) override {
    Count("GetSession");
    return inner_.GetSession(id);
  }
  Status RevokeSession(const std::string& id, std::int64_t now) override {
    Count("RevokeSession");
    return inner_.RevokeSession(id, now);
  }
  Result<std::int64_t> DeleteExpiredSessions(std::int64_t now) override {
    Count("DeleteExpiredSessions");
    return inner_.DeleteExpiredSessions(now);
  }
  Status CreateJoinToken(const JoinToken& token) override {
    Count("CreateJoinToken");
    return inner_.CreateJoinToken(token);
  }
  Status JoinNode(const std::string& token_hash, const Node& node, std::int64_t now) override {
    Count("JoinNode");
    return inner_.JoinNode(token_hash, node, now);
  }
  Result<Node> GetNode(const std::string& id) override {
    Count("GetNode");
    return inner_.GetNode(id);
  }
  Result<std::vector<Node>> ListNodes() override {
    Count("ListNodes");
    return inner_.ListNodes();
  }
  Result<std::vector<Node>> GetNodes(const std::vector<std::string>& ids) override {
    Count("GetNodes");
    return inner_.GetNodes(ids);
  }
  Status UpdateNodeInfo(const Node& node) override {
    Count("UpdateNodeInfo");
    return inner_.UpdateNodeInfo(node);
  }
  Status SetNodeStatus(const std::string& id, NodeStatus status,
                       std::int64_t last_heartbeat) override {
    Count("SetNodeStatus");
    return inner_.SetNodeStatus(id, status, last_heartbeat);
  }
  Status ClaimNodeLink(const std::string& node_id, const std::string& replica_id,
                       std::int64_t now) override {
    Count("ClaimNodeLink");
    return inner_.ClaimNodeLink(node_id, replica_id, now);
  }
  Result<bool> ReleaseNodeLink(const std::string& node_id, const std::string& replica_id,
                               std::int64_t now) override {
    Count("ReleaseNodeLink");
    return inner_.ReleaseNodeLink(node_id, replica_id, now);
  }
  Status TouchReplica(const Replica& replica) override {
    Count("TouchReplica");
    return inner_.TouchReplica(replica);
  }
  Result<std::vector<Replica>> ListReplicas(std::int64_t seen_since) override {
    Count("ListReplicas");
    return inner_.ListReplicas(seen_since);
  }
  Result<std::vector<std::string>> ReapReplicas(std::int64_t stale_before,
                                                std::int64_t now) override {
    Count("ReapReplicas");
    return inner_.ReapReplicas(stale_before, now);
  }
  Status CreateInvite(const Invite& invite) override {
    Count("CreateInvite");
    return inner_.CreateInvite(invite);
  }
  Result<std::vector<Invite>> ListInvites() override {
    Count("ListInvites");
    return inner_.ListInvites();
  }
  Status DeleteInvite(const std::string& id) override {
    Count("DeleteInvite");
    return inner_.DeleteInvite(id);
  }
  Status AppendAudit(const AuditEvent& e) override {
    Count("AppendAudit");
    return inner_.AppendAudit(e);
  }
  Result<std::vector<AuditEvent>> ListAudit(std::int64_t before, int limit) override {
    Count("ListAudit");
    return inner_.ListAudit(before, limit);
  }
  Status CreateWorkload(const NewWorkload& n) override {
    Count("CreateWorkload");
    return inner_.CreateWorkload(n);
  }
  Result<Workload> GetWorkload(const std::string& id) override {
    Count("GetWorkload");
    return inner_.GetWorkload(id);
  }
  Result<std::vector<Workload>> ListWorkloads(const WorkloadFilter& filter) override {
    Count("ListWorkloads");
    return inner_.ListWorkloads(filter);
  }
  Result<std::map<std::string, std::int64_t>> AllocatedMemoryByNode(
      std::int64_t default_request_mb) override {
    Count("AllocatedMemoryByNode");
    return inner_.AllocatedMemoryByNode(default_request_mb);
  }
  Result<Workload> SetDesiredState(const std::string& id, DesiredState desired,
                                   WorkloadStatus status, std::int64_t now) override {
    Count("SetDesiredState");
    return inner_.SetDesiredState(id, desired, status, now);
  }
  Status SetPlacement(const std::string& id, const std::string& node_id, WorkloadStatus status,
                      const std::string& reason, std::int64_t now) override {
    Count("SetPlacement");
    return inner_.SetPlacement(id, node_id, status, reason, now);
  }
  Status SetObservedStatus(const std::string& id, std::int64_t observed_generation,
                           WorkloadStatus status, const std::string& reason,
                           const std::string& bindings_json, std::int64_t now) override {
    Count("SetObservedStatus");
    return inner_.SetObservedStatus(id, observed_generation, status, reason, bindings_json, now);
  }
  Status UpdateWorkloadSpec(const std::string& id, const std::string& spec_enc) override {
    Count("UpdateWorkloadSpec");
    return inner_.UpdateWorkloadSpec(id, spec_enc);
  }
  Status DeleteWorkload(const std::string& id) override {
    Count("DeleteWorkload");
    return inner_.DeleteWorkload(id);
  }
  Status AppendEvent(const WorkloadEvent& e) override {
    Count("AppendEvent");
    return inner_.AppendEvent(e);
  }
  Result<std::vector<PublicPort>> AllocatePublicPorts(
      const std::string& workload_id, const std::vector<int>& container_ports, int low, int high,
      const std::function<bool(int)>& usable) override {
    Count("AllocatePublicPorts");
    return inner_.AllocatePublicPorts(workload_id, container_ports, low, high, usable);
  }
  Result<std::vector<PublicPort>> ListPublicPorts() override {
    Count("ListPublicPorts");
    return inner_.ListPublicPorts();
  }
  Result<std::vector<PublicPort>> ListPublicPortsOf(const std::string& workload_id) override {
    Count("ListPublicPortsOf");
    return inner_.ListPublicPortsOf(workload_id);
  }
  Result<std::vector<WorkloadEvent>> ListEvents(const std::string& workload_id,
                                                int limit) override {
    Count("ListEvents");
    return inner_.ListEvents(workload_id, limit);
  }

 private:
  void Count(const char* method) {
    std::lock_guard lock(mu_);
    ++counts_[method];
  }

  Store& inner_;
  mutable std::mutex mu_;
  std::map<std::string, int> counts_;
};

}  // namespace lattice::store::testing
