// Placer: the placement pass and the tally it keeps. A pass reads the workloads waiting to be
// placed, decides where each goes over a plain view of the nodes (PlanPlacements: pure, no
// I/O), writes each decision to the store and hands it to the caller's `Placed` hook (record
// the event, tell the node, publish). The memory already placed on each node is a tally kept
// between passes — recounted from the store only when told a delete freed memory (Recount) —
// and the node list is reread only when told a node changed (NodesChanged): summing every
// workload or reading every node on every pass is what slowed creates at 100,000 rows.
// Whether this replica may place at all (leadership) and how often passes run is the caller's.
// Thread-safe: one pass at a time. The store and clock must outlive it.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "scheduler/placement.h"
#include "store/store.h"

namespace lattice::control {

// Where a pending workload goes: a node, or (node_id empty) stay pending for `reason`.
struct PlacementDecision {
  std::string workload_id;
  std::string node_id;
  std::string reason;
};

// The decision for each workload of `pending` meant to run, in order; `view`'s allocations
// grow with each placement so one pass never overfills a node. Pure.
std::vector<PlacementDecision> PlanPlacements(const std::vector<store::Workload>& pending,
                                              std::vector<scheduler::NodeView>& view);

class Placer {
 public:
  struct Hooks {
    // Whether a node's agent link is up (on this replica or another).
    std::function<bool(const store::Node&)> link_up;
    // A decision written to the store: `w` as it now is (node_id set when placed), its new
    // status and the timeline message. Called with no lock held.
    std::function<void(const store::Workload& w, WorkloadStatus status, const std::string& message)>
        placed;
  };

  Placer(store::Store& store, const Clock& clock, Hooks hooks);
  Placer(const Placer&) = delete;
  Placer& operator=(const Placer&) = delete;

  // One pass. Returns the workloads it placed (id → node id). A store error ends the pass
  // early; what was written stands, the rest waits for the next pass.
  std::map<std::string, std::string> Pass();
  // The tally is stale (a delete freed memory, or leadership changed): recount next pass.
  void Recount() { recount_ = true; }
  // A node joined, left or changed: reread the nodes next pass.
  void NodesChanged() { nodes_stale_ = true; }

 private:
  store::Store& store_;
  const Clock& clock_;
  const Hooks hooks_;

  std::mutex mu_;  // one pass at a time
  // node id → memory placed there (MB); guarded by mu_.
  std::optional<std::map<std::string, std::int64_t>> allocated_;
  std::optional<std::vector<store::Node>> nodes_;  // as last read; guarded by mu_
  std::atomic<bool> recount_{true};
  std::atomic<bool> nodes_stale_{true};
};

}  // namespace lattice::control
