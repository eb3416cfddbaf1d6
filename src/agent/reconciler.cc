#include "agent/reconciler.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <optional>
#include <set>
#include <utility>

#include "agent/readiness.h"
#include "agent/registry_guard.h"
#include "agent/workload_container.h"

namespace lattice::agent {
namespace {

std::string Seconds(std::chrono::seconds s) {
  return std::to_string(s.count()) + " s";
}

}  // namespace

Reconciler::Reconciler(ReconcilerOptions options, runtime::Runtime& runtime, StatusSink sink)
    : options_(std::move(options)),
      runtime_(runtime),
      sink_(std::move(sink)),
      networks_(runtime, NetworkOptions(options_)) {}

Reconciler::~Reconciler() {
  Stop();
}

void Reconciler::Start() {
  worker_ = std::thread([this] { Loop(); });
}

void Reconciler::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (worker_.joinable()) worker_.join();
}

void Reconciler::SetAssignments(std::vector<link::Assignment> items) {
  {
    std::lock_guard lock(mu_);
    std::map<std::string, link::Assignment> next;
    for (auto& a : items) next[a.workload_id] = std::move(a);
    for (auto it = reported_.begin(); it != reported_.end();)
      it = next.count(it->first) ? std::next(it) : reported_.erase(it);
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

std::string Reconciler::NetworkFor(const link::Assignment& a) const {
  if (!options_.tenant_networks || a.tenant.empty() || !IsValidWorkloadId(a.tenant)) return "";
  return TenantNetworkName(a.tenant);
}

void Reconciler::PruneNetworks() {
  if (!options_.tenant_networks) return;
  auto all = runtime_.ListByLabel(kLabelWorkload);
  if (!all.ok()) return;
  std::set<std::string> in_use;
  for (const auto& c : *all) in_use.insert(c.network_mode);
  if (auto pruned = networks_.Prune(in_use); !pruned.ok())
    spdlog::warn("event=network_prune_failed error=\"{}\"", pruned.error().message);
}

void Reconciler::Remove(const std::string& workload_id) {
  {
    std::lock_guard lock(mu_);
    desired_.erase(workload_id);
    reported_.erase(workload_id);
    dirty_ = true;
  }
  wake_.notify_all();
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
    return kv.second.state == "running";
  }));
}

std::optional<int> Reconciler::PublishedPort(const std::string& workload_id,
                                             int container_port) const {
  std::lock_guard lock(mu_);
  auto it = reported_.find(workload_id);
  if (it == reported_.end()) return std::nullopt;
  for (const auto& b : it->second.bindings)
    if (b.container_port == container_port && b.host_port > 0) return b.host_port;
  return std::nullopt;
}

bool Reconciler::Stopping() const {
  std::lock_guard lock(mu_);
  return stopping_;
}

void Reconciler::Loop() {
  bool fast = false;
  for (;;) {
    {
      std::unique_lock lock(mu_);
      wake_.wait_for(lock, fast ? options_.fast_tick : options_.tick,
                     [&] { return stopping_ || dirty_; });
      if (stopping_) return;
      dirty_ = false;
    }
    try {
      fast = Pass();
    } catch (const std::exception& e) {  // a bug; keep the node's workloads managed
      spdlog::error("event=reconcile_crash error=\"{}\"", e.what());
      fast = false;
    }
  }
}

bool Reconciler::Pass() {
  std::map<std::string, link::Assignment> desired;
  bool have_truth = false;
  {
    std::lock_guard lock(mu_);
    desired = desired_;
    have_truth = have_truth_;
  }
  auto actual = runtime_.ListByLabel(kLabelWorkload);
  if (!actual.ok()) {
    if (!engine_down_)
      spdlog::warn("event=engine_unreachable error=\"{}\"", actual.error().message);
    engine_down_ = true;
    // Say so truthfully rather than leave the last state standing: nothing can be run or
    // checked on this node until the engine answers again.
    for (const auto& [id, a] : desired) {
      if (Stopping()) return false;
      if (a.desired_state == "running")
        Report(a, "failed", "the container engine is not answering: " + actual.error().message);
    }
    return false;
  }
  if (engine_down_) spdlog::info("event=engine_reachable");
  engine_down_ = false;
  std::map<std::string, const runtime::ContainerInfo*> by_name;
  for (const auto& c : *actual) by_name[c.name] = &c;

  bool fast = false;
  for (const auto& [id, a] : desired) {
    if (Stopping()) return false;
    auto it = by_name.find(ContainerName(id));
    Progress& p = progress_[id];
    if (p.generation != a.generation) {
      p = Progress{};
      p.generation = a.generation;
    }
    fast |= ReconcileOne(a, it == by_name.end() ? nullptr : it->second, p);
  }
  for (auto it = progress_.begin(); it != progress_.end();)
    it = desired.count(it->first) ? std::next(it) : progress_.erase(it);
  if (have_truth) StopOrphans(*actual, desired);
  return fast;
}

