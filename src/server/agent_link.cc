#include "server/agent_link.h"

#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>

#include <atomic>
#include <limits>
#include <optional>
#include <variant>

#include "tunnel/tls_stream_ref.h"

namespace lattice::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;
using namespace asio::experimental::awaitable_operators;
constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);
using Channel =
    asio::experimental::concurrent_channel<void(boost::system::error_code, std::string)>;
// What the link's reader hands its store work, in arrival order.
using Report = std::variant<link::StatusReport, link::BackupResult>;
using StatusQueue = asio::experimental::concurrent_channel<void(boost::system::error_code, Report)>;
constexpr std::size_t kStatusQueue = 1024;

namespace {

class LinkConnection final : public control::AgentConnection {
 public:
  explicit LinkConnection(asio::any_io_executor ex) : out_(ex, 4096) {}
  bool Send(const link::Message& m) override {
    if (closed_) return false;
    if (!out_.try_send(boost::system::error_code{}, link::Encode(m))) {
      spdlog::warn("msg=\"agent link queue full; closing\"");
      Close();
      return false;
    }
    return true;
  }
  void Close() override {
    closed_ = true;
    out_.close();
  }
  Channel& out() { return out_; }

 private:
  Channel out_;
  std::atomic<bool> closed_{false};
};

using Ws = websocket::stream<tunnel::TlsStreamRef>;

asio::awaitable<void> Writer(Ws& ws, LinkConnection& conn) {
  for (;;) {
    auto [ec, text] = co_await conn.out().async_receive(kUseTuple);
    if (ec) co_return;
    auto [wec, n] = co_await ws.async_write(asio::buffer(text), kUseTuple);
    if (wec) co_return;
  }
}

// Reads until the link ends. Never waits for the store: status reports and backup results go
// to `statuses`.
asio::awaitable<void> Reader(Ws& ws, const std::string& node_id, control::ControlPlane& cp,
                             control::AgentHub& hub, StatusQueue& statuses) {
  beast::flat_buffer buf;
  for (;;) {
    auto [ec, n] = co_await ws.async_read(buf, kUseTuple);
    if (ec) co_return;
    const std::string text = beast::buffers_to_string(buf.data());
    buf.consume(buf.size());
    auto msg = link::Decode(text);
    if (!msg.ok()) {  // a newer agent may send what this server does not know: skip it
      spdlog::warn("msg=\"bad agent message\" node={} error=\"{}\"", node_id, msg.error().message);
      continue;
    }
    std::optional<Report> report;
    if (auto* s = std::get_if<link::StatusReport>(&*msg))
      report.emplace(std::move(*s));
    else if (auto* b = std::get_if<link::BackupResult>(&*msg))
      report.emplace(std::move(*b));
    if (report) {
      cp.OnHeartbeat(node_id);  // a report is a sign of life too
      if (!statuses.try_send(boost::system::error_code{}, std::move(*report))) {
        spdlog::warn("msg=\"agent status queue full; closing\" node={}", node_id);
        co_return;  // the agent reconnects and reports afresh
      }
    } else if (std::holds_alternative<link::Heartbeat>(*msg))
      cp.OnHeartbeat(node_id);
    else if (auto* d = std::get_if<link::LogsData>(&*msg))
      hub.OnLogsData(node_id, std::move(*d));
    else if (auto* e = std::get_if<link::LogsEnd>(&*msg))
      hub.OnLogsEnd(node_id, *e);
    else if (auto* f = std::get_if<link::StreamFail>(&*msg))
      hub.OnStreamFail(node_id, *f);
    else
      spdlog::warn("msg=\"unexpected agent message\" node={}", node_id);
  }
}

// Runs `fn` on the store executor, trying again while the executor cannot take it (the store
// is saturated or frozen), at most `attempts` times and until the link is cancelled. False if
// it never ran.
template <typename F>
asio::awaitable<bool> CallPersistently(http::StoreExecutor& executor, F fn, int attempts) {
  for (int i = 0; i < attempts; ++i) {
    const asio::cancellation_state cs = co_await asio::this_coro::cancellation_state;
    if (cs.cancelled() != asio::cancellation_type::none) co_return false;
    const Status ran = co_await executor.Call(fn);
    if (ran.ok()) co_return true;
    if (ran.error().code != ErrorCode::kUnavailable) co_return false;
  }
  co_return false;
}

// The link's store work, in order on the executor: the connect bookkeeping (assignments go
// out), then each status report. Ends when the queue closes or the connect cannot run.
asio::awaitable<void> StoreWork(const std::string& node_id, const AgentLinkServices& s,
                                LinkConnection& conn, StatusQueue& statuses) {
  const bool connected = co_await CallPersistently(
      s.store_executor,
      [&] {
        s.cp.OnAgentConnected(node_id);
        s.backups.OnAgentConnected(node_id);
      },
      3);
  if (!connected) {
    spdlog::warn("msg=\"agent connect not recorded: the store is busy; closing\" node={}", node_id);
    conn.Close();  // ends the writer, and so the link: the agent reconnects
    co_return;
  }
  asio::steady_timer backoff(co_await asio::this_coro::executor);
  for (;;) {
    auto [ec, report] = co_await statuses.async_receive(kUseTuple);
    if (ec) co_return;
    // A report waits for the store rather than being dropped (order matters, and the queue
    // behind it is bounded): offered again while the store cannot take or apply it, until
    // the link ends.
    for (;;) {
      Status applied;
      const auto apply = [&] {
        if (const auto* st = std::get_if<link::StatusReport>(&report))
          applied = s.cp.OnStatus(node_id, *st);
        else
          applied = s.backups.OnResult(node_id, std::get<link::BackupResult>(report));
      };
      if (!co_await CallPersistently(s.store_executor, apply, std::numeric_limits<int>::max()))
        co_return;  // the link is ending
      if (applied.ok()) break;
      if (applied.error().code != ErrorCode::kUnavailable) {
        spdlog::warn("msg=\"agent report not applied\" node={} error=\"{}\"", node_id,
                     applied.error().message);
        break;
      }
      backoff.expires_after(std::chrono::milliseconds(500));
      if (auto [bec] = co_await backoff.async_wait(kUseTuple); bec) co_return;
    }
  }
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

}  // namespace

asio::awaitable<void> RunAgentLink(std::unique_ptr<tunnel::TlsSocket> socket,
                                   beast::http::request<beast::http::string_body> req,
                                   AgentLinkServices s, std::string client_address) {
  // All of this link's work runs on the socket's strand: one reader and one writer never
  // overlap unsafely on the WebSocket, nor with its timers.
  co_await asio::co_spawn(
      socket->socket().get_executor(),
      [&]() -> asio::awaitable<void> {
        Ws ws{tunnel::TlsStreamRef(*socket)};
        ws.read_message_max(link::kMaxMessageBytes);
        websocket::stream_base::timeout t{};
        t.handshake_timeout = std::chrono::seconds(10);
        t.idle_timeout = std::chrono::seconds(10);  // until hello; then 3 × heartbeat
        t.keep_alive_pings = false;
        ws.set_option(t);
        auto [aec] = co_await ws.async_accept(req, kUseTuple);
        if (aec) co_return;

        beast::flat_buffer buf;
        auto [rec, n] = co_await ws.async_read(buf, kUseTuple);
        if (rec) co_return;
        auto msg = link::Decode(beast::buffers_to_string(buf.data()));
        if (!msg.ok() || !std::holds_alternative<link::Hello>(*msg)) {
          co_await Refuse(ws, "The first message must be a valid hello.");
          co_return;
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
          co_return;
        }
        const std::string node_id = welcome->node_id;
        t.idle_timeout = std::chrono::seconds(3 * s.heartbeat_seconds);
        ws.set_option(t);

        const auto ex = co_await asio::this_coro::executor;
        auto conn = std::make_shared<LinkConnection>(ex);
        conn->Send(*welcome);
        s.hub.Attach(node_id, conn);
        spdlog::info("msg=\"agent connected\" node={}", node_id);

        StatusQueue statuses(ex, kStatusQueue);
        co_await (Reader(ws, node_id, s.cp, s.hub, statuses) || Writer(ws, *conn) ||
                  StoreWork(node_id, s, *conn, statuses));

        conn->Close();
        if (s.hub.Detach(node_id, conn.get())) {
          const std::string id = node_id;
          if (!co_await CallPersistently(
                  s.store_executor, [&s, &id] { s.cp.OnAgentDisconnected(id); }, 10))
            spdlog::warn("msg=\"agent disconnect not recorded: the store is busy\" node={}", id);
        }
        socket->Close();
        spdlog::info("msg=\"agent disconnected\" node={}", node_id);
      },
      asio::use_awaitable);
}

}  // namespace lattice::server
