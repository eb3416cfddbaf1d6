#include "server/agent_link.h"

#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>

#include <exception>
#include <limits>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

#include "tunnel/tls_stream_ref.h"

namespace lattice::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;
using boost::system::error_code;
constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t kOutQueue = 4096;     // messages waiting to go out; one more closes the link
constexpr std::size_t kStatusQueue = 1024;  // reports waiting for the store; one more closes it
// What a read asks for before the message has started: a heartbeat fits. The rest of a longer
// message is read into a buffer taken once its first bytes are in, so a waiting link holds none.
constexpr std::size_t kFirstRead = 128;

namespace {

// No permessage-deflate, at compile time: it would give every link its own zlib state (tens of
// KB each way) for messages that are small JSON. (Beast's server side declines it by default;
// this leaves nothing to enable by mistake.)
using Ws = websocket::stream<tunnel::TlsStreamRef, /*deflateSupported=*/false>;

// The completion of a link's worker coroutines: logs what escaped (the link ends anyway: a
// worker that stops early leaves the link closed or its reports unapplied until reconnect).
constexpr auto kLogEscaped = [](const std::exception_ptr& e) {
  if (!e) return;
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    spdlog::error("msg=\"agent link worker failed\" error=\"{}\"", x.what());
  } catch (...) {
    spdlog::error("msg=\"agent link worker failed\" error=\"unknown\"");
  }
};

// Runs `fn` on the store executor, trying again while the executor cannot take it (the store is
// saturated or frozen), at most `attempts` times and until `stop` is set. False if it never ran.
template <typename F>
asio::awaitable<bool> CallPersistently(http::StoreExecutor& executor, F fn, int attempts,
                                       const bool& stop) {
  for (int i = 0; i < attempts && !stop; ++i) {
    const Status ran = co_await executor.Call(fn);
    if (ran.ok()) co_return true;
    if (ran.error().code != ErrorCode::kUnavailable) co_return false;
  }
  co_return false;
}

// One agent link: its TLS connection and WebSocket, what waits to be written and what waits
// for the store. Shared by the link's coroutine (RunAgentLink), the hub (as the node's
// AgentConnection) and two workers that exist only while they have work: the writer (while
// messages are queued) and the store worker (while status reports wait). An idle link is its
// reader's pending read and nothing else.
//
// Send and Close may be called on any thread; everything else runs on the socket's strand.
class Link final : public control::AgentConnection, public std::enable_shared_from_this<Link> {
 public:
  Link(std::unique_ptr<tunnel::TlsSocket> socket, const AgentLinkServices& services)
      : socket_(std::move(socket)),
        ws_(tunnel::TlsStreamRef(*socket_)),
        services_(services),
        store_idle_(socket_->socket().get_executor()),
        backoff_(socket_->socket().get_executor()) {}

  bool Send(const link::Message& m) override {
    std::string text = link::Encode(m);
    bool full = false;
    bool start_writer = false;
    {
      std::lock_guard lock(mu_);
      if (closed_) return false;
      full = out_.size() >= kOutQueue;
      if (full) {
        closed_ = true;
        out_.clear();
      } else {
        out_.push_back(std::move(text));
        start_writer = !std::exchange(writing_, true);
      }
    }
    if (full) {
      spdlog::warn("msg=\"agent link queue full; closing\"");
      CloseSocket();
      return false;
    }
    if (start_writer)  // outside the lock: the writer may start at once, on this thread
      asio::co_spawn(executor(), WriteQueued(shared_from_this()), kLogEscaped);
    return true;
  }

  void Close() override {
    {
      std::lock_guard lock(mu_);
      if (closed_) return;
      closed_ = true;
      out_.clear();
    }
    CloseSocket();
  }

  Ws& ws() { return ws_; }
  const AgentLinkServices& services() const { return services_; }
  asio::any_io_executor executor() { return socket_->socket().get_executor(); }

  // The node this link speaks for, once its hello is accepted (strand).
  void Admitted(std::string node_id) { node_id_ = std::move(node_id); }
  const std::string& node_id() const { return node_id_; }

  // Starts the store worker with the connect bookkeeping (strand; once, after Admitted).
  void RecordConnect() { StartStoreWork(); }

