#include "tls/server_pki.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include "common/random.h"
#include "common/tls_policy.h"
#include "tls/openssl_util.h"

namespace lattice::tls {
namespace {

namespace fs = std::filesystem;
using detail::CertFromPem;
using detail::KeyFromPem;
using detail::LastOpenSslError;
using detail::PkeyPtr;
using detail::X509Ptr;

constexpr int kCaDays = 3650;
constexpr long kBackdateSeconds = 3600;  // tolerate an agent's clock running a little behind

struct GeneralNamesFree {
  void operator()(GENERAL_NAMES* p) const { GENERAL_NAMES_free(p); }
};
struct ExtFree {
  void operator()(X509_EXTENSION* p) const { X509_EXTENSION_free(p); }
};

Error SslError(const std::string& what) {
  return Error::Internal(what + ": " + LastOpenSslError());
}

// The bytes of an IP address, or nullopt if `s` is not one.
std::optional<std::string> IpBytes(std::string_view s) {
  std::string text(s);
  if (text.size() > 2 && text.front() == '[' && text.back() == ']')
    text = text.substr(1, text.size() - 2);
  unsigned char buf[16];
  if (::inet_pton(AF_INET, text.c_str(), buf) == 1)
    return std::string(reinterpret_cast<char*>(buf), 4);
  if (::inet_pton(AF_INET6, text.c_str(), buf) == 1)
    return std::string(reinterpret_cast<char*>(buf), 16);
  return std::nullopt;
}

bool IsDnsName(std::string_view s) {
  if (s.empty() || s.size() > 253 || s.front() == '.' || s.front() == '-') return false;
  return std::all_of(s.begin(), s.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '-' || c == '.' || c == '_';
  });
}

// The SAN list: `names` then the loopback names, without duplicates. An unspecified listen
// address (0.0.0.0, ::) stays: on this machine it is dialled like loopback.
Result<std::vector<std::string>> SanNames(const std::vector<std::string>& names) {
  std::vector<std::string> out;
  std::vector<std::string> seen_ips;
  auto add = [&](std::string name) -> Status {
    if (name.size() > 2 && name.front() == '[' && name.back() == ']')
      name = name.substr(1, name.size() - 2);
    if (name.empty()) return Status::Ok();
    if (auto ip = IpBytes(name)) {
      if (std::find(seen_ips.begin(), seen_ips.end(), *ip) != seen_ips.end()) return Status::Ok();
      seen_ips.push_back(*ip);
      out.push_back(std::move(name));
      return Status::Ok();
    }
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (!IsDnsName(name))
      return Error::Invalid("'" + name.substr(0, 100) +
                            "' is neither a host name nor an IP address, so it cannot be put in "
                            "the server's certificate");
    if (std::find(out.begin(), out.end(), name) == out.end()) out.push_back(std::move(name));
    return Status::Ok();
  };
  for (const auto& n : names)
    if (Status s = add(n); !s.ok()) return std::move(s).error();
  for (const char* n : {"localhost", "127.0.0.1", "::1"}) (void)add(n);
  return out;
}

PkeyPtr NewP256Key() {
  return PkeyPtr(EVP_EC_gen("P-256"));
}

bool SetRandomSerial(X509* cert) {
  std::string bytes = RandomBytes(16);
  bytes[0] = static_cast<char>(bytes[0] & 0x7f);  // positive
  BIGNUM* bn = BN_bin2bn(reinterpret_cast<const unsigned char*>(bytes.data()),
                         static_cast<int>(bytes.size()), nullptr);
  const bool ok = bn != nullptr && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) != nullptr;
  BN_free(bn);
  return ok;
}

// Adds an extension given in OpenSSL's config syntax. `value` is always a constant here, never
// input: names go through AddSubjectAltNames.
bool AddExt(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  std::unique_ptr<X509_EXTENSION, ExtFree> ext(
      X509V3_EXT_conf_nid(nullptr, &ctx, nid, const_cast<char*>(value)));
  return ext && X509_add_ext(cert, ext.get(), -1) == 1;
}

bool AddSubjectAltNames(X509* cert, const std::vector<std::string>& names) {
  std::unique_ptr<GENERAL_NAMES, GeneralNamesFree> gens(sk_GENERAL_NAME_new_null());
  if (!gens) return false;
  for (const auto& n : names) {
    GENERAL_NAME* g = GENERAL_NAME_new();
    if (g == nullptr) return false;
    if (auto ip = IpBytes(n)) {
      ASN1_OCTET_STRING* os = ASN1_OCTET_STRING_new();
      if (os == nullptr ||
          ASN1_OCTET_STRING_set(os, reinterpret_cast<const unsigned char*>(ip->data()),
                                static_cast<int>(ip->size())) != 1) {
        ASN1_OCTET_STRING_free(os);
        GENERAL_NAME_free(g);
        return false;
      }
      GENERAL_NAME_set0_value(g, GEN_IPADD, os);
    } else {
      ASN1_IA5STRING* s = ASN1_IA5STRING_new();
      if (s == nullptr || ASN1_STRING_set(s, n.data(), static_cast<int>(n.size())) != 1) {
        ASN1_IA5STRING_free(s);
        GENERAL_NAME_free(g);
        return false;
      }
      GENERAL_NAME_set0_value(g, GEN_DNS, s);
    }
    if (sk_GENERAL_NAME_push(gens.get(), g) == 0) {
      GENERAL_NAME_free(g);
      return false;
    }
  }
  return X509_add1_ext_i2d(cert, NID_subject_alt_name, gens.get(), 0, X509V3_ADD_DEFAULT) == 1;
}

