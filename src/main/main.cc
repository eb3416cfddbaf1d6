// The one `lattice` binary: parses the command line and dispatches to a mode. This is the only
// file that knows which modes exist.
#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/json.hpp>

#include <cstdio>
#include <filesystem>
#include <iostream>

#include <thread>

#include "agent/agent.h"
#include "cli/cli.h"
#include "common/logging.h"
#include "common/random.h"
#include "main/version.h"
#include "runtime/runtime.h"
#include "server/app.h"
#include "store/database_url.h"

namespace {

using lattice::server::ServerConfig;

// Registers every `server` setting on `cmd`, bound to `cfg`. Flags beat environment variables,
// which beat the config file, which beats the defaults.
void AddServerOptions(CLI::App& cmd, ServerConfig& cfg) {
  // Not CLI11's set_config: CLI11 2.1 reads only the top-level app's config file, and before
  // the environment. ApplyConfigFile reads it after parsing instead.
  cmd.add_option("--config", "Read settings from a TOML file (see lattice.example.toml)")
      ->envname("LATTICE_CONFIG")
      ->check(CLI::ExistingFile);
  cmd.add_option("--listen", cfg.listen, "Address to serve the API and console on, HOST:PORT")
      ->envname("LATTICE_LISTEN")
      ->capture_default_str();
  cmd.add_option("--data-dir", cfg.data_dir, "Directory for the keys (and the SQLite database)")
      ->envname("LATTICE_DATA_DIR")
      ->capture_default_str();
  // No capture_default_str: the URL may hold a password, and --help must not print it.
  cmd.add_option("--database", cfg.database,
                 "Where state is kept: 'sqlite' (default; <data-dir>/lattice.db) or "
                 "postgres://user:password@host:port/dbname")
      ->envname("LATTICE_DATABASE")
      ->check(CLI::Validator(
          [](std::string& value) -> std::string {
            auto choice = lattice::store::ParseDatabaseUrl(value);
            return choice.ok() ? "" : choice.error().message;
          },
          "URL"));
  cmd.add_option("--cors-origin", cfg.cors_origins,
                 "Browser origin allowed to call the API (repeatable; '*' for any)")
      ->envname("LATTICE_CORS_ORIGINS")
      ->delimiter(',');
  cmd.add_option("--body-limit", cfg.body_limit, "Largest request body accepted, in bytes")
      ->envname("LATTICE_BODY_LIMIT")
      ->check(CLI::Range(std::size_t{1024}, std::size_t{1} << 30))
      ->capture_default_str();
  cmd.add_option("--header-timeout", cfg.header_timeout_seconds,
                 "Seconds a client has to send a request header")
      ->envname("LATTICE_HEADER_TIMEOUT")
      ->check(CLI::Range(1, 3600))
      ->capture_default_str();
  cmd.add_option("--body-timeout", cfg.body_timeout_seconds,
                 "Seconds a client has to send a request body once its header is in")
      ->envname("LATTICE_BODY_TIMEOUT")
      ->check(CLI::Range(1, 3600))
      ->capture_default_str();
  cmd.add_option("--idle-timeout", cfg.idle_timeout_seconds,
                 "Seconds an idle keep-alive connection is kept open")
      ->envname("LATTICE_IDLE_TIMEOUT")
      ->check(CLI::Range(1, 3600))
      ->capture_default_str();
  cmd.add_option("--session-ttl", cfg.session_ttl_seconds, "Lifetime of a sign-in token, seconds")
      ->envname("LATTICE_SESSION_TTL")
      ->check(CLI::Range(std::int64_t{60}, std::int64_t{365} * 24 * 3600))
      ->capture_default_str();
  cmd.add_option("--io-threads", cfg.io_threads,
                 "I/O threads, and as many tunnel relay threads (0: one per core)")
      ->envname("LATTICE_IO_THREADS")
      ->check(CLI::Range(0, 256))
      ->capture_default_str();
  cmd.add_option("--store-wait", cfg.store_wait_seconds,
                 "Seconds a request that needs the store may wait for a store thread before it "
                 "is answered 503 with Retry-After")
      ->envname("LATTICE_STORE_WAIT")
      ->check(CLI::Range(0.01, 600.0))
      ->capture_default_str();
  cmd.add_option("--store-timeout", cfg.store_timeout_seconds,
                 "PostgreSQL: seconds one round trip may take before the call fails (503) and "
                 "its connection is replaced")
      ->envname("LATTICE_STORE_TIMEOUT")
      ->check(CLI::Range(0.1, 3600.0))
      ->capture_default_str();
  cmd.add_option("--access-log", cfg.access_log, "Log one line per request (true/false)")
      ->envname("LATTICE_ACCESS_LOG")
      ->capture_default_str();
  cmd.add_option("--log-level", cfg.log_level, "trace, debug, info, warn, error or off")
      ->envname("LATTICE_LOG_LEVEL")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}))
      ->capture_default_str();
  cmd.add_option("--image", cfg.images,
                 "Template image override, TEMPLATE=REF (postgres=…, minio=…; repeatable)")
      ->envname("LATTICE_IMAGES")
      ->delimiter(',');
  cmd.add_option("--advertise-url", cfg.advertise_url,
                 "https:// URL agents use to reach this server (default: https://<--listen>)")
      ->envname("LATTICE_ADVERTISE_URL");
  cmd.add_option("--heartbeat", cfg.heartbeat_seconds, "Seconds between agent heartbeats")
      ->envname("LATTICE_HEARTBEAT")
      ->check(CLI::Range(1, 300))
      ->capture_default_str();
  cmd.add_option("--lost-grace", cfg.lost_grace_seconds,
                 "Seconds before a silent node's workloads are marked lost")
      ->envname("LATTICE_LOST_GRACE")
      ->check(CLI::Range(1, 86400))
      ->capture_default_str();
  cmd.add_option("--replica-timeout", cfg.replica_timeout_seconds,
                 "With replicas (PostgreSQL): seconds after which a silent replica counts as "
                 "gone and its nodes go down")
      ->envname("LATTICE_REPLICA_TIMEOUT")
      ->check(CLI::Range(3, 3600))
      ->capture_default_str();
  cmd.add_option("--join-token-ttl", cfg.join_token_ttl_seconds,
                 "Seconds a node join token stays valid")
      ->envname("LATTICE_JOIN_TOKEN_TTL")
      ->check(CLI::Range(1, 30 * 86400))
      ->capture_default_str();
  cmd.add_option("--public-host", cfg.public_host,
                 "Host users connect to for workload endpoints (default: the advertise-URL "
                 "host, else the --listen host)")
      ->envname("LATTICE_PUBLIC_HOST");
  cmd.add_option("--public-bind", cfg.public_bind,
                 "Address the public ports listen on (default: the --listen host)")
      ->envname("LATTICE_PUBLIC_BIND");
  cmd.add_option("--public-ports", cfg.public_ports,
                 "Range of public ports handed out to workloads, LOW-HIGH")
      ->envname("LATTICE_PUBLIC_PORTS")
      ->capture_default_str();
  cmd.add_option("--tunnel-idle-timeout", cfg.tunnel_idle_timeout_seconds,
                 "Seconds a tunneled connection may carry nothing before it is closed, unless "
                 "its workload's port sets its own idle_timeout_s")
      ->envname("LATTICE_TUNNEL_IDLE_TIMEOUT")
      ->check(CLI::Range(1, 7 * 86400))
      ->capture_default_str();
  cmd.add_option("--probe-interval", cfg.probe_interval_seconds,
                 "Seconds between outside-in probes of every public endpoint through the edge")
      ->envname("LATTICE_PROBE_INTERVAL")
      ->check(CLI::Range(1, 3600))
      ->capture_default_str();
  cmd.add_option("--tunnel-max-streams", cfg.tunnel_max_streams,
                 "Concurrent tunneled connections per workload")
      ->envname("LATTICE_TUNNEL_MAX_STREAMS")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  cmd.add_option("--tunnel-source-max-streams", cfg.tunnel_source_max_streams,
                 "Concurrent tunneled connections one client address may hold to one workload")
      ->envname("LATTICE_TUNNEL_SOURCE_MAX_STREAMS")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  cmd.add_option("--tunnel-source-max-streams-total", cfg.tunnel_source_max_streams_total,
                 "Concurrent tunneled connections one client address may hold to all workloads "
                 "together")
      ->envname("LATTICE_TUNNEL_SOURCE_MAX_STREAMS_TOTAL")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();

  // Who may use the server.
  cmd.add_option("--registration", cfg.registration,
                 "Who may sign up once the first account (the admin) exists: open, invite "
                 "(with an invite from an admin) or closed")
      ->envname("LATTICE_REGISTRATION")
      ->check(CLI::IsMember({"open", "invite", "closed"}))
      ->capture_default_str();
  cmd.add_option("--trusted-proxy", cfg.trusted_proxies,
                 "Reverse proxy (IP or CIDR) whose X-Forwarded-For names the client (repeatable)")
      ->envname("LATTICE_TRUSTED_PROXIES")
      ->delimiter(',');
  cmd.add_option("--signups-per-address", cfg.signups_per_address_per_hour,
                 "Sign-ups one client address may make per hour; 0: no limit")
      ->envname("LATTICE_SIGNUPS_PER_ADDRESS")
      ->check(CLI::Range(0, 1000000))
      ->capture_default_str();
  cmd.add_option("--max-event-streams", cfg.max_event_streams_per_user,
                 "Event streams (GET /api/v1/events) one user may hold open at once")
      ->envname("LATTICE_MAX_EVENT_STREAMS")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  cmd.add_option("--max-log-follows", cfg.max_followed_logs_per_user,
                 "Followed logs (logs?follow=true) one user may hold open at once")
      ->envname("LATTICE_MAX_LOG_FOLLOWS")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  cmd.add_option("--quota-workloads", cfg.quota_workloads,
                 "Most workloads (running or stopped) one user may have; 0: no limit")
      ->envname("LATTICE_QUOTA_WORKLOADS")
      ->check(CLI::Range(std::int64_t{0}, std::int64_t{1000000}))
      ->capture_default_str();
  cmd.add_option("--quota-memory-mb", cfg.quota_memory_mb,
                 "Most memory (MB) one user's workloads may reserve; 0: no limit")
      ->envname("LATTICE_QUOTA_MEMORY_MB")
      ->check(CLI::Range(std::int64_t{0}, std::int64_t{1} << 40))
      ->capture_default_str();
  cmd.add_option("--quota-cpus", cfg.quota_cpus,
                 "Most CPUs one user's workloads may reserve; 0: no limit")
      ->envname("LATTICE_QUOTA_CPUS")
      ->check(CLI::Range(0.0, 1e6))
      ->capture_default_str();
  cmd.add_option("--smtp-url", cfg.smtp_url,
                 "SMTP relay for e-mail notifications, smtp://HOST:PORT (STARTTLS when "
                 "credentials are set) or smtps://HOST:PORT; empty: no e-mail channels")
      ->envname("LATTICE_SMTP_URL");
  cmd.add_option("--smtp-from", cfg.smtp_from, "Sender address of e-mail notifications")
      ->envname("LATTICE_SMTP_FROM");
  cmd.add_option("--smtp-user", cfg.smtp_user, "SMTP user name (optional)")
      ->envname("LATTICE_SMTP_USER");
  cmd.add_option("--smtp-password", cfg.smtp_password, "SMTP password (optional)")
      ->envname("LATTICE_SMTP_PASSWORD");
  cmd.add_option("--notify-max-attempts", cfg.notify_max_attempts,
                 "Attempts to deliver a notification before it counts as failed")
      ->envname("LATTICE_NOTIFY_MAX_ATTEMPTS")
      ->check(CLI::Range(1, 20))
      ->capture_default_str();
  cmd.add_option("--notify-retry-base", cfg.notify_retry_base_seconds,
                 "Seconds before the first retry of a notification; each next waits twice as long")
      ->envname("LATTICE_NOTIFY_RETRY_BASE")
      ->check(CLI::Range(1, 3600))
      ->capture_default_str();
  cmd.add_option(
         "--allowed-registry", cfg.allowed_registries,
         "Registry (HOST or HOST:PORT; `default` for references without one) workload images may "
         "come from (repeatable; replaces the default)")
      ->envname("LATTICE_ALLOWED_REGISTRIES")
      ->delimiter(',')
      ->capture_default_str();
  cmd.add_option("--allowed-image", cfg.allowed_images,
                 "Prefix of the full image reference (default/library/…) workloads may use "
                 "(repeatable; default: any image from an allowed registry)")
      ->envname("LATTICE_ALLOWED_IMAGES")
      ->delimiter(',');
  cmd.add_option("--allowed-capability", cfg.allowed_capabilities,
                 "Capability a custom workload may add back (repeatable; replaces the default)")
      ->envname("LATTICE_ALLOWED_CAPABILITIES")
      ->delimiter(',')
      ->capture_default_str();
  cmd.add_option("--allowed-uids", cfg.allowed_uids,
                 "User ids a custom workload may run as, e.g. 1000-65534,70000 (add 0 for root)")
      ->envname("LATTICE_ALLOWED_UIDS")
      ->capture_default_str();
}

