// The JSON shapes of workloads and nodes as the API and the event stream show them
// (docs/openapi.yaml: Workload, Node), and of the event stream's messages. Pure; thread-safe.
#pragma once

#include <boost/json/value.hpp>

#include <string>

#include "control/event_bus.h"
#include "control/views.h"

namespace lattice::api {

// {id, name, template, image, status, status_reason, desired_state, generation, node_id,
//  endpoints: [{name, container_port, protocol, host, port, url}], credentials, resources,
//  created_at, updated_at}
//  (each endpoint also has `probe`, ProbeJson or {state: "unknown"}, when the view carries probes)
boost::json::value WorkloadJson(const control::WorkloadView& v);

// An endpoint's probe state (docs/openapi.yaml: EndpointProbe): {state, reason, message,
// latency_ms, checked_at, changed_at}; nulls where there is nothing to say.
boost::json::object ProbeJson(const store::ProbeRecord& r);

// {id, name, status, cpus, memory_mb, disk_mb, labels, agent_version, address,
//  last_heartbeat, created_at}
boost::json::value NodeJson(const control::NodeView& n);

// One event as the event stream sends it: `type` ("workload", "workload.deleted", "node") and
// `data` (JSON: a Workload without credentials, {id}, a Node).
struct EventMessage {
  std::string type;
  std::string data;
};
EventMessage EventJson(const control::Event& e);

}  // namespace lattice::api
