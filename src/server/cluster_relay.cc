#include "server/cluster_relay.h"

#include <utility>
#include <variant>

namespace lattice::server {

namespace {

// A string field of a message from another replica; "" if absent or not a string.
std::string Text(const boost::json::object& body, const char* key) {
  const auto* v = body.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

}  // namespace

ClusterRelay::ClusterRelay(control::Cluster& cluster, control::AgentHub& hub, Targets targets)
    : cluster_(cluster), hub_(hub), targets_(std::move(targets)) {}

bool ClusterRelay::Open(const std::string& node_id, const link::StreamOpen& m) {
  if (!cluster_.Shared()) return hub_.Send(node_id, m);
  link::StreamOpen routed = m;
  routed.edge_url = targets_.advertise_url();
  if (hub_.IsConnected(node_id)) return hub_.Send(node_id, routed);
  cluster_.Broadcast("stream.open", {{"node_id", node_id}, {"message", link::Encode(routed)}});
  return true;
}

void ClusterRelay::OnStreamFail(const std::string& node_id, const link::StreamFail& fail) {
  targets_.edge_stream_fail(node_id, fail);
  cluster_.Broadcast(
      "stream.fail",
      {{"node_id", node_id}, {"stream_id", fail.stream_id}, {"reason", fail.reason}});
}

void ClusterRelay::OnClusterMessage(const std::string& kind, const boost::json::object& body) {
  if (kind == "stream.open") {  // for the replica holding the agent's link
    const std::string node_id = Text(body, "node_id");
    if (node_id.empty() || !hub_.IsConnected(node_id)) return;
    auto m = link::Decode(Text(body, "message"));
    if (m.ok() && std::holds_alternative<link::StreamOpen>(*m)) hub_.Send(node_id, *m);
    return;
  }
  if (kind == "stream.fail") {  // for the replica whose edge waits for the stream
    const std::string node_id = Text(body, "node_id");
    const std::string stream_id = Text(body, "stream_id");
    if (node_id.empty() || stream_id.empty()) return;
    targets_.edge_stream_fail(node_id, link::StreamFail{stream_id, Text(body, "reason")});
    return;
  }
  if (targets_.others) targets_.others(kind, body);
}

}  // namespace lattice::server
