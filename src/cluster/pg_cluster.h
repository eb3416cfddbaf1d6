// PgCluster: replicas of the server coordinating through the PostgreSQL they share.
//  - Messages: NOTIFY on the channel "lattice_cluster", payload {"o": sender replica,
//    "k": kind, "b": body}. A dedicated connection LISTENs on its own thread; another one,
//    shared under a mutex, sends. Payloads are limited to what NOTIFY carries (< 8000 bytes):
//    a larger message is dropped with a warning (the callers send ids, not state).
//  - Leadership: the listening connection tries pg_try_advisory_lock(kLeaderLockKey) every
//    second until it holds it; a session-level lock is released by PostgreSQL the moment that
//    connection ends, so a replica that dies (or loses the database) hands leadership on.
//    The leader checks its connection every second and stops calling itself leader as soon
//    as a round trip fails.
//  - After the listening connection is lost and re-established, the handler gets a local
//    "resync" (messages sent meanwhile were missed).
// Thread-safe; Stop() (or the destructor) joins the thread.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/result.h"
#include "control/cluster.h"
#include "store/postgres/pg_connection.h"

namespace lattice::cluster {

// The advisory-lock key of leadership ("lattice" + 2; migrations use + 1).
inline constexpr std::int64_t kLeaderLockKey = 0x6c61747469636502;

class PgCluster final : public control::Cluster {
 public:
  // Connects both connections (kUnavailable if the database cannot be reached); the thread
  // starts with Start(), once the handler is set.
  static Result<std::unique_ptr<PgCluster>> Open(const std::string& url, std::string replica_id);
  PgCluster(store::postgres::ConnectOptions opts, std::string replica_id);  // use Open()
  ~PgCluster() override;

  const std::string& ReplicaId() const override { return id_; }
  bool Shared() const override { return true; }
  bool IsLeader() const override { return leader_.load(); }
  void Broadcast(const std::string& kind, boost::json::object body) override;
  void SetHandler(Handler handler) override { handler_ = std::move(handler); }

  void Start() override;
  void Stop() override;

 private:
  void Run();
  // One session of the listening connection: LISTEN, then deliver and campaign until it
  // fails or Stop(). Returns when the connection is unusable.
  void Session(store::postgres::Connection& conn);
  void Deliver(store::postgres::Connection& conn);

  const store::postgres::ConnectOptions opts_;
  const std::string id_;
  Handler handler_;
  std::atomic<bool> leader_{false};
  std::atomic<bool> stop_{false};
  std::mutex send_mu_;
  std::unique_ptr<store::postgres::Connection> sender_;  // guarded by send_mu_
  std::thread thread_;
};

}  // namespace lattice::cluster
