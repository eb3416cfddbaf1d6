// What the control plane hands out about workloads and nodes: the stored record plus what a
// reader needs beside it (decrypted credentials, the node's name and address, public ports).
// Plain data; the JSON shapes of these live with the wire format in api/ (workload_json.h).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "store/models.h"
#include "store/probe_store.h"
#include "templates/template.h"

namespace lattice::control {

// A workload as its owner sees it: the record plus decrypted credentials and the node address.
struct WorkloadView {
  store::Workload w;
  templates::Credentials credentials;  // empty in events: streams never carry secrets
  std::string node_name;
  std::string node_address;
  std::vector<store::PublicPort> public_ports;  // empty without an edge
  std::string public_host;
  // Each probed endpoint's current probe state (docs/probes.md), by container port; read for a
  // single workload only (GET /workloads/{id}), absent in lists and events.
  std::optional<std::vector<store::ProbeRecord>> probes{};
};

struct NodeView {
  store::Node node;
  bool connected = false;
};

}  // namespace lattice::control
