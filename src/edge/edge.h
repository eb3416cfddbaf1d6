// Edge: the server's public face for workloads. For every public port whose workload is meant
// to run it keeps a listener on --public-bind; when an outside client connects it asks the
// workload's agent (stream.open over the agent link, with a stream id and a one-time secret)
// to dial back a TLS data connection, matches that connection's handshake to the waiting
// client, and relays bytes between the two (tunnel/relay.h). One data connection per stream.
//
//   client ──tcp──▶ edge (public port) ◀──TLS data conn── agent ──tcp──▶ container (own address)
//
// A client is closed, without a byte, when: the workload is not meant to run (the port is not
// even listening then), its node is not connected, a stream cap is reached (edge/admission.h:
// streams per workload, per client address and workload, per client address in all), or its
// agent neither dials back nor reports stream.fail within open_timeout. A stream holds its
// slots from accept to the end of its relay, and gives them back exactly once.
// A relay that carries nothing either way for its port's idle timeout (PublicRoute, else
// idle_timeout) is closed; stream.open tells the agent the same timeout.
// A data connection is closed when its handshake is malformed, late (handshake_timeout), names
// no waiting stream, or carries the wrong secret; secrets are single-use and expire with their
// stream's open_timeout. Nothing of that touches the streams already relaying.
//
// Streams run on relay threads the edge owns (EdgeOptions::relay_threads), each with an
// io_context of its own, as Envoy's workers do: a client is handed to one at accept (round
// robin), its data connection joins it there, and the whole stream — its wait, its relay —
// stays on that one thread, with no hand-off between threads on a round trip. With no relay
// threads each client runs on its own strand of the shared io_context.
//
// Thread-safe. The io_context must outlive the Edge; Stop() before destroying it.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "control/control_plane.h"
#include "edge/admission.h"
#include "link/protocol.h"
#include "tunnel/tls_socket.h"

namespace lattice::edge {

struct EdgeOptions {
  std::string bind_address = "127.0.0.1";
  std::chrono::milliseconds open_timeout{5000};       // agent must dial back within this
  std::chrono::milliseconds handshake_timeout{5000};  // data connection's token line
  // A port without its own idle timeout uses this one. Shorter than the hour it once was, so
  // abandoned connections do not hold slots for long; databases raise it per port.
  std::chrono::milliseconds idle_timeout{std::chrono::minutes(15)};
  int max_streams_per_workload = 512;
  int max_streams_per_source_per_workload = 64;     // one client address, one workload
  int max_streams_per_source = 256;                 // one client address, every public port
  std::chrono::milliseconds rebind_interval{2000};  // retry listeners that could not bind
  int relay_threads = 0;  // threads (each its own io_context) streams run on; 0: the shared one
};

struct EdgeStats {
  std::int64_t active_streams = 0;
  std::int64_t streams_opened = 0;               // relays started
  std::int64_t streams_refused = 0;              // clients closed before relaying (the caps' too)
  std::int64_t refused_workload_cap = 0;         // max_streams_per_workload reached
  std::int64_t refused_source_workload_cap = 0;  // max_streams_per_source_per_workload
  std::int64_t refused_source_cap = 0;           // max_streams_per_source
  std::int64_t held_streams = 0;                 // streams holding slots: relaying or being opened
  std::int64_t sources = 0;                      // client addresses holding them
  std::int64_t handshakes_rejected = 0;
  std::int64_t listeners = 0;
};

class Edge {
 public:
  // Sends stream.open to the node's agent; false if that node is not connected.
  using OpenFn = std::function<bool(const std::string& node_id, const link::StreamOpen& m)>;

  Edge(boost::asio::io_context& ioc, EdgeOptions opts, OpenFn open);
  ~Edge();
  Edge(const Edge&) = delete;
  Edge& operator=(const Edge&) = delete;

  // Replaces every route (start-up). Listeners open for open routes and close for the rest.
  void SetRoutes(const std::vector<control::PublicRoute>& routes);
  // Replaces one workload's routes (an empty list: it is gone).
  void UpdateWorkload(const std::string& workload_id, std::vector<control::PublicRoute> routes);

  // A data connection after its TLS handshake; `prefix` holds the bytes already read from it.
  boost::asio::awaitable<void> AcceptDataConnection(std::unique_ptr<tunnel::TlsSocket> conn,
                                                    std::string prefix);
  // The agent could not open the stream: its client is closed now rather than at the timeout.
  void OnStreamFail(const std::string& node_id, const link::StreamFail& fail);

  // Whether `port` can be bound on the bind address right now (for allocating new ports).
  bool PortBindable(int port) const;
  // Whether a listener is accepting on `port` now.
  bool Listening(int port) const;

  // Closes every listener and stops the relay threads (their streams end); streams on the
  // shared io_context end with it. Idempotent.
  void Stop();
  EdgeStats Stats() const;

 private:
  struct Listener;
  struct Pending;
  struct RelayThread;
  // Where the next client runs: a relay thread's executor (round robin), or a new strand.
  boost::asio::any_io_executor ClientExecutor();
  void Apply(const control::PublicRoute& route);  // mu_ held
  void CloseListener(int port);                   // mu_ held
  void StartListener(const std::shared_ptr<Listener>& l);
  boost::asio::awaitable<void> AcceptLoop(std::shared_ptr<Listener> l);
  boost::asio::awaitable<void> ServeClient(boost::asio::ip::tcp::socket client, int port);
  void CountRefusal(Refusal why, const std::string& workload_id,
                    const boost::asio::ip::address& source, int port);
  boost::asio::awaitable<void> RebindLoop();

  boost::asio::io_context& ioc_;
  const EdgeOptions opts_;
  const OpenFn open_;

  mutable std::mutex mu_;
  std::map<int, std::shared_ptr<Listener>> listeners_;         // by public port; guarded
  std::map<std::string, std::vector<int>> ports_by_workload_;  // guarded
  std::map<std::string, std::shared_ptr<Pending>> pending_;    // by stream id; guarded
  bool stopped_ = false;                                       // guarded

  Admission admission_;  // thread-safe on its own
  std::atomic<std::int64_t> active_streams_{0};
  std::atomic<std::int64_t> opened_{0};
  std::atomic<std::int64_t> refused_{0};
  std::atomic<std::int64_t> rejected_{0};
  std::atomic<std::int64_t> refused_workload_{0};
  std::atomic<std::int64_t> refused_source_workload_{0};
  std::atomic<std::int64_t> refused_source_{0};

  // Last: destroyed first, while what their streams' handlers touch is still alive.
  std::vector<std::unique_ptr<RelayThread>> relay_threads_;
  std::atomic<std::size_t> next_relay_thread_{0};
};

}  // namespace lattice::edge