// A setting the operator got wrong is a usage error (2); anything else failing at start-up is 1.
int ExitCodeFor(const lattice::Error& e) {
  return e.code == lattice::ErrorCode::kInvalidArgument ? 2 : 1;
}

struct AgentFlags {
  AgentFlags() { opts.host_firewall = true; }
  lattice::agent::AgentOptions opts;
  std::string docker_host;
  std::vector<std::string> labels;
  std::string log_level = "info";
  int stats_interval_seconds = 10;
};

void AddAgentOptions(CLI::App& cmd, AgentFlags& f, bool embedded) {
  if (!embedded) {
    cmd.add_option("--config", "Read settings from a TOML file (keys are the long flag names)")
        ->envname("LATTICE_AGENT_CONFIG")
        ->check(CLI::ExistingFile);
    cmd.add_option("--server", f.opts.server_url,
                   "The server's URL, https://HOST:PORT (from the join command)")
        ->envname("LATTICE_SERVER")
        ->required();
    cmd.add_option("--join-token", f.opts.join_token,
                   "Join token from `POST /api/v1/nodes/join-tokens` (first start only)")
        ->envname("LATTICE_JOIN_TOKEN");
    cmd.add_option("--state-dir", f.opts.state_dir, "Where the node keeps its identity")
        ->envname("LATTICE_STATE_DIR")
        ->capture_default_str();
    cmd.add_option("--log-level", f.log_level, "trace, debug, info, warn, error or off")
        ->envname("LATTICE_LOG_LEVEL")
        ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}))
        ->capture_default_str();
  }
  cmd.add_option(embedded ? "--node-name" : "--name", f.opts.name, "Node name (default: host name)")
      ->envname("LATTICE_NODE_NAME");
  cmd.add_option("--docker-host", f.docker_host,
                 "Docker engine, unix:///path (default: $DOCKER_HOST, else /var/run/docker.sock)");
  cmd.add_option("--address", f.opts.address,
                 "Host where this node's published ports are reachable")
      ->envname("LATTICE_NODE_ADDRESS")
      ->capture_default_str();
  cmd.add_option("--label", f.labels, "Node label KEY=VALUE (repeatable)");
  cmd.add_option("--log-store-size", f.opts.tuning.log_store.max_bytes,
                 "Output kept on the node per workload, across its containers (rotated; e.g. "
                 "16MiB, at least 64KiB)")
      ->envname("LATTICE_LOG_STORE_SIZE")
      ->transform(CLI::AsSizeValue(false))
      ->capture_default_str();
  cmd.add_option("--host-firewall", f.opts.host_firewall,
                 "Keep containers from opening connections to this node (iptables; needs "
                 "CAP_NET_ADMIN)")
      ->envname("LATTICE_HOST_FIREWALL")
      ->capture_default_str();
  cmd.add_option("--tenant-networks", f.opts.tuning.reconciler.tenant_networks,
                 "One private network per user (false only to measure what isolation costs)")
      ->envname("LATTICE_TENANT_NETWORKS")
      ->capture_default_str();
  cmd.add_option("--network-pool", f.opts.tuning.reconciler.networks.pool,
                 "IPv4 CIDR the per-user networks' subnets are carved from")
      ->envname("LATTICE_NETWORK_POOL")
      ->capture_default_str();
  cmd.add_option("--network-prefix", f.opts.tuning.reconciler.networks.prefix,
                 "Size of each per-user subnet (prefix length)")
      ->envname("LATTICE_NETWORK_PREFIX")
      ->check(CLI::Range(16, 29))
      ->capture_default_str();
  cmd.add_option(
         "--stats-interval", f.stats_interval_seconds,
         "Seconds between two readings of each workload's resource usage (docs/metrics.md); "
         "0 turns metrics off")
      ->envname("LATTICE_STATS_INTERVAL")
      ->check(CLI::Range(0, 3600))
      ->capture_default_str();
}