  // Queues a status report for the store (strand); false when too many wait already.
  bool QueueStatus(link::StatusReport r) {
    if (statuses_.size() >= kStatusQueue) return false;
    statuses_.push_back(std::move(r));
    StartStoreWork();
    return true;
  }

  // Ends the link's store work (strand): reports still queued are dropped, one being applied
  // finishes. Completes once the store worker has stopped.
  asio::awaitable<void> StopStoreWork() {
    ending_ = true;
    backoff_.cancel();
    while (store_busy_) {
      store_idle_.expires_at(std::chrono::steady_clock::time_point::max());
      co_await store_idle_.async_wait(kUseTuple);
    }
  }

 private:
  // Writes what is queued, in order, until nothing is (then the writer ends) or a write fails
  // (then the link is closed).
  static asio::awaitable<void> WriteQueued(std::shared_ptr<Link> self) {
    for (;;) {
      std::vector<std::string> batch;
      {
        std::lock_guard lock(self->mu_);
        if (self->closed_ || self->out_.empty()) {
          self->writing_ = false;
          co_return;
        }
        batch = std::exchange(self->out_, {});
      }
      for (const std::string& text : batch) {
        auto [ec, n] = co_await self->ws_.async_write(asio::buffer(text), kUseTuple);
        if (ec) {
          self->Close();
          co_return;  // `writing_` stays set: nothing more is written
        }
      }
    }
  }

  // Closes the connection on the strand: a read or write in progress fails, ending the link.
  void CloseSocket() {
    asio::post(executor(), [self = shared_from_this()] { self->socket_->Close(); });
  }

  void StartStoreWork() {
    if (store_busy_ || ending_) return;
    store_busy_ = true;
    asio::co_spawn(executor(), StoreWork(shared_from_this()), kLogEscaped);
  }

  // The link's store work, in order: the connect bookkeeping (assignments go out), then each
  // queued status report. Ends when nothing is queued (a later report starts it again), when
  // the link ends, or when the connect cannot be recorded (then it closes the link).
  static asio::awaitable<void> StoreWork(std::shared_ptr<Link> self) {
    struct Done {  // even if the work throws, StopStoreWork hears that the worker ended
      Link& link;
      ~Done() { link.StoreWorkEnded(); }
    } done{*self};
    co_await self->ApplyQueued();
    // At once, not when the frame goes: a report queued from here on starts a new worker.
    self->StoreWorkEnded();
  }

  void StoreWorkEnded() {
    store_busy_ = false;
    store_idle_.cancel();
  }

  asio::awaitable<void> ApplyQueued() {
    Link& l = *this;
    const AgentLinkServices& s = l.services_;
    if (!l.connected_) {
      if (!co_await CallPersistently(
              s.store_executor, [&] { s.cp.OnAgentConnected(l.node_id_); }, 3, l.ending_)) {
        if (!l.ending_)
          spdlog::warn("msg=\"agent connect not recorded: the store is busy; closing\" node={}",
                       l.node_id_);
        l.Close();  // the agent reconnects
        co_return;
      }
      l.connected_ = true;
    }
    while (!l.ending_ && !l.statuses_.empty()) {
      std::vector<link::StatusReport> batch = std::exchange(l.statuses_, {});
      for (const link::StatusReport& report : batch) {
        // A report waits for the store rather than being dropped (order matters, and the
        // queue behind it is bounded): offered again while the store cannot take or apply it,
        // until the link ends.
        for (;;) {
          Status applied;
          if (!co_await CallPersistently(
                  s.store_executor, [&] { applied = s.cp.OnStatus(l.node_id_, report); },
                  std::numeric_limits<int>::max(), l.ending_))
            co_return;  // the link is ending
          if (applied.ok()) break;
          if (applied.error().code != ErrorCode::kUnavailable) {
            spdlog::warn("msg=\"agent status not applied\" node={} workload={} error=\"{}\"",
                         l.node_id_, report.workload_id, applied.error().message);
            break;
          }
          l.backoff_.expires_after(std::chrono::milliseconds(500));
          if (auto [bec] = co_await l.backoff_.async_wait(kUseTuple); bec || l.ending_) co_return;
        }
        if (l.ending_) co_return;
      }
    }
  }

