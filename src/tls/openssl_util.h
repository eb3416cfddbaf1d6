// Small RAII and encoding helpers over OpenSSL's C API, private to src/tls.
#pragma once

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <memory>
#include <string>
#include <string_view>

namespace lattice::tls::detail {

struct X509Free {
  void operator()(X509* p) const { X509_free(p); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

// The oldest error on this thread's OpenSSL error queue (which is then cleared), or "unknown".
std::string LastOpenSslError();

// Raw SHA-256 of the certificate's DER encoding (32 bytes), or empty on failure.
std::string CertSha256(X509* cert);

// Unpadded base64url of CertSha256: the pin format.
std::string CertFingerprint(X509* cert);

// PEM text of a certificate / a private key (PKCS#8, unencrypted).
std::string CertToPem(X509* cert);
std::string KeyToPem(EVP_PKEY* key);

// Parses PEM text; nullptr if it does not hold a certificate / private key.
X509Ptr CertFromPem(std::string_view pem);
PkeyPtr KeyFromPem(std::string_view pem);

}  // namespace lattice::tls::detail