// Builds the agent; kInvalidArgument for a bad label.
lattice::Result<std::unique_ptr<lattice::agent::Agent>> MakeAgent(AgentFlags& f) {
  for (const auto& l : f.labels) {
    const auto eq = l.find('=');
    if (eq == std::string::npos || eq == 0)
      return lattice::Error::Invalid("--label '" + l + "': expected KEY=VALUE");
    f.opts.labels[l.substr(0, eq)] = l.substr(eq + 1);
  }
  f.opts.tuning.stats.interval = std::chrono::seconds(f.stats_interval_seconds);
  const std::string host = lattice::runtime::ResolveDockerHost(f.docker_host);
  auto rt = lattice::runtime::NewDockerRuntime(host);
  if (!rt.ok()) return std::move(rt).error();
  return std::make_unique<lattice::agent::Agent>(f.opts, std::move(rt).value());
}

int RunAgent(AgentFlags& f) {
  lattice::InitLogging(f.log_level);
  auto agent = MakeAgent(f);
  if (!agent.ok()) {
    std::fprintf(stderr, "lattice agent: %s\n", agent.error().message.c_str());
    return 2;
  }
  // SIGINT/SIGTERM arrive through a signal_set on a thread of their own: Agent::Stop() is not
  // async-signal-safe, so it must never run inside a raw signal handler.
  boost::asio::io_context signal_ioc;
  boost::asio::signal_set signals(signal_ioc, SIGINT, SIGTERM);
  lattice::agent::Agent& running = **agent;
  signals.async_wait([&running](const boost::system::error_code& ec, int) {
    if (!ec) running.Stop();
  });
  std::thread signal_thread([&signal_ioc] { signal_ioc.run(); });
  lattice::Status s = running.Run();
  signal_ioc.stop();
  signal_thread.join();
  if (!s.ok()) {
    std::fprintf(stderr, "lattice agent: %s\n", s.error().message.c_str());
    return 1;
  }
  return 0;
}

