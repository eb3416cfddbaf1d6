// PinnedClient: the client side of TLS to a Lattice server. It trusts exactly one CA — the one
// whose certificate's SHA-256 equals the pin (ServerPki::Fingerprint, carried by the join
// token) — and never the system trust store, nor "whatever the server presents first".
//
// Agents start with nothing but the pin, so verification works on the chain the server sends:
// find the certificate whose SHA-256 is the pin, then verify the leaf against a store that
// holds only that CA (signature, validity, serverAuth purpose), and check that the leaf names
// the host that was dialled (DNS or IP subjectAltName). A wrong pin, another CA, or an
// unrelated self-signed certificate fails the handshake.
//
// One PinnedClient (one ssl::context) serves every connection of a process: connections (Asio
// SSL streams or tunnel::TlsSockets) are made from context(). Immutable after Create();
// thread-safe for concurrent handshakes.
#pragma once

#include <openssl/ssl.h>
#include <boost/asio/ssl/context.hpp>

#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"

namespace lattice::tls {

// True when `fingerprint` has the pin format: 43 unpadded base64url characters (32 bytes).
bool IsFingerprint(std::string_view fingerprint);

class PinnedClient {
  struct Private {};  // only Create constructs

 public:
  // kInvalidArgument if `fingerprint` is not in the pin format.
  static Result<std::unique_ptr<PinnedClient>> Create(std::string_view fingerprint);
  PinnedClient(const Private&, std::string fingerprint, std::string pin_sha256);
  ~PinnedClient();
  PinnedClient(const PinnedClient&) = delete;
  PinnedClient& operator=(const PinnedClient&) = delete;

  const std::string& fingerprint() const { return fingerprint_; }
  // TLS 1.3 only, peer verification as above, SSL_MODE_RELEASE_BUFFERS.
  boost::asio::ssl::context& context() { return *context_; }

  // Prepares a new connection made from context() for dialling `host` (a name or an IP
  // address, without brackets): SNI for names, and the name or address the leaf must carry.
  Status Prepare(SSL* ssl, std::string_view host) const;

  // The error for a failed handshake of a prepared connection, with a message that says what
  // went wrong and what to do: kUnauthenticated when the server's chain does not contain the
  // pinned CA (another server, or its CA was replaced); kUnavailable for everything else (the
  // network, a timeout, an expired certificate or one that does not name the host). `detail`
  // is the I/O error's text; `where` is "host:port".
  Error HandshakeError(SSL* ssl, std::string_view detail, std::string_view where) const;

 private:
  const std::string fingerprint_;
  const std::string pin_sha256_;  // raw 32 bytes; the verify callback's argument
  std::unique_ptr<boost::asio::ssl::context> context_;
};

}  // namespace lattice::tls
