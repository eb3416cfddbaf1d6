// TlsDialer: the agent's TLS connections to the server, pinned to the server's CA (the
// fingerprint from the join token, kept in node.json). It holds ONE ssl::context for all of
// them, never one per connection: the link dials through Connect, and the tunnels' data
// connections (TunnelClient, lean tunnel::TlsSockets) take context().native_handle().
//
// Thread-safe: Connect may run concurrently on any executors. The dialer must outlive the
// streams it made.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "agent/link_transport.h"
#include "common/result.h"
#include "tls/pinned_client.h"
#include "tls/tls_stream.h"

namespace lattice::agent {

class TlsDialer {
 public:
  // kInvalidArgument if `ca_fingerprint` is not a CA fingerprint (43 base64url characters).
  static Result<std::unique_ptr<TlsDialer>> Create(std::string_view ca_fingerprint);
  explicit TlsDialer(std::unique_ptr<tls::PinnedClient> client);
  TlsDialer(const TlsDialer&) = delete;
  TlsDialer& operator=(const TlsDialer&) = delete;

  const std::string& ca_fingerprint() const { return client_->fingerprint(); }
  // The shared context: for streams passed to Connect, and for tunnel::TlsSocket::Create
  // (context().native_handle(); give it the host as server_name so the name is checked too).
  boost::asio::ssl::context& context() { return client_->context(); }

  // Resolves endpoint.host, connects and completes the TLS handshake on `stream` (made from
  // context(), not yet connected), all within `timeout`; the stream is then left without a
  // deadline. Closing the stream's socket cancels a Connect in progress.
  // kUnauthenticated when the server does not present the pinned CA (retrying cannot help);
  // kUnavailable otherwise (resolve, connect, timeout, an invalid certificate).
  boost::asio::awaitable<Status> Connect(tls::TlsStream& stream, const LinkEndpoint& endpoint,
                                         std::chrono::milliseconds timeout);

 private:
  const std::unique_ptr<tls::PinnedClient> client_;
};

}  // namespace lattice::agent
