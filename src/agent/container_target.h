// ContainerTarget: where this node reaches one TCP port of a workload's container — the
// container's own address on its network and the container port (no docker-proxy in the way),
// or, for a container without an address, the host port the engine published on 127.0.0.1.
// A plain value; thread-safe to copy.
#pragma once

#include <string>

namespace lattice::agent {

struct ContainerTarget {
  std::string host;  // an IPv4 literal, never a name
  int port = 0;

  bool ok() const { return !host.empty() && port > 0 && port <= 65535; }
  std::string ToString() const { return host + ":" + std::to_string(port); }
};

}  // namespace lattice::agent
