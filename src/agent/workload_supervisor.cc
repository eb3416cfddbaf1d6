#include "agent/workload_supervisor.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>
#include <utility>

#include "agent/readiness.h"
#include "agent/registry_guard.h"
#include "agent/restore_job.h"
#include "agent/workload_container.h"

namespace lattice::agent {
namespace {

std::string Seconds(std::chrono::seconds s) {
  return std::to_string(s.count()) + " s";
}

// The engine's own words about a failed pull, for logs and administrators.
std::string EngineDetail(const Error& e) {
  for (const auto& m : e.members)
    if (const auto* text = std::get_if<std::string>(&m.value); text && m.name == "engine_detail")
      return *text;
  return {};
}

}  // namespace

bool WorkloadSupervisor::TryClaim(std::int64_t generation) {
  if (busy_.exchange(true, std::memory_order_acq_rel)) {
    if (generation != claimed_generation_.load()) owed_.store(true);
    return false;
  }
  claimed_generation_.store(generation);
  return true;
}

NextPass WorkloadSupervisor::Step(const link::Assignment& a,
                                  std::optional<runtime::ContainerInfo> actual) {
  bool fast = false;
  try {
    if (forget_.exchange(false)) p_ = Progress{};
    if (p_.generation != a.generation) {
      p_ = Progress{};
      p_.generation = a.generation;
    }
    fast = Reconcile(a, actual ? &*actual : nullptr);
  } catch (const std::exception& e) {  // a bug; keep the node's other workloads managed
    spdlog::error("event=reconcile_crash workload={} error=\"{}\"", a.workload_id, e.what());
  }
  const NextPass next = owed_.exchange(false) ? NextPass::kNow
                        : fast                ? NextPass::kSoon
                                              : NextPass::kOnTick;
  ended_.fetch_add(1, std::memory_order_acq_rel);
  busy_.store(false, std::memory_order_release);  // the last touch: the loop may now destroy us
  return next;
}

bool WorkloadSupervisor::Reconcile(const link::Assignment& a, const runtime::ContainerInfo* c) {
  if (!IsValidWorkloadId(a.workload_id)) {
    Report(a, WorkloadStatus::kFailed, "the workload id is not usable as a container name");
    return false;
  }
  switch (a.desired_state) {
    case DesiredState::kDeleted:
      EnsureDeleted(a, c);
      return false;
    case DesiredState::kStopped:
      EnsureStopped(a, c);
      return false;
    case DesiredState::kRunning:
      break;
  }
  EnsureRunning(a, c);
  const auto now = ctx_.clock.Now();
  const bool probing = p_.expect_running && !p_.ready && now < p_.ready_deadline;
  const bool retry_soon = p_.retry_at > now && p_.retry_at - now < ctx_.options.tick;
  return probing || retry_soon;
}

void WorkloadSupervisor::EnsureDeleted(const link::Assignment& a, const runtime::ContainerInfo* c) {
  if (a.spec.restore) {  // a restore still running holds the data volume
    if (Status st = CancelRestore(ctx_.runtime, a.workload_id); !st.ok()) {
      Report(a, WorkloadStatus::kFailed, "could not end the restore: " + st.error().message);
      return;
    }
  }
  if (c) {
    spdlog::info("event=container_remove workload={} container={}", a.workload_id, c->id);
    if (Status st = ctx_.runtime.Remove(c->id); !st.ok()) {
      Report(a, WorkloadStatus::kFailed, "could not remove the container: " + st.error().message);
      return;
    }
    p_.volumes_removed = false;
  }
  if (!p_.volumes_removed) {
    std::vector<std::string> names = ReplacedVolumeNamesOf(a);
    for (std::string& name : VolumeNamesOf(a)) names.push_back(std::move(name));
    for (const std::string& name : names) {
      if (Status st = ctx_.runtime.RemoveVolume(name); !st.ok()) {
        Report(a, WorkloadStatus::kFailed,
               "could not remove volume " + name + ": " + st.error().message);
        return;
      }
    }
    p_.volumes_removed = true;
    PruneNetworks();
  }
  if (!p_.logs_removed && ctx_.options.logs) {
    if (!ctx_.options.logs->Forget(a.workload_id))
      spdlog::warn("event=logs_forget_slow workload={}", a.workload_id);
    p_.logs_removed = true;
  }
  Report(a, WorkloadStatus::kDeleted);
}

void WorkloadSupervisor::EnsureStopped(const link::Assignment& a, const runtime::ContainerInfo* c) {
  p_.expect_running = false;
  if (a.spec.restore && !c) (void)CancelRestore(ctx_.runtime, a.workload_id);  // starts over
  if (c && c->running) {
    spdlog::info("event=container_stop workload={} container={}", a.workload_id, c->id);
    if (Status st = ctx_.runtime.Stop(c->id, ctx_.options.stop_grace); !st.ok()) {
      Report(a, WorkloadStatus::kFailed, "could not stop the container: " + st.error().message);
      return;
    }
  }
  Report(a, WorkloadStatus::kStopped);
}

void WorkloadSupervisor::EnsureRunning(const link::Assignment& a, const runtime::ContainerInfo* c) {
  const auto now = ctx_.clock.Now();
  std::optional<runtime::ContainerInfo> current;
  if (c) current = *c;

  // A changed spec (or network) needs a new container; the named volumes (the data) stay.
  const std::string network = NetworkFor(a);
  if (current && !LabelOf(*current, kLabelSpec).empty() &&
      LabelOf(*current, kLabelSpec) != SpecHash(a.spec, network)) {
    spdlog::info("event=container_replace workload={} container={} reason=spec_changed",
                 a.workload_id, current->id);
    if (current->running) (void)ctx_.runtime.Stop(current->id, ctx_.options.stop_grace);
    // Its last lines go to the kept logs before the container (and the engine's copy) goes.
    if (ctx_.options.logs && !ctx_.options.logs->Drain(a.workload_id, current->id))
      spdlog::warn("event=logs_drain_slow workload={} container={}", a.workload_id, current->id);
    if (Status st = ctx_.runtime.Remove(current->id); !st.ok()) {
      Report(a, WorkloadStatus::kFailed, "could not replace the container: " + st.error().message);
      return;
    }
    current.reset();
  }

  if (!current) {
    if (now < p_.retry_at) return;  // keep the failure reported until the retry
    if (a.spec.restore && !Restored(a, network)) return;
    current = CreateOrAdopt(a, network);
    if (!current) return;
  }

  if (!current->running) {
    if (p_.expect_running) {  // it was running for this generation and exited on its own
      p_.expect_running = false;
      p_.ready = false;
      const auto delay = Backoff(++p_.failures);
      p_.retry_at = now + delay;
      Report(a, WorkloadStatus::kFailed,
             ExitReason(*current) + "; restarting in " + Seconds(delay) + " (restart " +
                 std::to_string(p_.failures) + ")");
      spdlog::warn("event=container_exited workload={} code={} oom={}", a.workload_id,
                   current->exit_code, current->oom_killed);
      return;
    }
    if (now < p_.retry_at) return;
    StartContainer(a, *current);
    return;
  }
  if (!p_.expect_running) {  // adopted: running already (agent restart, new generation)
    p_.expect_running = true;
    p_.ready = false;
    p_.ready_deadline = now + ctx_.options.ready_timeout;
    p_.running_since = now;
  }
  CheckReady(a, *current);
}

bool WorkloadSupervisor::Restored(const link::Assignment& a, const std::string& network) {
  if (p_.restored) return true;
  const RestoreOutcome out = StepRestore(ctx_.runtime, a, network, ctx_.options.tool_image);
  switch (out.state) {
    case RestoreOutcome::State::kDone:
      p_.restored = true;
      return true;
    case RestoreOutcome::State::kRunning: {
      const templates::RestoreSource& r = *a.spec.restore;
      Report(a, WorkloadStatus::kCreating,
             "restoring backup " + r.backup_id +
                 (r.target_time.empty() ? "" : " to " + r.target_time));
      return false;
    }
    case RestoreOutcome::State::kFailed:
      p_.retry_at = ctx_.clock.Now() + Backoff(++p_.failures);
      Report(a, WorkloadStatus::kFailed, out.message, {}, out.detail);
      return false;
  }
  return false;
}

std::optional<runtime::ContainerInfo> WorkloadSupervisor::CreateOrAdopt(
    const link::Assignment& a, const std::string& network) {
  const auto now = ctx_.clock.Now();
  if (p_.failures == 0) Report(a, WorkloadStatus::kCreating);
  // The registry guard resolves names: only worth it when the engine is about to pull.
  auto present = ctx_.runtime.HasImage(a.spec.image);
  Status image = Status::Ok();
  if (!present.ok() || !*present) {  // only then is there a pull to guard
    image = CheckRegistry(a.spec.image, ctx_.host.AllowedRegistries());
    if (image.ok()) image = ctx_.runtime.EnsureImage(a.spec.image);
  }
  if (!image.ok()) {
    p_.retry_at = now + Backoff(++p_.failures);
    Report(a, WorkloadStatus::kFailed, image.error().message, {}, EngineDetail(image.error()));
    return std::nullopt;
  }
  runtime::ContainerSpec spec = ToContainerSpec(a, ctx_.options.node_id, network);
  Result<std::string> created = std::string();
  {
    // Holds off network pruning from here until the container naming the network exists.
    std::shared_lock<std::shared_mutex> lease;
    if (!network.empty()) {
      lease = ctx_.networks.Use();
      if (auto net = ctx_.networks.Ensure(a.tenant); !net.ok()) {
        p_.retry_at = now + Backoff(++p_.failures);
        Report(a, WorkloadStatus::kFailed, "could not create the workload's private network", {},
               net.error().message);
        return std::nullopt;
      }
    }
    created = ctx_.runtime.Create(spec);
  }
  std::string id_or_name;
  if (created.ok()) {
    id_or_name = *created;
    spdlog::info("event=container_create workload={} container={}", a.workload_id, id_or_name);
  } else if (created.error().code == ErrorCode::kConflict) {
    id_or_name = spec.name;  // it exists after all (created meanwhile): adopt it
    spdlog::info("event=container_adopt workload={} name={}", a.workload_id, spec.name);
  } else {
    p_.retry_at = now + Backoff(++p_.failures);
    // The network may have gone under us (pruned by another agent on a shared engine):
    // look for it again on the next attempt.
    if (!network.empty()) ctx_.networks.Forget(a.tenant);
    Report(a, WorkloadStatus::kFailed,
           "could not create the container: " + created.error().message);
    return std::nullopt;
  }
  auto info = ctx_.runtime.Inspect(id_or_name);
  if (!info.ok()) {
    p_.retry_at = now + Backoff(++p_.failures);
    Report(a, WorkloadStatus::kFailed, "could not inspect the container: " + info.error().message);
    return std::nullopt;
  }
  return std::move(*info);
}

void WorkloadSupervisor::StartContainer(const link::Assignment& a,
                                        const runtime::ContainerInfo& c) {
  const auto now = ctx_.clock.Now();
  if (!a.spec.secret_files.empty()) {
    std::vector<runtime::FileEntry> files;
    for (const auto& f : a.spec.secret_files) files.push_back({f.name, f.content, 0400});
    if (Status st = ctx_.runtime.CopyFiles(c.id, templates::kSecretsDir, files); !st.ok()) {
      p_.retry_at = now + Backoff(++p_.failures);
      Report(a, WorkloadStatus::kFailed,
             "could not write the workload's secrets into its container", {}, st.error().message);
      return;
    }
  }
  if (Status st = ctx_.runtime.Start(c.id); !st.ok()) {
    p_.retry_at = now + Backoff(++p_.failures);
    Report(a, WorkloadStatus::kFailed, "could not start the container: " + st.error().message);
    return;
  }
  spdlog::info("event=container_start workload={} container={}", a.workload_id, c.id);
  p_.expect_running = true;
  p_.ready = false;
  p_.ready_deadline = now + ctx_.options.ready_timeout;
  p_.running_since = now;
  auto info = ctx_.runtime.Inspect(c.id);
  if (!info.ok()) {
    Report(a, WorkloadStatus::kStarting);
    return;
  }
  // The kept logs start with the container's first line, not at the next listing.
  if (ctx_.options.logs)
    ctx_.options.logs->Observe({{a.workload_id, info->id, info->running, info->started_at}});
  if (!info->running) {  // exited at once: report it as a crash
    EnsureRunning(a, &*info);
    return;
  }
  Report(a, WorkloadStatus::kStarting, "", ReachOf(*info));
  CheckReady(a, *info);
}

void WorkloadSupervisor::CheckReady(const link::Assignment& a, const runtime::ContainerInfo& c) {
  const auto now = ctx_.clock.Now();
  if (p_.ready) {
    if (now - p_.running_since > std::chrono::seconds(60)) p_.failures = 0;  // stable again
    Report(a, WorkloadStatus::kRunning, "", ReachOf(c));
    return;
  }
  const templates::Readiness& r = a.spec.readiness;
  Status probe = ProbeReadiness(r, TargetFor(c, r.container_port), ctx_.options.probe_timeout);
  if (probe.ok()) {
    p_.ready = true;
    p_.probe_error.clear();
    spdlog::info("event=workload_ready workload={} generation={}", a.workload_id, a.generation);
    RemoveReplacedVolumes(a);
    Report(a, WorkloadStatus::kRunning, "", ReachOf(c));
    return;
  }
  p_.probe_error = probe.error().message;
  if (ctx_.clock.Now() >= p_.ready_deadline) {
    Report(a, WorkloadStatus::kFailed,
           "did not become ready within " + Seconds(ctx_.options.ready_timeout) + ": " +
               p_.probe_error,
           ReachOf(c));
    return;
  }
  Report(a, WorkloadStatus::kStarting, "", ReachOf(c));
}

void WorkloadSupervisor::RemoveReplacedVolumes(const link::Assignment& a) {
  if (p_.replaced_removed || a.spec.volume_epoch == 0) return;
  p_.replaced_removed = true;
  for (const std::string& name : ReplacedVolumeNamesOf(a)) {
    if (Status st = ctx_.runtime.RemoveVolume(name); !st.ok()) {
      spdlog::warn("event=replaced_volume_remove_failed workload={} volume={} error=\"{}\"",
                   a.workload_id, name, st.error().message);
      p_.replaced_removed = false;
    }
  }
}

void WorkloadSupervisor::Report(const link::Assignment& a, WorkloadStatus state, std::string reason,
                                Reach reach, std::string detail) {
  ctx_.host.Report(a, state, std::move(reason), std::move(reach), std::move(detail));
}

std::string WorkloadSupervisor::NetworkFor(const link::Assignment& a) const {
  if (!ctx_.options.tenant_networks || a.tenant.empty() || !IsValidWorkloadId(a.tenant)) return "";
  return TenantNetworkName(a.tenant);
}

void WorkloadSupervisor::PruneNetworks() {
  if (!ctx_.options.tenant_networks) return;
  auto pruned = ctx_.networks.PruneUnused([&]() -> Result<std::set<std::string>> {
    auto all = ctx_.runtime.ListByLabel(kLabelWorkload);
    if (!all.ok()) return std::move(all).error();
    std::set<std::string> in_use;
    for (const auto& c : *all) in_use.insert(c.network_mode);
    return in_use;
  });
  if (!pruned.ok()) spdlog::warn("event=network_prune_failed error=\"{}\"", pruned.error().message);
}

std::chrono::seconds WorkloadSupervisor::Backoff(int failures) const {
  const int shift = std::clamp(failures - 1, 0, 16);
  return std::min<std::chrono::seconds>(std::chrono::seconds(1LL << shift),
                                        ctx_.options.max_backoff);
}

}  // namespace lattice::agent
