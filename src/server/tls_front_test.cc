// One port, two protocols: the HTTP server peeks at each connection and hands TLS to the
// TlsFront, which routes agent-link upgrades and "LTUN" data connections and closes anything
// else — while plain HTTP keeps working. Real sockets on loopback, a real CA.
#include "server/tls_front.h"

#include <gtest/gtest.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include <atomic>
#include <filesystem>
#include <future>
#include <thread>

#include "agent/tls_dial.h"
#include "common/random.h"
#include "http/dispatcher.h"
#include "http/server.h"
#include "tls/server_pki.h"
#include "tls/tls_stream.h"
#include "tunnel/tls_stream_ref.h"

namespace lattice::server {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace websocket = beast::websocket;
using std::chrono::milliseconds;
using std::chrono::seconds;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

class TlsFrontTest : public ::testing::Test {
 protected:
  void SetUp() override {
    InitCrypto();
    dir_ = std::filesystem::temp_directory_path() / ("tls-front-" + RandomToken(6));
    auto pki = tls::ServerPki::LoadOrCreate(dir_.string(), {});
    ASSERT_TRUE(pki.ok()) << pki.error().message;
    pki_ = std::move(pki).value();

    router_.Add(bhttp::verb::get, "/hello", http::Access::kPublic,
                [](http::RequestContext&) -> asio::awaitable<http::Reply> {
                  co_return http::TextReply(bhttp::status::ok, "plain", "text/plain");
                });
    dispatcher_ = std::make_unique<http::Dispatcher>(
        router_, metrics_,
        [](std::string_view) -> Result<Principal> { return Error::Unauthenticated("no"); },
        http::DispatchOptions{{}, false, {}});
    http::ServerOptions opts;
    opts.header_timeout = seconds(1);
    server_ = std::make_unique<http::HttpServer>(ioc_, *dispatcher_, opts);
    TlsFrontOptions fopts;
    fopts.handshake_timeout = milliseconds(1000);
    // The link handler: accept the WebSocket and echo one message.
    front_ = std::make_unique<TlsFront>(
        pki_->server_context(),
        [this](std::unique_ptr<tunnel::TlsSocket> s, http::Request req) -> asio::awaitable<void> {
          link_target_ = std::string(req.target());
          websocket::stream<tunnel::TlsStreamRef> ws{tunnel::TlsStreamRef(*s)};
          auto [aec] = co_await ws.async_accept(req, kNoThrow);
          if (aec) co_return;
          beast::flat_buffer buf;
          auto [rec, n] = co_await ws.async_read(buf, kNoThrow);
          if (rec) co_return;
          co_await ws.async_write(buf.data(), kNoThrow);
        },
        fopts);
    server_->SetTlsHandler([this](beast::tcp_stream s) { front_->Accept(std::move(s)); });
  }
  void Start() {
    auto ep = server_->Listen("127.0.0.1", 0);
    ASSERT_TRUE(ep.ok());
    port_ = std::to_string(ep->port());
    server_->Start();
    thread_ = std::thread([this] { ioc_.run(); });
  }
  void TearDown() override {
    ioc_.stop();
    if (thread_.joinable()) thread_.join();
    std::filesystem::remove_all(dir_);
  }

  // Runs `body` on a client io_context to completion.
  template <typename T>
  T Client(std::function<asio::awaitable<T>(asio::io_context&)> body) {
    asio::io_context ioc;
    auto f = asio::co_spawn(ioc, body(ioc), asio::use_future);
    ioc.run();
    return f.get();
  }

  agent::LinkEndpoint Endpoint() const {
    return {"127.0.0.1", port_, "/api/v1/agent/link", "127.0.0.1:" + port_};
  }

  // Dials TLS as the agent's tunnel client does (a lean TlsSocket on the pinned context), sends
  // `hello` and returns what comes back until the server closes.
  std::string TlsExchange(const std::string& hello) {
    auto pinned = tls::PinnedClient::Create(pki_->Fingerprint());
    return Client<std::string>([&](asio::io_context& ioc) -> asio::awaitable<std::string> {
      asio::ip::tcp::socket raw(ioc);
      auto [cec] = co_await raw.async_connect(
          asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"),
                                  static_cast<unsigned short>(std::stoi(port_))),
          kNoThrow);
      if (cec) co_return "connect failed";
      auto s = tunnel::TlsSocket::Create(std::move(raw), (*pinned)->context().native_handle(),
                                         tunnel::TlsSocket::Role::kClient, "127.0.0.1");
      if (!s.ok()) co_return s.error().message;
      if (Status st = co_await (*s)->Handshake(); !st.ok()) co_return st.error().message;
      if (auto ec = co_await (*s)->WriteAll(hello.data(), hello.size())) co_return ec.message();
      std::string got;
      char buf[4096];
      for (;;) {
        if (auto ec = co_await (*s)->WaitReadable()) break;
        boost::system::error_code rec;
        const std::size_t n = (*s)->TryRead(buf, sizeof buf, rec);
        if (rec == asio::error::would_block) continue;
        if (rec) break;
        got.append(buf, n);
      }
      co_return got;
    });
  }

  std::filesystem::path dir_;
  std::unique_ptr<tls::ServerPki> pki_;
  http::Router router_;
  http::HttpMetrics metrics_;
  std::unique_ptr<http::Dispatcher> dispatcher_;
  asio::io_context ioc_;
  std::unique_ptr<http::HttpServer> server_;
  std::unique_ptr<TlsFront> front_;
  std::string port_;
  std::thread thread_;
  std::string link_target_;  // server thread; read after the exchange
};

