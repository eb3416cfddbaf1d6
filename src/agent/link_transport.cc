#include "agent/link_transport.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/url/parse.hpp>

#include "agent/tls_dial.h"
#include "link/protocol.h"

namespace lattice::agent {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using asio::ip::tcp;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);
constexpr char kLinkPath[] = "/api/v1/agent/link";

// WebSocket over TLS, pinned to the server's CA by the dialer.
class WssTransport final : public LinkTransport {
 public:
  WssTransport(LinkEndpoint ep, asio::any_io_executor ex, TlsDialer& dialer)
      : ep_(std::move(ep)), dialer_(dialer), ws_(ex, dialer.context()) {}

  asio::awaitable<Status> Connect(std::chrono::milliseconds timeout) override {
    const std::string where = ep_.host + ":" + ep_.port;
    // The dialer leaves the TCP layer without a deadline: websocket's own timeouts take over.
    if (Status st = co_await dialer_.Connect(ws_.next_layer(), ep_, timeout); !st.ok())
      co_return st;

    websocket::stream_base::timeout t{};
    t.handshake_timeout = timeout;
    t.idle_timeout = websocket::stream_base::none();
    t.keep_alive_pings = false;
    ws_.set_option(t);
    ws_.set_option(websocket::stream_base::decorator([](websocket::request_type& req) {
      req.set(beast::http::field::user_agent, std::string("lattice-agent/") + LATTICE_VERSION);
    }));
    ws_.read_message_max(link::kMaxMessageBytes);
    auto [hec] = co_await ws_.async_handshake(ep_.host_header, ep_.target, kNoThrow);
    if (hec)
      co_return Error::Unavailable("websocket handshake with " + where + ep_.target + ": " +
                                   hec.message());
    ws_.text(true);
    co_return Status::Ok();
  }

  asio::awaitable<Result<std::string>> Read() override {
    beast::flat_buffer buf;
    auto [ec, n] = co_await ws_.async_read(buf, kNoThrow);
    if (ec == websocket::error::closed)
      co_return Error::Unavailable("the server closed the link" +
                                   (ws_.reason().reason.empty()
                                        ? std::string()
                                        : ": " + std::string(ws_.reason().reason.c_str())));
    if (ec) co_return Error::Unavailable("link read: " + ec.message());
    if (!ws_.got_text()) co_return Error::Invalid("link message is not text");
    co_return beast::buffers_to_string(buf.data());
  }

  asio::awaitable<Status> Write(std::string_view text) override {
    auto [ec, n] = co_await ws_.async_write(asio::buffer(text.data(), text.size()), kNoThrow);
    if (ec) co_return Error::Unavailable("link write: " + ec.message());
    co_return Status::Ok();
  }

  void SetIdleTimeout(std::chrono::milliseconds idle) override {
    websocket::stream_base::timeout t{};
    t.handshake_timeout = std::chrono::seconds(10);
    t.idle_timeout = idle;
    t.keep_alive_pings = true;
    ws_.set_option(t);
  }

  void Cancel() override {
    beast::error_code ec;
    beast::get_lowest_layer(ws_).socket().shutdown(tcp::socket::shutdown_both, ec);
    beast::get_lowest_layer(ws_).close();
  }

 private:
  const LinkEndpoint ep_;
  TlsDialer& dialer_;
  websocket::stream<tls::TlsStream> ws_;
};

}  // namespace

Result<LinkEndpoint> ParseServerUrl(std::string_view server_url) {
  auto u = boost::urls::parse_uri(server_url);
  const auto bad = [&](const std::string& why) {
    return Error::Invalid("server URL '" + std::string(server_url.substr(0, 200)) + "' " + why);
  };
  if (!u) return bad("is not a URL (want https://HOST:PORT)");
  LinkEndpoint ep;
  const std::string scheme(u->scheme());
  if (scheme == "http" || scheme == "ws")
    return bad(
        "is not a TLS URL: agents connect over TLS only, so use https://HOST:PORT (the URL in "
        "the join command)");
  if (scheme != "https" && scheme != "wss")
    return bad("has an unsupported scheme (want https://HOST:PORT)");
  if (u->has_userinfo() || u->has_query() || u->has_fragment())
    return bad("must not carry credentials, a query or a fragment");
  ep.host = std::string(u->host_address());
  if (ep.host.empty()) return bad("has no host");
  ep.port = u->has_port() ? std::string(u->port()) : "443";
  std::string path(u->encoded_path());
  while (!path.empty() && path.back() == '/') path.pop_back();
  ep.target = path + kLinkPath;
  ep.host_header = std::string(u->encoded_host_and_port());
  return ep;
}

std::unique_ptr<LinkTransport> NewLinkTransport(const LinkEndpoint& endpoint,
                                                asio::any_io_executor executor, TlsDialer& dialer) {
  return std::make_unique<WssTransport>(endpoint, executor, dialer);
}

}  // namespace lattice::agent
