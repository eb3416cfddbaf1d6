// HostFirewall: keeps containers on tenant networks away from the node itself. A container
// reaches the host through its bridge's gateway address, so every service listening on the
// node's wildcard address (an SSH daemon, a Docker API on TCP, the Lattice server) would be
// one connection away. The agent installs, with iptables (and ip6tables when present):
//
//   INPUT          -i lt-+ -j LATTICE-INPUT
//   LATTICE-INPUT  -m conntrack ! --ctstate ESTABLISHED,RELATED -j DROP
//   DOCKER-USER    -i lt-+ -d 169.254.0.0/16 -j DROP   (cloud metadata, other link-local hosts)
//
// so a container can answer connections the node opens (tunnels, probes) but open none to
// it. One rule per chain, each added only when `iptables -C` does not find it: agents sharing
// a node may install at the same time without a window where the chain is empty or out of
// order. iptables runs as a child process with an argv vector, never a shell string.
// Requires CAP_NET_ADMIN.
#pragma once

#include <string>
#include <vector>

#include "common/result.h"

namespace lattice::agent {

// The rule set for `iface_prefix` ("lt-" by default), as argv vectors without the program.
// Pure: what Install() runs, for tests and docs.
std::vector<std::vector<std::string>> HostFirewallRules(const std::string& iface_prefix);

// Applies the rules with `iptables` (and `ip6tables` for INPUT when it exists). kUnavailable
// with the failing command and its output when iptables is missing or refuses.
Status InstallHostFirewall(const std::string& iface_prefix);

}  // namespace lattice::agent
