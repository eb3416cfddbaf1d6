#include "control/placer.h"

#include <unordered_map>

namespace lattice::control {

std::vector<PlacementDecision> PlanPlacements(const std::vector<store::Workload>& pending,
                                              std::vector<scheduler::NodeView>& view) {
  std::unordered_map<std::string, std::size_t> index;  // node id → its entry in view
  for (std::size_t i = 0; i < view.size(); ++i) index.emplace(view[i].id, i);
  std::vector<PlacementDecision> out;
  for (const auto& w : pending) {
    if (w.desired_state != DesiredState::kRunning) continue;
    const scheduler::Placement p = scheduler::Place({w.memory_mb}, view);
    if (p.node_id.empty()) {
      out.push_back({w.id, "", "waiting for a node: " + p.reason});
      continue;
    }
    view[index.at(p.node_id)].allocated_mb +=
        w.memory_mb > 0 ? w.memory_mb : scheduler::kDefaultRequestMb;
    out.push_back({w.id, p.node_id, ""});
  }
  return out;
}

Placer::Placer(store::Store& store, const Clock& clock, Hooks hooks)
    : store_(store), clock_(clock), hooks_(std::move(hooks)) {}

std::map<std::string, std::string> Placer::Pass() {
  std::map<std::string, std::string> placed;
  std::vector<std::pair<store::Workload, PlacementDecision>> written;
  {
    std::lock_guard lock(mu_);
    // Dropped here, reread below only if something waits: an idle pass reads nothing more.
    if (recount_.exchange(false)) allocated_.reset();
    if (nodes_stale_.exchange(false)) nodes_.reset();
    store::WorkloadFilter f;
    f.status = WorkloadStatus::kPending;
    auto pending = store_.ListWorkloads(f);
    if (!pending.ok() || pending->empty()) return placed;
    if (!allocated_) {
      auto counted = store_.AllocatedMemoryByNode(scheduler::kDefaultRequestMb);
      if (!counted.ok()) return placed;
      allocated_ = std::move(counted).value();
    }
    if (!nodes_) {
      auto read = store_.ListNodes();
      if (!read.ok()) return placed;
      nodes_ = std::move(read).value();
    }
    std::vector<scheduler::NodeView> view;
    view.reserve(nodes_->size());
    for (const auto& n : *nodes_) {
      scheduler::NodeView nv{
          n.id,        n.name, n.status == NodeStatus::kReady && hooks_.link_up(n),
          n.memory_mb, 0,      n.cpus};
      if (auto it = allocated_->find(n.id); it != allocated_->end()) nv.allocated_mb = it->second;
      view.push_back(std::move(nv));
    }
    std::map<std::string, store::Workload*> by_id;
    for (auto& w : *pending) by_id[w.id] = &w;
    const std::int64_t now = clock_.NowSeconds();
    for (auto& d : PlanPlacements(*pending, view)) {
      store::Workload& w = *by_id.at(d.workload_id);
      if (d.node_id.empty()) {
        if (w.status_reason == d.reason) continue;  // said so already
        if (!store_.SetPlacement(w.id, "", WorkloadStatus::kPending, d.reason, now).ok()) continue;
        w.status_reason = d.reason;
      } else {
        if (!store_.SetPlacement(w.id, d.node_id, WorkloadStatus::kScheduled, "", now).ok())
          continue;
        (*allocated_)[d.node_id] += w.memory_mb > 0 ? w.memory_mb : scheduler::kDefaultRequestMb;
        w.node_id = d.node_id;
        w.status = WorkloadStatus::kScheduled;
        w.status_reason.clear();
        placed[w.id] = d.node_id;
      }
      written.emplace_back(w, std::move(d));
    }
  }
  for (const auto& [w, d] : written) {
    if (d.node_id.empty())
      hooks_.placed(w, WorkloadStatus::kPending, d.reason);
    else
      hooks_.placed(w, WorkloadStatus::kScheduled, "placed on node " + d.node_id);
  }
  return placed;
}

}  // namespace lattice::control