// Server and one agent in one process: the embedded default.
int RunDev(ServerConfig& cfg, AgentFlags& f) {
  lattice::InitLogging(cfg.log_level);
  auto app = lattice::server::App::Create(cfg);
  if (!app.ok()) {
    std::fprintf(stderr, "lattice: %s\n", app.error().message.c_str());
    return ExitCodeFor(app.error());
  }
  f.opts.state_dir = (std::filesystem::path(cfg.data_dir) / "agent").string();
  std::unique_ptr<lattice::agent::Agent> agent;
  std::thread agent_thread;
  const int rc = (*app)->Run([&](const std::string& url) {
    f.opts.server_url = url;
    if (!std::filesystem::exists(std::filesystem::path(f.opts.state_dir) / "node.json")) {
      auto token = (*app)->CreateLocalJoinToken();
      if (token.ok()) f.opts.join_token = *token;
    }
    auto a = MakeAgent(f);
    if (!a.ok()) {
      std::fprintf(stderr, "lattice dev: agent: %s\n", a.error().message.c_str());
      (*app)->Shutdown();
      return;
    }
    agent = std::move(a).value();
    agent_thread = std::thread([&] {
      lattice::Status s = agent->Run();
      if (!s.ok())
        std::fprintf(stderr, "lattice dev: agent stopped: %s\n", s.error().message.c_str());
    });
  });
  if (agent) agent->Stop();
  if (agent_thread.joinable()) agent_thread.join();
  return rc;
}

