// NodeRegistry: the node side of the server. It issues join tokens, authenticates agents (a
// join token on first contact, the node id and secret issued then afterwards), keeps the
// bookkeeping of agent links (the store's claim on a node's link, when each node was last
// heard from), says whether a node's link is up on this replica or another, names the URLs
// agents dial (this replica's advertise URL, then the other live replicas'), lists nodes, tells
// browsers and the other replicas when a node changed, and decides by timing which nodes are
// down (their replica went silent) or lost (down longer than the grace). What happens to the
// workloads of a node — assignments, `lost` — is the caller's (ControlPlane).
// Thread-safe. Holds references to its collaborators, which must outlive it.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "control/agent_hub.h"
#include "control/alerts.h"
#include "control/cluster.h"
#include "control/event_bus.h"
#include "control/views.h"
#include "link/protocol.h"
#include "store/store.h"

namespace lattice::control {

struct JoinTokenIssued {
  std::string id;  // the token's record (not secret)
  std::string token;
  std::string command;
  std::int64_t expires_at = 0;
};

struct NodeRegistryOptions {
  int heartbeat_seconds = 5;             // told to agents in the welcome
  std::int64_t lost_grace_seconds = 30;  // a node down this long is lost
  // A replica that has not refreshed its row for this long is gone: its nodes go down.
  std::int64_t replica_timeout_seconds = 10;
  std::int64_t join_token_ttl_seconds = 3600;
  // What agents dial (https://HOST:PORT); empty: learned through SetDefaultAdvertiseUrl.
  std::string advertise_url;
  std::string ca_fingerprint;  // carried by every join token so the agent can pin it
  // Registries allowed by name (templates::AdmissionPolicy), told to agents in the welcome.
  std::vector<std::string> registries;
};

class NodeRegistry {
 public:
  // Called whenever a node may have changed (before it is published): e.g. the placer's cue to
  // reread the nodes. Optional.
  using ChangeHook = std::function<void()>;

  // `alerts` hears of nodes lost (down past the grace) and of their agent coming back.
  NodeRegistry(store::Store& store, const Clock& clock, EventBus& events, AgentHub& hub,
               Cluster& cluster, AlertSink& alerts, NodeRegistryOptions opts,
               ChangeHook changed = nullptr);
  NodeRegistry(const NodeRegistry&) = delete;
  NodeRegistry& operator=(const NodeRegistry&) = delete;

  // --- joining
  // A single-use token (link/join_token.h: it carries the CA fingerprint), valid for the
  // token TTL, and the exact command that joins a node with it.
  Result<JoinTokenIssued> CreateJoinToken(const std::string& created_by);
  // Authenticates a hello. With a node id: its secret must match (kUnauthenticated if not) and
  // what the agent reports about itself is stored. Without: the join token is spent on a new
  // node (down until its link is claimed) whose secret the welcome carries, once.
  // kInvalidArgument (type "incompatible-protocol") if the agent speaks another protocol.
  Result<link::Welcome> AuthenticateAgent(const link::Hello& hello);

  // --- links
  // The node's link is attached here: claims it in the store (ready) and counts it as heard.
  void OnAgentConnected(const std::string& node_id);
  // The link ended: releases it (down since now) if it is still this replica's, and publishes.
  void OnAgentDisconnected(const std::string& node_id);
  // A sign of life (heartbeat, report). Touches no store: safe on network threads.
  void OnHeartbeat(const std::string& node_id);
  // Whether the node's agent link is up, on this replica (the hub) or another (the store).
  bool LinkUp(const store::Node& n) const;
  // Every node, its last heartbeat including what was heard here since it was stored.
  Result<std::vector<NodeView>> ListNodes();

  // --- where agents dial
  std::string AdvertiseUrl();
  // The URL once the real listening address is known; ignored if an advertise URL was given.
  // Refreshes this replica's row so the others name it from now on.
  void SetDefaultAdvertiseUrl(std::string url);
  // With replicas: this replica's advertise URL, then every other live one's. Alone: none.
  std::vector<std::string> ReplicaUrls(std::int64_t now);

  // --- telling others
  // Tells this replica's subscribers, and the other replicas.
  void PublishNode(const std::string& node_id);
  // This replica's subscribers only (a message from another replica).
  void PublishNodeLocally(const std::string& node_id);

  // --- duties and loss
  // At start-up: a lone server (not Shared) knows no agent is linked yet, so every node is
  // down until its agent dials in. Refreshes this replica's row.
  void RecoverAfterRestart();
  // Every Tick: refreshes this replica's row. On the leader (`leading`), also notes when it
  // began to lead and brings down the nodes of replicas gone silent (published).
  void Tick(std::int64_t now, bool leading);
  // The nodes whose link has been down for at least the grace, counted from no earlier than
  // when this replica began to lead (a new leader or a restarted server gives every agent the
  // whole grace to come back): their workloads are lost. Leader only, after Tick.
  std::vector<std::string> LostNodes(std::int64_t now);

 private:
  store::Store& store_;
  const Clock& clock_;
  EventBus& events_;
  AgentHub& hub_;
  Cluster& cluster_;
  AlertSink& alerts_;
  const NodeRegistryOptions opts_;
  const ChangeHook changed_;
  const std::int64_t started_at_;
  std::atomic<std::int64_t> leader_since_{0};  // 0: not the leader at the last Tick

  std::mutex url_mu_;
  std::string advertise_url_;  // guarded by url_mu_
  std::mutex seen_mu_;
  std::map<std::string, std::int64_t> last_seen_;  // node id → last message; guarded by seen_mu_
  // Nodes this replica raised node.down for (once per loss), so their return raises node.up.
  std::map<std::string, std::string> alerted_down_;  // node id → name; guarded by seen_mu_
};

}  // namespace lattice::control
