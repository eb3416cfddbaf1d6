// ProbeRunner: the network half of outside-in endpoint probes (docs/probes.md). It checks a batch
// of endpoints concurrently on an io_context and a thread of its own (never the server's I/O
// threads, never blocking per endpoint), at most `max_in_flight` connections at once, each check
// bounded by `timeout`. A failed check is tried once more after `confirm_delay` before it counts,
// so one lost packet or a restarting edge listener does not flip an endpoint.
//
// What "answers" means per protocol:
//   kPostgres  an SSLRequest (8 bytes) is answered with the single byte 'S' or 'N'
//   kHttp      GET `http_path` is answered with an HTTP status line (`require_200`: status 200)
//   kTcp       the connection is accepted and not closed within `tcp_hold` without a byte. The
//              edge accepts every connection on a listening port and, when its agent cannot reach
//              the container (nothing listens, the container is stopped) or the node is not
//              connected, closes it at once without sending anything; a connection still open
//              after the hold (or one that sent data) is the container answering.
// Latency is the time to the answer (kTcp: to the accepted connection).
//
// Thread-safe. Run() returns at once; `done` is called on the runner's thread. The destructor
// stops the thread; checks still in flight are abandoned and their `done` is never called.
#pragma once

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace lattice::control {

enum class ProbeProtocol { kTcp, kHttp, kPostgres };

// Why an endpoint is unreachable; kNone when it answered. The wire names (ProbeReasonName) are
// stored and shown in the API.
enum class ProbeReason {
  kNone,
  kPortNotBound,  // the edge could not bind the public port (the prober asks the edge)
  kAgentGone,     // the workload's node has no connected agent (the prober asks the registry)
  kRefused,       // nothing accepts on the public port
  kTimeout,       // no answer within the timeout
  kClosed,        // closed (or reset) without an answer: the container did not answer the edge
  kBadAnswer,     // answered, but not as the protocol should
};
std::string_view ProbeReasonName(ProbeReason r);

struct ProbeTarget {
  std::string host{};  // an IP address (the edge's bind address)
  int port = 0;
  ProbeProtocol protocol = ProbeProtocol::kTcp;
  std::string http_path = "/";
  bool require_200 = false;
};

struct ProbeOutcome {
  ProbeReason reason = ProbeReason::kNone;
  std::string message{};  // the reason in words; empty when it answered
  std::int64_t latency_us = 0;
  bool ok() const { return reason == ProbeReason::kNone; }
};

struct ProbeRunnerOptions {
  std::chrono::milliseconds timeout{5000};
  std::chrono::milliseconds tcp_hold{1000};
  std::chrono::milliseconds confirm_delay{1000};
  int max_in_flight = 256;
};

class ProbeRunner {
 public:
  using Done = std::function<void(std::vector<ProbeOutcome>)>;

  explicit ProbeRunner(ProbeRunnerOptions options);
  ~ProbeRunner();
  ProbeRunner(const ProbeRunner&) = delete;
  ProbeRunner& operator=(const ProbeRunner&) = delete;

  // Checks every target; `done` gets one outcome per target, in order.
  void Run(std::vector<ProbeTarget> targets, Done done);

 private:
  const ProbeRunnerOptions options_;
  boost::asio::io_context ioc_;
  std::thread thread_;  // runs ioc_ until destruction
};

}  // namespace lattice::control
