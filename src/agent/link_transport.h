// LinkTransport: the carrier of the agent link, one text message at a time. The agent dials
// ws://HOST:PORT/api/v1/agent/link today; TLS (wss://) is another implementation of the same
// interface, picked by NewLinkTransport from the server URL's scheme.
//
// A transport is used from one coroutine context on one executor (not thread-safe): at most
// one Read and one Write outstanding at a time. Errors are kUnavailable (connection refused,
// closed, timed out) or kInvalidArgument (protocol violation, bad URL).
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
  bool tls = false;
  std::string host;    // name or address, without IPv6 brackets
  std::string port;    // always set (80/443 by default)
  std::string target;  // "<url path>/api/v1/agent/link"
  std::string host_header;
};

// Accepts http://, https://, ws:// and wss:// URLs ("http://127.0.0.1:8080"); a path in the
// URL is kept as a prefix of the link path. kInvalidArgument for anything else.
Result<LinkEndpoint> ParseServerUrl(std::string_view server_url);

class LinkTransport {
 public:
  virtual ~LinkTransport() = default;

  // Resolves, connects and completes the handshake within `timeout`.
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

// A transport for `endpoint` on `executor`. kInvalidArgument for wss:// until TLS lands.
Result<std::unique_ptr<LinkTransport>> NewLinkTransport(const LinkEndpoint& endpoint,
                                                        boost::asio::any_io_executor executor);

}  // namespace lattice::agent
