#include "http/server.h"

#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>

#include <atomic>
#include <optional>

#include "http/problem.h"

namespace lattice::http {

using asio::ip::tcp;
constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);

struct HttpServer::State {
  State(asio::io_context& ioc, Dispatcher& d, ServerOptions o)
      : ioc(ioc), dispatcher(d), opts(o), acceptor(ioc) {}
  asio::io_context& ioc;
  Dispatcher& dispatcher;
  const ServerOptions opts;
  tcp::acceptor acceptor;
  TlsHandler tls_handler;  // set before Start, then constant
  std::atomic<bool> stopping{false};
};

namespace {

// How long a connection closed after an error reply keeps draining what the client still sends.
constexpr std::chrono::seconds kLingerTime{2};
// The first byte of a TLS connection: the record type of its ClientHello.
constexpr unsigned char kTlsHandshakeRecord = 0x16;

// The connection's first byte, left unread (MSG_PEEK); nullopt if the peer closes, fails or
// sends nothing before `deadline`.
asio::awaitable<std::optional<unsigned char>> PeekFirstByte(
    tcp::socket& socket, std::chrono::steady_clock::time_point deadline) {
  using namespace asio::experimental::awaitable_operators;
  asio::steady_timer timer(socket.get_executor(), deadline);
  for (;;) {
    auto ready = co_await (socket.async_wait(tcp::socket::wait_read, kUseTuple) ||
                           timer.async_wait(kUseTuple));
    if (ready.index() != 0 || std::get<0>(std::get<0>(ready))) co_return std::nullopt;
    unsigned char first = 0;
    beast::error_code ec;
    const std::size_t n = socket.receive(asio::buffer(&first, 1), tcp::socket::message_peek, ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) continue;
    if (ec || n == 0) co_return std::nullopt;
    co_return first;
  }
}

// Writes an error reply on a connection that is about to be closed.
asio::awaitable<void> WriteAndClose(beast::tcp_stream& stream, Reply reply,
                                    std::chrono::seconds timeout) {
  reply.res.keep_alive(false);
  reply.res.prepare_payload();
  stream.expires_after(timeout);
  auto [wec, wn] = co_await bhttp::async_write(stream, reply.res, kUseTuple);
  beast::error_code ec;
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  if (wec) co_return;
  // Lingering close: the client may still be sending (say, the body of a 413). Closing with
  // unread data makes the kernel reset the connection, which can destroy the reply before the
  // client reads it; so discard input until the client closes too, for a bounded time.
  stream.expires_after(kLingerTime);
  char sink[4096];
  for (;;) {
    auto [rec, rn] = co_await stream.async_read_some(asio::buffer(sink), kUseTuple);
    if (rec) break;
  }
}

using RequestParser = bhttp::request_parser<bhttp::string_body>;

asio::awaitable<beast::error_code> ReadRest(beast::tcp_stream& stream, beast::flat_buffer& buffer,
                                            RequestParser& parser) {
  auto [ec, n] = co_await bhttp::async_read(stream, buffer, parser, kUseTuple);
  co_return ec;
}

asio::awaitable<void> CancelReadAfter(beast::tcp_stream& stream, std::chrono::seconds timeout,
                                      bool& expired) {
  asio::steady_timer timer(co_await asio::this_coro::executor, timeout);
  auto [ec] = co_await timer.async_wait(kUseTuple);
  if (ec) co_return;  // the read finished first
  expired = true;
  beast::error_code ignored;
  stream.socket().cancel(ignored);
}

// Reads the body of the message whose header is in, within `timeout`; beast::error::timeout
// when it did not arrive in time. The stream's own timeout would close the socket, leaving no
// way to answer 408, so the deadline cancels the read instead and the connection stays
// writable. Must run on the session's strand (the deadline and the read share the socket).
asio::awaitable<beast::error_code> ReadBody(beast::tcp_stream& stream, beast::flat_buffer& buffer,
                                            RequestParser& parser, std::chrono::seconds timeout) {
  using namespace asio::experimental::awaitable_operators;
  stream.expires_never();
  bool expired = false;
  auto done =
      co_await (ReadRest(stream, buffer, parser) || CancelReadAfter(stream, timeout, expired));
  if (expired || done.index() != 0) co_return beast::error::timeout;
  co_return std::get<0>(done);
}

asio::awaitable<void> RunSession(std::shared_ptr<HttpServer::State> st, tcp::socket socket) {
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer;
  std::string remote;
  {
    beast::error_code ec;
    auto ep = stream.socket().remote_endpoint(ec);
    remote = ec ? "unknown" : ep.address().to_string();
  }
  bool first = true;
  // The first request's header must be complete within the header timeout of the accept.
  const auto first_deadline = std::chrono::steady_clock::now() + st->opts.header_timeout;
  try {
    if (st->tls_handler) {
      auto byte = co_await PeekFirstByte(stream.socket(), first_deadline);
      if (!byte) co_return;
      if (*byte == kTlsHandshakeRecord) {
        st->tls_handler(std::move(stream));
        co_return;
      }
    }
    for (;;) {
      RequestParser parser;
      parser.header_limit(static_cast<std::uint32_t>(st->opts.header_limit));
      parser.body_limit(st->opts.body_limit);

      // Between requests the idle timeout applies; once bytes arrive the header deadline does.
      // The first bytes are read separately so that a keep-alive client cannot trickle a header
      // under the (longer) idle timeout.
      if (!first && buffer.size() == 0) {
        stream.expires_after(st->opts.idle_timeout);
        auto [iec, in] = co_await stream.async_read_some(buffer.prepare(4096), kUseTuple);
        if (iec) co_return;
        buffer.commit(in);
      }
      if (first)
        stream.expires_at(first_deadline);
      else
        stream.expires_after(st->opts.header_timeout);
      first = false;
      auto [ec, n] = co_await bhttp::async_read_header(stream, buffer, parser, kUseTuple);
      if (ec == bhttp::error::end_of_stream || ec == asio::error::eof ||
          ec == beast::error::timeout || ec == asio::error::connection_reset ||
          ec == asio::error::operation_aborted) {
        co_return;
      }
      if (ec == bhttp::error::header_limit) {
        co_await WriteAndClose(stream,
                               ProblemReply(bhttp::status::request_header_fields_too_large,
                                            "The request header is too large.", "/"),
                               st->opts.write_timeout);
        co_return;
      }
      if (ec == bhttp::error::body_limit) {  // the Content-Length alone is over the limit
        co_await WriteAndClose(stream,
                               ProblemReply(bhttp::status::payload_too_large,
                                            "The request body is larger than " +
                                                std::to_string(st->opts.body_limit) + " bytes.",
                                            parser.get().target()),
                               st->opts.write_timeout);
        co_return;
      }
      if (ec) {
        co_await WriteAndClose(
            stream, ProblemReply(bhttp::status::bad_request, "Malformed HTTP request.", "/"),
            st->opts.write_timeout);
        co_return;
      }

      if (!parser.is_done()) {
        if (auto& h = parser.get();
            bhttp::token_list{h[bhttp::field::expect]}.exists("100-continue")) {
          bhttp::response<bhttp::empty_body> cont{bhttp::status::continue_, h.version()};
          stream.expires_after(st->opts.write_timeout);
          auto [wec, wn] = co_await bhttp::async_write(stream, cont, kUseTuple);
          if (wec) co_return;
        }
        const beast::error_code bec =
            co_await ReadBody(stream, buffer, parser, st->opts.body_timeout);
        if (bec == bhttp::error::body_limit) {
          co_await WriteAndClose(stream,
                                 ProblemReply(bhttp::status::payload_too_large,
                                              "The request body is larger than " +
                                                  std::to_string(st->opts.body_limit) + " bytes.",
                                              parser.get().target()),
                                 st->opts.write_timeout);
          co_return;
        }
        if (bec == beast::error::timeout) {
          co_await WriteAndClose(
              stream,
              ProblemReply(bhttp::status::request_timeout,
                           "The request body did not arrive in time.", parser.get().target()),
              st->opts.write_timeout);
          co_return;
        }
        if (bec) {
          if (bec == asio::error::eof || bec == bhttp::error::end_of_stream ||
              bec == bhttp::error::partial_message)
            co_return;
          co_await WriteAndClose(
              stream, ProblemReply(bhttp::status::bad_request, "Malformed HTTP request.", "/"),
              st->opts.write_timeout);
          co_return;
        }
      }

      Request req = parser.release();
      Reply reply = co_await st->dispatcher.Dispatch(req, remote);
      if (reply.upgrade) {
        stream.expires_never();
        co_await reply.upgrade(std::move(stream), std::move(req));
        co_return;
      }
      const bool keep_alive = req.keep_alive() && !st->stopping.load() && !reply.stream;
      reply.res.version(req.version());
      reply.res.keep_alive(keep_alive);
      reply.res.set(bhttp::field::server, "lattice");

      stream.expires_after(st->opts.write_timeout);
      if (reply.stream) {
        // Streamed replies (SSE, followed logs): header first, then the stream owns the socket.
        reply.res.chunked(false);
        bhttp::response_serializer<bhttp::string_body> sr{reply.res};
        auto [hec, hn] = co_await bhttp::async_write_header(stream, sr, kUseTuple);
        if (hec) co_return;
        stream.expires_never();
        co_await reply.stream(stream);
        beast::error_code sec;
        stream.socket().shutdown(tcp::socket::shutdown_both, sec);
        co_return;
      }
      reply.res.prepare_payload();
      auto [wec, wn] = co_await bhttp::async_write(stream, reply.res, kUseTuple);
      if (wec || !keep_alive) {
        beast::error_code sec;
        stream.socket().shutdown(tcp::socket::shutdown_send, sec);
        co_return;
      }
    }
  } catch (const std::exception& e) {
    spdlog::error("msg=\"session failed\" remote={} error=\"{}\"", remote, e.what());
  }
}

asio::awaitable<void> AcceptLoop(std::shared_ptr<HttpServer::State> st) {
  for (;;) {
    auto [ec, socket] = co_await st->acceptor.async_accept(kUseTuple);
    if (st->stopping.load() || ec == asio::error::operation_aborted) co_return;
    if (ec) {
      // EMFILE and friends: back off briefly rather than spin.
      spdlog::warn("msg=\"accept failed\" error=\"{}\"", ec.message());
      asio::steady_timer t(st->ioc, std::chrono::milliseconds(50));
      co_await t.async_wait(kUseTuple);
      continue;
    }
    beast::error_code nec;
    socket.set_option(tcp::no_delay(true), nec);
    // One strand per connection: what a session runs concurrently with itself (a read and its
    // deadline) never runs on two threads at once.
    asio::co_spawn(asio::make_strand(st->ioc), RunSession(st, std::move(socket)), asio::detached);
  }
}

}  // namespace