bool Reconciler::ReconcileOne(const link::Assignment& a, const runtime::ContainerInfo* c,
                              Progress& p) {
  if (!IsValidWorkloadId(a.workload_id)) {
    Report(a, "failed", "the workload id is not usable as a container name");
    return false;
  }
  if (a.desired_state == "deleted") {
    EnsureDeleted(a, c, p);
    return false;
  }
  if (a.desired_state == "stopped") {
    EnsureStopped(a, c, p);
    return false;
  }
  if (a.desired_state != "running") {
    Report(a, "failed", "unknown desired state '" + a.desired_state + "'");
    return false;
  }
  EnsureRunning(a, c, p);
  const auto now = Clock::now();
  const bool probing = p.expect_running && !p.ready && now < p.ready_deadline;
  const bool retry_soon = p.retry_at > now && p.retry_at - now < options_.tick;
  return probing || retry_soon;
}

void Reconciler::EnsureDeleted(const link::Assignment& a, const runtime::ContainerInfo* c,
                               Progress& p) {
  if (c) {
    spdlog::info("event=container_remove workload={} container={}", a.workload_id, c->id);
    if (Status st = runtime_.Remove(c->id); !st.ok()) {
      Report(a, "failed", "could not remove the container: " + st.error().message);
      return;
    }
    p.volumes_removed = false;
  }
  if (!p.volumes_removed) {
    for (const std::string& name : VolumeNamesOf(a)) {
      if (Status st = runtime_.RemoveVolume(name); !st.ok()) {
        Report(a, "failed", "could not remove volume " + name + ": " + st.error().message);
        return;
      }
    }
    p.volumes_removed = true;
    PruneNetworks();
  }
  Report(a, "deleted", "");
}

void Reconciler::EnsureStopped(const link::Assignment& a, const runtime::ContainerInfo* c,
                               Progress& p) {
  p.expect_running = false;
  if (c && c->running) {
    spdlog::info("event=container_stop workload={} container={}", a.workload_id, c->id);
    if (Status st = runtime_.Stop(c->id, options_.stop_grace); !st.ok()) {
      Report(a, "failed", "could not stop the container: " + st.error().message);
      return;
    }
  }
  Report(a, "stopped", "");
}

void Reconciler::EnsureRunning(const link::Assignment& a, const runtime::ContainerInfo* c,
                               Progress& p) {
  const auto now = Clock::now();
  std::optional<runtime::ContainerInfo> current;
  if (c) current = *c;

  // A changed spec (or network) needs a new container; the named volumes (the data) stay.
  const std::string network = NetworkFor(a);
  if (current && !LabelOf(*current, kLabelSpec).empty() &&
      LabelOf(*current, kLabelSpec) != SpecHash(a.spec, network)) {
    spdlog::info("event=container_replace workload={} container={} reason=spec_changed",
                 a.workload_id, current->id);
    if (current->running) (void)runtime_.Stop(current->id, options_.stop_grace);
    if (Status st = runtime_.Remove(current->id); !st.ok()) {
      Report(a, "failed", "could not replace the container: " + st.error().message);
      return;
    }
    current.reset();
  }

  if (!current) {
    if (now < p.retry_at) return;  // keep the failure reported until the retry
    if (p.failures == 0) Report(a, "creating", "");
    std::vector<std::string> registries;
    {
      std::lock_guard lock(mu_);
      registries = registries_;
    }
    // The registry guard resolves names: only worth it when the engine is about to pull.
    auto present = runtime_.HasImage(a.spec.image);
    Status image = Status::Ok();
    if (!present.ok() || !*present) {  // only then is there a pull to guard
      image = CheckRegistry(a.spec.image, registries);
      if (image.ok()) image = runtime_.EnsureImage(a.spec.image);
    }
    if (!image.ok()) {
      p.retry_at = now + Backoff(++p.failures);
      std::string detail;
      for (const auto& m : image.error().members)
        if (const auto* text = std::get_if<std::string>(&m.value);
            text && m.name == "engine_detail")
          detail = *text;
      Report(a, "failed", image.error().message, {}, std::move(detail));
      return;
    }
    if (!network.empty()) {
      if (auto net = networks_.Ensure(a.tenant); !net.ok()) {
        p.retry_at = now + Backoff(++p.failures);
        Report(a, "failed", "could not create the workload's private network", {},
               net.error().message);
        return;
      }
    }
    runtime::ContainerSpec spec = ToContainerSpec(a, options_.node_id, network);
    auto created = runtime_.Create(spec);
    std::string id_or_name;
    if (created.ok()) {
      id_or_name = *created;
      spdlog::info("event=container_create workload={} container={}", a.workload_id, id_or_name);
    } else if (created.error().code == ErrorCode::kConflict) {
      id_or_name = spec.name;  // it exists after all (created meanwhile): adopt it
      spdlog::info("event=container_adopt workload={} name={}", a.workload_id, spec.name);
    } else {
      p.retry_at = now + Backoff(++p.failures);
      // The network may have gone under us (pruned by another agent on a shared engine):
      // look for it again on the next attempt.
      if (!network.empty()) networks_.Forget(a.tenant);
      Report(a, "failed", "could not create the container: " + created.error().message);
      return;
    }
    auto info = runtime_.Inspect(id_or_name);
    if (!info.ok()) {
      p.retry_at = now + Backoff(++p.failures);
      Report(a, "failed", "could not inspect the container: " + info.error().message);
      return;
    }
    current = std::move(*info);
  }

  if (!current->running) {
    if (p.expect_running) {  // it was running for this generation and exited on its own
      p.expect_running = false;
      p.ready = false;
      const auto delay = Backoff(++p.failures);
      p.retry_at = now + delay;
      Report(a, "failed",
             ExitReason(*current) + "; restarting in " + Seconds(delay) + " (restart " +
                 std::to_string(p.failures) + ")");
      spdlog::warn("event=container_exited workload={} code={} oom={}", a.workload_id,
                   current->exit_code, current->oom_killed);
      return;
    }
    if (now < p.retry_at) return;
    if (!a.spec.secret_files.empty()) {
      std::vector<runtime::FileEntry> files;
      for (const auto& f : a.spec.secret_files) files.push_back({f.name, f.content, 0400});
      if (Status st = runtime_.CopyFiles(current->id, templates::kSecretsDir, files); !st.ok()) {
        p.retry_at = now + Backoff(++p.failures);
        Report(a, "failed", "could not write the workload's secrets into its container", {},
               st.error().message);
        return;
      }
    }
    if (Status st = runtime_.Start(current->id); !st.ok()) {
      p.retry_at = now + Backoff(++p.failures);
      Report(a, "failed", "could not start the container: " + st.error().message);
      return;
    }
    spdlog::info("event=container_start workload={} container={}", a.workload_id, current->id);
    p.expect_running = true;
    p.ready = false;
    p.ready_deadline = now + options_.ready_timeout;
    p.running_since = now;
    auto info = runtime_.Inspect(current->id);
    if (!info.ok()) {
      Report(a, "starting", "");
      return;
    }
    current = std::move(*info);
    if (!current->running) {  // exited at once: report it as a crash
      EnsureRunning(a, &*current, p);
      return;
    }
    Report(a, "starting", "", BindingsOf(*current));
  } else if (!p.expect_running) {  // adopted: running already (agent restart, new generation)
    p.expect_running = true;
    p.ready = false;
    p.ready_deadline = now + options_.ready_timeout;
    p.running_since = now;
  }
  CheckReady(a, *current, p);
}

