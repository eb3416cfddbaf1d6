#include "agent/workload_container.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <map>

namespace lattice::agent {

bool IsValidWorkloadId(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  auto alnum = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  };
  if (!alnum(id.front())) return false;
  return std::all_of(id.begin(), id.end(),
                     [&](char c) { return alnum(c) || c == '_' || c == '.' || c == '-'; });
}

std::string ContainerName(const std::string& workload_id) {
  return "lattice-" + workload_id;
}

std::string VolumeName(const std::string& workload_id, const std::string& volume,
                       std::int64_t epoch) {
  std::string name = "lattice-" + workload_id + "-" + volume;
  if (epoch > 0) name += ".r" + std::to_string(epoch);
  return name;
}

std::vector<std::string> VolumeNamesOf(const link::Assignment& a) {
  std::vector<std::string> out;
  for (const auto& v : a.spec.volumes)
    out.push_back(VolumeName(a.workload_id, v.name, a.spec.volume_epoch));
  if (!a.spec.secret_files.empty()) out.push_back(VolumeName(a.workload_id, "secrets"));
  return out;
}

std::vector<std::string> ReplacedVolumeNamesOf(const link::Assignment& a) {
  std::vector<std::string> out;
  for (std::int64_t e = 0; e < a.spec.volume_epoch; ++e)
    for (const auto& v : a.spec.volumes) out.push_back(VolumeName(a.workload_id, v.name, e));
  return out;
}

std::string SpecHash(const templates::RenderedWorkload& spec, const std::string& network) {
  // FNV-1a over the canonical JSON encoding: change detection, not security. Readiness is
  // excluded: a changed probe does not need a new container.
  templates::RenderedWorkload s = spec;
  s.readiness = {};
  std::string text = link::EncodeSpec(s);
  if (!network.empty()) text += "\nnetwork=" + network;
  std::uint64_t h = 14695981039346656037ull;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ull;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

runtime::ContainerSpec ToContainerSpec(const link::Assignment& a, const std::string& node_id,
                                       const std::string& network) {
  const templates::RenderedWorkload& w = a.spec;
  runtime::ContainerSpec c;
  c.name = ContainerName(a.workload_id);
  c.image = w.image;
  c.env = w.env;
  c.command = w.command;
  for (const auto& p : w.ports) {
    // Tunnels dial the container on its own address: a host port only where one was asked for
    // (or for udp, which the edge does not carry).
    if (!p.publish && p.protocol != "udp") continue;
    runtime::PortBinding b;
    b.container_port = p.container_port;
    b.protocol = p.protocol.empty() ? "tcp" : p.protocol;
    b.host_ip = "127.0.0.1";
    b.host_port = 0;
    c.ports.push_back(std::move(b));
  }
  for (const auto& v : w.volumes)
    c.volumes.push_back({VolumeName(a.workload_id, v.name, w.volume_epoch), v.container_path});
  if (!w.secret_files.empty())
    c.volumes.push_back({VolumeName(a.workload_id, "secrets"), templates::kSecretsDir});
  c.memory_bytes = (w.memory_mb > 0 ? w.memory_mb : kDefaultMemoryMb) * 1024 * 1024;
  c.cpus = w.cpus > 0 ? w.cpus : 0;
  // Confinement: the template's (the server fills it in for specs stored without one; an
  // agent talking to an older server gets custom's, the strictest).
  const templates::Confinement conf =
      w.confinement ? *w.confinement : templates::DefaultConfinement("custom");
  c.confinement.cap_add = conf.capabilities;
  c.confinement.user = conf.user;
  c.confinement.read_only_rootfs = conf.read_only_rootfs;
  c.confinement.tmpfs = conf.tmpfs;
  c.confinement.pids_limit = kPidsLimit;
  // CPU weight follows the CPUs asked for (1024 per CPU, Docker's default for one).
  c.confinement.cpu_shares =
      w.cpus > 0 ? std::clamp<std::int64_t>(std::llround(w.cpus * 1024), 2, 262144) : 1024;
  if (!network.empty()) {
    c.network = network;
    if (!a.name.empty()) c.aliases.push_back(a.name);
  }
  c.labels[kLabelWorkload] = a.workload_id;
  c.labels[kLabelNode] = node_id;
  c.labels[kLabelGeneration] = std::to_string(a.generation);
  c.labels[kLabelSpec] = SpecHash(w, network);
  return c;
}

std::vector<link::PortBindingReport> BindingsOf(const runtime::ContainerInfo& c) {
  std::map<int, int> tcp, udp;
  for (const auto& p : c.ports) {
    if (p.host_port <= 0) continue;
    auto& m = p.protocol == "udp" ? udp : tcp;
    m.emplace(p.container_port, p.host_port);  // first binding wins (IPv4 before IPv6)
  }
  for (const auto& [port, host] : udp) tcp.emplace(port, host);
  std::vector<link::PortBindingReport> out;
  for (const auto& [port, host] : tcp) out.push_back({port, host});
  return out;
}

std::string AddressOf(const runtime::ContainerInfo& c) {
  if (auto it = c.addresses.find(c.network_mode); it != c.addresses.end()) return it->second;
  // "default" names the engine's default bridge in HostConfig.NetworkMode.
  if (auto it = c.addresses.find("bridge"); it != c.addresses.end()) return it->second;
  return c.addresses.size() == 1 ? c.addresses.begin()->second : std::string();
}

int HostPortFor(const runtime::ContainerInfo& c, int container_port) {
  for (const auto& p : c.ports)
    if (p.container_port == container_port && p.protocol != "udp" && p.host_port > 0)
      return p.host_port;
  return 0;
}

Reach ReachOf(const runtime::ContainerInfo& c) {
  return {AddressOf(c), BindingsOf(c)};
}

ContainerTarget TargetFor(const runtime::ContainerInfo& c, int container_port) {
  if (std::string address = AddressOf(c); !address.empty())
    return {std::move(address), container_port};
  if (const int host_port = HostPortFor(c, container_port); host_port > 0)
    return {"127.0.0.1", host_port};
  return {};
}

std::string ExitReason(const runtime::ContainerInfo& c) {
  std::string r = "exited with code " + std::to_string(c.exit_code);
  if (c.oom_killed) r += " (out of memory)";
  if (!c.error.empty()) r += ": " + c.error;
  return r;
}

std::int64_t GenerationOf(const runtime::ContainerInfo& c) {
  const std::string v = LabelOf(c, kLabelGeneration);
  std::int64_t g = 0;
  auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), g);
  if (ec != std::errc() || ptr != v.data() + v.size()) return 0;
  return g;
}

std::string LabelOf(const runtime::ContainerInfo& c, const std::string& key) {
  auto it = c.labels.find(key);
  return it == c.labels.end() ? std::string() : it->second;
}

}  // namespace lattice::agent
