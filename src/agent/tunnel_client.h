// TunnelClient: the agent's end of tunnel streams. For each `stream.open` it
//   1. finds where the node reaches the workload's container port — the container's own address
//      on its network (no docker-proxy between), per the reconciler — and only for a port the
//      workload's assignment declares, never an arbitrary one the server names;
//   2. connects to it, then dials the edge over TLS (the pinned server CA, hostname checked),
//      and presents the stream's one-time secret (tunnel/handshake.h);
//   3. relays (tunnel/relay.h) until either end closes.
// When it cannot (no such port, the container refuses, the edge is unreachable) it reports
// `stream.fail` through the FailSink so the edge closes its client at once.
//
// Runs on a thread and io_context of its own, so busy tunnels never delay the link's
// heartbeats, and a stream's failure touches no other stream. Thread-safe.
#pragma once

#include <openssl/ssl.h>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <thread>

#include "agent/container_target.h"
#include "common/result.h"
#include "link/protocol.h"

namespace lattice::agent {

struct TunnelClientOptions {
  std::string edge_host;  // where data connections go unless stream.open names an edge_url
  std::string edge_port;
  std::chrono::milliseconds connect_timeout{5000};
  // Unless stream.open names the port's own (idle_timeout_ms), as the edge does.
  std::chrono::milliseconds idle_timeout{std::chrono::hours(1)};
};

class TunnelClient {
 public:
  // Where the workload's container port is reached now (Reconciler::TargetOf), if anywhere.
  using PortLookup = std::function<std::optional<ContainerTarget>(const std::string& workload_id,
                                                                  int container_port)>;
  using FailSink = std::function<void(link::StreamFail)>;

  // `ctx` verifies the edge (the pinned CA); it must outlive this object.
  TunnelClient(TunnelClientOptions options, SSL_CTX* ctx, PortLookup ports, FailSink fail);
  ~TunnelClient();  // Stop()
  TunnelClient(const TunnelClient&) = delete;
  TunnelClient& operator=(const TunnelClient&) = delete;

  void Start();
  // Ends every stream and the thread. Idempotent.
  void Stop();
  void Open(link::StreamOpen m);
  std::int64_t ActiveStreams() const { return active_; }

 private:
  boost::asio::awaitable<void> Serve(link::StreamOpen m);
  boost::asio::awaitable<Status> Carry(const link::StreamOpen& m);

  const TunnelClientOptions options_;
  SSL_CTX* const ctx_;
  const PortLookup ports_;
  const FailSink fail_;
  std::atomic<std::int64_t> active_{0};  // before ioc_: relays still count down as it goes away
  boost::asio::io_context ioc_{
      1};  // one thread runs it (concurrency hint: no cross-thread wakeups)
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::thread thread_;
};

}  // namespace lattice::agent
