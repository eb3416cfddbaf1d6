// Place(): filter to ready nodes, then take the one with the most free memory that holds the
// request; ties go to the smallest id so the answer never depends on input order.

#include "scheduler/placement.h"

#include <string>

namespace lattice::scheduler {
namespace {

std::int64_t FreeMb(const NodeView& n) {
  return n.memory_mb - n.allocated_mb;
}

// True when `a` should be preferred over `b`: more free memory, then the smaller id.
bool Better(const NodeView& a, const NodeView& b) {
  if (FreeMb(a) != FreeMb(b)) return FreeMb(a) > FreeMb(b);
  return a.id < b.id;
}

std::string Label(const NodeView& n) {
  return n.name.empty() ? n.id : n.name + " (" + n.id + ")";
}

}  // namespace

Placement Place(const PlacementRequest& req, const std::vector<NodeView>& nodes) {
  const std::int64_t need = req.memory_mb > 0 ? req.memory_mb : kDefaultRequestMb;
  const NodeView* best = nullptr;
  for (const NodeView& n : nodes) {
    if (n.ready && (best == nullptr || Better(n, *best))) best = &n;
  }
  if (best == nullptr) {
    return {"", "no ready node (" + std::to_string(nodes.size()) + " known, none ready)"};
  }
  // The best ready node has the most free memory, so if it cannot hold the request none can.
  if (FreeMb(*best) < need) {
    return {"", "no node has " + std::to_string(need) + " MB free: the most is " +
                    std::to_string(FreeMb(*best) > 0 ? FreeMb(*best) : 0) + " MB on " +
                    Label(*best)};
  }
  return {best->id, ""};
}

}  // namespace lattice::scheduler