TEST_F(TlsFrontTest, PlainHttpStillWorksOnTheSamePort) {
  Start();
  auto body = Client<std::string>([&](asio::io_context& ioc) -> asio::awaitable<std::string> {
    beast::tcp_stream s(ioc);
    auto [cec] = co_await s.async_connect(
        asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"),
                                static_cast<unsigned short>(std::stoi(port_))),
        kNoThrow);
    if (cec) co_return cec.message();
    bhttp::request<bhttp::empty_body> req(bhttp::verb::get, "/hello", 11);
    req.set(bhttp::field::host, "x");
    co_await bhttp::async_write(s, req, kNoThrow);
    beast::flat_buffer buf;
    bhttp::response<bhttp::string_body> res;
    auto [rec, n] = co_await bhttp::async_read(s, buf, res, kNoThrow);
    co_return rec ? rec.message() : res.body();
  });
  EXPECT_EQ(body, "plain");
}

TEST_F(TlsFrontTest, DataConnectionsReachTheHandlerWithTheirPrefix) {
  std::promise<std::string> seen;
  front_->SetDataConnectionHandler(
      [&seen](std::unique_ptr<tunnel::TlsSocket> s, std::string prefix) -> asio::awaitable<void> {
        seen.set_value(prefix);
        const std::string reply = "ok:" + prefix;
        co_await s->WriteAll(reply.data(), reply.size());
        co_await s->ShutdownSend();
      });
  Start();
  EXPECT_EQ(TlsExchange("LTUN token-1"), "ok:LTUN token-1");
  EXPECT_EQ(seen.get_future().get(), "LTUN token-1");
}

TEST_F(TlsFrontTest, DataConnectionsWithoutAHandlerAreClosed) {
  Start();
  EXPECT_EQ(TlsExchange("LTUN token-1"), "");
}

TEST_F(TlsFrontTest, AnUnknownProtocolIsClosed) {
  front_->SetDataConnectionHandler(
      [](std::unique_ptr<tunnel::TlsSocket>, std::string) -> asio::awaitable<void> {
        ADD_FAILURE() << "not a data connection";
        co_return;
      });
  Start();
  EXPECT_EQ(TlsExchange("LTUX whatever"), "");
  EXPECT_EQ(TlsExchange("\x16\x03\x01garbage"), "");
}

TEST_F(TlsFrontTest, TheAgentLinkIsAWebSocketOverTls) {
  Start();
  auto dialer = agent::TlsDialer::Create(pki_->Fingerprint());
  ASSERT_TRUE(dialer.ok());
  auto echoed = Client<std::string>([&](asio::io_context& ioc) -> asio::awaitable<std::string> {
    websocket::stream<tls::TlsStream> ws(ioc, (*dialer)->context());
    if (Status st = co_await (*dialer)->Connect(ws.next_layer(), Endpoint(), seconds(5)); !st.ok())
      co_return st.error().message;
    auto [hec] = co_await ws.async_handshake("127.0.0.1", "/api/v1/agent/link?v=1", kNoThrow);
    if (hec) co_return "handshake: " + hec.message();
    co_await ws.async_write(asio::buffer(std::string("hi")), kNoThrow);
    beast::flat_buffer buf;
    auto [rec, n] = co_await ws.async_read(buf, kNoThrow);
    co_return rec ? rec.message() : beast::buffers_to_string(buf.data());
  });
  EXPECT_EQ(echoed, "hi");
  EXPECT_EQ(link_target_, "/api/v1/agent/link?v=1");
}

TEST_F(TlsFrontTest, OtherRequestsOverTlsGetAProblem) {
  Start();
  const std::string other = TlsExchange("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(other.rfind("HTTP/1.1 404", 0), 0u) << other;
  EXPECT_NE(other.find("application/problem+json"), std::string::npos);
  EXPECT_NE(other.find("plain HTTP"), std::string::npos);
  const std::string no_upgrade = TlsExchange("GET /api/v1/agent/link HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(no_upgrade.rfind("HTTP/1.1 400", 0), 0u) << no_upgrade;
  EXPECT_TRUE(link_target_.empty());
}

TEST_F(TlsFrontTest, SilentConnectionsAreDroppedAtTheDeadline) {
  Start();
  const auto started = std::chrono::steady_clock::now();
  // One connection that sends nothing, one that stops after the TLS record header.
  for (const std::string& sent : {std::string(), std::string("\x16\x03\x01", 3)}) {
    auto closed = Client<bool>([&](asio::io_context& ioc) -> asio::awaitable<bool> {
      beast::tcp_stream s(ioc);
      auto [cec] = co_await s.async_connect(
          asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"),
                                  static_cast<unsigned short>(std::stoi(port_))),
          kNoThrow);
      if (cec) co_return false;
      if (!sent.empty()) co_await asio::async_write(s, asio::buffer(sent), kNoThrow);
      s.expires_after(seconds(5));
      char c;
      auto [rec, n] = co_await s.async_read_some(asio::buffer(&c, 1), kNoThrow);
      co_return rec == asio::error::eof || rec == asio::error::connection_reset;
    });
    EXPECT_TRUE(closed) << sent.size();
  }
  EXPECT_LT(std::chrono::steady_clock::now() - started, seconds(4));
}

}  // namespace
}  // namespace lattice::server
