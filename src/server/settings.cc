#include "server/settings.h"

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/host_name.hpp>
#include <boost/url/parse.hpp>

#include <algorithm>
#include <filesystem>
#include <utility>

#include "store/database_url.h"

namespace lattice::server {

namespace asio = boost::asio;
namespace fs = std::filesystem;

Status ApplyImageOverrides(const std::vector<std::string>& overrides,
                           templates::ImageConfig& images) {
  for (const auto& o : overrides) {
    const auto eq = o.find('=');
    const std::string key = o.substr(0, eq == std::string::npos ? 0 : eq);
    const std::string ref = eq == std::string::npos ? "" : o.substr(eq + 1);
    if (ref.empty() || (key != "postgres" && key != "minio"))
      return Error::Invalid("--image '" + o + "': expected postgres=REF or minio=REF");
    (key == "postgres" ? images.postgres : images.minio) = ref;
  }
  return Status::Ok();
}

Result<templates::AdmissionPolicy> AdmissionPolicyFrom(const ServerConfig& config) {
  templates::AdmissionPolicy policy;
  policy.registries.clear();
  for (const auto& r : config.allowed_registries) {
    if (r.empty() || r.find_first_of("/ \t") != std::string::npos)
      return Error::Invalid("--allowed-registry '" + r + "': expected HOST or HOST:PORT");
    std::string lower = r;
    for (char& c : lower)
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    policy.registries.push_back(std::move(lower));
  }
  policy.image_prefixes = config.allowed_images;
  policy.capabilities.clear();
  for (const auto& c : config.allowed_capabilities) {
    if (!templates::IsKnownCapability(c))
      return Error::Invalid("--allowed-capability '" + c +
                            "': not a Linux capability name (without CAP_, e.g. NET_ADMIN)");
    if (templates::IsForbiddenCapability(c))
      return Error::Invalid("--allowed-capability '" + c +
                            "': this capability is as good as privileged mode and is never "
                            "allowed");
    policy.capabilities.push_back(c);
  }
  auto uids = templates::ParseUidRanges(config.allowed_uids);
  if (!uids.ok()) return Error::Invalid("--allowed-uids: " + uids.error().message);
  policy.uids = std::move(uids).value();
  return policy;
}

Result<store::Registration> ParseRegistration(const std::string& mode) {
  if (mode == "open") return store::Registration::kOpen;
  if (mode == "invite") return store::Registration::kInvite;
  if (mode == "closed") return store::Registration::kClosed;
  return Error::Invalid("--registration '" + mode + "': expected open, invite or closed");
}

bool ParseListen(const std::string& listen, std::string& host, std::uint16_t& port) {
  const auto colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == listen.size()) return false;
  host = listen.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  const std::string p = listen.substr(colon + 1);
  if (p.size() > 5 || p.find_first_not_of("0123456789") != std::string::npos) return false;
  const int v = std::stoi(p);
  if (v > 65535) return false;
  port = static_cast<std::uint16_t>(v);
  return true;
}

Status ParsePortRange(const std::string& text, int& low, int& high) {
  const auto dash = text.find('-');
  const auto number = [](const std::string& t, int& out) {
    if (t.empty() || t.size() > 5 || t.find_first_not_of("0123456789") != std::string::npos)
      return false;
    out = std::stoi(t);
    return out >= 1024 && out <= 65535;
  };
  if (dash == std::string::npos || !number(text.substr(0, dash), low) ||
      !number(text.substr(dash + 1), high) || low > high)
    return Error::Invalid("--public-ports '" + text +
                          "': expected LOW-HIGH with 1024 <= LOW <= HIGH <= 65535");
  return Status::Ok();
}

namespace {

// The host users are told to connect to when --public-host is not given.
std::string DefaultPublicHost(const ServerConfig& c, const std::string& listen_host) {
  if (!c.advertise_url.empty()) {
    if (auto u = boost::urls::parse_uri(c.advertise_url); u && !u->host_address().empty())
      return std::string(u->host_address());
  }
  if (listen_host == "0.0.0.0" || listen_host == "::" || listen_host.empty()) {
    boost::system::error_code ec;
    std::string name = asio::ip::host_name(ec);
    return ec || name.empty() ? "127.0.0.1" : name;
  }
  return listen_host;
}

// The host of an --advertise-url, which must be https:// (agents speak TLS only).
Result<std::string> AdvertisedHost(const std::string& url) {
  auto u = boost::urls::parse_uri(url);
  const std::string scheme = u ? std::string(u->scheme()) : "";
  if (!u || (scheme != "https" && scheme != "wss") || u->host_address().empty())
    return Error::Invalid("--advertise-url '" + url.substr(0, 200) +
                          "' must be an https:// URL (agents connect over TLS only), e.g. "
                          "https://cloud.example:8080");
  return std::string(u->host_address());
}

}  // namespace