int RunServer(const ServerConfig& cfg) {
  lattice::InitLogging(cfg.log_level);
  auto app = lattice::server::App::Create(cfg);
  if (!app.ok()) {
    std::fprintf(stderr, "lattice: %s\n", app.error().message.c_str());
    return ExitCodeFor(app.error());
  }
  return (*app)->Run();
}

// Prints the routing table as JSON (the OpenAPI contract test compares it with the spec).
int PrintRoutes() {
  lattice::InitLogging("off");
  const auto dir =
      std::filesystem::temp_directory_path() / ("lattice-routes-" + lattice::RandomToken(6));
  ServerConfig cfg;
  cfg.data_dir = dir.string();
  int rc = 0;
  {
    auto app = lattice::server::App::Create(cfg);
    if (!app.ok()) {
      std::fprintf(stderr, "lattice: %s\n", app.error().message.c_str());
      rc = ExitCodeFor(app.error());
    } else {
      boost::json::array routes;
      for (const auto& r : (*app)->router().routes()) {
        const char* access = r.access == lattice::http::Access::kPublic ? "public"
                             : r.access == lattice::http::Access::kUser ? "user"
                                                                        : "admin";
        routes.push_back({{"method", std::string(boost::beast::http::to_string(r.method))},
                          {"path", r.pattern},
                          {"access", access}});
      }
      std::cout << boost::json::serialize(routes) << "\n";
    }
  }
  std::filesystem::remove_all(dir);
  return rc;
}

}  // namespace

