// Agent: `lattice agent`'s core. It dials the server's agent link (wss://HOST:PORT/api/v1/
// agent/link, TLS pinned to the server CA whose fingerprint the join token carries and
// node.json keeps), introduces itself with `hello` (the join token the first time; afterwards
// the node identity the server issued, kept in <state_dir>/node.json), and then keeps the node's
// containers in line with what the server assigns: `assignments` / `upsert` / `remove` go to
// the Reconciler, `logs.open` / `logs.close` to the LogPump (which reads the logs the node keeps:
// LogCapture copies every workload container's output into the LogStore under
// <state_dir>/logs), `stream.open` to the TunnelClient
// (which dials the edge over the same pinned TLS context); observed `status`, periodic
// `heartbeat` and the StatsSampler's `metrics` go back. The link reconnects with exponential
// backoff (0.5 s → 30 s, full jitter) when it drops; containers keep running meanwhile and
// statuses are re-sent after each reconnect. src/agent/README.md describes the exchange from the
// agent's side.
//
// Threading: Run() drives all link I/O on the calling thread (one Asio io_context; one
// outstanding websocket write at a time, through one queue). Log reads run there too: each
// LogPump stream is a coroutine on the io_context reading the node's kept logs, and its
// `logs.data` waits for room in the write queue (8 MiB) instead of growing it. The LogCapture
// has one thread of its own for every container's engine log. The Reconciler runs blocking
// engine calls on its own bounded pool. Stop() may be called from any thread, and before Run().
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "agent/backup_jobs.h"
#include "agent/log_capture.h"
#include "agent/log_pump.h"
#include "agent/log_store.h"
#include "agent/node_identity.h"
#include "agent/reconciler.h"
#include "agent/stats_sampler.h"
#include "agent/wal_archivers.h"
#include "common/result.h"
#include "link/protocol.h"
#include "runtime/runtime.h"

namespace lattice::agent {

class LinkTransport;
class TlsDialer;
class TunnelClient;

// Knobs tests turn; the defaults are the production values.
struct AgentTuning {
  std::chrono::milliseconds backoff_base{500};
  std::chrono::milliseconds backoff_cap{30000};
  std::chrono::milliseconds connect_timeout{10000};
  ReconcilerOptions reconciler;  // node_id is filled in by the agent
  LogPumpOptions logs;
  LogStoreOptions log_store;  // the node's kept logs, under <state_dir>/logs
  BackupJobOptions backups;
  WalArchiverOptions archivers;
  // Resource usage sampling (stats_sampler.h); an interval of zero turns it off.
  StatsSamplerOptions stats;
};

struct AgentOptions {
  std::string server_url;             // https://host:port
  std::string join_token;             // needed until the node has an identity in state_dir
  std::string name;                   // default: the host name
  std::string state_dir;              // holds node.json
  std::string address = "127.0.0.1";  // where this node's published ports are reachable
  std::map<std::string, std::string> labels;
  // Install the host firewall (host_firewall.h) at start. The binary turns it on; a failure is
  // logged loudly and the agent runs on (a node without netfilter still serves its owner).
  bool host_firewall = false;
  AgentTuning tuning;
};

class Agent {
 public:
  Agent(AgentOptions options, std::unique_ptr<runtime::Runtime> runtime);
  ~Agent();
  Agent(const Agent&) = delete;
  Agent& operator=(const Agent&) = delete;

  // Runs until Stop(): Ok then. Returns early with an error only when retrying cannot help:
  // a bad server URL (http:// included), an unreadable node.json, no join token and no
  // identity, a malformed join token, the server refusing the join token (kUnauthenticated),
  // a server that does not present the pinned CA (kUnauthenticated: no silent re-trust), or
  // node.json that cannot be written. Call once.
  Status Run();
  // Ends Run() soon: pending link I/O is cut, then Run() waits for the reconciler's engine
  // calls in flight (bounded by the runtime's timeouts). Thread-safe and idempotent, but not
  // async-signal-safe: call it from a signal_set handler or a thread, not a raw signal handler.
  void Stop();

