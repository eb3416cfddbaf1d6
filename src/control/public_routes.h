// PublicRoutes: the edge's route table on this replica. It knows which public port of the
// edge's range each exposed port of each workload holds (loaded from the store at start,
// learned from creates here and from other replicas' messages), picks ports for a new workload
// (the lowest free ones that can be bound, planned outside any transaction: the store's insert
// is what settles a race), and tells the observer (the edge) every workload whose routes may
// have changed. Without a range (high == 0) there is no edge: it holds and plans nothing.
// Thread-safe. The store must outlive it; the observer is set once, before serving, and is
// called on the thread making the change.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "common/result.h"
#include "store/store.h"

namespace lattice::control {

// One public port of the edge and where its connections go.
struct PublicRoute {
  int public_port = 0;
  std::string workload_id;
  int container_port = 0;
  std::string node_id;  // empty until placed
  bool open = false;    // the workload is meant to run: accept connections
  // How long a stream of this port may carry nothing before it is closed (the port's
  // `idle_timeout_s` in the workload spec); zero: the edge's default.
  std::chrono::milliseconds idle_timeout{0};
};

// The edge's public port range: [low, high]; `usable(port)` says whether it can be bound now
// (unset: any).
struct PublicPortRange {
  int low = 0;
  int high = 0;
  std::function<bool(int)> usable;
};

class PublicRoutes {
 public:
  // Told a workload's routes whenever they may have changed (an empty list: none any more).
  using Observer =
      std::function<void(const std::string& workload_id, std::vector<PublicRoute> routes)>;

  PublicRoutes(store::Store& store, PublicPortRange range);
  PublicRoutes(const PublicRoutes&) = delete;
  PublicRoutes& operator=(const PublicRoutes&) = delete;

  bool enabled() const { return range_.high > 0; }
  void SetObserver(Observer observer) { observer_ = std::move(observer); }

  // Replaces what is known with every port the store holds (start-up, after a resync).
  Status LoadAll();
  // Rereads one workload's ports (created on another replica).
  Status Learn(const std::string& workload_id);
  // The ports a new workload `w` gets if nothing changes meanwhile; nothing is written.
  // kUnavailable naming the range when it has no port left.
  Result<std::vector<store::PublicPort>> Plan(const store::Workload& w) const;
  // Allocates what `w` lacks in one store transaction (repairs a workload left without ports).
  Status Allocate(const store::Workload& w);
  // Records ports the caller wrote (a create's transaction).
  void Hold(const std::string& workload_id, std::vector<store::PublicPort> ports);
  // True when `w` exposes more ports than it holds.
  bool Missing(const store::Workload& w) const;

  std::vector<store::PublicPort> Of(const std::string& workload_id) const;
  std::vector<PublicRoute> RoutesOf(const store::Workload& w) const;
  // The ids of every workload holding a port.
  std::vector<std::string> Holders() const;

  // Tells the observer `w`'s current routes.
  void Publish(const store::Workload& w) const;
  // Drops the workload's ports (it was purged) and tells the observer it has none.
  void Forget(const std::string& workload_id);

 private:
  store::Store& store_;
  const PublicPortRange range_;
  Observer observer_;

  mutable std::mutex mu_;
  std::map<std::string, std::vector<store::PublicPort>> held_;  // guarded by mu_
};

// The container ports a workload exposes, and the idle timeout each asked for, as its stored
// ports_json lists them (malformed: none).
std::vector<int> ExposedPorts(const store::Workload& w);
std::map<int, std::chrono::milliseconds> IdleTimeouts(const store::Workload& w);

}  // namespace lattice::control
