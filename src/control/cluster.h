// Cluster: what one server replica knows of the others sharing its database.
//  - Broadcast reaches every other live replica (never this one), normally within
//    milliseconds, in the order this replica sent them. Delivery is best effort: a replica
//    that lost its connection to the database misses what was sent meanwhile, and is told so
//    with a local "resync" message once it is back.
//  - At most one replica is the leader at any moment; the cluster-wide duties (placement,
//    declaring nodes lost, noticing dead replicas) run only there. When the leader dies its
//    leadership passes to a survivor within seconds.
// A single server (SQLite, or PostgreSQL with one replica) is its own leader. Thread-safe.
#pragma once

#include <boost/json/object.hpp>

#include <functional>
#include <string>

namespace lattice::control {

class Cluster {
 public:
  // Runs on the cluster's own thread; must not block for long.
  using Handler = std::function<void(const std::string& kind, const boost::json::object& body)>;

  virtual ~Cluster() = default;
  // This process's id, unique per start ("rep_…").
  virtual const std::string& ReplicaId() const = 0;
  // Whether other replicas may exist (a PostgreSQL store), i.e. whether state can change
  // behind this process's back.
  virtual bool Shared() const = 0;
  virtual bool IsLeader() const = 0;
  virtual void Broadcast(const std::string& kind, boost::json::object body) = 0;
  // Where messages from other replicas go; set once, before they can arrive.
  virtual void SetHandler(Handler handler) = 0;
  // Starts delivering messages to the handler (and campaigning for leadership).
  virtual void Start() {}
  // Stops delivering messages (and leading); idempotent. Call before the handler's targets go.
  virtual void Stop() {}
};

// The one-process cluster: always the leader, nobody to tell.
class SoloCluster final : public Cluster {
 public:
  explicit SoloCluster(std::string replica_id) : id_(std::move(replica_id)) {}
  const std::string& ReplicaId() const override { return id_; }
  bool Shared() const override { return false; }
  bool IsLeader() const override { return true; }
  void Broadcast(const std::string&, boost::json::object) override {}
  void SetHandler(Handler) override {}

 private:
  std::string id_;
};

}  // namespace lattice::control