 private:
  boost::asio::awaitable<void> Main();
  boost::asio::awaitable<Status> Session(bool& welcomed);
  boost::asio::awaitable<void> ReadLoop(LinkTransport& t);
  boost::asio::awaitable<void> WriteLoop(LinkTransport& t);
  boost::asio::awaitable<void> HeartbeatLoop();
  Status OnWelcome(const link::Welcome& w);
  // After a welcome from `current`: the servers to fail over to are the configured one plus
  // every replica the welcome named (a single server names none).
  void LearnServers(const std::string& current, const std::vector<std::string>& offered);
  // Appends `url` to `list` unless it is there already or is not an https:// server URL.
  static void AddServer(std::vector<std::string>& list, const std::string& url);
  void Dispatch(link::Message m);
  link::Hello MakeHello();
  void Enqueue(std::string text);  // I/O thread only
  // From any thread: send on the current link (epoch 0) or only on link `epoch`.
  void PostSend(std::uint64_t epoch, link::Message m);
  // I/O thread: the LogPump's sink. Waits while the queue is over its bound, then sends on
  // link `epoch` (dropped if that link is gone).
  boost::asio::awaitable<void> SendLog(std::uint64_t epoch, link::Message m);
  // I/O thread: a batch from the sampler goes out now, or waits (bounded: the oldest go first)
  // while the link is down or its queue is over its bound.
  void OnMetrics(link::MetricsBatch batch);
  // I/O thread: sends what waits, oldest first, while the link is up and the queue has room.
  void FlushMetrics();

  // Constant after construction.
  const AgentOptions options_;
  const std::unique_ptr<runtime::Runtime> runtime_;

  boost::asio::io_context ioc_;
  std::atomic<bool> stopping_{false};
  std::atomic<std::uint64_t> epoch_{0};       // bumped at every welcome
  std::atomic<std::size_t> queued_bytes_{0};  // waiting to be written, or posted to be

  // Set by Run() before the loop starts: the TLS dialer pinned to the server's CA.
  std::unique_ptr<TlsDialer> dialer_;

  // I/O thread only.
  std::optional<NodeIdentity> identity_;
  std::optional<Error> fatal_;
  LinkTransport* transport_ = nullptr;  // the current connection, if any
  std::vector<std::string> servers_;    // agent URLs to dial, in turn; never empty after Run()
  std::size_t server_index_ = 0;        // the one the current or next session dials
  bool live_ = false;                   // welcomed and not yet dropped
  int heartbeat_seconds_ = 5;
  std::deque<std::string> queue_;
  boost::asio::steady_timer write_signal_;
  boost::asio::steady_timer room_signal_;  // never expires; cancelled when the queue has room
  boost::asio::steady_timer backoff_timer_;
  std::deque<link::MetricsBatch> pending_metrics_;  // not sent yet (link down or queue full)

  // Created at the first welcome (the node id goes on container labels); outlive the link.
  std::unique_ptr<LogStore> log_store_;      // the workloads' logs kept on the node
  std::unique_ptr<LogCapture> log_capture_;  // fills log_store_; the reconciler tells it what runs
  std::unique_ptr<Reconciler> reconciler_;
  std::unique_ptr<LogPump> log_pump_;
  std::unique_ptr<TunnelClient> tunnel_;         // carries stream.open; uses reconciler_'s ports
  std::unique_ptr<BackupJobs> backup_jobs_;      // backup.run; reads reconciler_'s assignments
  std::unique_ptr<WalArchivers> wal_archivers_;  // archive.set; reads reconciler_'s assignments
  std::unique_ptr<StatsSampler> stats_;          // metrics; reads reconciler_'s running workloads
};

}  // namespace lattice::agent