// The database as logs may show it: the engine, and a PostgreSQL URL without its password.
std::string DatabaseForLogs(const ServerConfig& config) {
  auto choice = store::ParseDatabaseUrl(config.database);
  if (choice.ok() && choice->engine == store::Engine::kPostgres)
    return store::RedactDatabaseUrl(choice->url);
  return "sqlite:" + (fs::path(config.data_dir) / "lattice.db").string();
}

namespace {

// Everything the control plane is told, but the CA fingerprint and the port probe.
Status ResolveControl(const ServerConfig& config, control::ControlOptions& copts) {
  if (Status s = ApplyImageOverrides(config.images, copts.images); !s.ok()) return s;
  copts.heartbeat_seconds = config.heartbeat_seconds;
  copts.lost_grace_seconds = config.lost_grace_seconds;
  copts.replica_timeout_seconds = config.replica_timeout_seconds;
  copts.advertise_url = config.advertise_url;
  copts.join_token_ttl_seconds = config.join_token_ttl_seconds;
  copts.quota.max_workloads = config.quota_workloads;
  copts.quota.max_memory_mb = config.quota_memory_mb;
  copts.quota.max_cpus = config.quota_cpus;
  auto admission = AdmissionPolicyFrom(config);
  if (!admission.ok()) return std::move(admission).error();
  copts.admission = std::move(admission).value();
  return ParsePortRange(config.public_ports, copts.public_port_low, copts.public_port_high);
}

// The edge: public ports for workloads, tunneled to their nodes.
Status ResolveEdge(const ServerConfig& config, const std::string& listen_host,
                   edge::EdgeOptions& eopts) {
  eopts.bind_address = config.public_bind.empty() ? listen_host : config.public_bind;
  if (boost::system::error_code aec; asio::ip::make_address(eopts.bind_address, aec), aec)
    return Error::Invalid("--public-bind '" + eopts.bind_address + "' is not an IP address");
  eopts.idle_timeout = std::chrono::seconds(config.tunnel_idle_timeout_seconds);
  eopts.max_streams_per_workload = config.tunnel_max_streams;
  eopts.max_streams_per_source_per_workload = config.tunnel_source_max_streams;
  eopts.max_streams_per_source = config.tunnel_source_max_streams_total;
  // One relay thread per I/O thread the server runs (one per core by default).
  eopts.relay_threads = config.io_threads > 0
                            ? config.io_threads
                            : static_cast<int>(std::max(1U, std::thread::hardware_concurrency()));
  return Status::Ok();
}

// The prober dials the edge where it listens (a wildcard bind: over loopback). Its timeouts
// scale with the interval so a pass (a failed check is confirmed by a second) fits in one
// interval: at 30 s, 5 s per check, a 1 s hold for plain TCP and 1 s before the confirmation.
control::ProberOptions ResolveProbes(const ServerConfig& config, const std::string& bind) {
  using std::chrono::milliseconds;
  control::ProberOptions p;
  p.interval_seconds = config.probe_interval_seconds;
  p.edge_host = bind == "0.0.0.0" ? "127.0.0.1" : bind == "::" ? "::1" : bind;
  const milliseconds interval(1000LL * config.probe_interval_seconds);
  p.runner.timeout = std::clamp(interval / 2, milliseconds(1000), milliseconds(5000));
  p.runner.tcp_hold = std::min(milliseconds(1000), p.runner.timeout / 2);
  p.runner.confirm_delay = std::clamp(interval / 4, milliseconds(200), milliseconds(1000));
  return p;
}

}  // namespace

Result<Settings> ResolveSettings(const ServerConfig& config) {
  Settings s;
  if (!ParseListen(config.listen, s.listen_host, s.listen_port))
    return Error::Invalid("--listen '" + config.listen + "': expected HOST:PORT");
  const std::string public_host =
      config.public_host.empty() ? DefaultPublicHost(config, s.listen_host) : config.public_host;
  // Every name the server is known by goes into this run's certificate.
  s.pki.names = {s.listen_host, public_host};
  if (!config.advertise_url.empty()) {
    auto host = AdvertisedHost(config.advertise_url);
    if (!host.ok()) return std::move(host).error();
    s.pki.names.push_back(*host);
  }

  auto registration = ParseRegistration(config.registration);
  if (!registration.ok()) return std::move(registration).error();
  auto proxies = http::TrustedProxies::Parse(config.trusted_proxies);
  if (!proxies.ok()) return std::move(proxies).error();
  s.auth.session_ttl_seconds = config.session_ttl_seconds;
  s.auth.registration = *registration;
  s.auth.signups_per_address_per_hour = config.signups_per_address_per_hour;
  s.streams = {config.max_event_streams_per_user, config.max_followed_logs_per_user};
  s.dispatch = {config.cors_origins, config.access_log, std::move(proxies).value()};

  if (Status st = ResolveControl(config, s.control); !st.ok()) return std::move(st).error();
  s.control.public_host = public_host;
  if (Status st = ResolveEdge(config, s.listen_host, s.edge); !st.ok())
    return std::move(st).error();
  s.probes = ResolveProbes(config, s.edge.bind_address);
  return s;
}

}  // namespace lattice::server
