// TlsFront: the TLS side of the server's one port. The HTTP server hands it every connection
// whose first byte opens a TLS handshake (http::HttpServer::SetTlsHandler). It moves the socket
// onto a strand of its own, completes the handshake (10 s) on a lean tunnel::TlsSocket, reads
// the first bytes of the decrypted stream (same limit) and routes:
//
//   "GET "  an HTTP request (header within the limit): the WebSocket upgrade to
//           /api/v1/agent/link goes to the link handler; any other request gets a problem+json
//           answer (404, or 400 for a link request that is not an upgrade) and is closed.
//   "LTUN"  a tunnel data connection: handed with every byte read so far to the
//           DataConnectionHandler (the edge); closed if none is installed.
//   else    closed.
//
// A handler runs as a coroutine of its own on the connection's strand: once it has the
// connection, nothing of the accept, the handshake or the routing stays allocated (a link or
// a data connection lives for days, mostly idle, and there may be tens of thousands). An
// exception a handler lets out ends that connection only (logged).
//
// Agents speak only TLS; browsers and the CLI speak plain HTTP on the same port.
// Set the handlers before the server starts; Accept may then be called on any thread.
// The ssl::context must outlive the front, and the front every connection it accepted (the
// io_context's coroutines).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "http/types.h"
#include "tunnel/tls_socket.h"

namespace lattice::server {

// Takes over an agent link: a checked WebSocket upgrade request (not yet answered). The
// socket's executor is a strand of its own, which the returned coroutine runs on; nothing
// bounds the connection's lifetime any more.
using LinkHandler = std::function<boost::asio::awaitable<void>(
    std::unique_ptr<tunnel::TlsSocket> socket, http::Request request)>;

// Takes over a tunnel data connection after the TLS handshake. `prefix` holds every byte
// already read from the decrypted stream (it starts with "LTUN"; the rest of the stream's
// handshake line may or may not be in it). Same socket guarantees as LinkHandler.
using DataConnectionHandler = std::function<boost::asio::awaitable<void>(
    std::unique_ptr<tunnel::TlsSocket> socket, std::string prefix)>;

struct TlsFrontOptions {
  std::chrono::milliseconds handshake_timeout{10000};  // handshake; then again to route
  std::size_t header_limit = 16 << 10;                 // bytes of a request header over TLS
};

class TlsFront {
 public:
  TlsFront(boost::asio::ssl::context& context, LinkHandler on_link, TlsFrontOptions opts = {});
  TlsFront(const TlsFront&) = delete;
  TlsFront& operator=(const TlsFront&) = delete;

  // Installs the tunnel edge's hook for "LTUN" connections (before the server starts).
  void SetDataConnectionHandler(DataConnectionHandler handler);

  // Takes over one connection (nothing read from it yet) and returns at once: the handshake,
  // the routing and then the handler run on a strand of the connection's own.
  void Accept(boost::beast::tcp_stream stream);

 private:
  boost::asio::awaitable<void> Route(boost::asio::ip::tcp::socket socket);
  // The agent-link upgrade request, once its header is in; nullopt when the connection was
  // answered (any other request) or dropped.
  boost::asio::awaitable<std::optional<http::Request>> ReadLinkRequest(tunnel::TlsSocket& s,
                                                                       std::string bytes);

  boost::asio::ssl::context& context_;
  const LinkHandler on_link_;
  const TlsFrontOptions opts_;
  DataConnectionHandler on_data_;  // set before serving, then constant
};

}  // namespace lattice::server
