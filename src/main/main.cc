// The one `lattice` binary: parses the command line and dispatches to a mode. This is the only
// file that knows which modes exist.
#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include <cstdio>
#include <filesystem>
#include <iostream>

#include "common/logging.h"
#include "common/random.h"
#include "server/app.h"

namespace {

using lattice::server::ServerConfig;

// Registers every `server` setting on `cmd`, bound to `cfg`. Flags beat environment variables,
// which beat the config file, which beats the defaults.
void AddServerOptions(CLI::App& cmd, ServerConfig& cfg) {
  cmd.set_config("--config", "", "Read settings from a TOML file (see lattice.example.toml)")
      ->envname("LATTICE_CONFIG");
  cmd.add_option("--listen", cfg.listen, "Address to serve the API and console on, HOST:PORT")
      ->envname("LATTICE_LISTEN")
      ->capture_default_str();
  cmd.add_option("--data-dir", cfg.data_dir, "Directory for the database and keys")
      ->envname("LATTICE_DATA_DIR")
      ->capture_default_str();
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
  cmd.add_option("--idle-timeout", cfg.idle_timeout_seconds,
                 "Seconds an idle keep-alive connection is kept open")
      ->envname("LATTICE_IDLE_TIMEOUT")
      ->check(CLI::Range(1, 3600))
      ->capture_default_str();
  cmd.add_option("--session-ttl", cfg.session_ttl_seconds, "Lifetime of a sign-in token, seconds")
      ->envname("LATTICE_SESSION_TTL")
      ->check(CLI::Range(std::int64_t{60}, std::int64_t{365} * 24 * 3600))
      ->capture_default_str();
  cmd.add_option("--io-threads", cfg.io_threads, "I/O threads (0: one per core)")
      ->envname("LATTICE_IO_THREADS")
      ->check(CLI::Range(0, 256))
      ->capture_default_str();
  cmd.add_option("--access-log", cfg.access_log, "Log one line per request (true/false)")
      ->envname("LATTICE_ACCESS_LOG")
      ->capture_default_str();
  cmd.add_option("--log-level", cfg.log_level, "trace, debug, info, warn, error or off")
      ->envname("LATTICE_LOG_LEVEL")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}))
      ->capture_default_str();
}

int RunServer(const ServerConfig& cfg) {
  lattice::InitLogging(cfg.log_level);
  auto app = lattice::server::App::Create(cfg);
  if (!app.ok()) {
    std::fprintf(stderr, "lattice: %s\n", app.error().message.c_str());
    return 1;
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
      rc = 1;
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

int main(int argc, char** argv) {
  lattice::InitCrypto();
  CLI::App app{"Lattice: a self-hosted, decentralized cloud.", "lattice"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("lattice ") + LATTICE_VERSION);

  ServerConfig server_cfg;
  CLI::App* server = app.add_subcommand("server", "Run the control plane (API, console, edge)");
  AddServerOptions(*server, server_cfg);

  CLI::App* routes = app.add_subcommand("routes", "Print the API routing table as JSON");
  routes->group("Developer");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  if (server->parsed()) return RunServer(server_cfg);
  if (routes->parsed()) return PrintRoutes();
  return 2;
}