  const std::unique_ptr<tunnel::TlsSocket> socket_;
  Ws ws_;
  const AgentLinkServices services_;

  std::mutex mu_;
  std::vector<std::string> out_;  // guarded by mu_: encoded messages waiting to be written
  bool writing_ = false;          // guarded by mu_: a WriteQueued runs
  bool closed_ = false;           // guarded by mu_: nothing more is queued or written

  // Strand only.
  std::string node_id_;
  std::vector<link::StatusReport> statuses_;  // waiting for the store worker
  bool store_busy_ = false;                   // a StoreWork runs
  bool connected_ = false;                    // OnAgentConnected ran
  bool ending_ = false;                       // the link is ending: no more store work
  asio::steady_timer store_idle_;             // StopStoreWork waits on it for the worker
  asio::steady_timer backoff_;                // the worker's wait before offering a report again
};

// Reads the next whole message into `text`. Until its first bytes arrive only a small array in
// this frame is lent to the read; the rest of a longer message goes straight into `text`.
asio::awaitable<error_code> ReadMessage(Ws& ws, std::string& text) {
  char first[kFirstRead];
  auto [ec, n] = co_await ws.async_read_some(asio::buffer(first), kUseTuple);
  if (ec) co_return ec;
  text.assign(first, n);
  std::size_t chunk = 4096;
  while (!ws.is_message_done()) {
    const std::size_t had = text.size();
    text.resize(had + chunk);
    auto [mec, m] = co_await ws.async_read_some(asio::buffer(text.data() + had, chunk), kUseTuple);
    text.resize(had + m);
    if (mec) co_return mec;
    chunk = std::min<std::size_t>(chunk * 2, 1 << 20);
  }
  co_return error_code{};
}

// Acts on one message from an admitted agent (strand). False when the link must end.
bool OnMessage(Link& link, std::string_view text) {
  const std::string& node_id = link.node_id();
  const AgentLinkServices& s = link.services();
  auto msg = link::Decode(text);
  if (!msg.ok()) {  // a newer agent may send what this server does not know: skip it
    spdlog::warn("msg=\"bad agent message\" node={} error=\"{}\"", node_id, msg.error().message);
    return true;
  }
  if (auto* r = std::get_if<link::StatusReport>(&*msg)) {
    s.cp.OnHeartbeat(node_id);  // a report is a sign of life too
    if (!link.QueueStatus(std::move(*r))) {
      spdlog::warn("msg=\"agent status queue full; closing\" node={}", node_id);
      return false;  // the agent reconnects and reports afresh
    }
  } else if (std::holds_alternative<link::Heartbeat>(*msg)) {
    s.cp.OnHeartbeat(node_id);
  } else if (auto* d = std::get_if<link::LogsData>(&*msg)) {
    s.hub.OnLogsData(node_id, std::move(*d));
  } else if (auto* e = std::get_if<link::LogsEnd>(&*msg)) {
    s.hub.OnLogsEnd(node_id, *e);
  } else if (auto* f = std::get_if<link::StreamFail>(&*msg)) {
    s.hub.OnStreamFail(node_id, *f);
  } else {
    spdlog::warn("msg=\"unexpected agent message\" node={}", node_id);
  }
  return true;
}

// The link code an agent branches on, for the error that refused its hello.
link::LinkErrorCode LinkCodeFor(const Error& e) {
  if (e.type == "incompatible-protocol") return link::LinkErrorCode::kIncompatible;
  switch (e.code) {
    case ErrorCode::kUnauthenticated:
    case ErrorCode::kPermissionDenied:
      return link::LinkErrorCode::kUnauthenticated;
    case ErrorCode::kInvalidArgument:
      return link::LinkErrorCode::kInvalid;
    case ErrorCode::kUnavailable:
      return link::LinkErrorCode::kUnavailable;
    default:
      return link::LinkErrorCode::kUnspecified;
  }
}

asio::awaitable<void> Refuse(Ws& ws, const std::string& why,
                             link::LinkErrorCode code = link::LinkErrorCode::kInvalid) {
  const std::string text = link::Encode(link::LinkError{why, code});
  co_await ws.async_write(asio::buffer(text), kUseTuple);
  co_await ws.async_close(websocket::close_code::policy_error, kUseTuple);
}

