// HttpServer: accepts TCP connections and runs one coroutine per connection
// (read → dispatch → write, with keep-alive). Every read has a deadline so a slow or idle
// client cannot pin a connection; header and body sizes are bounded (431/413).
// With a TLS handler set, the server first peeks at each new connection's first byte (within
// the header timeout): a TLS handshake record (0x16) hands the connection to the handler, so
// one port carries both plain HTTP and a TLS service; anything else is HTTP as usual.
// The io_context and dispatcher must outlive the server. Start/Stop from any thread;
// SetTlsHandler before Start.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "common/result.h"
#include "http/dispatcher.h"

namespace lattice::http {

struct ServerOptions {
  std::size_t body_limit = 1 << 20;         // bytes; larger bodies get 413
  std::size_t header_limit = 16 << 10;      // bytes; larger headers get 431
  std::chrono::seconds header_timeout{10};  // to receive a complete request header
  std::chrono::seconds body_timeout{30};    // to receive the body once the header is in
  std::chrono::seconds idle_timeout{60};    // keep-alive wait for the next request
  std::chrono::seconds write_timeout{30};
};

// Takes over a connection whose first byte opens a TLS handshake; nothing has been read. Called
// on the connection's strand; returns at once, having started whatever serves the connection
// (the session that accepted it ends: its frame is not kept for a connection that may live
// for days).
using TlsHandler = std::function<void(beast::tcp_stream stream)>;

class HttpServer {
 public:
  HttpServer(asio::io_context& ioc, Dispatcher& dispatcher, ServerOptions opts);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and listens on host:port (port 0 picks a free one). Returns the bound endpoint.
  Result<asio::ip::tcp::endpoint> Listen(const std::string& host, std::uint16_t port);
  // Sends connections that start with a TLS handshake to `handler` (before Start).
  void SetTlsHandler(TlsHandler handler);
  // Starts accepting (after Listen).
  void Start();
  // Stops accepting new connections; open connections end after their current request.
  void Stop();

  struct State;  // shared with the accept loop and sessions, which may outlive a Stop()

 private:
  std::shared_ptr<State> state_;
};

}  // namespace lattice::http
