// The JSON shapes of workloads and nodes as the API and the event stream show them
// (docs/openapi.yaml: Workload, Node). Pure; thread-safe.
#pragma once

#include <boost/json/value.hpp>

#include "control/control_plane.h"

namespace lattice::control {

// {id, name, template, image, status, status_reason, desired_state, generation, node_id,
//  endpoints: [{name, container_port, protocol, host, port, url}], credentials, resources,
//  created_at, updated_at}
boost::json::value WorkloadJson(const WorkloadView& v);

// {id, name, status, cpus, memory_mb, disk_mb, labels, agent_version, address,
//  last_heartbeat, created_at}
boost::json::value NodeJson(const NodeView& n);

}  // namespace lattice::control
