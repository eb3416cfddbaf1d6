#include "control/control_plane.h"

#include <spdlog/spdlog.h>
#include <boost/json.hpp>

#include <unordered_map>

#include "common/random.h"
#include "common/secretbox.h"
#include "scheduler/placement.h"
#include "store/engine_neutral.h"
#include "store/quota.h"
#include "templates/spec_storage.h"

namespace lattice::control {
namespace json = boost::json;

namespace {

std::string PortsToJson(const std::vector<templates::PortSpec>& ports) {
  json::array a;
  for (const auto& p : ports) {
    json::object o{{"name", p.name},
                   {"container_port", p.container_port},
                   {"protocol", p.protocol},
                   {"scheme", p.scheme}};
    if (p.idle_timeout_s > 0) o["idle_timeout_s"] = p.idle_timeout_s;
    if (!p.probe.empty()) o["probe"] = p.probe;
    a.push_back(std::move(o));
  }
  return json::serialize(a);
}

NodeRegistryOptions NodeOptions(const ControlOptions& o) {
  return {.heartbeat_seconds = o.heartbeat_seconds,
          .lost_grace_seconds = o.lost_grace_seconds,
          .replica_timeout_seconds = o.replica_timeout_seconds,
          .join_token_ttl_seconds = o.join_token_ttl_seconds,
          .advertise_url = o.advertise_url,
          .ca_fingerprint = o.ca_fingerprint,
          .registries = o.admission.registries};
}

}  // namespace

ControlPlane::ControlPlane(store::Store& store, const Clock& clock, const Keyring& keys,
                           EventBus& events, AgentHub& hub, Cluster& cluster, AlertSink& alerts,
                           ControlOptions opts)
    : store_(store),
      clock_(clock),
      keys_(keys),
      events_(events),
      hub_(hub),
      cluster_(cluster),
      alerts_(alerts),
      opts_(std::move(opts)),
      routes_(store, PublicPortRange{opts_.public_port_low, opts_.public_port_high,
                                     opts_.public_port_usable}),
      registry_(store, clock, events, hub, cluster, alerts, NodeOptions(opts_),
                [this] { placer_.NodesChanged(); }),  // the next placement pass rereads them
      placer_(store, clock,
              Placer::Hooks{[this](const store::Node& n) { return registry_.LinkUp(n); },
                            [this](const store::Workload& w, WorkloadStatus status,
                                   const std::string& message) { OnPlaced(w, status, message); }}) {
}

// ---------------------------------------------------------------- users

Result<WorkloadView> ControlPlane::View(store::Workload w, Secrets secrets,
                                        const std::map<std::string, store::Node>* nodes) {
  WorkloadView v;
  if (secrets == Secrets::kInclude) {
    auto creds = Open(w.credentials_enc, keys_.secrets_key());
    if (!creds.ok()) return std::move(creds).error();
    v.credentials = templates::CredentialsFromJson(*creds);
  }
  if (nodes != nullptr) {
    if (auto it = nodes->find(w.node_id); it != nodes->end()) {
      v.node_name = it->second.name;
      v.node_address = it->second.address;
    }
  } else if (!w.node_id.empty()) {
    if (auto n = store_.GetNode(w.node_id); n.ok()) {
      v.node_name = n->name;
      v.node_address = n->address;
    }
  }
  v.public_ports = routes_.Of(w.id);
  v.public_host = opts_.public_host;
  v.w = std::move(w);
  return v;
}

Result<store::Workload> ControlPlane::Owned(const Principal& who, const std::string& id) {
  auto w = store_.GetWorkload(id);
  if (!w.ok() || w->owner_id != who.user_id) {
    if (!w.ok() && w.error().code != ErrorCode::kNotFound) return std::move(w).error();
    return Error::NotFound("No workload with id '" + id.substr(0, 64) + "'.");
  }
  return w;
}

Result<WorkloadView> ControlPlane::CreateWorkload(const Principal& who,
                                                  const templates::WorkloadRequest& req,
                                                  std::optional<store::AuditEvent> audit,
                                                  const CreateExtras& extras) {
  if (Status s = templates::Validate(req); !s.ok()) return std::move(s).error();
  if (Status s = templates::Admit(req, opts_.admission); !s.ok()) return std::move(s).error();
  templates::Credentials creds = templates::GenerateCredentials(req.template_name);
  for (const auto& [key, value] : extras.credentials) creds[key] = value;
  templates::RenderedWorkload spec = templates::Render(req, creds, opts_.images);
  spec.restore = extras.restore;
  const std::int64_t now = clock_.NowSeconds();
  store::Workload w;
  w.id = NewId("wl");
  w.owner_id = who.user_id;
  w.name = req.name;
  w.template_name = req.template_name;
  w.image = spec.image;
  w.spec_enc = Seal(templates::EncodeStoredSpec(spec), keys_.secrets_key());
  w.credentials_enc = Seal(templates::CredentialsToJson(creds), keys_.secrets_key());
  w.ports_json = PortsToJson(spec.ports);
  w.memory_mb = spec.memory_mb;
  w.cpus = spec.cpus;
  w.desired_state = DesiredState::kRunning;
  w.generation = 1;
  w.status = WorkloadStatus::kPending;
  if (!extras.node_id.empty()) {  // placed by the caller
    w.node_id = extras.node_id;
    w.status = WorkloadStatus::kScheduled;
  }
  w.created_at = w.updated_at = now;
  store::Store::NewWorkload n{
      w,
      opts_.quota,
      {},
      store::WorkloadEvent{0, w.id, now, WorkloadStatus::kPending,
                           extras.event.empty() ? "created by " + who.email : extras.event},
      std::move(audit)};
  if (n.audit) n.audit->target = w.id;
  // Ports are picked from what this replica knows is held; another replica may have taken one
  // meanwhile (the insert says so): learn the held ports from the store and plan again.
  for (int attempt = 1;; ++attempt) {
    auto ports = routes_.Plan(w);
    if (!ports.ok()) return std::move(ports).error();
    n.ports = std::move(ports).value();
    Status s = store_.CreateWorkload(n);
    if (s.ok()) break;
    if (s.error().type != store::Store::kPortTaken || attempt == 3) return std::move(s).error();
    if (Status loaded = routes_.LoadAll(); !loaded.ok()) return std::move(loaded).error();
  }
  routes_.Hold(w.id, n.ports);
  {
    std::lock_guard lock(quota_mu_);
    quota_owed_.insert(w.owner_id);  // CheckQuotas, at the next Tick
  }
  // Published before placement, which publishes the placed record after it.
  PublishWorkloadLocally(w);
  cluster_.Broadcast("workload", {{"id", w.id}});
  if (!w.node_id.empty()) {
    placer_.Recount();  // its memory is taken on that node
    PushToNode(w);
    return View(std::move(w));
  }
  std::map<std::string, std::string> placed;
  SchedulePending(&placed);
  if (auto it = placed.find(w.id); it != placed.end()) {  // placed at once: say where
    w.node_id = it->second;
    w.status = WorkloadStatus::kScheduled;
  }
  return View(std::move(w));
}

Result<WorkloadView> ControlPlane::GetWorkload(const Principal& who, const std::string& id) {
  auto w = Owned(who, id);
  if (!w.ok()) return std::move(w).error();
  auto v = View(std::move(w).value());
  if (!v.ok()) return v;
  if (auto probes = store_.Probes().ProbeEndpoints(id); probes.ok())
    v->probes = std::move(probes).value();
  return v;
}

Result<std::vector<WorkloadView>> ControlPlane::ListWorkloads(const Principal& who) {
  store::WorkloadFilter f;
  f.owner_id = who.user_id;
  auto list = store_.ListWorkloads(f);
  if (!list.ok()) return std::move(list).error();
  // Every node the list names, in one store call (not one per item).
  std::vector<std::string> ids;
  for (const auto& w : *list)
    if (!w.node_id.empty()) ids.push_back(w.node_id);
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  std::map<std::string, store::Node> nodes;
  if (!ids.empty()) {
    auto found = store_.GetNodes(ids);
    if (!found.ok()) return std::move(found).error();
    for (auto& n : *found) nodes.emplace(n.id, std::move(n));
  }
  std::vector<WorkloadView> out;
  out.reserve(list->size());
  for (auto& w : *list) {
    auto v = View(std::move(w), Secrets::kInclude, &nodes);
    if (!v.ok()) return std::move(v).error();
    out.push_back(std::move(v).value());
  }
  return out;
}

Result<WorkloadView> ControlPlane::SetDesired(const Principal& who, const std::string& id,
                                              DesiredState desired) {
  auto cur = Owned(who, id);
  if (!cur.ok()) return std::move(cur).error();
  if (cur->desired_state == DesiredState::kDeleted)
    return Error::Conflict("The workload is being deleted.");
  // Idempotent, except that starting a failed or lost workload again is a retry: a new
  // generation makes the node start over (pull, create, start) instead of waiting.
  const bool retry = desired == DesiredState::kRunning && (cur->status == WorkloadStatus::kFailed ||
                                                           cur->status == WorkloadStatus::kLost);
  if (cur->desired_state == desired && !retry) return View(std::move(cur).value());
  WorkloadStatus status = cur->status;
  if (desired == DesiredState::kDeleted)
    status = WorkloadStatus::kDeleting;
  else if (desired == DesiredState::kRunning)
    status = cur->node_id.empty() ? WorkloadStatus::kPending : WorkloadStatus::kScheduled;
  else if (desired == DesiredState::kStopped && cur->node_id.empty())
    status = WorkloadStatus::kStopped;  // nothing runs
  auto w = store_.SetDesiredState(id, desired, status, clock_.NowSeconds());
  if (!w.ok()) return std::move(w).error();
  if (desired == DesiredState::kDeleted && !w->node_id.empty())
    placer_.Recount();  // its memory is free
  Record(*w, status,
         desired == DesiredState::kDeleted   ? "delete requested"
         : desired == DesiredState::kStopped ? "stop requested"
                                             : "start requested");
  if (w->node_id.empty()) {
    if (desired == DesiredState::kDeleted) {
      // Never placed: nothing runs anywhere, so it is gone at once.
      if (Status s = store_.DeleteWorkload(id); !s.ok()) return std::move(s).error();
      Forget(id);
      PublishDeleted(id, w->owner_id);
      return View(std::move(w).value());
    }
    SchedulePending();
  } else {
    PushToNode(*w);
  }
  PublishWorkload(id);
  auto fresh = store_.GetWorkload(id);
  if (!fresh.ok()) return View(std::move(w).value());
  return View(std::move(fresh).value());
}

Result<WorkloadView> ControlPlane::RestoreInPlace(const Principal& who, const std::string& id,
                                                  templates::RestoreSource restore,
                                                  const std::string& event) {
  // One read-modify-write at a time on this replica: two restores never share an epoch.
  std::lock_guard lock(restore_in_place_mu_);
  auto cur = Owned(who, id);
  if (!cur.ok()) return std::move(cur).error();
  if (cur->desired_state == DesiredState::kDeleted)
    return Error::Conflict("The workload is being deleted.");
  if (cur->node_id.empty()) return Error::Conflict("The workload is not placed on a node.");
  auto opened = SpecOf(*cur);
  if (!opened.ok()) return std::move(opened).error();
  templates::RenderedWorkload spec = std::move(opened).value();
  const bool restoring =
      spec.restore && cur->desired_state == DesiredState::kRunning &&
      (cur->status == WorkloadStatus::kPending || cur->status == WorkloadStatus::kScheduled ||
       cur->status == WorkloadStatus::kCreating);
  if (restoring)
    return Error::Conflict(
        "The workload is still being restored; wait until it runs (or has failed) first.");
  spec.restore = std::move(restore);
  spec.volume_epoch += 1;
  const std::string sealed = Seal(templates::EncodeStoredSpec(spec), keys_.secrets_key());
  if (Status s = store_.UpdateWorkloadSpec(id, sealed); !s.ok()) return std::move(s).error();
  // The new generation makes the agent act on the new spec now; an agent that misses it gets
  // the spec with its next full assignment list.
  auto w = store_.SetDesiredState(id, DesiredState::kRunning, WorkloadStatus::kScheduled,
                                  clock_.NowSeconds());
  if (!w.ok()) return std::move(w).error();
  Record(*w, WorkloadStatus::kScheduled, event);
  PushToNode(*w);
  PublishWorkload(id);
  return View(std::move(w).value());
}

Result<std::vector<store::WorkloadEvent>> ControlPlane::Timeline(const Principal& who,
                                                                 const std::string& id) {
  auto w = Owned(who, id);
  if (!w.ok()) return std::move(w).error();
  return store_.ListEvents(id, 200);
}

Result<std::string> ControlPlane::NodeOf(const Principal& who, const std::string& id) {
  auto w = Owned(who, id);
  if (!w.ok()) return std::move(w).error();
  if (w->node_id.empty())
    return Error::Conflict("The workload has not been placed on a node yet, so it has no logs.");
  auto node = store_.GetNode(w->node_id);
  if (!node.ok() || !registry_.LinkUp(*node))
    return Error::Unavailable("The workload's node is not connected right now.");
  return w->node_id;
}

int ControlPlane::MigrateStoredSpecs() {
  auto all = store_.ListWorkloads({});
  if (!all.ok()) {
    spdlog::warn("msg=\"spec format migration skipped\" error=\"{}\"", all.error().message);
    return 0;
  }
  int rewritten = 0;
  for (const auto& w : *all) {
    auto text = Open(w.spec_enc, keys_.secrets_key());
    if (!text.ok()) continue;  // reported when the workload is next assigned
    auto stored = templates::DecodeStoredSpec(*text);
    if (!stored.ok() || stored->format == templates::kSpecFormat) continue;
    const std::string sealed = Seal(templates::EncodeStoredSpec(stored->spec), keys_.secrets_key());
    if (Status s = store_.UpdateWorkloadSpec(w.id, sealed); s.ok())
      ++rewritten;
    else if (s.error().code != ErrorCode::kNotFound)
      spdlog::warn("msg=\"spec format migration failed\" workload={} error=\"{}\"", w.id,
                   s.error().message);
  }
  if (rewritten > 0)
    spdlog::info("msg=\"stored workload specs rewritten\" format={} count={}",
                 templates::kSpecFormat, rewritten);
  return rewritten;
}

void ControlPlane::RecoverAfterRestart() {
  MigrateStoredSpecs();
  if (routes_.enabled()) {
    if (Status s = routes_.LoadAll(); !s.ok())
      spdlog::warn("msg=\"public ports not loaded\" error=\"{}\"", s.error().message);
    // A workload may lack ports (created before the edge was turned on): give them now.
    if (auto all = store_.ListWorkloads({}); all.ok()) {
      for (const auto& w : *all) {
        if (!routes_.Missing(w)) continue;
        if (Status s = routes_.Allocate(w); !s.ok())
          spdlog::warn("msg=\"no public port\" workload={} error=\"{}\"", w.id, s.error().message);
      }
    }
  }
  registry_.RecoverAfterRestart();
}

// ---------------------------------------------------------------- agent link

void ControlPlane::OnAgentConnected(const std::string& node_id) {
  registry_.OnAgentConnected(node_id);
  store::WorkloadFilter f;
  f.node_id = node_id;
  link::Assignments all;
  if (auto list = store_.ListWorkloads(f); list.ok()) {
    for (const auto& w : *list)
      if (auto a = AssignmentFor(w); a.ok()) all.items.push_back(std::move(a).value());
  }
  hub_.Send(node_id, all);
  registry_.PublishNode(node_id);
  SchedulePending();
}

Status ControlPlane::OnStatus(const std::string& node_id, const link::StatusReport& r) {
  OnHeartbeat(node_id);
  auto w = store_.GetWorkload(r.workload_id);
  if (!w.ok() && w.error().code != ErrorCode::kNotFound) return std::move(w).error();
  if (!w.ok() || w->node_id != node_id) return Status::Ok();  // not (or no longer) this node's
  if (r.generation != w->generation) return Status::Ok();     // about a superseded intent
  // The engine's own words stay with the operators: the owner sees only the short reason.
  if (!r.detail.empty())
    spdlog::info("msg=\"workload status detail\" workload={} node={} state={} detail=\"{}\"",
                 r.workload_id, node_id, Name(r.state), r.detail.substr(0, 2048));
  if (r.state == WorkloadStatus::kDeleted) {
    if (w->desired_state != DesiredState::kDeleted) return Status::Ok();
    if (Status s = store_.DeleteWorkload(w->id); !s.ok()) return s;
    Forget(w->id);
    hub_.Send(node_id, link::Remove{w->id});  // the agent can forget it
    PublishDeleted(w->id, w->owner_id);
    return Status::Ok();
  }
  json::array bindings;
  for (const auto& b : r.bindings)
    bindings.push_back({{"container_port", b.container_port}, {"host_port", b.host_port}});
  const std::string reason = r.reason.substr(0, 1024);
  if (w->status == r.state && w->status_reason == reason &&
      w->bindings_json == json::serialize(bindings))
    return Status::Ok();
  if (Status s = store_.SetObservedStatus(w->id, r.generation, r.state, reason,
                                          json::serialize(bindings), clock_.NowSeconds());
      !s.ok())
    return s;
  if (w->status != r.state || w->status_reason != reason) Record(*w, r.state, reason);
  if (w->status != r.state && r.state == WorkloadStatus::kFailed) {
    Alert(*w, AlertKind::kWorkloadFailed, reason.empty() ? "the workload failed" : reason);
  } else if (r.state == WorkloadStatus::kRunning &&
             (w->status == WorkloadStatus::kFailed || w->status == WorkloadStatus::kLost)) {
    Alert(*w, AlertKind::kWorkloadRecovered,
          "running again after it was " + std::string(Name(w->status)));
  }
  PublishWorkload(w->id);
  return Status::Ok();
}

// ---------------------------------------------------------------- duties

void ControlPlane::Tick() {
  const std::int64_t now = clock_.NowSeconds();
  const bool leading = cluster_.IsLeader();
  registry_.Tick(now, leading);
  CheckQuotas();  // on every replica: creates happen on each
  if (!leading) {
    placer_.Recount();  // a tally from an earlier term may have missed others' placements
    return;
  }
  PlacePending(/*recount=*/true);  // also retries what waits for a node
  MarkLost(now);
}

void ControlPlane::MarkLost(std::int64_t now) {
  for (const auto& node_id : registry_.LostNodes(now)) {
    store::WorkloadFilter f;
    f.node_id = node_id;
    auto list = store_.ListWorkloads(f);
    if (!list.ok()) continue;
    for (const auto& w : *list) {
      if (w.status == WorkloadStatus::kLost || w.status == WorkloadStatus::kStopped ||
          w.desired_state == DesiredState::kDeleted)
        continue;
      const std::string reason =
          "its node has not been heard from for " + std::to_string(opts_.lost_grace_seconds) + " s";
      if (store_.SetPlacement(w.id, w.node_id, WorkloadStatus::kLost, reason, now).ok()) {
        Record(w, WorkloadStatus::kLost, reason);
        Alert(w, AlertKind::kWorkloadLost, reason);
        PublishWorkload(w.id);
      }
    }
  }
}

void ControlPlane::SchedulePending(std::map<std::string, std::string>* placed) {
  if (!cluster_.IsLeader()) {  // placement happens once, on the leader: ask it
    cluster_.Broadcast("schedule", {});
    return;
  }
  {
    std::lock_guard lock(owed_mu_);
    const auto now = std::chrono::steady_clock::now();
    if (now - last_pass_ < kPassGap) {
      schedule_owed_ = true;
      return;
    }
    last_pass_ = now;
    schedule_owed_ = false;
  }
  PlacePending(false, placed);
}

void ControlPlane::ScheduleIfOwed() {
  {
    std::lock_guard lock(owed_mu_);
    if (!schedule_owed_) return;
    schedule_owed_ = false;
    last_pass_ = std::chrono::steady_clock::now();
  }
  if (cluster_.IsLeader()) PlacePending();
}

void ControlPlane::PlacePending(bool recount, std::map<std::string, std::string>* placed) {
  if (recount) {
    placer_.Recount();
    placer_.NodesChanged();
  }
  auto done = placer_.Pass();
  if (placed) *placed = std::move(done);
}

void ControlPlane::OnPlaced(const store::Workload& w, WorkloadStatus status,
                            const std::string& message) {
  Record(w, status, message);
  if (status == WorkloadStatus::kScheduled) PushToNode(w);
  PublishWorkload(w.id);
}

Result<templates::RenderedWorkload> ControlPlane::SpecOf(const store::Workload& w) const {
  auto text = Open(w.spec_enc, keys_.secrets_key());
  if (!text.ok()) return std::move(text).error();
  auto stored = templates::DecodeStoredSpec(*text);
  if (!stored.ok()) return std::move(stored).error();
  return std::move(stored->spec);
}

Result<link::Assignment> ControlPlane::AssignmentFor(const store::Workload& w) {
  auto opened = SpecOf(w);
  if (!opened.ok()) return std::move(opened).error();
  templates::RenderedWorkload spec = std::move(opened).value();
  // A spec stored before confinement existed gets its template's default now.
  if (!spec.confinement) spec.confinement = templates::DefaultConfinement(w.template_name);
  return link::Assignment{w.id, w.generation, w.desired_state, std::move(spec), w.owner_id, w.name};
}

void ControlPlane::PushToNode(const store::Workload& w) {
  auto fresh = store_.GetWorkload(w.id);
  if (!fresh.ok() || fresh->node_id.empty()) return;
  auto a = AssignmentFor(*fresh);
  if (!a.ok()) {
    spdlog::error("msg=\"cannot build assignment\" workload={} error=\"{}\"", w.id,
                  a.error().message);
    return;
  }
  // Not connected: the agent receives the full list when it comes back.
  hub_.Send(fresh->node_id, link::Upsert{std::move(a).value()});
}

void ControlPlane::Alert(const store::Workload& w, AlertKind kind, const std::string& message) {
  const std::int64_t now = clock_.NowSeconds();
  {
    std::lock_guard lock(alerted_mu_);
    auto [it, fresh] = alerted_.try_emplace({w.id, kind}, now);
    if (!fresh) {
      if (now - it->second < kAlertQuietSeconds) return;
      it->second = now;
    }
    if (alerted_.size() > 10000) {  // bounded: forget what is past its quiet period
      std::erase_if(alerted_,
                    [now](const auto& e) { return now - e.second >= kAlertQuietSeconds; });
    }
  }
  alerts_.Raise({kind, w.owner_id, w.id, w.name, w.node_id, "", message, now});
}

void ControlPlane::CheckQuotas() {
  std::set<std::string> owners;
  {
    std::lock_guard lock(quota_mu_);
    owners.swap(quota_owed_);
  }
  if (!store::HasLimits(opts_.quota)) return;
  const store::Quota& q = opts_.quota;
  for (const std::string& owner : owners) {
    store::WorkloadFilter f;
    f.owner_id = owner;
    auto list = store_.ListWorkloads(f);
    if (!list.ok()) continue;
    store::QuotaUse used;
    for (const auto& w : *list) {
      if (w.desired_state == DesiredState::kDeleted) continue;
      const store::QuotaUse c = store::Charge(w, q);
      used.workloads += c.workloads;
      used.memory_mb += c.memory_mb;
      used.cpus += c.cpus;
    }
    std::string what;
    const auto note = [&what](double use, double limit, const std::string& text) {
      if (limit > 0 && use >= 0.8 * limit) what += (what.empty() ? "" : ", ") + text;
    };
    note(static_cast<double>(used.workloads), static_cast<double>(q.max_workloads),
         std::to_string(used.workloads) + " of " + std::to_string(q.max_workloads) + " workloads");
    note(static_cast<double>(used.memory_mb), static_cast<double>(q.max_memory_mb),
         std::to_string(used.memory_mb) + " of " + std::to_string(q.max_memory_mb) +
             " MB of memory");
    note(used.cpus, q.max_cpus, fmt::format("{:g} of {:g} CPUs", used.cpus, q.max_cpus));
    bool raise = false;
    {
      std::lock_guard lock(quota_mu_);
      if (what.empty())
        quota_alerted_.erase(owner);
      else
        raise = quota_alerted_.insert(owner).second;
    }
    if (raise) {
      alerts_.Raise({AlertKind::kQuotaNearlyUsed, owner, "", "", "", "quota",
                     "Your workloads use " + what + " (80 % or more of your quota).",
                     clock_.NowSeconds()});
    }
  }
}

void ControlPlane::Record(const store::Workload& w, WorkloadStatus status,
                          const std::string& message) {
  (void)store_.AppendEvent({0, w.id, clock_.NowSeconds(), status, message});
}

void ControlPlane::PublishWorkload(const std::string& id) {
  if (PublishWorkloadLocally(id)) cluster_.Broadcast("workload", {{"id", id}});
}

bool ControlPlane::PublishWorkloadLocally(const std::string& id) {
  auto w = store_.GetWorkload(id);
  if (!w.ok()) return false;
  PublishWorkloadLocally(std::move(w).value());
  return true;
}

void ControlPlane::PublishWorkloadLocally(store::Workload w) {
  routes_.Publish(w);
  const std::string owner = w.owner_id;
  auto v = View(std::move(w), Secrets::kOmit);  // events carry state, not secrets
  if (!v.ok()) return;
  events_.Publish({owner, WorkloadChanged{std::move(v).value()}});
}

void ControlPlane::PublishDeleted(const std::string& id, const std::string& owner_id) {
  PublishDeletedLocally(id, owner_id);
  cluster_.Broadcast("workload.deleted", {{"id", id}, {"owner_id", owner_id}});
}

void ControlPlane::PublishDeletedLocally(const std::string& id, const std::string& owner_id) {
  events_.Publish({owner_id, WorkloadDeleted{id}});
}

void ControlPlane::OnClusterMessage(const std::string& kind, const json::object& body) {
  std::string id;
  if (const auto* v = body.if_contains("id"); v && v->is_string()) id = v->as_string();
  if (kind == "workload" && !id.empty()) {
    auto w = store_.GetWorkload(id);
    if (!w.ok()) return;
    // Created on another replica: learn its public ports (allocated there, in the store).
    if (routes_.Missing(*w)) (void)routes_.Learn(id);
    PublishWorkloadLocally(id);
    // Changed elsewhere (desired state, placement): the agent linked here must hear of it.
    if (!w->node_id.empty() && hub_.IsConnected(w->node_id)) PushToNode(*w);
  } else if (kind == "workload.deleted" && !id.empty()) {
    Forget(id);
    std::string owner;
    if (const auto* v = body.if_contains("owner_id"); v && v->is_string()) owner = v->as_string();
    if (!owner.empty()) PublishDeletedLocally(id, owner);
  } else if (kind == "node" && !id.empty()) {
    registry_.PublishNodeLocally(id);
  } else if (kind == "schedule") {
    if (cluster_.IsLeader()) SchedulePending();
  } else if (kind == "resync") {
    // Messages were missed while the database was away: reload what they would have told.
    (void)routes_.LoadAll();
  }
}

// ---------------------------------------------------------------- the edge

void ControlPlane::Forget(const std::string& workload_id) {
  routes_.Forget(workload_id);
}

void ControlPlane::SetRouteObserver(RouteObserver observer) {
  routes_.SetObserver(std::move(observer));
}

std::vector<PublicRoute> ControlPlane::Routes() {
  std::vector<PublicRoute> out;
  for (const auto& id : routes_.Holders()) {
    auto w = store_.GetWorkload(id);
    if (!w.ok()) continue;
    for (auto& r : routes_.RoutesOf(*w)) out.push_back(std::move(r));
  }
  return out;
}

}  // namespace lattice::control