// A certificate for `key` with common name `cn`, signed by (issuer, issuer_key) — or
// self-signed when issuer is null.
Result<X509Ptr> MakeCert(EVP_PKEY* key, const std::string& cn, X509* issuer, EVP_PKEY* issuer_key,
                         int days, bool is_ca, const std::vector<std::string>& names) {
  X509Ptr cert(X509_new());
  if (!cert || X509_set_version(cert.get(), 2) != 1 || !SetRandomSerial(cert.get()))
    return SslError("cannot create a certificate");
  X509_NAME* subject = X509_get_subject_name(cert.get());
  const auto* o = reinterpret_cast<const unsigned char*>("Lattice");
  const auto* c = reinterpret_cast<const unsigned char*>(cn.c_str());
  if (X509_NAME_add_entry_by_txt(subject, "O", MBSTRING_ASC, o, -1, -1, 0) != 1 ||
      X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC, c, -1, -1, 0) != 1)
    return SslError("cannot name the certificate");
  X509* signer = issuer ? issuer : cert.get();
  EVP_PKEY* signer_key = issuer ? issuer_key : key;
  if (X509_set_issuer_name(cert.get(), X509_get_subject_name(signer)) != 1 ||
      X509_gmtime_adj(X509_getm_notBefore(cert.get()), -kBackdateSeconds) == nullptr ||
      X509_time_adj_ex(X509_getm_notAfter(cert.get()), days, 0, nullptr) == nullptr ||
      X509_set_pubkey(cert.get(), key) != 1)
    return SslError("cannot fill in the certificate");
  bool ok = AddExt(cert.get(), signer, NID_subject_key_identifier, "hash");
  if (is_ca) {
    ok = ok && AddExt(cert.get(), signer, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") &&
         AddExt(cert.get(), signer, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    ok = ok && AddExt(cert.get(), signer, NID_authority_key_identifier, "keyid:always") &&
         AddExt(cert.get(), signer, NID_basic_constraints, "critical,CA:FALSE") &&
         AddExt(cert.get(), signer, NID_key_usage, "critical,digitalSignature") &&
         AddExt(cert.get(), signer, NID_ext_key_usage, "serverAuth") &&
         AddSubjectAltNames(cert.get(), names);
  }
  if (!ok) return SslError("cannot add the certificate's extensions");
  if (X509_sign(cert.get(), signer_key, EVP_sha256()) <= 0)
    return SslError("cannot sign the certificate");
  return cert;
}

// The file's contents; nullopt if it does not exist.
Result<std::optional<std::string>> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::error_code ec;
    if (!fs::exists(path, ec)) return std::optional<std::string>();
    return Error::Unavailable("cannot read " + path + ": " + std::strerror(errno));
  }
  std::stringstream text;
  text << in.rdbuf();
  return std::optional<std::string>(text.str());
}

// Writes `data` to a temporary file (mode `mode`), fsyncs it and links it into place unless
// `path` already exists — then the existing file wins, so concurrent first starts agree on one
// CA and nobody ever reads half a file. Ok in both cases; callers re-read `path`.
Status InstallNew(const std::string& path, const std::string& data, mode_t mode) {
  const std::string tmp = path + ".tmp." + RandomToken(6);
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return Error::Unavailable("cannot create " + tmp + ": " + std::strerror(errno));
  std::size_t done = 0;
  bool ok = ::fchmod(fd, mode) == 0;
  while (ok && done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) done += static_cast<std::size_t>(n);
  }
  ok = ok && ::fsync(fd) == 0;
  const int write_errno = errno;
  ::close(fd);
  const bool linked = ok && ::link(tmp.c_str(), path.c_str()) == 0;
  const int link_errno = errno;
  ::unlink(tmp.c_str());
  if (!ok) return Error::Unavailable("cannot write " + tmp + ": " + std::strerror(write_errno));
  if (!linked && link_errno != EEXIST)
    return Error::Unavailable("cannot install " + path + ": " + std::strerror(link_errno));
  const std::string dir = fs::path(path).parent_path().string();
  if (const int d = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); d >= 0) {
    ::fsync(d);  // make the new name durable
    ::close(d);
  }
  return Status::Ok();
}

