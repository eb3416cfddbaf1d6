#include "control/control_plane.h"

#include <spdlog/spdlog.h>
#include <boost/json.hpp>

#include "auth/token.h"
#include "common/random.h"
#include "common/secretbox.h"
#include "control/workload_json.h"
#include "link/join_token.h"
#include "scheduler/placement.h"

namespace lattice::control {
namespace json = boost::json;

namespace {

std::string CredentialsToJson(const templates::Credentials& c) {
  json::object o;
  for (const auto& [k, v] : c) o[k] = v;
  return json::serialize(o);
}

templates::Credentials CredentialsFromJson(const std::string& text) {
  templates::Credentials c;
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return c;
  for (const auto& [k, val] : v.as_object())
    if (val.is_string()) c[std::string(k)] = std::string(val.as_string());
  return c;
}

// The container ports a workload exposes, from its stored ports_json.
std::vector<int> ExposedPorts(const store::Workload& w) {
  std::vector<int> out;
  boost::system::error_code ec;
  json::value v = json::parse(w.ports_json, ec);
  if (ec || !v.is_array()) return out;
  for (const auto& p : v.as_array()) {
    if (!p.is_object()) continue;
    const auto* cp = p.as_object().if_contains("container_port");
    if (cp && cp->is_int64()) out.push_back(static_cast<int>(cp->as_int64()));
  }
  return out;
}

std::string PortsToJson(const std::vector<templates::PortSpec>& ports) {
  json::array a;
  for (const auto& p : ports)
    a.push_back({{"name", p.name},
                 {"container_port", p.container_port},
                 {"protocol", p.protocol},
                 {"scheme", p.scheme}});
  return json::serialize(a);
}

}  // namespace

ControlPlane::ControlPlane(store::Store& store, const Clock& clock, const Keyring& keys,
                           EventBus& events, AgentHub& hub, ControlOptions opts)
    : store_(store),
      clock_(clock),
      keys_(keys),
      events_(events),
      hub_(hub),
      opts_(std::move(opts)),
      advertise_url_(opts_.advertise_url) {}

void ControlPlane::SetDefaultAdvertiseUrl(std::string url) {
  if (!opts_.advertise_url.empty()) return;  // the operator's --advertise-url wins
  std::lock_guard lock(url_mu_);
  advertise_url_ = std::move(url);
}

// ---------------------------------------------------------------- users

Result<WorkloadView> ControlPlane::View(store::Workload w) {
  WorkloadView v;
  auto creds = Open(w.credentials_enc, keys_.secrets_key());
  if (!creds.ok()) return std::move(creds).error();
  v.credentials = CredentialsFromJson(*creds);
  if (!w.node_id.empty()) {
    if (auto n = store_.GetNode(w.node_id); n.ok()) {
      v.node_name = n->name;
      v.node_address = n->address;
    }
  }
  v.public_ports = PublicPortsOf(w.id);
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
                                                  const templates::WorkloadRequest& req) {
  if (Status s = templates::Validate(req); !s.ok()) return std::move(s).error();
  const templates::Credentials creds = templates::GenerateCredentials(req.template_name);
  const templates::RenderedWorkload spec = templates::Render(req, creds, opts_.images);
  const std::int64_t now = clock_.NowSeconds();
  store::Workload w;
  w.id = NewId("wl");
  w.owner_id = who.user_id;
  w.name = req.name;
  w.template_name = req.template_name;
  w.image = spec.image;
  w.spec_enc = Seal(link::EncodeSpec(spec), keys_.secrets_key());
  w.credentials_enc = Seal(CredentialsToJson(creds), keys_.secrets_key());
  w.ports_json = PortsToJson(spec.ports);
  w.memory_mb = spec.memory_mb;
  w.cpus = spec.cpus;
  w.desired_state = "running";
  w.generation = 1;
  w.status = "pending";
  w.created_at = w.updated_at = now;
  if (Status s = store_.CreateWorkload(w, opts_.quota); !s.ok()) return std::move(s).error();
  if (Status s = EnsurePublicPorts(w); !s.ok()) {
    (void)store_.DeleteWorkload(w.id);  // never shown to anyone: undo it whole
    return std::move(s).error();
  }
  Record(w, "pending", "created by " + who.email);
  SchedulePending();
  PublishWorkload(w.id);
  auto fresh = store_.GetWorkload(w.id);
  if (!fresh.ok()) return std::move(fresh).error();
  return View(std::move(fresh).value());
}

Result<WorkloadView> ControlPlane::GetWorkload(const Principal& who, const std::string& id) {
  auto w = Owned(who, id);
  if (!w.ok()) return std::move(w).error();
  return View(std::move(w).value());
}

Result<std::vector<WorkloadView>> ControlPlane::ListWorkloads(const Principal& who) {
  store::WorkloadFilter f;
  f.owner_id = who.user_id;
  auto list = store_.ListWorkloads(f);
  if (!list.ok()) return std::move(list).error();
  std::vector<WorkloadView> out;
  out.reserve(list->size());
  for (auto& w : *list) {
    auto v = View(std::move(w));
    if (!v.ok()) return std::move(v).error();
    out.push_back(std::move(v).value());
  }
  return out;
}

Result<WorkloadView> ControlPlane::SetDesired(const Principal& who, const std::string& id,
                                              const std::string& desired) {
  auto cur = Owned(who, id);
  if (!cur.ok()) return std::move(cur).error();
  if (cur->desired_state == "deleted") return Error::Conflict("The workload is being deleted.");
  // Idempotent, except that starting a failed or lost workload again is a retry: a new
  // generation makes the node start over (pull, create, start) instead of waiting.
  const bool retry = desired == "running" && (cur->status == "failed" || cur->status == "lost");
  if (cur->desired_state == desired && !retry) return View(std::move(cur).value());
  std::string status = cur->status;
  if (desired == "deleted")
    status = "deleting";
  else if (desired == "running")
    status = cur->node_id.empty() ? "pending" : "scheduled";
  else if (desired == "stopped" && cur->node_id.empty())
    status = "stopped";  // nothing runs
  auto w = store_.SetDesiredState(id, desired, status, clock_.NowSeconds());
  if (!w.ok()) return std::move(w).error();
  Record(*w, status,
         desired == "deleted"   ? "delete requested"
         : desired == "stopped" ? "stop requested"
                                : "start requested");
  if (w->node_id.empty()) {
    if (desired == "deleted") {
      // Never placed: nothing runs anywhere, so it is gone at once.
      if (Status s = store_.DeleteWorkload(id); !s.ok()) return std::move(s).error();
      Forget(id);
      events_.Publish({w->owner_id, "workload.deleted", json::serialize(json::object{{"id", id}})});
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
  if (!hub_.IsConnected(w->node_id))
    return Error::Unavailable("The workload's node is not connected right now.");
  return w->node_id;
}

// ---------------------------------------------------------------- nodes

Result<JoinTokenIssued> ControlPlane::CreateJoinToken(const std::string& created_by) {
  const std::int64_t now = clock_.NowSeconds();
  const std::string token = link::FormatJoinToken(RandomToken(32), opts_.ca_fingerprint);
  store::JoinToken t{NewId("jt"),
                     auth::HashSecret(token),
                     created_by,
                     now,
                     now + opts_.join_token_ttl_seconds,
                     std::nullopt,
                     ""};
  if (Status s = store_.CreateJoinToken(t); !s.ok()) return std::move(s).error();
  std::string url;
  {
    std::lock_guard lock(url_mu_);
    url = advertise_url_;
  }
  return JoinTokenIssued{t.id, token, "lattice agent --server " + url + " --join-token " + token,
                         t.expires_at};
}

Result<std::vector<NodeView>> ControlPlane::ListNodes() {
  auto nodes = store_.ListNodes();
  if (!nodes.ok()) return std::move(nodes).error();
  std::vector<NodeView> out;
  std::lock_guard lock(seen_mu_);
  for (auto& n : *nodes) {
    if (auto it = last_seen_.find(n.id); it != last_seen_.end())
      n.last_heartbeat = std::max(n.last_heartbeat, it->second);
    const bool connected = hub_.IsConnected(n.id);
    out.push_back({std::move(n), connected});
  }
  return out;
}

// ---------------------------------------------------------------- agent link

Result<link::Welcome> ControlPlane::AuthenticateAgent(const link::Hello& h) {
  if (h.protocol != link::kProtocolVersion)
    return Error::Invalid("This server speaks agent protocol " +
                          std::to_string(link::kProtocolVersion) + "; the agent speaks " +
                          std::to_string(h.protocol) + ". Upgrade the older side.");
  const std::int64_t now = clock_.NowSeconds();
  store::Node n;
  n.name = h.name.substr(0, 128);
  n.cpus = h.cpus;
  n.memory_mb = h.memory_mb;
  n.disk_mb = h.disk_mb;
  json::object labels;
  for (const auto& [k, v] : h.labels) labels[k] = v;
  n.labels_json = json::serialize(labels);
  n.agent_version = h.agent_version.substr(0, 64);
  n.address = h.address.empty() ? "127.0.0.1" : h.address.substr(0, 255);
  link::Welcome welcome;
  welcome.heartbeat_seconds = opts_.heartbeat_seconds;
  if (!h.node_id.empty()) {
    auto existing = store_.GetNode(h.node_id);
    const std::string hash = auth::HashSecret(h.node_secret);
    if (!existing.ok() || existing->secret_hash != hash)
      return Error::Unauthenticated("Unknown node or wrong node secret.");
    n.id = existing->id;
    n.secret_hash = existing->secret_hash;
    if (Status s = store_.UpdateNodeInfo(n); !s.ok()) return std::move(s).error();
    welcome.node_id = n.id;
    return welcome;
  }
  if (h.join_token.empty()) return Error::Unauthenticated("A join token is required.");
  const std::string secret = RandomToken(32);
  n.id = NewId("node");
  n.status = "down";
  n.secret_hash = auth::HashSecret(secret);
  n.created_at = now;
  if (Status s = store_.JoinNode(auth::HashSecret(h.join_token), n, now); !s.ok())
    return std::move(s).error();
  spdlog::info("msg=\"node joined\" node={} name=\"{}\"", n.id, n.name);
  welcome.node_id = n.id;
  welcome.node_secret = secret;
  return welcome;
}

void ControlPlane::RecoverAfterRestart() {
  if (opts_.public_port_high > 0) {
    if (auto ports = store_.ListPublicPorts(); ports.ok()) {
      std::lock_guard lock(ports_mu_);
      for (auto& p : *ports) public_ports_[p.workload_id].push_back(std::move(p));
    }
    // A crash between creating a workload and allocating its ports leaves it without them.
    if (auto all = store_.ListWorkloads({}); all.ok()) {
      for (const auto& w : *all) {
        if (PublicPortsOf(w.id).size() < ExposedPorts(w).size()) {
          if (Status s = EnsurePublicPorts(w); !s.ok())
            spdlog::warn("msg=\"no public port\" workload={} error=\"{}\"", w.id,
                         s.error().message);
        }
      }
    }
  }
  auto nodes = store_.ListNodes();
  if (!nodes.ok()) return;
  const std::int64_t now = clock_.NowSeconds();
  for (const auto& n : *nodes) {
    {
      std::lock_guard lock(seen_mu_);
      down_since_[n.id] = now;
    }
    if (n.status != "down") (void)store_.SetNodeStatus(n.id, "down", 0);
  }
}

void ControlPlane::OnAgentConnected(const std::string& node_id) {
  const std::int64_t now = clock_.NowSeconds();
  {
    std::lock_guard lock(seen_mu_);
    last_seen_[node_id] = now;
    down_since_.erase(node_id);
  }
  (void)store_.SetNodeStatus(node_id, "ready", now);
  store::WorkloadFilter f;
  f.node_id = node_id;
  link::Assignments all;
  if (auto list = store_.ListWorkloads(f); list.ok()) {
    for (const auto& w : *list)
      if (auto a = AssignmentFor(w); a.ok()) all.items.push_back(std::move(a).value());
  }
  hub_.Send(node_id, all);
  PublishNode(node_id);
  SchedulePending();
}

void ControlPlane::OnAgentDisconnected(const std::string& node_id) {
  const std::int64_t now = clock_.NowSeconds();
  {
    std::lock_guard lock(seen_mu_);
    down_since_[node_id] = now;
  }
  (void)store_.SetNodeStatus(node_id, "down", 0);
  PublishNode(node_id);
}

void ControlPlane::OnHeartbeat(const std::string& node_id) {
  std::lock_guard lock(seen_mu_);
  last_seen_[node_id] = clock_.NowSeconds();
}

void ControlPlane::OnStatus(const std::string& node_id, const link::StatusReport& r) {
  OnHeartbeat(node_id);
  auto w = store_.GetWorkload(r.workload_id);
  if (!w.ok() || w->node_id != node_id) return;  // not (or no longer) this node's
  if (r.generation != w->generation) return;     // about a superseded intent
  if (r.state == "deleted") {
    if (w->desired_state != "deleted") return;
    if (store_.DeleteWorkload(w->id).ok()) {
      Forget(w->id);
      hub_.Send(node_id, link::Remove{w->id});  // the agent can forget it
      events_.Publish(
          {w->owner_id, "workload.deleted", json::serialize(json::object{{"id", w->id}})});
    }
    return;
  }
  json::array bindings;
  for (const auto& b : r.bindings)
    bindings.push_back({{"container_port", b.container_port}, {"host_port", b.host_port}});
  const std::string reason = r.reason.substr(0, 1024);
  if (w->status == r.state && w->status_reason == reason &&
      w->bindings_json == json::serialize(bindings))
    return;
  if (!store_
           .SetObservedStatus(w->id, r.generation, r.state, reason, json::serialize(bindings),
                              clock_.NowSeconds())
           .ok())
    return;
  if (w->status != r.state || w->status_reason != reason) Record(*w, r.state, reason);
  PublishWorkload(w->id);
}

// ---------------------------------------------------------------- duties

void ControlPlane::Tick() {
  SchedulePending();
  const std::int64_t now = clock_.NowSeconds();
  std::vector<std::string> silent;
  {
    std::lock_guard lock(seen_mu_);
    for (const auto& [node, since] : down_since_)
      if (now - since >= opts_.lost_grace_seconds) silent.push_back(node);
  }
  for (const auto& node_id : silent) {
    store::WorkloadFilter f;
    f.node_id = node_id;
    auto list = store_.ListWorkloads(f);
    if (!list.ok()) continue;
    for (const auto& w : *list) {
      if (w.status == "lost" || w.status == "stopped" || w.desired_state == "deleted") continue;
      const std::string reason =
          "its node has not been heard from for " + std::to_string(opts_.lost_grace_seconds) + " s";
      if (store_.SetPlacement(w.id, w.node_id, "lost", reason, now).ok()) {
        Record(w, "lost", reason);
        PublishWorkload(w.id);
      }
    }
  }
}

void ControlPlane::SchedulePending() {
  std::lock_guard lock(schedule_mu_);
  store::WorkloadFilter f;
  f.status = "pending";
  auto pending = store_.ListWorkloads(f);
  if (!pending.ok() || pending->empty()) return;
  auto nodes = store_.ListNodes();
  auto all = store_.ListWorkloads({});
  if (!nodes.ok() || !all.ok()) return;
  std::vector<scheduler::NodeView> view;
  for (const auto& n : *nodes) {
    scheduler::NodeView nv{n.id,        n.name, n.status == "ready" && hub_.IsConnected(n.id),
                           n.memory_mb, 0,      n.cpus};
    for (const auto& w : *all)
      if (w.node_id == n.id && w.desired_state != "deleted")
        nv.allocated_mb += w.memory_mb > 0 ? w.memory_mb : scheduler::kDefaultRequestMb;
    view.push_back(nv);
  }
  const std::int64_t now = clock_.NowSeconds();
  for (auto& w : *pending) {
    if (w.desired_state != "running") continue;
    const scheduler::Placement p = scheduler::Place({w.memory_mb}, view);
    if (p.node_id.empty()) {
      const std::string reason = "waiting for a node: " + p.reason;
      if (w.status_reason != reason && store_.SetPlacement(w.id, "", "pending", reason, now).ok()) {
        Record(w, "pending", reason);
        PublishWorkload(w.id);
      }
      continue;
    }
    if (!store_.SetPlacement(w.id, p.node_id, "scheduled", "", now).ok()) continue;
    for (auto& nv : view)
      if (nv.id == p.node_id)
        nv.allocated_mb += w.memory_mb > 0 ? w.memory_mb : scheduler::kDefaultRequestMb;
    w.node_id = p.node_id;
    Record(w, "scheduled", "placed on node " + p.node_id);
    PushToNode(w);
    PublishWorkload(w.id);
  }
}

Result<link::Assignment> ControlPlane::AssignmentFor(const store::Workload& w) {
  auto spec_json = Open(w.spec_enc, keys_.secrets_key());
  if (!spec_json.ok()) return std::move(spec_json).error();
  auto spec = link::DecodeSpec(*spec_json);
  if (!spec.ok()) return std::move(spec).error();
  return link::Assignment{w.id, w.generation, w.desired_state, std::move(spec).value()};
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

void ControlPlane::Record(const store::Workload& w, const std::string& status,
                          const std::string& message) {
  (void)store_.AppendEvent({0, w.id, clock_.NowSeconds(), status, message});
}

void ControlPlane::PublishWorkload(const std::string& id) {
  auto w = store_.GetWorkload(id);
  if (!w.ok()) return;
  if (route_observer_) route_observer_(id, RoutesOf(*w));
  const std::string owner = w->owner_id;
  auto v = View(std::move(w).value());
  if (!v.ok()) return;
  json::value body = WorkloadJson(*v);
  body.as_object().erase("credentials");  // events carry state, not secrets
  events_.Publish({owner, "workload", json::serialize(body)});
}

void ControlPlane::PublishNode(const std::string& node_id) {
  auto n = store_.GetNode(node_id);
  if (!n.ok()) return;
  const bool connected = hub_.IsConnected(node_id);
  events_.Publish({"", "node", json::serialize(NodeJson({std::move(n).value(), connected}))});
}

// ---------------------------------------------------------------- the edge

Status ControlPlane::EnsurePublicPorts(const store::Workload& w) {
  if (opts_.public_port_high <= 0) return Status::Ok();
  const std::vector<int> exposed = ExposedPorts(w);
  if (exposed.empty()) return Status::Ok();
  const auto usable = opts_.public_port_usable ? opts_.public_port_usable
                                               : std::function<bool(int)>([](int) { return true; });
  auto ports = store_.AllocatePublicPorts(w.id, exposed, opts_.public_port_low,
                                          opts_.public_port_high, usable);
  if (!ports.ok()) return std::move(ports).error();
  std::lock_guard lock(ports_mu_);
  public_ports_[w.id] = std::move(ports).value();
  return Status::Ok();
}

std::vector<store::PublicPort> ControlPlane::PublicPortsOf(const std::string& workload_id) {
  std::lock_guard lock(ports_mu_);
  auto it = public_ports_.find(workload_id);
  return it == public_ports_.end() ? std::vector<store::PublicPort>{} : it->second;
}

std::vector<PublicRoute> ControlPlane::RoutesOf(const store::Workload& w) {
  std::vector<PublicRoute> out;
  for (const auto& p : PublicPortsOf(w.id))
    out.push_back({p.port, w.id, p.container_port, w.node_id, w.desired_state == "running"});
  return out;
}

void ControlPlane::Forget(const std::string& workload_id) {
  {
    std::lock_guard lock(ports_mu_);
    public_ports_.erase(workload_id);
  }
  if (route_observer_) route_observer_(workload_id, {});
}

void ControlPlane::SetRouteObserver(RouteObserver observer) {
  route_observer_ = std::move(observer);
}

std::vector<PublicRoute> ControlPlane::Routes() {
  std::vector<PublicRoute> out;
  std::vector<std::string> ids;
  {
    std::lock_guard lock(ports_mu_);
    for (const auto& [id, ports] : public_ports_) ids.push_back(id);
  }
  for (const auto& id : ids) {
    auto w = store_.GetWorkload(id);
    if (!w.ok()) continue;
    for (auto& r : RoutesOf(*w)) out.push_back(std::move(r));
  }
  return out;
}

}  // namespace lattice::control
