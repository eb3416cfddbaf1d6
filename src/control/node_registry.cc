#include "control/node_registry.h"

#include <spdlog/spdlog.h>
#include <boost/json.hpp>

#include <algorithm>
#include <optional>

#include "auth/token.h"
#include "common/random.h"
#include "link/join_token.h"

namespace lattice::control {
namespace json = boost::json;

NodeRegistry::NodeRegistry(store::Store& store, const Clock& clock, EventBus& events, AgentHub& hub,
                           Cluster& cluster, AlertSink& alerts, NodeRegistryOptions opts,
                           ChangeHook changed)
    : store_(store),
      clock_(clock),
      events_(events),
      hub_(hub),
      cluster_(cluster),
      alerts_(alerts),
      opts_(std::move(opts)),
      changed_(std::move(changed)),
      started_at_(clock.NowSeconds()),
      advertise_url_(opts_.advertise_url) {}

// ---------------------------------------------------------------- joining

Result<JoinTokenIssued> NodeRegistry::CreateJoinToken(const std::string& created_by) {
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
  return JoinTokenIssued{t.id, token,
                         "lattice agent --server " + AdvertiseUrl() + " --join-token " + token,
                         t.expires_at};
}

Result<link::Welcome> NodeRegistry::AuthenticateAgent(const link::Hello& h) {
  if (h.protocol != link::kProtocolVersion) {
    Error e = Error::Invalid("This server speaks agent protocol " +
                             std::to_string(link::kProtocolVersion) + "; the agent speaks " +
                             std::to_string(h.protocol) + ". Upgrade the older side.");
    e.type = "incompatible-protocol";
    return e;
  }
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
  welcome.servers = ReplicaUrls(now);
  welcome.registries = opts_.registries;
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
  n.status = NodeStatus::kDown;
  n.secret_hash = auth::HashSecret(secret);
  n.created_at = now;
  if (Status s = store_.JoinNode(auth::HashSecret(h.join_token), n, now); !s.ok())
    return std::move(s).error();
  spdlog::info("msg=\"node joined\" node={} name=\"{}\"", n.id, n.name);
  welcome.node_id = n.id;
  welcome.node_secret = secret;
  return welcome;
}

// ---------------------------------------------------------------- links

void NodeRegistry::OnAgentConnected(const std::string& node_id) {
  const std::int64_t now = clock_.NowSeconds();
  std::optional<std::string> was_down;
  {
    std::lock_guard lock(seen_mu_);
    last_seen_[node_id] = now;
    if (auto it = alerted_down_.find(node_id); it != alerted_down_.end()) {
      was_down = it->second;
      alerted_down_.erase(it);
    }
  }
  (void)store_.ClaimNodeLink(node_id, cluster_.ReplicaId(), now);
  if (was_down) {
    alerts_.Raise({AlertKind::kNodeUp, "", "", "", node_id, *was_down,
                   "node " + *was_down + " is connected again", now});
  }
}

void NodeRegistry::OnAgentDisconnected(const std::string& node_id) {
  // Only if the link is still ours: the agent may already be linked to another replica.
  auto released = store_.ReleaseNodeLink(node_id, cluster_.ReplicaId(), clock_.NowSeconds());
  if (released.ok() && *released) PublishNode(node_id);
}

void NodeRegistry::OnHeartbeat(const std::string& node_id) {
  std::lock_guard lock(seen_mu_);
  last_seen_[node_id] = clock_.NowSeconds();
}

bool NodeRegistry::LinkUp(const store::Node& n) const {
  if (n.link_replica == cluster_.ReplicaId()) return hub_.IsConnected(n.id);
  return !n.link_replica.empty() && n.status == NodeStatus::kReady;
}

Result<std::vector<NodeView>> NodeRegistry::ListNodes() {
  auto nodes = store_.ListNodes();
  if (!nodes.ok()) return std::move(nodes).error();
  std::vector<NodeView> out;
  std::lock_guard lock(seen_mu_);
  for (auto& n : *nodes) {
    if (auto it = last_seen_.find(n.id); it != last_seen_.end())
      n.last_heartbeat = std::max(n.last_heartbeat, it->second);
    const bool connected = LinkUp(n);
    out.push_back({std::move(n), connected});
  }
  return out;
}

// ---------------------------------------------------------------- where agents dial

std::string NodeRegistry::AdvertiseUrl() {
  std::lock_guard lock(url_mu_);
  return advertise_url_;
}

void NodeRegistry::SetDefaultAdvertiseUrl(std::string url) {
  if (opts_.advertise_url.empty()) {  // the operator's --advertise-url wins
    std::lock_guard lock(url_mu_);
    advertise_url_ = std::move(url);
  }
  // Other replicas name this one to their agents from now on, not only after the next Tick.
  (void)store_.TouchReplica({cluster_.ReplicaId(), AdvertiseUrl(), clock_.NowSeconds()});
}

std::vector<std::string> NodeRegistry::ReplicaUrls(std::int64_t now) {
  std::vector<std::string> urls;
  if (!cluster_.Shared()) return urls;
  const std::string own = AdvertiseUrl();
  urls.push_back(own);
  auto live = store_.ListReplicas(now - opts_.replica_timeout_seconds);
  if (!live.ok()) return urls;
  for (const auto& r : *live)
    if (!r.url.empty() && std::find(urls.begin(), urls.end(), r.url) == urls.end())
      urls.push_back(r.url);
  return urls;
}

// ---------------------------------------------------------------- telling others

void NodeRegistry::PublishNode(const std::string& node_id) {
  PublishNodeLocally(node_id);
  cluster_.Broadcast("node", {{"id", node_id}});
}

void NodeRegistry::PublishNodeLocally(const std::string& node_id) {
  if (changed_) changed_();
  auto n = store_.GetNode(node_id);
  if (!n.ok()) return;
  const bool connected = LinkUp(*n);
  events_.Publish({"", NodeChanged{{std::move(n).value(), connected}}});
}

// ---------------------------------------------------------------- duties and loss

void NodeRegistry::RecoverAfterRestart() {
  const std::int64_t now = clock_.NowSeconds();
  if (!cluster_.Shared()) {
    // Alone: whoever held the links before this start is gone, and nobody is linked yet.
    (void)store_.ReapReplicas(now + 1, now);
    if (auto nodes = store_.ListNodes(); nodes.ok()) {
      for (const auto& n : *nodes)
        if (n.status != NodeStatus::kDown) (void)store_.SetNodeStatus(n.id, NodeStatus::kDown, 0);
    }
  }
  (void)store_.TouchReplica({cluster_.ReplicaId(), AdvertiseUrl(), now});
}

void NodeRegistry::Tick(std::int64_t now, bool leading) {
  (void)store_.TouchReplica({cluster_.ReplicaId(), AdvertiseUrl(), now});
  if (!leading) {
    leader_since_ = 0;
    return;
  }
  if (leader_since_ == 0) leader_since_ = std::max(now, started_at_);
  if (!cluster_.Shared()) return;
  auto gone = store_.ReapReplicas(now - opts_.replica_timeout_seconds, now);
  if (!gone.ok()) return;
  for (const auto& node_id : *gone) {
    spdlog::warn("msg=\"node down: its replica is gone\" node={}", node_id);
    PublishNode(node_id);
  }
}

std::vector<std::string> NodeRegistry::LostNodes(std::int64_t now) {
  std::vector<std::string> lost;
  auto nodes = store_.ListNodes();
  if (!nodes.ok()) return lost;
  for (const auto& n : *nodes) {
    if (LinkUp(n)) continue;
    const std::int64_t since = std::max(n.down_since, leader_since_.load());
    if (now - since < opts_.lost_grace_seconds) continue;
    lost.push_back(n.id);
    bool first = false;
    {
      std::lock_guard lock(seen_mu_);
      first = alerted_down_.emplace(n.id, n.name).second;
    }
    if (first) {
      alerts_.Raise({AlertKind::kNodeDown, "", "", "", n.id, n.name,
                     "node " + n.name + " has not been heard from for " +
                         std::to_string(opts_.lost_grace_seconds) + " s or more",
                     now});
    }
  }
  return lost;
}

}  // namespace lattice::control
