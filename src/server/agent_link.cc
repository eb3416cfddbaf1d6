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

#include <algorithm>
#include <exception>
#include <limits>
#include <mutex>
#include <optional>
#include <utility>
#include <variant>
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

// What the link's reader hands its store worker, in arrival order.
using Report =
    std::variant<link::StatusReport, link::BackupResult, link::ArchiveStatus, link::MetricsBatch>;

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

// One agent link: its TLS connection and WebSocket, the message being read, what waits to be
// written and what waits for the store. Owned by whatever is in progress on it: its pending
// read (a handler, not a coroutine: while the agent is silent the link is that read, the hub's
// reference and nothing else), the hub (as the node's AgentConnection), and two coroutines that
// run only while they have work: the writer (messages queued) and the store worker (status
// reports waiting). When a read fails the link ends: Finish closes it, lets the store worker
// stop and records the disconnect.
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
  asio::any_io_executor executor() { return socket_->socket().get_executor(); }

  // Serves the admitted node (strand, once): queues the welcome, takes the node's place in the
  // hub, starts the connect bookkeeping and the reader. Returns at once.
  void Start(link::Welcome welcome) {
    node_id_ = welcome.node_id;
    Send(welcome);
    services_.hub.Attach(node_id_, shared_from_this());
    spdlog::info("msg=\"agent connected\" node={}", node_id_);
    StartStoreWork();
    ReadFirst();
  }

 private:
  // The reader (strand): one read in progress from Start until the link ends. Until a message
  // starts, the WebSocket is lent only `first_`; the rest of a longer message is read into
  // `message_`, which is emptied (and its buffer freed) once the message is handled.
  void ReadFirst() {
    ws_.async_read_some(asio::buffer(first_),
                        [self = shared_from_this()](error_code ec, std::size_t n) {
                          if (!ec) self->message_.assign(self->first_, n);
                          self->OnRead(ec);
                        });
  }

  void ReadRest() {
    const std::size_t had = message_.size();
    const std::size_t want = std::clamp<std::size_t>(had, 4096, 1 << 20);  // grows with it
    message_.resize(had + want);
    ws_.async_read_some(asio::buffer(message_.data() + had, want),
                        [self = shared_from_this(), had](error_code ec, std::size_t n) {
                          self->message_.resize(had + n);
                          self->OnRead(ec);
                        });
  }

  void OnRead(error_code ec) {
    bool go_on = !ec;
    if (go_on && !ws_.is_message_done()) return ReadRest();
    if (go_on) {
      const std::string text = std::exchange(message_, {});
      try {
        go_on = OnMessage(text);
      } catch (const std::exception& e) {  // a handler's exception must not reach the io_context
        spdlog::error("msg=\"agent message failed\" node={} error=\"{}\"", node_id_, e.what());
        go_on = false;
      }
    }
    if (go_on) return ReadFirst();
    asio::co_spawn(executor(), Finish(shared_from_this()), kLogEscaped);
  }

  // Acts on one message from the agent. False when the link must end. Never waits for the
  // store: status reports queue for the store worker.
  bool OnMessage(std::string_view text) {
    const AgentLinkServices& s = services_;
    auto msg = link::Decode(text);
    if (!msg.ok()) {  // a newer agent may send what this server does not know: skip it
      spdlog::warn("msg=\"bad agent message\" node={} error=\"{}\"", node_id_, msg.error().message);
      return true;
    }
    std::optional<Report> report;
    if (auto* r = std::get_if<link::StatusReport>(&*msg))
      report.emplace(std::move(*r));
    else if (auto* b = std::get_if<link::BackupResult>(&*msg))
      report.emplace(std::move(*b));
    else if (auto* a = std::get_if<link::ArchiveStatus>(&*msg))
      report.emplace(std::move(*a));
    else if (auto* mb = std::get_if<link::MetricsBatch>(&*msg))
      report.emplace(std::move(*mb));
    if (report) {
      s.cp.OnHeartbeat(node_id_);  // a report is a sign of life too
      if (statuses_.size() >= kStatusQueue) {
        spdlog::warn("msg=\"agent status queue full; closing\" node={}", node_id_);
        return false;  // the agent reconnects and reports afresh
      }
      statuses_.push_back(std::move(*report));
      StartStoreWork();
    } else if (std::holds_alternative<link::Heartbeat>(*msg)) {
      s.cp.OnHeartbeat(node_id_);
    } else if (auto* d = std::get_if<link::LogsData>(&*msg)) {
      s.hub.OnLogsData(node_id_, std::move(*d));
    } else if (auto* e = std::get_if<link::LogsEnd>(&*msg)) {
      s.hub.OnLogsEnd(node_id_, *e);
    } else if (auto* f = std::get_if<link::StreamFail>(&*msg)) {
      s.hub.OnStreamFail(node_id_, *f);
    } else {
      spdlog::warn("msg=\"unexpected agent message\" node={}", node_id_);
    }
    return true;
  }

  // The end of the link (the agent left or fell silent, a write failed, or the hub closed the
  // link): the report being applied finishes, the others are dropped, the disconnect is
  // recorded if this is still the node's link.
  static asio::awaitable<void> Finish(std::shared_ptr<Link> self) {
    Link& l = *self;
    l.Close();
    l.ending_ = true;
    l.backoff_.cancel();
    while (l.store_busy_) {
      l.store_idle_.expires_at(std::chrono::steady_clock::time_point::max());
      co_await l.store_idle_.async_wait(kUseTuple);
    }
    const AgentLinkServices& s = l.services_;
    if (s.hub.Detach(l.node_id_, &l)) {
      const bool never = false;
      if (!co_await CallPersistently(
              s.store_executor, [&] { s.cp.OnAgentDisconnected(l.node_id_); }, 10, never))
        spdlog::warn("msg=\"agent disconnect not recorded: the store is busy\" node={}",
                     l.node_id_);
    }
    spdlog::info("msg=\"agent disconnected\" node={}", l.node_id_);
  }

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
    store_idle_.cancel();  // Finish may be waiting
  }

  asio::awaitable<void> ApplyQueued() {
    Link& l = *this;
    const AgentLinkServices& s = l.services_;
    if (!l.connected_) {
      if (!co_await CallPersistently(
              s.store_executor,
              [&] {
                s.cp.OnAgentConnected(l.node_id_);
                s.backups.OnAgentConnected(l.node_id_);
              },
              3, l.ending_)) {
        if (!l.ending_)
          spdlog::warn("msg=\"agent connect not recorded: the store is busy; closing\" node={}",
                       l.node_id_);
        l.Close();  // the agent reconnects
        co_return;
      }
      l.connected_ = true;
    }
    while (!l.ending_ && !l.statuses_.empty()) {
      std::vector<Report> batch = std::exchange(l.statuses_, {});
      for (const Report& report : batch) {
        if (const auto* mb = std::get_if<link::MetricsBatch>(&report)) {
          // Metrics are a sample, not a record: one the store cannot take now is dropped
          // rather than holding up the status reports behind it.
          Status applied = Error::Unavailable("not run");
          const bool ran = co_await CallPersistently(
              s.store_executor, [&] { applied = s.metrics.OnBatch(l.node_id_, *mb); }, 1,
              l.ending_);
          if (!ran || !applied.ok())
            spdlog::warn("msg=\"agent metrics dropped\" node={} error=\"{}\"", l.node_id_,
                         ran ? applied.error().message : "the store is busy");
          if (l.ending_) co_return;
          continue;
        }
        // A report waits for the store rather than being dropped (order matters, and the
        // queue behind it is bounded): offered again while the store cannot take or apply it,
        // until the link ends.
        for (;;) {
          Status applied;
          const auto apply = [&] {
            if (const auto* st = std::get_if<link::StatusReport>(&report))
              applied = s.cp.OnStatus(l.node_id_, *st);
            else if (const auto* ar = std::get_if<link::ArchiveStatus>(&report))
              applied = s.backups.OnArchiveStatus(l.node_id_, *ar);
            else if (const auto* br = std::get_if<link::BackupResult>(&report))
              applied = s.backups.OnResult(l.node_id_, *br);
          };
          if (!co_await CallPersistently(s.store_executor, apply, std::numeric_limits<int>::max(),
                                         l.ending_))
            co_return;  // the link is ending
          if (applied.ok()) break;
          if (applied.error().code != ErrorCode::kUnavailable) {
            spdlog::warn("msg=\"agent report not applied\" node={} error=\"{}\"", l.node_id_,
                         applied.error().message);
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
  char first_[kFirstRead];         // lent to the read until a message starts
  std::string message_;            // the message being read; empty between messages
  std::vector<Report> statuses_;   // waiting for the store worker
  bool store_busy_ = false;        // a StoreWork runs
  bool connected_ = false;         // OnAgentConnected ran
  bool ending_ = false;            // the link is ending: no more store work
  asio::steady_timer store_idle_;  // Finish waits on it for the store worker
  asio::steady_timer backoff_;     // the worker's wait before offering a report again
};

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

  beast::flat_buffer buf;  // freed with this frame
  auto [rec, n] = co_await ws.async_read(buf, kUseTuple);
  if (rec) co_return std::nullopt;
  auto msg = link::Decode(beast::buffers_to_string(buf.data()));
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
  t.idle_timeout = std::chrono::seconds(3 * s.heartbeat_seconds);
  ws.set_option(t);
  link->Start(std::move(*welcome));
}

}  // namespace lattice::server
