#include "agent/tunnel_client.h"

#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>

#include "agent/link_transport.h"
#include "tunnel/handshake.h"
#include "tunnel/relay.h"
#include "tunnel/tls_socket.h"

namespace lattice::agent {

namespace asio = boost::asio;
using asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;
namespace {
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);
constexpr std::chrono::milliseconds kMaxIdleTimeout = std::chrono::hours(24 * 30);

asio::awaitable<void> Sleep(std::chrono::milliseconds d) {
  asio::steady_timer t(co_await asio::this_coro::executor);
  t.expires_after(d);
  co_await t.async_wait(kNoThrow);
}

// Connects to host:port within `timeout`.
asio::awaitable<Result<tcp::socket>> Dial(const std::string& host, const std::string& port,
                                          std::chrono::milliseconds timeout) {
  auto ex = co_await asio::this_coro::executor;
  tcp::resolver resolver(ex);
  auto [rec, results] = co_await resolver.async_resolve(host, port, kNoThrow);
  if (rec) co_return Error::Unavailable("resolve " + host + ": " + rec.message());
  tcp::socket s(ex);
  auto r = co_await (asio::async_connect(s, results, kNoThrow) || Sleep(timeout));
  if (r.index() == 1) co_return Error::Unavailable("connect " + host + ":" + port + ": timed out");
  auto [cec, ep] = std::get<0>(r);
  if (cec) co_return Error::Unavailable("connect " + host + ":" + port + ": " + cec.message());
  boost::system::error_code ignored;
  s.set_option(tcp::no_delay(true), ignored);
  co_return std::move(s);
}

}  // namespace

TunnelClient::TunnelClient(TunnelClientOptions options, SSL_CTX* ctx, PortLookup ports,
                           FailSink fail)
    : options_(std::move(options)),
      ctx_(ctx),
      ports_(std::move(ports)),
      fail_(std::move(fail)),
      work_(ioc_.get_executor()) {}

TunnelClient::~TunnelClient() {
  Stop();
}

void TunnelClient::Start() {
  thread_ = std::thread([this] { ioc_.run(); });
}

void TunnelClient::Stop() {
  work_.reset();
  ioc_.stop();
  if (thread_.joinable()) thread_.join();
}

void TunnelClient::Open(link::StreamOpen m) {
  // One thread runs ioc_, so its executor is already a strand for every stream: a strand of
  // each stream's own would only add a queue hop to every completion of the relay.
  asio::co_spawn(ioc_, Serve(std::move(m)), asio::detached);
}

asio::awaitable<void> TunnelClient::Serve(link::StreamOpen m) {
  Status s = co_await Carry(m);
  if (!s.ok()) {
    spdlog::info("msg=\"stream failed\" stream={} workload={} error=\"{}\"", m.stream_id,
                 m.workload_id, s.error().message);
    fail_(link::StreamFail{m.stream_id, s.error().message});
  }
}

asio::awaitable<Status> TunnelClient::Carry(const link::StreamOpen& m) {
  const std::optional<ContainerTarget> target = ports_(m.workload_id, m.container_port);
  if (!target || !target->ok())
    co_return Error::NotFound("workload " + m.workload_id + " has no reachable port " +
                              std::to_string(m.container_port) + " on this node");
  auto local = co_await Dial(target->host, std::to_string(target->port), options_.connect_timeout);
  if (!local.ok()) co_return std::move(local).error();

  std::string host = options_.edge_host, port = options_.edge_port;
  if (!m.edge_url.empty()) {
    auto ep = ParseServerUrl(m.edge_url);
    if (!ep.ok()) co_return std::move(ep).error();
    host = ep->host;
    port = ep->port;
  }
  auto raw = co_await Dial(host, port, options_.connect_timeout);
  if (!raw.ok()) co_return std::move(raw).error();
  auto tls = tunnel::TlsSocket::Create(std::move(raw).value(), ctx_,
                                       tunnel::TlsSocket::Role::kClient, host);
  if (!tls.ok()) co_return std::move(tls).error();
  tunnel::TlsSocket& edge = **tls;
  auto hs = co_await (edge.Handshake() || Sleep(options_.connect_timeout));
  if (hs.index() == 1) co_return Error::Unavailable("TLS handshake with the edge timed out");
  if (Status st = std::get<0>(hs); !st.ok()) co_return st;
  const std::string line = tunnel::EncodeHandshake({m.stream_id, m.secret});
  if (auto ec = co_await edge.WriteAll(line.data(), line.size()))
    co_return Error::Unavailable("edge: " + ec.message());

  ++active_;
  // The edge's idle timeout for this port, so a port that keeps idle connections for long is
  // not cut here first (bounded: a timer far in the future must not overflow).
  const auto idle = m.idle_timeout_ms > 0
                        ? std::min<std::chrono::milliseconds>(
                              std::chrono::milliseconds(m.idle_timeout_ms), kMaxIdleTimeout)
                        : options_.idle_timeout;
  // (No co_await inside the call: GCC 12 mishandles temporaries in such full-expressions.)
  const asio::any_io_executor ex = co_await asio::this_coro::executor;
  tunnel::StartRelay(ex, tunnel::RelayEnd(std::move(*tls)),
                     tunnel::RelayEnd(std::move(local).value()), tunnel::RelayOptions{idle},
                     [this, id = m.stream_id](const tunnel::RelayStats& st) {
                       --active_;
                       spdlog::debug("msg=\"stream closed\" stream={} in={} out={} aborted={}", id,
                                     st.a_to_b, st.b_to_a, st.aborted);
                     });
  co_return Status::Ok();
}

}  // namespace lattice::agent