void Reconciler::CheckReady(const link::Assignment& a, const runtime::ContainerInfo& c,
                            Progress& p) {
  const auto now = Clock::now();
  if (p.ready) {
    if (now - p.running_since > std::chrono::seconds(60)) p.failures = 0;  // stable again
    Report(a, "running", "", BindingsOf(c));
    return;
  }
  const templates::Readiness& r = a.spec.readiness;
  Status probe = ProbeReadiness(r, HostPortFor(c, r.container_port), options_.probe_timeout);
  if (probe.ok()) {
    p.ready = true;
    p.probe_error.clear();
    spdlog::info("event=workload_ready workload={} generation={}", a.workload_id, a.generation);
    Report(a, "running", "", BindingsOf(c));
    return;
  }
  p.probe_error = probe.error().message;
  if (Clock::now() >= p.ready_deadline) {
    Report(a, "failed",
           "did not become ready within " + Seconds(options_.ready_timeout) + ": " + p.probe_error,
           BindingsOf(c));
    return;
  }
  Report(a, "starting", "", BindingsOf(c));
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
    if (!c.running) continue;
    if (Stopping()) return;
    if (!orphans_seen_[c.name]) {
      spdlog::info("event=orphan_stop workload={} container={}", id, c.id);
      orphans_seen_[c.name] = true;
    }
    if (Status st = runtime_.Stop(c.id, options_.stop_grace); !st.ok())
      spdlog::warn("event=orphan_stop_failed workload={} error=\"{}\"", id, st.error().message);
  }
}

void Reconciler::Report(const link::Assignment& a, std::string state, std::string reason,
                        std::vector<link::PortBindingReport> bindings, std::string detail) {
  if (!detail.empty())
    spdlog::warn("event=workload_failure_detail workload={} reason=\"{}\" detail=\"{}\"",
                 a.workload_id, reason, detail);
  link::StatusReport s{a.workload_id,     a.generation,        std::move(state),
                       std::move(reason), std::move(bindings), std::move(detail)};
  {
    std::lock_guard lock(mu_);
    auto d = desired_.find(a.workload_id);
    if (d == desired_.end() || d->second.generation != a.generation) return;  // superseded
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
               s.workload_id, s.generation, s.state, s.reason);
  if (sink_) sink_(s);
}

std::chrono::seconds Reconciler::Backoff(int failures) const {
  const int shift = std::clamp(failures - 1, 0, 16);
  return std::min<std::chrono::seconds>(std::chrono::seconds(1LL << shift), options_.max_backoff);
}

}  // namespace lattice::agent
