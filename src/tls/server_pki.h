// ServerPki: the server's own certificate authority and the certificate it serves TLS with.
//
// At first start it creates an ECDSA P-256 CA valid for 10 years and keeps it in
// <tls_dir>/ca.key (PKCS#8 PEM, mode 0600) and <tls_dir>/ca.crt (PEM); both are written
// atomically (temporary file, fsync, link/rename, fsync of the directory) and loaded on every
// later start. At every start it issues a fresh leaf certificate (P-256, 1 year) signed by the
// CA, whose subject alternative names are every name the server is known by plus localhost,
// 127.0.0.1 and ::1. The leaf's key lives only in memory.
//
// Agents never trust a public CA here: a join token carries Fingerprint() and the agent pins
// it (see pinned_client.h). Replicas that share a database must share ca.key and ca.crt.
//
// Immutable after LoadOrCreate; server_context() may be used from any thread for new streams.
#pragma once

#include <boost/asio/ssl/context.hpp>

#include <memory>
#include <string>
#include <vector>

#include "common/result.h"

namespace lattice::tls {

struct PkiOptions {
  // Host names and IP addresses the server is reached by (listen host, advertise-URL host,
  // public host, ...). Empty entries and duplicates are skipped; anything that is neither an
  // IP address nor a DNS name is kInvalidArgument.
  std::vector<std::string> names;
  int leaf_days = 365;
};

class ServerPki {
  struct Private {};  // only LoadOrCreate constructs

 public:
  // Loads the CA from `tls_dir` (creating the directory, mode 0700, and the CA if absent) and
  // issues a leaf for `options.names`. kInvalidArgument for a bad name; kUnavailable when the
  // files cannot be read or written; kInternal when they are corrupt or do not match.
  static Result<std::unique_ptr<ServerPki>> LoadOrCreate(const std::string& tls_dir,
                                                         const PkiOptions& options);
  explicit ServerPki(const Private&) {}  // use LoadOrCreate()
  ~ServerPki();
  ServerPki(const ServerPki&) = delete;
  ServerPki& operator=(const ServerPki&) = delete;

  // SHA-256 of the CA certificate's DER, unpadded base64url (43 characters).
  const std::string& Fingerprint() const { return fingerprint_; }
  const std::string& CaCertPem() const { return ca_pem_; }
  const std::string& LeafCertPem() const { return leaf_pem_; }
  // The names in the leaf's subjectAltName, in order.
  const std::vector<std::string>& Names() const { return names_; }

  // TLS 1.3 only; presents the leaf and the CA; SSL_MODE_RELEASE_BUFFERS; no session tickets
  // (agents do not resume sessions).
  boost::asio::ssl::context& server_context() { return *context_; }

 private:
  std::string fingerprint_;
  std::string ca_pem_;
  std::string leaf_pem_;
  std::vector<std::string> names_;
  std::unique_ptr<boost::asio::ssl::context> context_;
};

}  // namespace lattice::tls
