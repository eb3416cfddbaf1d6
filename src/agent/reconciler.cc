#include "agent/reconciler.h"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>

#include <algorithm>
#include <optional>
#include <utility>

#include "agent/workload_container.h"

namespace lattice::agent {

Reconciler::Reconciler(ReconcilerOptions options, runtime::Runtime& runtime, StatusSink sink)
    : Reconciler(std::move(options), runtime, std::move(sink), RealSteadyClock()) {}

Reconciler::Reconciler(ReconcilerOptions options, runtime::Runtime& runtime, StatusSink sink,
                       const SteadyClock& clock)
    : options_(std::move(options)),
      runtime_(runtime),
      sink_(std::move(sink)),
      networks_(runtime, NetworkOptions(options_)),
      context_{StepOptions(options_), runtime, clock, networks_, *this},
      engine_pool_(static_cast<std::size_t>(std::max(1, options_.engine_workers))) {}

Reconciler::~Reconciler() {
  Stop();
}

void Reconciler::Start() {
  loop_ = std::thread([this] { Loop(); });
}

void Reconciler::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (loop_.joinable()) loop_.join();
  engine_pool_.join();  // the steps in flight end; queued ones see stopping_ and return
}

void Reconciler::SetAssignments(std::vector<link::Assignment> items) {
  {
    std::lock_guard lock(mu_);
    std::map<std::string, link::Assignment> next;
    for (auto& a : items) next[a.workload_id] = std::move(a);
    for (auto it = reported_.begin(); it != reported_.end();)
      it = next.count(it->first) ? std::next(it) : reported_.erase(it);
    for (auto it = addresses_.begin(); it != addresses_.end();)
      it = next.count(it->first) ? std::next(it) : addresses_.erase(it);
    desired_ = std::move(next);
    have_truth_ = true;
    dirty_ = true;
  }
  wake_.notify_all();
}

void Reconciler::Upsert(link::Assignment assignment) {
  {
    std::lock_guard lock(mu_);
    auto it = desired_.find(assignment.workload_id);
    if (it != desired_.end() && it->second.generation > assignment.generation) {
      spdlog::info("event=upsert_ignored workload={} generation={} held={}", assignment.workload_id,
                   assignment.generation, it->second.generation);
      return;
    }
    desired_[assignment.workload_id] = std::move(assignment);
    dirty_ = true;
  }
  wake_.notify_all();
}

TenantNetworkOptions Reconciler::NetworkOptions(const ReconcilerOptions& o) {
  TenantNetworkOptions n = o.networks;
  n.node_id = o.node_id;
  return n;
}

void Reconciler::SetAllowedRegistries(std::vector<std::string> registries) {
  std::lock_guard lock(mu_);
  registries_ = std::move(registries);
}

void Reconciler::Remove(const std::string& workload_id) {
  {
    std::lock_guard lock(mu_);
    desired_.erase(workload_id);
    reported_.erase(workload_id);
    addresses_.erase(workload_id);
    dirty_ = true;
  }
  wake_.notify_all();
}

std::optional<link::Assignment> Reconciler::AssignmentOf(const std::string& workload_id) const {
  std::lock_guard lock(mu_);
  auto it = desired_.find(workload_id);
  if (it == desired_.end()) return std::nullopt;
  return it->second;
}

std::vector<link::StatusReport> Reconciler::Statuses() const {
  std::lock_guard lock(mu_);
  std::vector<link::StatusReport> out;
  for (const auto& [id, s] : reported_) out.push_back(s);
  return out;
}

int Reconciler::RunningCount() const {
  std::lock_guard lock(mu_);
  return static_cast<int>(std::count_if(reported_.begin(), reported_.end(), [](const auto& kv) {
    return kv.second.state == WorkloadStatus::kRunning;
  }));
}

std::vector<std::string> Reconciler::RunningWorkloads() const {
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  for (const auto& [id, s] : reported_)
    if (s.state == WorkloadStatus::kRunning && desired_.count(id)) out.push_back(id);
  return out;
}

std::optional<ContainerTarget> Reconciler::TargetOf(const std::string& workload_id,
                                                    int container_port) const {
  std::lock_guard lock(mu_);
  auto d = desired_.find(workload_id);
  if (d == desired_.end()) return std::nullopt;
  const auto& ports = d->second.spec.ports;
  if (std::none_of(ports.begin(), ports.end(), [&](const templates::PortSpec& p) {
        return p.container_port == container_port && p.protocol != "udp";
      }))
    return std::nullopt;
  auto it = reported_.find(workload_id);
  if (it == reported_.end() || (it->second.state != WorkloadStatus::kStarting &&
                                it->second.state != WorkloadStatus::kRunning))
    return std::nullopt;
  if (auto a = addresses_.find(workload_id); a != addresses_.end())
    return ContainerTarget{a->second, container_port};
  for (const auto& b : it->second.bindings)
    if (b.container_port == container_port && b.host_port > 0)
      return ContainerTarget{"127.0.0.1", b.host_port};
  return std::nullopt;
}

