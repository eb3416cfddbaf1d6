#include "server/tls_front.h"

#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include "http/problem.h"

namespace lattice::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);
constexpr std::string_view kLinkPath = "/api/v1/agent/link";
constexpr std::string_view kDataMagic = "LTUN";
constexpr std::string_view kHttpGet = "GET ";

TlsFront::TlsFront(asio::ssl::context& context, LinkHandler on_link, TlsFrontOptions opts)
    : context_(context), on_link_(std::move(on_link)), opts_(opts) {}

void TlsFront::SetDataConnectionHandler(tls::DataConnectionHandler handler) {
  on_data_ = std::move(handler);
}

asio::awaitable<void> TlsFront::Serve(beast::tcp_stream tcp) {
  beast::error_code rec;
  const auto peer = tcp.socket().remote_endpoint(rec);
  const std::string remote = rec ? "unknown" : peer.address().to_string();
  tls::TlsStream stream(std::move(tcp), context_);
  auto& lowest = beast::get_lowest_layer(stream);
  lowest.expires_after(opts_.handshake_timeout);
  auto [hec] = co_await stream.async_handshake(asio::ssl::stream_base::server, kUseTuple);
  if (hec) {
    spdlog::debug("msg=\"TLS handshake failed\" remote={} error=\"{}\"", remote, hec.message());
    co_return;
  }

  // Enough of the decrypted stream to tell a link from a data connection.
  beast::flat_buffer buf;
  auto starts_with = [&buf](std::string_view magic) {
    const std::string_view have(static_cast<const char*>(buf.data().data()), buf.size());
    return have.substr(0, magic.size()) == magic.substr(0, have.size());
  };
  while (buf.size() < kDataMagic.size() && (starts_with(kDataMagic) || starts_with(kHttpGet))) {
    auto [rec, n] = co_await stream.async_read_some(buf.prepare(4096), kUseTuple);
    if (rec) co_return;
    buf.commit(n);
  }
  if (starts_with(kDataMagic)) {
    if (!on_data_) co_return;
    lowest.expires_never();
    std::string prefix = beast::buffers_to_string(buf.data());
    co_await on_data_(std::move(stream), std::move(prefix));
    co_return;
  }
  if (starts_with(kHttpGet)) {
    co_await ServeHttp(std::move(stream), std::move(buf));
    co_return;
  }
  spdlog::debug("msg=\"unknown protocol over TLS\" remote={}", remote);
}

asio::awaitable<void> TlsFront::ServeHttp(tls::TlsStream stream, beast::flat_buffer buf) {
  auto& lowest = beast::get_lowest_layer(stream);
  lowest.expires_after(opts_.handshake_timeout);
  bhttp::request_parser<bhttp::string_body> parser;
  parser.header_limit(static_cast<std::uint32_t>(opts_.header_limit));
  parser.body_limit(0);
  auto [ec, n] = co_await bhttp::async_read(stream, buf, parser, kUseTuple);
  if (ec) co_return;
  http::Request req = parser.release();
  const std::string_view target = req.target();
  const std::string_view path = target.substr(0, target.find('?'));
  if (path == kLinkPath && beast::websocket::is_upgrade(req)) {
    lowest.expires_never();
    co_await on_link_(std::move(stream), std::move(req));
    co_return;
  }
  http::Reply reply =
      path == kLinkPath
          ? http::ProblemReply(Error::Invalid("This endpoint speaks WebSocket (the agent link)."),
                               path)
          : http::ProblemReply(bhttp::status::not_found,
                               "Over TLS this port serves only the agent link (" +
                                   std::string(kLinkPath) +
                                   "); the API and the console speak plain HTTP on it.",
                               path);
  reply.res.version(req.version());
  reply.res.keep_alive(false);
  reply.res.set(bhttp::field::server, "lattice");
  reply.res.prepare_payload();
  auto [wec, wn] = co_await bhttp::async_write(stream, reply.res, kUseTuple);
  if (wec) co_return;
  co_await stream.async_shutdown(kUseTuple);
}

}  // namespace lattice::server
