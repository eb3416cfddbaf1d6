// App: the control plane wired together — store, keyring, the server's CA (tls/), auth,
// router, the edge, HTTP server with its TLS front for agents (the link and the tunnels' data
// connections) — and the process lifecycle (I/O threads, housekeeping, graceful shutdown on
// SIGINT/SIGTERM).
// Owns everything it creates; the router's handlers hold references into it.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "common/result.h"
#include "http/router.h"
#include "server/config.h"

namespace lattice::server {

class App {
 public:
  // Validates every option first (server/settings.h: kInvalidArgument naming the flag, e.g. a
  // bad --advertise-url, before anything is touched); then opens the data dir (creating it,
  // mode 0700), the store, the keyring and the CA (issuing this run's certificate); builds the
  // services and the router and wires them together.
  static Result<std::unique_ptr<App>> Create(const ServerConfig& config);
  struct Impl;
  explicit App(std::unique_ptr<Impl> impl);  // use Create()
  ~App();
  App(const App&) = delete;
  App& operator=(const App&) = delete;

  // Binds, prints the URL, serves until SIGINT/SIGTERM, then drains and returns an exit code.
  // `on_listening` (optional) runs once the server accepts connections, with the https:// URL
  // agents dial on this machine (dev mode starts its agent there).
  int Run(const std::function<void(const std::string& agent_url)>& on_listening = {});
  // Stops a running Run() (thread-safe).
  void Shutdown();

  // A single-use join token for this server's own embedded agent (dev mode).
  Result<std::string> CreateLocalJoinToken();

  // The server CA's fingerprint, as pinned by agents (join tokens carry it).
  const std::string& CaFingerprint() const;

  const http::Router& router() const;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace lattice::server
