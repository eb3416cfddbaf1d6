// Test-only TLS material: a throw-away CA and a leaf certificate it signs (SANs 127.0.0.1 and
// localhost), as ready-made OpenSSL contexts. For tests of TLS code in any module; never linked
// into the product (the product's CA lives in src/tls/).
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <string>

namespace lattice::tunnel::testing {

struct SslCtxFree {
  void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
};
using SslCtxPtr = std::unique_ptr<SSL_CTX, SslCtxFree>;

struct TestPki {
  SslCtxPtr server;    // presents the leaf (and the CA) — TLS 1.3, SSL_MODE_RELEASE_BUFFERS
  SslCtxPtr client;    // trusts only this CA, verifies the peer
  std::string ca_pem;  // the CA, for a client in another process (MakeTestClient)
};

// A fresh CA each call (so two calls give two PKIs that do not trust each other).
TestPki MakeTestPki();

// A client context like TestPki::client that trusts the CA in `ca_pem`; throws on bad PEM.
SslCtxPtr MakeTestClient(const std::string& ca_pem);

}  // namespace lattice::tunnel::testing
