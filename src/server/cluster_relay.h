// ClusterRelay: routes the tunnel messages between this replica's edge and agent hub and the
// other replicas. An agent links to one replica, but a client may reach any replica's edge:
//  - Open (the edge's OpenFn): stream.open goes to the node's agent if it is linked here, else
//    it is broadcast for the replica that holds the link. With replicas it names this replica
//    (`advertise_url`) as the one the agent dials back, since agents may reach the replicas
//    through a load balancer. Without replicas it goes to the hub as the edge sent it.
//  - OnStreamFail (the hub's StreamFailHandler): an agent's stream.fail goes to this edge and
//    is broadcast for the replica whose edge waits for the stream.
//  - OnClusterMessage (the cluster's Handler): stream.open for a node linked here goes to its
//    agent, stream.fail goes to the edge; malformed ones are dropped. Every other kind goes to
//    `others` unchanged.
// References `cluster` and `hub`, which must outlive it; the Targets' functions must stay
// callable as long as messages can arrive (stop the cluster first). Holds no mutable state:
// thread-safe if the targets are (it is called from link sessions, edge strands and the
// cluster's thread at once).
#pragma once

#include <boost/json/object.hpp>

#include <functional>
#include <string>

#include "control/agent_hub.h"
#include "control/cluster.h"
#include "link/protocol.h"

namespace lattice::server {

class ClusterRelay {
 public:
  struct Targets {
    // This replica's edge: a stream its agent could not open.
    std::function<void(const std::string& node_id, const link::StreamFail& fail)> edge_stream_fail;
    // The URL agents dial back to reach this replica's edge (used only with replicas).
    std::function<std::string()> advertise_url;
    // Cluster messages that are not the relay's (control plane, sessions, resync).
    control::Cluster::Handler others;
  };

  ClusterRelay(control::Cluster& cluster, control::AgentHub& hub, Targets targets);
  ClusterRelay(const ClusterRelay&) = delete;
  ClusterRelay& operator=(const ClusterRelay&) = delete;

  // Sends stream.open toward the node's agent. False only without replicas, when the node is
  // not linked here; with replicas a broadcast counts as sent (if no replica holds the link,
  // the edge's open timeout ends the stream).
  bool Open(const std::string& node_id, const link::StreamOpen& m);
  // The local agent of `node_id` could not open a stream.
  void OnStreamFail(const std::string& node_id, const link::StreamFail& fail);
  // A message from another replica.
  void OnClusterMessage(const std::string& kind, const boost::json::object& body);

 private:
  control::Cluster& cluster_;
  control::AgentHub& hub_;
  const Targets targets_;
};

}  // namespace lattice::server
