#include "api/workload_json.h"

#include <boost/json.hpp>

#include <algorithm>

#include "common/clock.h"

namespace lattice::api {
namespace json = boost::json;

json::value WorkloadJson(const control::WorkloadView& v) {
  const store::Workload& w = v.w;
  // Host ports the node reported, by container port.
  std::map<std::int64_t, std::int64_t> bound;
  boost::system::error_code ec;
  json::value b = json::parse(w.bindings_json, ec);
  if (!ec && b.is_array()) {
    for (const auto& e : b.as_array()) {
      if (!e.is_object()) continue;
      const auto* cp = e.as_object().if_contains("container_port");
      const auto* hp = e.as_object().if_contains("host_port");
      if (cp && hp && cp->is_int64() && hp->is_int64()) bound[cp->as_int64()] = hp->as_int64();
    }
  }
  const bool live = w.status == WorkloadStatus::kRunning || w.status == WorkloadStatus::kStarting;
  json::array endpoints;
  json::value ports = json::parse(w.ports_json, ec);
  if (!ec && ports.is_array()) {
    for (const auto& p : ports.as_array()) {
      if (!p.is_object()) continue;
      const json::object& po = p.as_object();
      const std::int64_t cport = po.at("container_port").to_number<std::int64_t>();
      json::object ep{
          {"name", po.at("name")}, {"container_port", cport}, {"protocol", po.at("protocol")},
          {"host", nullptr},       {"port", nullptr},         {"url", nullptr}};
      if (const auto* idle = po.if_contains("idle_timeout_s"); idle && idle->is_int64())
        ep["idle_timeout_s"] = idle->as_int64();
      auto it = bound.find(cport);
      if (live && it != bound.end() && it->second > 0) ep["node_port"] = it->second;
      const auto pub =
          std::find_if(v.public_ports.begin(), v.public_ports.end(),
                       [&](const store::PublicPort& pp) { return pp.container_port == cport; });
      if (pub != v.public_ports.end()) {
        // Through the edge: the public port is the workload's for good; it answers while the
        // workload is meant to run.
        if (w.desired_state == DesiredState::kRunning && live) {
          const std::string host = v.public_host.find(':') != std::string::npos
                                       ? "[" + v.public_host + "]"
                                       : v.public_host;
          ep["host"] = v.public_host;
          ep["port"] = pub->port;
          ep["url"] = std::string(po.at("scheme").as_string()) + "://" + host + ":" +
                      std::to_string(pub->port);
        }
      } else if (live && it != bound.end() && !v.node_address.empty()) {
        const std::string host = v.node_address.find(':') != std::string::npos
                                     ? "[" + v.node_address + "]"
                                     : v.node_address;
        ep["host"] = v.node_address;
        ep["port"] = it->second;
        ep["url"] = std::string(po.at("scheme").as_string()) + "://" + host + ":" +
                    std::to_string(it->second);
      }
      if (v.probes && pub != v.public_ports.end() && po.at("protocol") == "tcp") {
        json::object probe{{"state", Name(EndpointState::kUnknown)}};
        for (const auto& r : *v.probes)
          if (r.container_port == cport) probe = ProbeJson(r);
        ep["probe"] = std::move(probe);
      }
      endpoints.push_back(std::move(ep));
    }
  }
  json::object creds;
  for (const auto& [k, val] : v.credentials) creds[k] = val;
  // What users paste, built on the first endpoint that is reachable.
  if (!endpoints.empty() && endpoints[0].as_object().at("port").is_int64()) {
    const json::object& ep = endpoints[0].as_object();
    for (const auto& [k, val] : templates::ConnectionDetails(
             w.template_name, v.credentials, std::string(ep.at("host").as_string()),
             static_cast<int>(ep.at("port").as_int64())))
      creds[k] = val;
  }
  json::object out{
      {"id", w.id},
      {"name", w.name},
      {"template", w.template_name},
      {"image", w.image},
      {"status", Name(w.status)},
      {"status_reason", w.status_reason},
      {"desired_state", Name(w.desired_state)},
      {"generation", w.generation},
      {"node_id", w.node_id.empty() ? json::value(nullptr) : json::value(w.node_id)},
      {"node_name", v.node_name.empty() ? json::value(nullptr) : json::value(v.node_name)},
      {"endpoints", std::move(endpoints)},
      {"credentials", std::move(creds)},
      {"resources", {{"memory_mb", w.memory_mb}, {"cpus", w.cpus}}},
      {"created_at", FormatTimestamp(w.created_at)},
      {"updated_at", FormatTimestamp(w.updated_at)}};
  return out;
}

json::object ProbeJson(const store::ProbeRecord& r) {
  const auto text = [](const std::string& s) {
    return s.empty() ? json::value(nullptr) : json::value(s);
  };
  const auto time = [](std::int64_t t) {
    return t > 0 ? json::value(FormatTimestamp(t)) : json::value(nullptr);
  };
  return {{"state", Name(r.state)},
          {"reason", text(r.reason)},
          {"message", text(r.message)},
          {"latency_ms", r.state == EndpointState::kReachable
                             ? json::value(static_cast<double>(r.latency_us / 100) / 10.0)
                             : json::value(nullptr)},
          {"checked_at", time(r.at)},
          {"changed_at", time(r.changed_at)}};
}

json::value NodeJson(const control::NodeView& v) {
  const store::Node& n = v.node;
  boost::system::error_code ec;
  json::value labels = json::parse(n.labels_json, ec);
  if (ec || !labels.is_object()) labels = json::object{};
  return {{"id", n.id},
          {"name", n.name},
          {"status", Name(n.status)},
          {"cpus", n.cpus},
          {"memory_mb", n.memory_mb},
          {"disk_mb", n.disk_mb},
          {"labels", std::move(labels)},
          {"agent_version", n.agent_version},
          {"address", n.address},
          {"last_heartbeat", n.last_heartbeat ? json::value(FormatTimestamp(n.last_heartbeat))
                                              : json::value(nullptr)},
          {"created_at", FormatTimestamp(n.created_at)}};
}

EventMessage EventJson(const control::Event& e) {
  struct Visit {
    EventMessage operator()(const control::WorkloadChanged& c) const {
      json::value body = WorkloadJson(c.view);
      body.as_object().erase("credentials");  // events carry state, not secrets
      return {"workload", json::serialize(body)};
    }
    EventMessage operator()(const control::WorkloadDeleted& d) const {
      return {"workload.deleted", json::serialize(json::object{{"id", d.id}})};
    }
    EventMessage operator()(const control::NodeChanged& n) const {
      return {"node", json::serialize(NodeJson(n.node))};
    }
  };
  return std::visit(Visit{}, e.what);
}

}  // namespace lattice::api
