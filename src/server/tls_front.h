// TlsFront: the TLS side of the server's one port. The HTTP server hands it every connection
// whose first byte opens a TLS handshake (http::HttpServer::SetTlsHandler). It completes the
// handshake (10 s), reads the first bytes of the decrypted stream (same deadline) and routes:
//
//   "GET "  an HTTP request: the WebSocket upgrade to /api/v1/agent/link goes to the link
//           handler; any other request gets a problem+json answer (404, or 400 for a link
//           request that is not an upgrade) and the connection closes.
//   "LTUN"  a tunnel data connection: handed with every byte read so far to the
//           DataConnectionHandler; closed if none is installed.
//   else    closed.
//
// Agents speak only TLS; browsers and the CLI speak plain HTTP on the same port.
// Set the handlers before the server starts; Serve may then run on any number of threads.
// The ssl::context must outlive the front.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include <chrono>
#include <functional>

#include "http/types.h"
#include "tls/tls_stream.h"

namespace lattice::server {

struct TlsFrontOptions {
  std::chrono::seconds handshake_timeout{10};  // handshake, then again for the first request
  std::size_t header_limit = 16 << 10;         // bytes of the link's upgrade request
};

class TlsFront {
 public:
  // Takes over a checked WebSocket upgrade request for the agent link (not yet accepted). The
  // stream has no deadline set.
  using LinkHandler = std::function<boost::asio::awaitable<void>(tls::TlsStream, http::Request)>;

  TlsFront(boost::asio::ssl::context& context, LinkHandler on_link, TlsFrontOptions opts = {});
  TlsFront(const TlsFront&) = delete;
  TlsFront& operator=(const TlsFront&) = delete;

  // Installs the tunnel edge's hook for "LTUN" connections (before the server starts).
  void SetDataConnectionHandler(tls::DataConnectionHandler handler);

  // Serves one connection (nothing read from it yet) until the handler it reaches returns.
  boost::asio::awaitable<void> Serve(boost::beast::tcp_stream stream);

 private:
  boost::asio::awaitable<void> ServeHttp(tls::TlsStream stream, boost::beast::flat_buffer buf);

  boost::asio::ssl::context& context_;
  const LinkHandler on_link_;
  const TlsFrontOptions opts_;
  tls::DataConnectionHandler on_data_;  // set before serving, then constant
};

}  // namespace lattice::server
