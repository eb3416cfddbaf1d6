// Placement: the pure scheduling decision. Given a read-only view of the nodes and what is
// already placed on them, pick the node for a workload. No I/O, no clocks, no randomness:
// the same view always gives the same answer. Thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace lattice::scheduler {

struct NodeView {
  std::string id;
  std::string name;
  bool ready = false;             // status "ready" (not down, not draining)
  std::int64_t memory_mb = 0;     // capacity
  std::int64_t allocated_mb = 0;  // sum of the memory requests of workloads placed here
  int cpus = 0;
};

struct PlacementRequest {
  std::int64_t memory_mb = 0;  // requested memory (≤ 0: the scheduler's default request)
};

struct Placement {
  std::string node_id;  // empty: nothing fits
  std::string reason;   // why not, when node_id is empty (see Place)
};

// Picks the ready node with the most free memory (memory_mb - allocated_mb) that can hold the
// request (ties: the smallest id), which spreads load. A request of 0 MB (or less) counts as
// `kDefaultRequestMb`. CPU is not considered. Reasons when nothing fits:
//   "no ready node (<n> known, none ready)"
//   "no node has <need> MB free: the most is <free> MB on <name> (<id>)"  (free shown ≥ 0)
inline constexpr std::int64_t kDefaultRequestMb = 256;
Placement Place(const PlacementRequest& req, const std::vector<NodeView>& nodes);

}  // namespace lattice::scheduler
