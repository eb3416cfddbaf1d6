// TenantNetworks: one Docker bridge network per tenant on this node, so one user's containers
// cannot reach another's (the engine isolates bridge networks from each other) while a user's
// own workloads reach each other by name. Subnets are small (a /26 by default) and come from an
// address pool the agent manages, so one node holds hundreds of tenants' networks where the
// engine's default pools run out after about thirty. Networks carry the label
// `lattice.tenant=<tenant>` and `lattice.node=<node id>`; one of this node's that no container
// (running or stopped) names any more is removed by Prune().
//
// PickSubnet is pure. TenantNetworks is thread-safe: workload supervisors call it from several
// engine workers at once. Ensure() and Prune() are serialised (one engine conversation about
// networks at a time); Use() holds off PruneUnused() while a container is being created on a
// network, so a prune cannot remove the network between Ensure() and the create. The Runtime
// must outlive it.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>
#include <vector>

#include "common/result.h"
#include "runtime/runtime.h"

namespace lattice::agent {

inline constexpr char kLabelTenant[] = "lattice.tenant";

struct TenantNetworkOptions {
  std::string pool = "10.213.0.0/16";  // where tenant subnets are carved from
  int prefix = 26;                     // subnet size: 62 addresses, ~59 containers
  // The agent's node id, written to the `lattice.node` label of the networks it creates;
  // Prune() removes only those, so agents sharing an engine leave each other's alone.
  std::string node_id;
};

struct Subnet {
  std::string cidr;     // "10.213.0.64/26"
  std::string gateway;  // "10.213.0.65": the node's address on it
};

// The first `prefix`-sized subnet of `pool` that overlaps none of `taken` (IPv4 CIDRs; others
// are ignored). kInvalidArgument for a malformed pool or prefix; kUnavailable when the pool is
// full.
Result<Subnet> PickSubnet(const std::string& pool, int prefix,
                          const std::vector<std::string>& taken);

// "lattice-t-<tenant>": the engine's name for the tenant's network.
std::string TenantNetworkName(const std::string& tenant);
// "lt-<12 hex>": the host interface of the tenant's bridge (≤ 15 bytes, as Linux requires).
// All tenant bridges share the "lt-" prefix, which the host firewall matches.
std::string TenantBridgeName(const std::string& tenant);

class TenantNetworks {
 public:
  TenantNetworks(runtime::Runtime& runtime, TenantNetworkOptions options);
  TenantNetworks(const TenantNetworks&) = delete;
  TenantNetworks& operator=(const TenantNetworks&) = delete;

  // The tenant's network, created (with a free subnet) when it does not exist yet.
  Result<std::string> Ensure(const std::string& tenant);
  // Forgets what Ensure() remembered of the tenant's network: call it when using the network
  // failed (someone removed it), so the next Ensure() looks again and re-creates it.
  void Forget(const std::string& tenant);
  // Removes this node's tenant networks not in `in_use` (the network names every container on
  // the engine was created with, running or not: a stopped container must still find its
  // network when it starts again). Returns how many went.
  Result<int> Prune(const std::set<std::string>& in_use);
  // Prune() with `in_use` listed by `list_in_use` while no Use() lease is held, so the list
  // includes every container created on a network up to then. Its error is returned as is.
  Result<int> PruneUnused(const std::function<Result<std::set<std::string>>()>& list_in_use);
  // A lease that holds off PruneUnused(): take it before Ensure() and keep it until the
  // container joining the network exists. Leases do not exclude each other.
  [[nodiscard]] std::shared_lock<std::shared_mutex> Use();

 private:
  runtime::Runtime& runtime_;
  const TenantNetworkOptions options_;

  std::shared_mutex use_;  // shared: a create in progress; exclusive: PruneUnused()
  std::mutex mu_;          // serialises Ensure/Forget/Prune; taken after use_, never before
  std::map<std::string, std::string> known_;  // tenant → network name, seen to exist; mu_
};

}  // namespace lattice::agent