HttpServer::HttpServer(asio::io_context& ioc, Dispatcher& dispatcher, ServerOptions opts)
    : state_(std::make_shared<State>(ioc, dispatcher, opts)) {}

HttpServer::~HttpServer() {
  Stop();
}

Result<tcp::endpoint> HttpServer::Listen(const std::string& host, std::uint16_t port) {
  beast::error_code ec;
  const auto addr = asio::ip::make_address(host, ec);
  if (ec) return Error::Invalid("listen address '" + host + "' is not an IP address");
  tcp::endpoint ep(addr, port);
  auto& a = state_->acceptor;
  a.open(ep.protocol(), ec);
  if (!ec) a.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) a.bind(ep, ec);
  if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    return Error::Unavailable("cannot listen on " + host + ":" + std::to_string(port) + ": " +
                              ec.message());
  return a.local_endpoint();
}

void HttpServer::SetTlsHandler(TlsHandler handler) {
  state_->tls_handler = std::move(handler);
}

void HttpServer::Start() {
  asio::co_spawn(state_->ioc, AcceptLoop(state_), asio::detached);
}

void HttpServer::Stop() {
  if (state_->stopping.exchange(true)) return;
  asio::post(state_->ioc, [st = state_] {
    beast::error_code ec;
    st->acceptor.close(ec);
  });
}

}  // namespace lattice::http