SupervisorOptions Reconciler::StepOptions(const ReconcilerOptions& o) {
  SupervisorOptions s;
  s.node_id = o.node_id;
  s.tick = o.tick;
  s.stop_grace = o.stop_grace;
  s.ready_timeout = o.ready_timeout;
  s.probe_timeout = o.probe_timeout;
  s.max_backoff = o.max_backoff;
  s.tenant_networks = o.tenant_networks;
  s.tool_image = o.tool_image;
  s.logs = o.logs;
  return s;
}

std::vector<std::string> Reconciler::AllowedRegistries() const {
  std::lock_guard lock(mu_);
  return registries_;
}

bool Reconciler::Stopping() const {
  std::lock_guard lock(mu_);
  return stopping_;
}

bool Reconciler::Busy(const std::string& workload_id) const {
  auto it = supervisors_.find(workload_id);
  return it != supervisors_.end() && it->second->Busy();
}

void Reconciler::Loop() {
  for (;;) {
    bool fast = false;
    {
      std::unique_lock lock(mu_);
      for (;;) {
        const bool woken = wake_.wait_for(lock, fast ? options_.fast_tick : options_.tick,
                                          [&] { return stopping_ || dirty_ || (hurry_ && !fast); });
        if (stopping_) return;
        if (!woken || dirty_) break;  // the tick, or a change: pass
        fast = true;                  // a step wants the next pass soon: wait the fast tick
      }
      dirty_ = hurry_ = false;
    }
    try {
      Pass();
    } catch (const std::exception& e) {  // a bug; keep the node's workloads managed
      spdlog::error("event=reconcile_crash error=\"{}\"", e.what());
    }
  }
}

void Reconciler::Pass() {
  std::map<std::string, link::Assignment> desired;
  bool have_truth = false;
  {
    std::lock_guard lock(mu_);
    desired = desired_;
    have_truth = have_truth_;
  }
  // Steps ended so far, per supervisor: one that ends while the list below is read may have
  // changed what it lists (created or removed its container), so it gets no step from it.
  std::map<std::string, std::uint64_t> ended;
  for (const auto& [id, sup] : supervisors_) ended[id] = sup->StepsEnded();
  auto actual = runtime_.ListByLabel(kLabelWorkload);
  if (!actual.ok()) {
    if (!engine_down_)
      spdlog::warn("event=engine_unreachable error=\"{}\"", actual.error().message);
    engine_down_ = true;
    // Say so truthfully rather than leave the last state standing: nothing can be run or
    // checked on this node until the engine answers again. A busy supervisor's step reports
    // what it meets itself.
    for (const auto& [id, a] : desired) {
      if (Stopping()) return;
      if (a.desired_state == DesiredState::kRunning && !Busy(id))
        Report(a, WorkloadStatus::kFailed,
               "the container engine is not answering: " + actual.error().message, {}, {});
    }
    return;
  }
  if (engine_down_) spdlog::info("event=engine_reachable");
  engine_down_ = false;
  if (options_.logs) {
    // This node's workload containers (not backup or restore jobs): the capture keeps their logs.
    std::vector<ObservedContainer> seen;
    for (const auto& c : *actual) {
      const std::string id = LabelOf(c, kLabelWorkload);
      if (!options_.node_id.empty() && LabelOf(c, kLabelNode) != options_.node_id) continue;
      if (c.name != ContainerName(id)) continue;
      seen.push_back({id, c.id, c.running, c.started_at});
    }
    options_.logs->Observe(std::move(seen));
  }

  // Supervisors of workloads no longer desired go once idle; a busy one forgets its progress,
  // in case the workload comes back before its step ends.
  for (auto it = supervisors_.begin(); it != supervisors_.end();) {
    if (desired.count(it->first)) {
      ++it;
    } else if (it->second->Busy()) {
      it->second->ForgetProgress();
      ++it;
    } else {
      it = supervisors_.erase(it);
    }
  }
  Dispatch(desired, *actual, ended);
  if (have_truth) StopOrphans(*actual, desired);
}

