#include "tls/pinned_client.h"

#include <arpa/inet.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cctype>

#include "common/random.h"
#include "common/tls_policy.h"
#include "tls/openssl_util.h"

namespace lattice::tls {
namespace {

struct StoreFree {
  void operator()(X509_STORE* p) const { X509_STORE_free(p); }
};
struct StoreCtxFree {
  void operator()(X509_STORE_CTX* p) const { X509_STORE_CTX_free(p); }
};

bool IsIpAddress(const std::string& host) {
  unsigned char buf[16];
  return ::inet_pton(AF_INET, host.c_str(), buf) == 1 ||
         ::inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

// True for the verification errors that mean "the leaf is not signed by the pinned CA" (the
// pinned certificate may be in the chain without having issued the leaf).
bool NotFromAnchor(int err) {
  switch (err) {
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
      return true;
    default:
      return false;
  }
}

// Replaces OpenSSL's chain verification (SSL_CTX_set_cert_verify_callback). `arg` is the raw
// SHA-256 pin. The original context carries the verification parameters the SSL object set
// (purpose ssl_server, the expected host or IP), which the pinned verification inherits.
int VerifyPinned(X509_STORE_CTX* ctx, void* arg) {
  const std::string& pin = *static_cast<const std::string*>(arg);
  X509* leaf = X509_STORE_CTX_get0_cert(ctx);
  STACK_OF(X509)* chain = X509_STORE_CTX_get0_untrusted(ctx);
  X509* anchor = nullptr;
  for (int i = 0; chain != nullptr && i < sk_X509_num(chain) && anchor == nullptr; ++i)
    if (detail::CertSha256(sk_X509_value(chain, i)) == pin) anchor = sk_X509_value(chain, i);
  if (anchor == nullptr && leaf != nullptr && detail::CertSha256(leaf) == pin) anchor = leaf;
  if (anchor == nullptr) {
    X509_STORE_CTX_set_error(ctx, X509_V_ERR_APPLICATION_VERIFICATION);
    return 0;
  }
  std::unique_ptr<X509_STORE, StoreFree> store(X509_STORE_new());
  std::unique_ptr<X509_STORE_CTX, StoreCtxFree> pinned(X509_STORE_CTX_new());
  if (!store || !pinned || X509_STORE_add_cert(store.get(), anchor) != 1 ||
      X509_STORE_CTX_init(pinned.get(), store.get(), leaf, chain) != 1 ||
      X509_VERIFY_PARAM_set1(X509_STORE_CTX_get0_param(pinned.get()),
                             X509_STORE_CTX_get0_param(ctx)) != 1) {
    X509_STORE_CTX_set_error(ctx, X509_V_ERR_OUT_OF_MEM);
    return 0;
  }
  if (X509_verify_cert(pinned.get()) != 1) {
    const int err = X509_STORE_CTX_get_error(pinned.get());
    X509_STORE_CTX_set_error(ctx, NotFromAnchor(err) ? X509_V_ERR_APPLICATION_VERIFICATION
                                  : err == X509_V_OK ? X509_V_ERR_UNSPECIFIED
                                                     : err);
    return 0;
  }
  X509_STORE_CTX_set_error(ctx, X509_V_OK);
  return 1;
}

}  // namespace

bool IsFingerprint(std::string_view fingerprint) {
  std::string raw;
  return fingerprint.size() == 43 && Base64UrlDecode(fingerprint, raw) && raw.size() == 32;
}

Result<std::unique_ptr<PinnedClient>> PinnedClient::Create(std::string_view fingerprint) {
  std::string raw;
  if (fingerprint.size() != 43 || !Base64UrlDecode(fingerprint, raw) || raw.size() != 32)
    return Error::Invalid("'" + std::string(fingerprint.substr(0, 60)) +
                          "' is not a server CA fingerprint (43 base64url characters)");
  return std::make_unique<PinnedClient>(Private{}, std::string(fingerprint), std::move(raw));
}

PinnedClient::PinnedClient(const Private&, std::string fingerprint, std::string pin_sha256)
    : fingerprint_(std::move(fingerprint)),
      pin_sha256_(std::move(pin_sha256)),
      context_(std::make_unique<boost::asio::ssl::context>(boost::asio::ssl::context::tls_client)) {
  SSL_CTX* c = context_->native_handle();
  SSL_CTX_set_min_proto_version(c, TLS1_3_VERSION);
  SSL_CTX_set_ciphersuites(c, kTls13CipherSuites);
  SSL_CTX_set_mode(c, SSL_MODE_RELEASE_BUFFERS);
  SSL_CTX_set_verify(c, SSL_VERIFY_PEER, nullptr);
  // The pointer stays valid: pin_sha256_ is const and lives as long as the context.
  SSL_CTX_set_cert_verify_callback(c, VerifyPinned,
                                   const_cast<void*>(static_cast<const void*>(&pin_sha256_)));
}

PinnedClient::~PinnedClient() = default;

Status PinnedClient::Prepare(SSL* ssl, std::string_view host) const {
  const std::string h(host);
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  if (IsIpAddress(h)) {
    if (X509_VERIFY_PARAM_set1_ip_asc(param, h.c_str()) != 1)
      return Error::Invalid("cannot verify TLS for address " + h);
    return Status::Ok();
  }
  X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  if (SSL_set_tlsext_host_name(ssl, h.c_str()) != 1 || SSL_set1_host(ssl, h.c_str()) != 1)
    return Error::Invalid("cannot verify TLS for host name '" + h.substr(0, 100) + "'");
  return Status::Ok();
}

Error PinnedClient::HandshakeError(SSL* ssl, std::string_view detail,
                                   std::string_view where) const {
  const long verify = SSL_get_verify_result(ssl);
  const std::string at(where);
  if (verify == X509_V_ERR_APPLICATION_VERIFICATION)
    return Error::Unauthenticated(
        "the server at " + at +
        " is not the server this node trusts: its certificate does not come from the CA pinned "
        "when the node joined (sha256 " +
        fingerprint_ +
        "). Refusing to connect. If the server's CA was replaced on purpose, remove the node's "
        "node.json and join again with a new join token.");
  if (verify != X509_V_OK)
    return Error::Unavailable(
        "TLS handshake with " + at +
        ": the server's certificate is not valid: " + X509_verify_cert_error_string(verify) +
        (verify == X509_V_ERR_HOSTNAME_MISMATCH || verify == X509_V_ERR_IP_ADDRESS_MISMATCH
             ? " (dial the server by a name its certificate carries: the "
               "host of its --advertise-url, its --listen host or "
               "localhost)"
             : ""));
  return Error::Unavailable("TLS handshake with " + at + ": " + std::string(detail));
}

}  // namespace lattice::tls
