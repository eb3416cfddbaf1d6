// LinkTransport: the carrier of the agent link, one text message at a time. The agent dials
// wss://HOST:PORT/api/v1/agent/link: a WebSocket over TLS pinned to the server's CA
// (agent/tls_dial.h). Agents speak TLS only; plain http:// and ws:// URLs are refused.
//
// A transport is used from one coroutine context on one executor (not thread-safe): at most
// one Read and one Write outstanding at a time. Errors are kUnavailable (connection refused,
// closed, timed out), kUnauthenticated (the server does not present the pinned CA) or
// kInvalidArgument (protocol violation, bad URL).
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"

namespace lattice::agent {

struct LinkEndpoint {
  std::string host;    // name or address, without IPv6 brackets
  std::string port;    // always set (443 by default)
  std::string target;  // "<url path>/api/v1/agent/link"
  std::string host_header;
};

// Accepts https:// and wss:// URLs ("https://127.0.0.1:8080"); a path in the URL is kept as a
// prefix of the link path. kInvalidArgument for anything else, with a message that says why
// (http:// and ws:// included: agents speak TLS only).
Result<LinkEndpoint> ParseServerUrl(std::string_view server_url);

class LinkTransport {
 public:
  virtual ~LinkTransport() = default;

  // Resolves, connects and completes the TLS and WebSocket handshakes within `timeout`.
  virtual boost::asio::awaitable<Status> Connect(std::chrono::milliseconds timeout) = 0;
  // The next text message (at most link::kMaxMessageBytes).
  virtual boost::asio::awaitable<Result<std::string>> Read() = 0;
  virtual boost::asio::awaitable<Status> Write(std::string_view text) = 0;
  // The read deadline: when nothing at all arrives for `idle` (the transport pings the server
  // half-way through), the connection is declared dead and pending operations fail.
  virtual void SetIdleTimeout(std::chrono::milliseconds idle) = 0;
  // Closes the connection at once; pending operations complete with an error.
  virtual void Cancel() = 0;
};

class TlsDialer;

// A WebSocket-over-TLS transport for `endpoint` on `executor`, dialled through `dialer` (which
// must outlive it).
std::unique_ptr<LinkTransport> NewLinkTransport(const LinkEndpoint& endpoint,
                                                boost::asio::any_io_executor executor,
                                                TlsDialer& dialer);

}  // namespace lattice::agent