// Gives every option of `cmd` that neither a flag nor an environment variable set the value
// from the --config file (keys are the long flag names, optionally under [<cmd name>]).
// Throws CLI::ParseError subclasses for unreadable files, unknown keys and invalid values.
void ApplyConfigFile(CLI::App& cmd) {
  CLI::Option* config = cmd.get_option("--config");
  if (config->count() == 0) return;
  const std::string path = config->as<std::string>();
  for (const CLI::ConfigItem& item : CLI::ConfigTOML().from_file(path)) {
    if (item.name == "++" || item.name == "--") continue;  // section markers
    if (!item.parents.empty() && item.parents != std::vector<std::string>{cmd.get_name()})
      throw CLI::ConversionError(path + ": unknown section [" + item.parents.front() + "]");
    CLI::Option* opt = cmd.get_option_no_throw("--" + item.name);
    if (opt == nullptr || opt == config)
      throw CLI::ConversionError(path + ": unknown setting '" + item.name + "'");
    if (opt->count() > 0) continue;     // a flag or an environment variable wins
    if (item.inputs.empty()) continue;  // `key = []`: the default
    opt->add_result(item.inputs);
    opt->run_callback();
  }
}

int main(int argc, char** argv) {
  lattice::InitCrypto();
  CLI::App app{"Lattice: a self-hosted, decentralized cloud.", "lattice"};
  app.require_subcommand(1);
  app.set_version_flag("--version", lattice::VersionLine());

  ServerConfig server_cfg;
  CLI::App* server = app.add_subcommand("server", "Run the control plane (API, console, edge)");
  AddServerOptions(*server, server_cfg);

  CLI::App* dev = app.add_subcommand(
      "dev", "Run the server and one local agent in one process (SQLite by default, loopback)");
  ServerConfig dev_cfg;
  dev_cfg.registration = "open";  // one person's own machine: anyone who reaches it may sign up
  AddServerOptions(*dev, dev_cfg);
  AgentFlags dev_agent;
  AddAgentOptions(*dev, dev_agent, /*embedded=*/true);

  CLI::App* agent = app.add_subcommand("agent", "Run a node agent that dials a server");
  AgentFlags agent_flags;
  agent_flags.opts.state_dir = "./agent-state";
  AddAgentOptions(*agent, agent_flags, /*embedded=*/false);

  CLI::App* routes = app.add_subcommand("routes", "Print the API routing table as JSON");
  routes->group("Developer");

  // Client verbs (login, deploy, ps, logs, …): they talk to a server over its API.
  const auto client = lattice::cli::Register(app);

  try {
    app.parse(argc, argv);
    if (server->parsed()) ApplyConfigFile(*server);
    if (dev->parsed()) ApplyConfigFile(*dev);
    if (agent->parsed()) ApplyConfigFile(*agent);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  if (server->parsed()) return RunServer(server_cfg);
  if (dev->parsed()) return RunDev(dev_cfg, dev_agent);
  if (agent->parsed()) return RunAgent(agent_flags);
  if (routes->parsed()) return PrintRoutes();
  if (auto rc = client->Run()) return *rc;
  return 2;
}
