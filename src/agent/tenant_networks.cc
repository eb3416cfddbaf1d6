#include "agent/tenant_networks.h"

#include <arpa/inet.h>
#include <spdlog/spdlog.h>

#include <charconv>
#include <cstdio>

namespace lattice::agent {
namespace {

constexpr char kLabelNetworkNode[] = "lattice.node";

struct Cidr {
  std::uint32_t base = 0;  // host order, masked
  int prefix = 0;
};

std::optional<Cidr> ParseCidr(const std::string& text) {
  const auto slash = text.find('/');
  if (slash == std::string::npos) return std::nullopt;
  in_addr a{};
  if (inet_pton(AF_INET, text.substr(0, slash).c_str(), &a) != 1) return std::nullopt;
  int prefix = -1;
  const char* b = text.data() + slash + 1;
  const char* e = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(b, e, prefix);
  if (ec != std::errc() || ptr != e || prefix < 0 || prefix > 32) return std::nullopt;
  const std::uint32_t mask = prefix == 0 ? 0 : ~std::uint32_t{0} << (32 - prefix);
  return Cidr{ntohl(a.s_addr) & mask, prefix};
}

std::uint64_t Size(const Cidr& c) {
  return std::uint64_t{1} << (32 - c.prefix);
}

bool Overlaps(const Cidr& x, const Cidr& y) {
  const std::uint64_t x_end = x.base + Size(x), y_end = y.base + Size(y);
  return x.base < y_end && y.base < x_end;
}

std::string Dotted(std::uint32_t host_order) {
  in_addr a{};
  a.s_addr = htonl(host_order);
  char buf[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &a, buf, sizeof buf);
  return buf;
}

}  // namespace

Result<Subnet> PickSubnet(const std::string& pool, int prefix,
                          const std::vector<std::string>& taken) {
  auto p = ParseCidr(pool);
  if (!p) return Error::Invalid("network pool '" + pool + "' is not an IPv4 CIDR");
  if (prefix < p->prefix || prefix > 29)
    return Error::Invalid("network prefix /" + std::to_string(prefix) +
                          " must lie between the pool's /" + std::to_string(p->prefix) +
                          " and /29");
  std::vector<Cidr> used;
  for (const auto& t : taken)
    if (auto c = ParseCidr(t)) used.push_back(*c);
  const std::uint64_t step = std::uint64_t{1} << (32 - prefix);
  for (std::uint64_t at = p->base; at + step <= p->base + Size(*p); at += step) {
    const Cidr candidate{static_cast<std::uint32_t>(at), prefix};
    bool free = true;
    for (const Cidr& u : used) free = free && !Overlaps(candidate, u);
    if (free) {
      return Subnet{Dotted(candidate.base) + "/" + std::to_string(prefix),
                    Dotted(candidate.base + 1)};
    }
  }
  return Error::Unavailable("the tenant network pool " + pool + " has no free /" +
                            std::to_string(prefix) + " left");
}

std::string TenantNetworkName(const std::string& tenant) {
  return "lattice-t-" + tenant;
}

std::string TenantBridgeName(const std::string& tenant) {
  std::uint64_t h = 14695981039346656037ull;  // FNV-1a: a name, not a secret
  for (unsigned char c : tenant) {
    h ^= c;
    h *= 1099511628211ull;
  }
  char buf[16];
  std::snprintf(buf, sizeof buf, "lt-%012llx",
                static_cast<unsigned long long>(h & 0xffffffffffffull));
  return buf;
}

TenantNetworks::TenantNetworks(runtime::Runtime& runtime, TenantNetworkOptions options)
    : runtime_(runtime), options_(std::move(options)) {}

Result<std::string> TenantNetworks::Ensure(const std::string& tenant) {
  std::lock_guard lock(mu_);
  if (auto it = known_.find(tenant); it != known_.end()) return it->second;
  const std::string name = TenantNetworkName(tenant);
  // A few rounds: another process (a second agent on the same engine, an operator) may take a
  // subnet between our list and our create.
  for (int attempt = 0; attempt < 8; ++attempt) {
    auto networks = runtime_.ListNetworks();
    if (!networks.ok()) return std::move(networks).error();
    std::vector<std::string> taken;
    for (const auto& n : *networks) {
      if (n.name == name) {
        known_[tenant] = name;
        return name;
      }
      taken.insert(taken.end(), n.subnets.begin(), n.subnets.end());
    }
    auto subnet = PickSubnet(options_.pool, options_.prefix, taken);
    if (!subnet.ok()) return std::move(subnet).error();
    runtime::NetworkSpec spec;
    spec.name = name;
    spec.subnet = subnet->cidr;
    spec.gateway = subnet->gateway;
    spec.bridge_name = TenantBridgeName(tenant);
    spec.labels[kLabelTenant] = tenant;
    if (!options_.node_id.empty()) spec.labels[kLabelNetworkNode] = options_.node_id;
    auto created = runtime_.CreateNetwork(spec);
    if (created.ok()) {
      spdlog::info("event=network_create tenant={} network={} subnet={}", tenant, name,
                   subnet->cidr);
      known_[tenant] = name;
      return name;
    }
    if (created.error().code != ErrorCode::kConflict) return std::move(created).error();
    // The name appeared meanwhile, or the subnet was taken: look again.
  }
  return Error::Unavailable("could not create network " + name + " after several attempts");
}

void TenantNetworks::Forget(const std::string& tenant) {
  std::lock_guard lock(mu_);
  known_.erase(tenant);
}

std::shared_lock<std::shared_mutex> TenantNetworks::Use() {
  return std::shared_lock(use_);
}

Result<int> TenantNetworks::PruneUnused(
    const std::function<Result<std::set<std::string>>()>& list_in_use) {
  std::unique_lock no_creates(use_);
  auto in_use = list_in_use();
  if (!in_use.ok()) return std::move(in_use).error();
  return Prune(*in_use);
}

Result<int> TenantNetworks::Prune(const std::set<std::string>& in_use) {
  std::lock_guard lock(mu_);
  auto networks = runtime_.ListNetworks();
  if (!networks.ok()) return std::move(networks).error();
  int removed = 0;
  for (const auto& n : *networks) {
    auto tenant = n.labels.find(kLabelTenant);
    if (tenant == n.labels.end() || in_use.count(n.name) || in_use.count(n.id)) continue;
    if (auto node = n.labels.find(kLabelNetworkNode);
        !options_.node_id.empty() && (node == n.labels.end() || node->second != options_.node_id))
      continue;  // another agent's on a shared engine
    // The list may be stale: removing a network a container joined meanwhile is refused
    // (kConflict) by the engine while that container runs; the next pass sees it in use.
    Status st = runtime_.RemoveNetwork(n.id);
    if (st.ok()) {
      known_.erase(tenant->second);
      ++removed;
      spdlog::info("event=network_remove tenant={} network={}", tenant->second, n.name);
    } else if (st.error().code != ErrorCode::kConflict) {
      return std::move(st).error();
    }
  }
  return removed;
}

}  // namespace lattice::agent