// The upgrade and the hello: the welcome for an admitted agent, nullopt when the link ends
// here (refused, or the agent went away). Its own coroutine, so that the request, the hello
// and the answer are not kept in the frame of a link that lives for days.
asio::awaitable<std::optional<link::Welcome>> Admit(
    Link& link, beast::http::request<beast::http::string_body> req, const AgentLinkServices& s,
    const std::string& client_address) {
  Ws& ws = link.ws();
  auto [aec] = co_await ws.async_accept(req, kUseTuple);
  if (aec) co_return std::nullopt;

  std::string first;
  if (auto rec = co_await ReadMessage(ws, first)) co_return std::nullopt;
  auto msg = link::Decode(first);
  if (!msg.ok() || !std::holds_alternative<link::Hello>(*msg)) {
    co_await Refuse(ws, "The first message must be a valid hello.");
    co_return std::nullopt;
  }
  const link::Hello& hello = std::get<link::Hello>(*msg);
  const bool joining = hello.node_id.empty();
  std::optional<Result<link::Welcome>> answer;
  const Status ran = co_await s.store_executor.Call([&] {
    answer.emplace(s.cp.AuthenticateAgent(hello));
    if (joining || !answer->ok()) {
      // A join uses up a token; a refused hello may be someone trying tokens or secrets.
      s.audit.Outcome(audit::Actor::Anonymous(), joining ? "node.join" : "node.connect",
                      answer->ok() ? (*answer)->node_id : hello.node_id.substr(0, 64),
                      client_address, *answer);
    }
  });
  if (!ran.ok()) answer.emplace(ran.error());
  Result<link::Welcome>& welcome = *answer;
  if (!welcome.ok()) {
    spdlog::warn("msg=\"agent refused\" error=\"{}\"", welcome.error().message);
    co_await Refuse(ws, welcome.error().message, LinkCodeFor(welcome.error()));
    co_return std::nullopt;
  }
  co_return std::move(welcome).value();
}

}  // namespace

asio::awaitable<void> RunAgentLink(std::unique_ptr<tunnel::TlsSocket> socket,
                                   beast::http::request<beast::http::string_body> req,
                                   AgentLinkServices s, std::string client_address) {
  auto link = std::make_shared<Link>(std::move(socket), s);
  Ws& ws = link->ws();
  ws.read_message_max(link::kMaxMessageBytes);
  websocket::stream_base::timeout t{};
  t.handshake_timeout = std::chrono::seconds(10);
  t.idle_timeout = std::chrono::seconds(10);  // until hello; then 3 × heartbeat
  t.keep_alive_pings = false;
  ws.set_option(t);

  std::optional<link::Welcome> welcome = co_await Admit(*link, std::move(req), s, client_address);
  if (!welcome) co_return;
  link->Admitted(welcome->node_id);
  const std::string& node_id = link->node_id();
  t.idle_timeout = std::chrono::seconds(3 * s.heartbeat_seconds);
  ws.set_option(t);

  link->Send(*welcome);
  welcome.reset();
  s.hub.Attach(node_id, link);
  spdlog::info("msg=\"agent connected\" node={}", node_id);
  link->RecordConnect();

  // Reads until the link ends: the agent leaves, falls silent, a write fails, or the hub closes
  // the link (a newer one replaced it, or its queue overflowed). Never waits for the store.
  for (;;) {
    std::string text;
    if (auto ec = co_await ReadMessage(ws, text)) break;
    if (!OnMessage(*link, text)) break;
  }

  link->Close();
  co_await link->StopStoreWork();
  if (s.hub.Detach(node_id, link.get())) {
    const bool never = false;
    if (!co_await CallPersistently(
            s.store_executor, [&] { s.cp.OnAgentDisconnected(node_id); }, 10, never))
      spdlog::warn("msg=\"agent disconnect not recorded: the store is busy\" node={}", node_id);
  }
  spdlog::info("msg=\"agent disconnected\" node={}", node_id);
}

}  // namespace lattice::server
