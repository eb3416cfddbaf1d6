#include "server/tls_front.h"

#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include <algorithm>
#include <exception>
#include <sstream>

#include "http/problem.h"

namespace lattice::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;
using boost::system::error_code;
constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);
constexpr std::string_view kLinkPath = "/api/v1/agent/link";
constexpr std::string_view kDataMagic = "LTUN";
constexpr std::string_view kHttpGet = "GET ";

namespace {

// Completes when `deadline` passes. Raced against an operation with ||, it bounds it: the
// socket operations below wait with async_wait, which the race cancels.
asio::awaitable<void> Until(std::chrono::steady_clock::time_point deadline) {
  asio::steady_timer timer(co_await asio::this_coro::executor, deadline);
  co_await timer.async_wait(kUseTuple);
}

// Appends what the socket has (at most `room` bytes, blocking until something arrives); false
// at the end of the stream or on an error.
asio::awaitable<bool> ReadMore(tunnel::TlsSocket& s, std::string& buf, std::size_t room) {
  char chunk[4096];
  for (;;) {
    if (error_code ec = co_await s.WaitReadable()) co_return false;
    error_code ec;
    const std::size_t n = s.TryRead(chunk, std::min(sizeof chunk, room), ec);
    if (ec == asio::error::would_block) continue;
    if (ec || n == 0) co_return false;
    buf.append(chunk, n);
    co_return true;
  }
}

bool MayStartWith(const std::string& have, std::string_view magic) {
  return std::string_view(have).substr(0, magic.size()) == magic.substr(0, have.size());
}

// A new strand on `ex`'s io_context. A strand of the io_context's own executor fits inside an
// any_io_executor; a strand of `ex` itself (type-erased) does not, and then every operation
// pending on the connection allocates its executor for each of its work guards (several per
// pending read: ~700 bytes on every idle link).
asio::any_io_executor StrandOf(const asio::any_io_executor& ex) {
  if (const auto* io = ex.target<asio::io_context::executor_type>()) return asio::make_strand(*io);
  return asio::make_strand(ex);
}

// The completion of a connection's own coroutine: what escapes it ends that connection only.
auto LogEscaped(const char* what) {
  return [what](const std::exception_ptr& e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& x) {
      spdlog::error("msg=\"connection failed\" kind=\"{}\" error=\"{}\"", what, x.what());
    } catch (...) {
      spdlog::error("msg=\"connection failed\" kind=\"{}\" error=\"unknown\"", what);
    }
  };
}

}  // namespace

TlsFront::TlsFront(asio::ssl::context& context, LinkHandler on_link, TlsFrontOptions opts)
    : context_(context), on_link_(std::move(on_link)), opts_(opts) {}

void TlsFront::SetDataConnectionHandler(DataConnectionHandler handler) {
  on_data_ = std::move(handler);
}

void TlsFront::Accept(beast::tcp_stream stream) {
  // The connection gets a strand of its own: its TLS reads and writes, its timers and (for a
  // link) the WebSocket's never run concurrently, even on a multi-threaded io_context.
  const auto strand = StrandOf(stream.get_executor());
  tcp::socket accepted = stream.release_socket();
  error_code ec;
  const auto protocol = accepted.local_endpoint(ec).protocol();
  if (ec) return;
  const auto fd = accepted.release(ec);
  if (ec) return;
  tcp::socket socket(strand);
  socket.assign(protocol, fd, ec);
  if (ec) return;
  asio::co_spawn(strand, Route(std::move(socket)), LogEscaped("TLS connection"));
}

asio::awaitable<void> TlsFront::Route(tcp::socket socket) {
  error_code rec;
  const auto peer = socket.remote_endpoint(rec);
  const std::string remote = rec ? "unknown" : peer.address().to_string();
  auto made = tunnel::TlsSocket::Create(std::move(socket), context_.native_handle(),
                                        tunnel::TlsSocket::Role::kServer);
  if (!made.ok()) co_return;
  std::unique_ptr<tunnel::TlsSocket> s = std::move(made).value();

  auto deadline = std::chrono::steady_clock::now() + opts_.handshake_timeout;
  auto shook = co_await (s->Handshake() || Until(deadline));
  if (shook.index() != 0 || !std::get<0>(shook).ok()) {
    spdlog::debug("msg=\"TLS handshake failed\" remote={} error=\"{}\"", remote,
                  shook.index() != 0 ? "timed out" : std::get<0>(shook).error().message);
    co_return;
  }

  // Enough of the decrypted stream to tell a link from a data connection.
  deadline = std::chrono::steady_clock::now() + opts_.handshake_timeout;
  std::string bytes;
  while (bytes.size() < kDataMagic.size() &&
         (MayStartWith(bytes, kDataMagic) || MayStartWith(bytes, kHttpGet))) {
    auto got = co_await (ReadMore(*s, bytes, 4096) || Until(deadline));
    if (got.index() != 0 || !std::get<0>(got)) co_return;
  }
  // The handler gets a coroutine of its own and this one ends, freeing its frame.
  const auto strand = s->socket().get_executor();
  if (MayStartWith(bytes, kDataMagic)) {
    if (on_data_)
      asio::co_spawn(strand, on_data_(std::move(s), std::move(bytes)),
                     LogEscaped("tunnel data connection"));
    co_return;
  }
  if (MayStartWith(bytes, kHttpGet)) {
    std::optional<http::Request> req = co_await ReadLinkRequest(*s, std::move(bytes));
    if (req)
      asio::co_spawn(strand, on_link_(std::move(s), std::move(*req)), LogEscaped("agent link"));
    co_return;
  }
  spdlog::debug("msg=\"unknown protocol over TLS\" remote={}", remote);
}

asio::awaitable<std::optional<http::Request>> TlsFront::ReadLinkRequest(tunnel::TlsSocket& s,
                                                                        std::string bytes) {
  const auto deadline = std::chrono::steady_clock::now() + opts_.handshake_timeout;
  // The request header, read raw and parsed in place (no body: it is a GET).
  while (bytes.find("\r\n\r\n") == std::string::npos) {
    if (bytes.size() >= opts_.header_limit) co_return std::nullopt;
    auto got = co_await (ReadMore(s, bytes, opts_.header_limit - bytes.size()) || Until(deadline));
    if (got.index() != 0 || !std::get<0>(got)) co_return std::nullopt;
  }
  bhttp::request_parser<bhttp::string_body> parser;
  parser.header_limit(static_cast<std::uint32_t>(opts_.header_limit));
  parser.body_limit(0);
  error_code ec;
  parser.put(asio::buffer(bytes), ec);
  if (ec || !parser.is_done()) co_return std::nullopt;
  http::Request req = parser.release();

  const std::string_view target = req.target();
  const std::string_view path = target.substr(0, target.find('?'));
  if (path == kLinkPath && beast::websocket::is_upgrade(req)) co_return req;
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
  std::ostringstream out;
  out << reply.res;
  const std::string wire = out.str();
  auto wrote = co_await (s.WriteAll(wire.data(), wire.size()) || Until(deadline));
  if (wrote.index() != 0 || std::get<0>(wrote)) co_return std::nullopt;
  co_await (s.ShutdownSend() || Until(deadline));
  co_return std::nullopt;
}

}  // namespace lattice::server
