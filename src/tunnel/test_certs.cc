#include "tunnel/test_certs.h"

#include "common/tls_policy.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <stdexcept>

namespace lattice::tunnel::testing {
namespace {

EVP_PKEY* NewKey() {
  EVP_PKEY* k = EVP_EC_gen("P-256");
  if (k == nullptr) throw std::runtime_error("EC key generation failed");
  return k;
}

X509* NewCert(EVP_PKEY* key, EVP_PKEY* signer, X509* issuer, const char* cn, bool ca) {
  X509* x = X509_new();
  X509_set_version(x, 2);
  static long serial = 1;
  ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
  X509_gmtime_adj(X509_getm_notBefore(x), -60);
  X509_gmtime_adj(X509_getm_notAfter(x), 3600);
  X509_set_pubkey(x, key);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn),
                             -1, -1, 0);
  X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);
  X509V3_CTX v3;
  X509V3_set_ctx_nodb(&v3);
  X509V3_set_ctx(&v3, issuer ? issuer : x, x, nullptr, nullptr, 0);
  const auto add = [&](int nid, const char* value) {
    X509_EXTENSION* e = X509V3_EXT_conf_nid(nullptr, &v3, nid, value);
    X509_add_ext(x, e, -1);
    X509_EXTENSION_free(e);
  };
  if (ca) {
    add(NID_basic_constraints, "critical,CA:TRUE");
    add(NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    add(NID_basic_constraints, "critical,CA:FALSE");
    add(NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost");
    add(NID_ext_key_usage, "serverAuth");
  }
  X509_sign(x, signer, EVP_sha256());
  return x;
}

SslCtxPtr NewClientContext(X509* ca) {
  SslCtxPtr c(SSL_CTX_new(TLS_client_method()));
  SSL_CTX_set_min_proto_version(c.get(), TLS1_3_VERSION);
  SSL_CTX_set_ciphersuites(c.get(), kTls13CipherSuites);
  SSL_CTX_set_mode(c.get(), SSL_MODE_RELEASE_BUFFERS);
  X509_STORE_add_cert(SSL_CTX_get_cert_store(c.get()), ca);
  SSL_CTX_set_verify(c.get(), SSL_VERIFY_PEER, nullptr);
  return c;
}

}  // namespace

TestPki MakeTestPki() {
  EVP_PKEY* ca_key = NewKey();
  X509* ca = NewCert(ca_key, ca_key, nullptr, "lattice test CA", true);
  EVP_PKEY* leaf_key = NewKey();
  X509* leaf = NewCert(leaf_key, ca_key, ca, "lattice test server", false);

  TestPki p;
  p.server.reset(SSL_CTX_new(TLS_server_method()));
  SSL_CTX_set_min_proto_version(p.server.get(), TLS1_3_VERSION);
  SSL_CTX_set_ciphersuites(p.server.get(), kTls13CipherSuites);
  SSL_CTX_set_mode(p.server.get(), SSL_MODE_RELEASE_BUFFERS);
  SSL_CTX_use_certificate(p.server.get(), leaf);
  SSL_CTX_use_PrivateKey(p.server.get(), leaf_key);
  SSL_CTX_add1_chain_cert(p.server.get(), ca);

  p.client = NewClientContext(ca);
  BIO* out = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(out, ca);
  char* data = nullptr;
  const long n = BIO_get_mem_data(out, &data);
  p.ca_pem.assign(data, static_cast<std::size_t>(n));
  BIO_free(out);

  X509_free(leaf);
  X509_free(ca);
  EVP_PKEY_free(leaf_key);
  EVP_PKEY_free(ca_key);
  return p;
}

SslCtxPtr MakeTestClient(const std::string& ca_pem) {
  BIO* in = BIO_new_mem_buf(ca_pem.data(), static_cast<int>(ca_pem.size()));
  X509* ca = PEM_read_bio_X509(in, nullptr, nullptr, nullptr);
  BIO_free(in);
  if (ca == nullptr) throw std::runtime_error("MakeTestClient: not a PEM certificate");
  SslCtxPtr c = NewClientContext(ca);
  X509_free(ca);
  return c;
}

}  // namespace lattice::tunnel::testing