Result<std::unique_ptr<boost::asio::ssl::context>> NewServerContext(X509* leaf, EVP_PKEY* key,
                                                                    X509* ca) {
  auto ctx = std::make_unique<boost::asio::ssl::context>(boost::asio::ssl::context::tls_server);
  SSL_CTX* c = ctx->native_handle();
  if (SSL_CTX_set_min_proto_version(c, TLS1_3_VERSION) != 1 ||
      SSL_CTX_use_certificate(c, leaf) != 1 || SSL_CTX_use_PrivateKey(c, key) != 1 ||
      SSL_CTX_add1_chain_cert(c, ca) != 1 || SSL_CTX_check_private_key(c) != 1 ||
      SSL_CTX_set_ciphersuites(c, kTls13CipherSuites) != 1)
    return SslError("cannot set up the server's TLS context");
  // Idle connections (tunnel streams) give their read/write buffers back to the allocator.
  SSL_CTX_set_mode(c, SSL_MODE_RELEASE_BUFFERS);
  // Agents never resume sessions: no tickets, no cache.
  SSL_CTX_set_num_tickets(c, 0);
  SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
  return ctx;
}

}  // namespace

ServerPki::~ServerPki() = default;

Result<std::unique_ptr<ServerPki>> ServerPki::LoadOrCreate(const std::string& tls_dir,
                                                           const PkiOptions& options) {
  auto names = SanNames(options.names);
  if (!names.ok()) return std::move(names).error();
  std::error_code ec;
  fs::create_directories(tls_dir, ec);
  if (ec) return Error::Unavailable("cannot create " + tls_dir + ": " + ec.message());
  ::chmod(tls_dir.c_str(), 0700);
  const std::string key_path = (fs::path(tls_dir) / "ca.key").string();
  const std::string crt_path = (fs::path(tls_dir) / "ca.crt").string();

  auto key_pem = ReadFile(key_path);
  if (!key_pem.ok()) return std::move(key_pem).error();
  auto crt_pem = ReadFile(crt_path);
  if (!crt_pem.ok()) return std::move(crt_pem).error();
  if (!*key_pem && *crt_pem)
    return Error::Internal(crt_path + " exists but " + key_path +
                           " does not: restore the key from a backup, or remove " + crt_path +
                           " to create a new CA (every node must then join again)");
  if (!*key_pem) {
    PkeyPtr key = NewP256Key();
    if (!key) return SslError("cannot generate the CA key");
    if (Status s = InstallNew(key_path, detail::KeyToPem(key.get()), 0600); !s.ok())
      return std::move(s).error();
    key_pem = ReadFile(key_path);
    if (!key_pem.ok()) return std::move(key_pem).error();
  }
  PkeyPtr ca_key = *key_pem ? KeyFromPem(**key_pem) : nullptr;
  if (!ca_key) return Error::Internal(key_path + " does not hold a private key");
  struct stat st {};
  if (::stat(key_path.c_str(), &st) == 0 && (st.st_mode & 077) != 0) {
    spdlog::warn("msg=\"CA key was readable by others; restricting it to 0600\" path=\"{}\"",
                 key_path);
    ::chmod(key_path.c_str(), 0600);
  }

  if (!*crt_pem) {
    auto ca = MakeCert(ca_key.get(), "Lattice CA " + RandomToken(6), nullptr, nullptr, kCaDays,
                       /*is_ca=*/true, {});
    if (!ca.ok()) return std::move(ca).error();
    // Public, but like everything in the data dir owner-only: agents get it by fingerprint.
    if (Status s = InstallNew(crt_path, detail::CertToPem(ca->get()), 0600); !s.ok())
      return std::move(s).error();
    crt_pem = ReadFile(crt_path);
    if (!crt_pem.ok()) return std::move(crt_pem).error();
    spdlog::info("msg=\"created the server's certificate authority\" dir=\"{}\"", tls_dir);
  }
  X509Ptr ca = *crt_pem ? CertFromPem(**crt_pem) : nullptr;
  if (!ca) return Error::Internal(crt_path + " does not hold a certificate");
  if (X509_check_private_key(ca.get(), ca_key.get()) != 1)
    return Error::Internal(crt_path + " does not belong to " + key_path);
  if (X509_check_ca(ca.get()) == 0) return Error::Internal(crt_path + " is not a CA certificate");
  if (X509_cmp_current_time(X509_get0_notAfter(ca.get())) <= 0)
    return Error::Internal(crt_path + " has expired: remove " + tls_dir +
                           " to create a new CA (every node must then join again)");

  PkeyPtr leaf_key = NewP256Key();
  if (!leaf_key) return SslError("cannot generate the server's key");
  auto leaf = MakeCert(leaf_key.get(), names->front(), ca.get(), ca_key.get(), options.leaf_days,
                       /*is_ca=*/false, *names);
  if (!leaf.ok()) return std::move(leaf).error();
  auto ctx = NewServerContext(leaf->get(), leaf_key.get(), ca.get());
  if (!ctx.ok()) return std::move(ctx).error();

  auto pki = std::make_unique<ServerPki>(Private{});
  pki->fingerprint_ = detail::CertFingerprint(ca.get());
  pki->ca_pem_ = detail::CertToPem(ca.get());
  pki->leaf_pem_ = detail::CertToPem(leaf->get());
  pki->names_ = std::move(*names);
  pki->context_ = std::move(*ctx);
  if (pki->fingerprint_.empty()) return SslError("cannot fingerprint the CA");
  return pki;
}

}  // namespace lattice::tls