void Reconciler::Dispatch(const std::map<std::string, link::Assignment>& desired,
                          const std::vector<runtime::ContainerInfo>& actual,
                          const std::map<std::string, std::uint64_t>& ended_before) {
  std::map<std::string, const runtime::ContainerInfo*> by_name;
  for (const auto& c : actual) by_name[c.name] = &c;
  for (const auto& [id, a] : desired) {
    if (Stopping()) return;
    std::unique_ptr<WorkloadSupervisor>& sup = supervisors_[id];
    if (!sup) sup = std::make_unique<WorkloadSupervisor>(context_);
    if (!sup->TryClaim(a.generation)) continue;  // its step is still in flight: next pass
    const auto before = ended_before.find(id);
    if (sup->StepsEnded() != (before == ended_before.end() ? 0 : before->second)) {
      sup->Unclaim();  // its last step ended after the list was read: list again, at once
      StepEnded(NextPass::kNow);
      continue;
    }
    std::optional<runtime::ContainerInfo> c;
    if (auto it = by_name.find(ContainerName(id)); it != by_name.end()) c = *it->second;
    boost::asio::post(engine_pool_, [this, s = sup.get(), a, c = std::move(c)]() mutable {
      if (Stopping()) return;  // the loop is gone: the claim no longer matters
      StepEnded(s->Step(a, std::move(c)));
    });
  }
}

void Reconciler::StepEnded(NextPass next) {
  if (next == NextPass::kOnTick) return;
  {
    std::lock_guard lock(mu_);
    (next == NextPass::kNow ? dirty_ : hurry_) = true;
  }
  wake_.notify_all();
}

void Reconciler::StopOrphans(const std::vector<runtime::ContainerInfo>& actual,
                             const std::map<std::string, link::Assignment>& desired) {
  for (const auto& c : actual) {
    if (options_.node_id.empty() || LabelOf(c, kLabelNode) != options_.node_id) continue;
    const std::string id = LabelOf(c, kLabelWorkload);
    if (desired.count(id) || c.name != ContainerName(id)) {
      orphans_seen_.erase(c.name);
      continue;
    }
    if (!c.running || Busy(id)) continue;  // a busy one: its last step is still acting on it
    if (Stopping()) return;
    {
      std::lock_guard lock(mu_);
      if (!orphan_stops_.insert(c.name).second) continue;  // a worker is stopping it already
    }
    if (!orphans_seen_[c.name]) {
      spdlog::info("event=orphan_stop workload={} container={}", id, c.id);
      orphans_seen_[c.name] = true;
    }
    boost::asio::post(engine_pool_, [this, id, name = c.name, container = c.id] {
      if (!Stopping()) {
        if (Status st = runtime_.Stop(container, options_.stop_grace); !st.ok())
          spdlog::warn("event=orphan_stop_failed workload={} error=\"{}\"", id, st.error().message);
      }
      std::lock_guard lock(mu_);
      orphan_stops_.erase(name);
    });
  }
}

void Reconciler::Report(const link::Assignment& a, WorkloadStatus state, std::string reason,
                        Reach reach, std::string detail) {
  if (!detail.empty())
    spdlog::warn("event=workload_failure_detail workload={} reason=\"{}\" detail=\"{}\"",
                 a.workload_id, reason, detail);
  link::StatusReport s{
      a.workload_id,    a.generation, state, std::move(reason), std::move(reach.bindings),
      std::move(detail)};
  {
    std::lock_guard lock(mu_);
    auto d = desired_.find(a.workload_id);
    if (d == desired_.end() || d->second.generation != a.generation) return;  // superseded
    if (state != WorkloadStatus::kStarting && state != WorkloadStatus::kRunning)
      addresses_.erase(a.workload_id);
    else if (!reach.address.empty())
      addresses_[a.workload_id] = std::move(reach.address);
    auto it = reported_.find(a.workload_id);
    if (it != reported_.end()) {
      const link::StatusReport& o = it->second;
      auto same_bindings = [](const auto& x, const auto& y) {
        return x.size() == y.size() &&
               std::equal(x.begin(), x.end(), y.begin(), [](const auto& l, const auto& r) {
                 return l.container_port == r.container_port && l.host_port == r.host_port;
               });
      };
      if (o.generation == s.generation && o.state == s.state && o.reason == s.reason &&
          same_bindings(o.bindings, s.bindings))
        return;
    }
    reported_[a.workload_id] = s;
  }
  spdlog::info("event=workload_status workload={} generation={} state={} reason=\"{}\"",
               s.workload_id, s.generation, Name(s.state), s.reason);
  if (sink_) sink_(s);
}

}  // namespace lattice::agent
