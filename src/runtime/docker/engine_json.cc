#include "runtime/docker/engine_json.h"

#include <boost/json.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <string>

namespace lattice::runtime::docker {

namespace json = boost::json;

namespace {

const json::object* Obj(const json::object* o, std::string_view key) {
  if (o == nullptr) return nullptr;
  const json::value* v = o->if_contains(key);
  return v != nullptr && v->is_object() ? &v->as_object() : nullptr;
}

std::string Str(const json::object* o, std::string_view key) {
  if (o == nullptr) return {};
  const json::value* v = o->if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
}

std::int64_t Int(const json::object* o, std::string_view key) {
  if (o == nullptr) return 0;
  const json::value* v = o->if_contains(key);
  if (v == nullptr) return 0;
  if (v->is_int64()) return v->as_int64();
  if (v->is_uint64()) return static_cast<std::int64_t>(v->as_uint64());
  if (v->is_double()) return static_cast<std::int64_t>(v->as_double());
  return 0;
}

bool Bool(const json::object* o, std::string_view key) {
  if (o == nullptr) return false;
  const json::value* v = o->if_contains(key);
  return v != nullptr && v->is_bool() && v->as_bool();
}

std::string PortKey(const PortBinding& p) {
  return std::to_string(p.container_port) + "/" + (p.protocol.empty() ? "tcp" : p.protocol);
}

// {"8080/tcp": [{"HostIp": "127.0.0.1", "HostPort": "49153"}], "9000/tcp": null, ...}
std::vector<PortBinding> PortsFromMap(const json::object* ports) {
  std::vector<PortBinding> out;
  if (ports == nullptr) return out;
  for (const auto& [key, bindings] : *ports) {
    std::string_view k = key;
    PortBinding base;
    auto slash = k.find('/');
    base.protocol = slash == std::string_view::npos ? "tcp" : std::string(k.substr(slash + 1));
    try {
      base.container_port = std::stoi(std::string(k.substr(0, slash)));
    } catch (const std::exception&) {
      continue;
    }
    if (!bindings.is_array()) continue;  // exposed but not published
    for (const json::value& b : bindings.as_array()) {
      if (!b.is_object()) continue;
      PortBinding p = base;
      p.host_ip = Str(&b.as_object(), "HostIp");
      std::string hp = Str(&b.as_object(), "HostPort");
      p.host_port = 0;
      if (!hp.empty() && hp.find_first_not_of("0123456789") == std::string::npos &&
          hp.size() <= 5) {
        p.host_port = std::stoi(hp);
      }
      out.push_back(std::move(p));
    }
  }
  return out;
}

}  // namespace

Status ValidateSpec(const ContainerSpec& spec) {
  std::vector<FieldError> errors;
  if (spec.name.empty()) errors.push_back({"name", "is required"});
  if (spec.image.empty()) errors.push_back({"image", "is required"});
  for (std::size_t i = 0; i < spec.ports.size(); ++i) {
    const PortBinding& p = spec.ports[i];
    std::string f = "ports[" + std::to_string(i) + "]";
    if (p.container_port < 1 || p.container_port > 65535) {
      errors.push_back({f + ".container_port", "must be between 1 and 65535"});
    }
    if (p.host_port < 0 || p.host_port > 65535) {
      errors.push_back({f + ".host_port", "must be between 0 and 65535"});
    }
    if (p.protocol != "tcp" && p.protocol != "udp" && p.protocol != "sctp") {
      errors.push_back({f + ".protocol", "must be tcp, udp or sctp"});
    }
  }
  for (std::size_t i = 0; i < spec.volumes.size(); ++i) {
    const VolumeMount& v = spec.volumes[i];
    std::string f = "volumes[" + std::to_string(i) + "]";
    if (v.volume.empty()) errors.push_back({f + ".volume", "is required"});
    if (v.container_path.empty() || v.container_path[0] != '/') {
      errors.push_back({f + ".container_path", "must be an absolute path"});
    }
  }
  if (spec.memory_bytes < 0) errors.push_back({"memory_bytes", "must not be negative"});
  const Confinement& c = spec.confinement;
  for (std::size_t i = 0; i < c.cap_add.size(); ++i) {
    const std::string& cap = c.cap_add[i];
    if (cap.empty() || cap == "ALL" ||
        cap.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ_") != std::string::npos)
      errors.push_back({"cap_add[" + std::to_string(i) + "]", "must be a capability name"});
  }
  if (c.user.find_first_not_of("0123456789:") != std::string::npos)
    errors.push_back({"user", "must be uid or uid:gid"});
  for (std::size_t i = 0; i < c.tmpfs.size(); ++i) {
    if (c.tmpfs[i].empty() || c.tmpfs[i][0] != '/' || c.tmpfs[i].find(',') != std::string::npos)
      errors.push_back({"tmpfs[" + std::to_string(i) + "]", "must be an absolute path"});
  }
  if (c.pids_limit <= 0) errors.push_back({"pids_limit", "must be positive"});
  if (spec.cpus < 0 || !std::isfinite(spec.cpus)) {
    errors.push_back({"cpus", "must not be negative"});
  }
  if (errors.empty()) return Status::Ok();
  return Error::Invalid("the container spec for \"" + spec.name + "\" is invalid",
                        std::move(errors));
}

json::object ContainerCreateBody(const ContainerSpec& spec) {
  json::object body;
  body["Image"] = spec.image;
  if (!spec.env.empty()) {
    json::array env;
    for (const auto& e : spec.env) env.emplace_back(e);
    body["Env"] = std::move(env);
  }
  if (!spec.command.empty()) {
    json::array cmd;
    for (const auto& c : spec.command) cmd.emplace_back(c);
    body["Cmd"] = std::move(cmd);
  }
  json::object labels;
  for (const auto& [k, v] : spec.labels) labels[k] = v;
  body["Labels"] = std::move(labels);

  json::object exposed;
  json::object bindings;
  for (const PortBinding& p : spec.ports) {
    std::string key = PortKey(p);
    exposed[key] = json::object();
    json::value& list = bindings[key];
    if (!list.is_array()) list = json::array();
    list.as_array().push_back(
        json::object{{"HostIp", p.host_ip},
                     {"HostPort", p.host_port > 0 ? std::to_string(p.host_port) : std::string()}});
  }
  body["ExposedPorts"] = std::move(exposed);

  json::object host;
  host["PortBindings"] = std::move(bindings);
  json::array mounts;
  for (const VolumeMount& v : spec.volumes) {
    mounts.push_back(json::object{{"Type", "volume"},
                                  {"Source", v.volume},
                                  {"Target", v.container_path},
                                  {"ReadOnly", v.read_only}});
  }
  host["Mounts"] = std::move(mounts);
  if (spec.memory_bytes > 0) {
    host["Memory"] = spec.memory_bytes;
    host["MemorySwap"] = spec.memory_bytes;  // no swap beyond the limit
  }
  if (spec.cpus > 0) host["NanoCpus"] = static_cast<std::int64_t>(std::llround(spec.cpus * 1e9));
  host["RestartPolicy"] = json::object{{"Name", "no"}};

  // Confinement: the same for every container, whatever the spec asks.
  const Confinement& c = spec.confinement;
  host["CapDrop"] = json::array{"ALL"};
  json::array cap_add;
  for (const auto& cap : c.cap_add) cap_add.emplace_back(cap);
  host["CapAdd"] = std::move(cap_add);
  host["SecurityOpt"] = json::array{"no-new-privileges:true"};
  host["Privileged"] = false;
  host["PidsLimit"] = c.pids_limit;
  host["CpuShares"] = c.cpu_shares;
  host["ReadonlyRootfs"] = c.read_only_rootfs;
  if (!c.tmpfs.empty()) {
    json::object tmpfs;
    for (const auto& path : c.tmpfs)
      tmpfs[path] = "rw,noexec,nosuid,nodev,size=" + std::to_string(c.tmpfs_bytes);
    host["Tmpfs"] = std::move(tmpfs);
  }
  host["LogConfig"] =
      json::object{{"Type", "json-file"},
                   {"Config", json::object{{"max-size", std::to_string(c.log_max_bytes)},
                                           {"max-file", std::to_string(c.log_max_files)}}}};
  if (!c.user.empty()) body["User"] = c.user;
  if (spec.network.rfind("container:", 0) == 0) {
    host["NetworkMode"] = spec.network;  // another container's namespace: no endpoint of its own
  } else if (!spec.network.empty()) {
    host["NetworkMode"] = spec.network;
    json::array aliases;
    for (const auto& a : spec.aliases) aliases.emplace_back(a);
    json::object endpoints;
    endpoints[spec.network] = json::object{{"Aliases", std::move(aliases)}};
    body["NetworkingConfig"] = json::object{{"EndpointsConfig", std::move(endpoints)}};
  }
  body["HostConfig"] = std::move(host);
  return body;
}

json::object NetworkCreateBody(const NetworkSpec& spec) {
  json::object labels;
  for (const auto& [k, v] : spec.labels) labels[k] = v;
  json::object options;
  if (!spec.bridge_name.empty()) options["com.docker.network.bridge.name"] = spec.bridge_name;
  // Containers of one network reach each other (a user's app reaches their database); the
  // engine's isolation chains keep every other network out.
  options["com.docker.network.bridge.enable_icc"] = "true";
  options["com.docker.network.bridge.enable_ip_masquerade"] = "true";
  json::object ipam_config{{"Subnet", spec.subnet}};
  if (!spec.gateway.empty()) ipam_config["Gateway"] = spec.gateway;
  return json::object{
      {"Name", spec.name},
      {"CheckDuplicate", true},
      {"Driver", "bridge"},
      {"Internal", false},
      {"Attachable", false},
      {"EnableIPv6", false},
      {"Labels", std::move(labels)},
      {"Options", std::move(options)},
      {"IPAM", json::object{{"Driver", "default"}, {"Config", json::array{ipam_config}}}}};
}

std::vector<NetworkInfo> NetworksFromList(const json::value& v) {
  std::vector<NetworkInfo> out;
  if (!v.is_array()) return out;
  for (const json::value& e : v.as_array()) {
    if (!e.is_object()) continue;
    const json::object* o = &e.as_object();
    NetworkInfo n;
    n.id = Str(o, "Id");
    n.name = Str(o, "Name");
    if (const json::object* labels = Obj(o, "Labels")) {
      for (const auto& [k, val] : *labels)
        if (val.is_string()) n.labels[std::string(k)] = std::string(val.as_string());
    }
    if (const json::value* cfg = Obj(o, "IPAM") ? Obj(o, "IPAM")->if_contains("Config") : nullptr;
        cfg && cfg->is_array()) {
      for (const json::value& c : cfg->as_array()) {
        if (!c.is_object()) continue;
        std::string subnet = Str(&c.as_object(), "Subnet");
        if (!subnet.empty()) n.subnets.push_back(std::move(subnet));
      }
    }
    if (!n.id.empty()) out.push_back(std::move(n));
  }
  return out;
}

json::object VolumeCreateBody(const std::string& name,
                              const std::map<std::string, std::string>& labels) {
  json::object l;
  for (const auto& [k, v] : labels) l[k] = v;
  return json::object{{"Name", name}, {"Labels", std::move(l)}};
}

ContainerInfo ContainerInfoFromInspect(const json::value& v) {
  ContainerInfo info;
  const json::object* root = v.is_object() ? &v.as_object() : nullptr;
  info.id = Str(root, "Id");
  info.name = Str(root, "Name");
  if (info.name.starts_with('/')) info.name.erase(0, 1);
  const json::object* config = Obj(root, "Config");
  info.image = Str(config, "Image");
  if (const json::object* labels = Obj(config, "Labels")) {
    for (const auto& [k, val] : *labels) {
      if (val.is_string()) info.labels[std::string(k)] = std::string(val.as_string());
    }
  }
  const json::object* state = Obj(root, "State");
  info.state = Str(state, "Status");
  info.running = Bool(state, "Running");
  info.exit_code = static_cast<int>(Int(state, "ExitCode"));
  info.oom_killed = Bool(state, "OOMKilled");
  info.error = Str(state, "Error");
  info.started_at = Str(state, "StartedAt");
  info.network_mode = Str(Obj(root, "HostConfig"), "NetworkMode");
  if (const json::object* nets = Obj(Obj(root, "NetworkSettings"), "Networks")) {
    for (const auto& [name, n] : *nets) {
      if (!n.is_object()) continue;
      std::string ip = Str(&n.as_object(), "IPAddress");
      if (!ip.empty()) info.addresses[std::string(name)] = std::move(ip);
    }
  }
  info.ports = PortsFromMap(Obj(Obj(root, "NetworkSettings"), "Ports"));
  if (info.ports.empty()) info.ports = PortsFromMap(Obj(Obj(root, "HostConfig"), "PortBindings"));
  return info;
}

EngineInfo EngineInfoFromInfo(const json::value& v) {
  EngineInfo info;
  const json::object* root = v.is_object() ? &v.as_object() : nullptr;
  info.node.cpus = static_cast<int>(Int(root, "NCPU"));
  info.node.memory_bytes = Int(root, "MemTotal");
  info.node.engine_version = Str(root, "ServerVersion");
  info.node.os = Str(root, "OperatingSystem");
  info.root_dir = Str(root, "DockerRootDir");
  return info;
}

namespace {

// A counter: a non-negative integer (a double the engine wrote as one is accepted).
std::uint64_t Counter(const json::object* o, std::string_view key) {
  if (o == nullptr) return 0;
  const json::value* v = o->if_contains(key);
  if (v == nullptr) return 0;
  if (v->is_uint64()) return v->as_uint64();
  if (v->is_int64()) return v->as_int64() > 0 ? static_cast<std::uint64_t>(v->as_int64()) : 0;
  if (v->is_double() && v->as_double() > 0 && v->as_double() < 1.8e19)
    return static_cast<std::uint64_t>(v->as_double());
  return 0;
}

bool Has(const json::object* o, std::string_view key) {
  return o != nullptr && o->if_contains(key) != nullptr;
}

bool OpIs(std::string_view op, std::string_view want) {
  if (op.size() != want.size()) return false;
  for (std::size_t i = 0; i < op.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(op[i])) != want[i]) return false;
  return true;
}

}  // namespace

ContainerStats ContainerStatsFromJson(const json::value& v) {
  ContainerStats s;
  const json::object* root = v.is_object() ? &v.as_object() : nullptr;
  const json::object* cpu = Obj(root, "cpu_stats");
  const json::object* usage = Obj(cpu, "cpu_usage");
  s.cpu_total_ns = Counter(usage, "total_usage");
  s.system_cpu_ns = Counter(cpu, "system_cpu_usage");
  s.online_cpus = static_cast<int>(std::min<std::uint64_t>(Counter(cpu, "online_cpus"), 1 << 16));
  if (s.online_cpus == 0 && usage != nullptr) {  // older engines: one entry per core
    const json::value* per = usage->if_contains("percpu_usage");
    if (per != nullptr && per->is_array())
      s.online_cpus = static_cast<int>(std::min<std::size_t>(per->as_array().size(), 1 << 16));
  }

  const json::object* mem = Obj(root, "memory_stats");
  const json::object* mstats = Obj(mem, "stats");
  s.memory_bytes = Counter(mem, "usage");
  s.memory_limit_bytes = Counter(mem, "limit");
  // The page cache the kernel can take back is not the container's to answer for.
  const char* cache_key = Has(mstats, "total_inactive_file") ? "total_inactive_file"  // v1
                                                             : "inactive_file";       // v2
  if (const std::uint64_t cache = Counter(mstats, cache_key); cache < s.memory_bytes)
    s.memory_bytes -= cache;

  if (const json::object* nets = Obj(root, "networks")) {
    for (const auto& [name, n] : *nets) {
      const json::object* iface = n.is_object() ? &n.as_object() : nullptr;
      s.net_rx_bytes += Counter(iface, "rx_bytes");
      s.net_tx_bytes += Counter(iface, "tx_bytes");
    }
  }

  const json::object* blkio = Obj(root, "blkio_stats");
  const json::value* io =
      blkio != nullptr ? blkio->if_contains("io_service_bytes_recursive") : nullptr;
  if (io != nullptr && io->is_array()) {
    for (const json::value& e : io->as_array()) {
      const json::object* entry = e.is_object() ? &e.as_object() : nullptr;
      const std::string op = Str(entry, "op");
      if (OpIs(op, "read"))
        s.disk_read_bytes += Counter(entry, "value");
      else if (OpIs(op, "write"))
        s.disk_write_bytes += Counter(entry, "value");
    }
  }
  s.pids = Counter(Obj(root, "pids_stats"), "current");
  return s;
}

bool StatsAreLive(const json::value& v) {
  const json::object* root = v.is_object() ? &v.as_object() : nullptr;
  const std::string read = Str(root, "read");
  return !read.empty() && read.rfind("0001-01-01", 0) != 0;
}

ImageRef SplitImageRef(std::string_view image) {
  if (image.find('@') != std::string_view::npos) return {std::string(image), ""};
  auto slash = image.rfind('/');
  auto colon = image.rfind(':');
  if (colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash)) {
    return {std::string(image.substr(0, colon)), std::string(image.substr(colon + 1))};
  }
  return {std::string(image), "latest"};
}

void ProgressScanner::Feed(std::string_view piece) {
  constexpr std::size_t kMaxLine = 1 << 20;
  while (!piece.empty()) {
    auto nl = piece.find('\n');
    if (nl == std::string_view::npos) {
      if (line_.size() + piece.size() <= kMaxLine) line_.append(piece);
      return;
    }
    line_.append(piece.substr(0, nl));
    piece.remove_prefix(nl + 1);
    Scan(line_);
    line_.clear();
  }
}

void ProgressScanner::Finish() {
  Scan(line_);
  line_.clear();
}

void ProgressScanner::Scan(std::string_view line) {
  if (error_ || line.find_first_not_of(" \r\t") == std::string_view::npos) return;
  boost::system::error_code ec;
  json::value v = json::parse(line, ec);
  if (ec || !v.is_object()) return;
  const json::object& o = v.as_object();
  std::string detail = Str(Obj(&o, "errorDetail"), "message");
  std::string error = Str(&o, "error");
  if (!detail.empty()) {
    error_ = detail;
  } else if (!error.empty()) {
    error_ = error;
  } else if (Obj(&o, "errorDetail") != nullptr || o.contains("error")) {
    error_ = "unknown error";
  }
}

}  // namespace lattice::runtime::docker
