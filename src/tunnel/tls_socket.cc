#include "tunnel/tls_socket.h"

#include "common/tls_policy.h"
#include "tunnel/tls_stream_ref.h"

#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <unistd.h>

#include <csignal>
#include <mutex>

namespace lattice::tunnel {

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

namespace {

// The error OpenSSL's queue holds (or a generic one), as an error_code.
error_code SslError(int ssl_error) {
  if (ssl_error == SSL_ERROR_ZERO_RETURN) return asio::error::eof;
  const unsigned long e = ERR_peek_last_error();
  if (ssl_error == SSL_ERROR_SYSCALL && e == 0) {
    if (errno != 0) return {errno, boost::system::system_category()};
    return asio::ssl::error::stream_truncated;
  }
  if (ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING)
    return asio::ssl::error::stream_truncated;
  if (e != 0) return {static_cast<int>(e), asio::error::get_ssl_category()};
  return asio::error::connection_aborted;
}

// Whether `ctx` already puts TLS 1.3's AES-128-GCM first (SSL_CTX_set_ciphersuites).
bool PrefersAes128(SSL_CTX* ctx) {
  STACK_OF(SSL_CIPHER)* ciphers = SSL_CTX_get_ciphers(ctx);
  return ciphers != nullptr && sk_SSL_CIPHER_num(ciphers) > 0 &&
         SSL_CIPHER_get_id(sk_SSL_CIPHER_value(ciphers, 0)) == TLS1_3_CK_AES_128_GCM_SHA256;
}

}  // namespace

error_code TlsSocket::MoveTo(const asio::any_io_executor& ex) {
  error_code ec;
  const tcp::endpoint local = socket_.local_endpoint(ec);
  if (ec) {
    Close();
    return ec;
  }
  // release() takes the descriptor out of the old context's reactor without closing it.
  const tcp::socket::native_handle_type fd = socket_.release(ec);
  if (ec) {
    Close();
    return ec;
  }
  socket_ = tcp::socket(ex);
  socket_.assign(local.protocol(), fd, ec);
  if (!ec) socket_.non_blocking(true, ec);
  if (ec) {
    if (!socket_.is_open()) ::close(fd);
    Close();
  }
  return ec;
}

Result<std::unique_ptr<TlsSocket>> TlsSocket::Create(tcp::socket socket, SSL_CTX* ctx, Role role,
                                                     const std::string& server_name) {
  static std::once_flag sigpipe;
  std::call_once(sigpipe, [] { std::signal(SIGPIPE, SIG_IGN); });
  SSL* ssl = SSL_new(ctx);
  if (ssl == nullptr) return Error::Internal("TLS: cannot allocate a connection");
  auto s = std::make_unique<TlsSocket>(Key{}, std::move(socket), ssl);
  error_code ec;
  s->socket_.non_blocking(true, ec);
  // Small records (a database's replies) must not wait for the peer's delayed ACK.
  if (!ec) s->socket_.set_option(tcp::no_delay(true), ec);
  if (ec) return Error::Unavailable("TLS: " + ec.message());
  // Partial writes let WriteAll stream large buffers; released buffers keep idle ones small.
  SSL_set_mode(ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                        SSL_MODE_RELEASE_BUFFERS);
  // Read whatever the socket has, not a record header and then its body: half the syscalls.
  SSL_set_read_ahead(ssl, 1);
  // AES-128-GCM first (common/tls_policy.h). The project's contexts carry that order already;
  // setting it per connection would cost ≈1 KB of cipher stacks on every idle stream.
  if (!PrefersAes128(ctx)) SSL_set_ciphersuites(ssl, kTls13CipherSuites);
  if (role == Role::kServer) {
    SSL_set_options(ssl, SSL_OP_CIPHER_SERVER_PREFERENCE);
    SSL_set_num_tickets(ssl, 0);  // nobody resumes: no post-handshake ticket to send or hold
  }
  SSL_set_default_read_buffer_len(ssl, 64 * 1024);  // allocated only while data flows
  if (SSL_set_fd(ssl, static_cast<int>(s->socket_.native_handle())) != 1)
    return Error::Internal("TLS: cannot attach the socket");
  if (role == Role::kClient) {
    SSL_set_connect_state(ssl);
    if (!server_name.empty()) {
      // SNI only for names (RFC 6066 forbids literal addresses); the check covers both.
      error_code aec;
      asio::ip::make_address(server_name, aec);
      if (aec) SSL_set_tlsext_host_name(ssl, server_name.c_str());
      X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
      X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
      const int ok = aec ? X509_VERIFY_PARAM_set1_host(param, server_name.c_str(), 0)
                         : X509_VERIFY_PARAM_set1_ip_asc(param, server_name.c_str());
      if (ok != 1) return Error::Invalid("TLS: bad server name '" + server_name + "'");
    }
  } else {
    SSL_set_accept_state(ssl);
  }
  return s;
}

TlsSocket::TlsSocket(Key, tcp::socket socket, SSL* ssl) : socket_(std::move(socket)), ssl_(ssl) {}

TlsSocket::~TlsSocket() {
  SSL_free(ssl_);
}

asio::awaitable<error_code> TlsSocket::WaitFor(int ssl_error) {
  const auto what =
      ssl_error == SSL_ERROR_WANT_WRITE ? tcp::socket::wait_write : tcp::socket::wait_read;
  auto [ec] = co_await socket_.async_wait(what, kNoThrow);
  co_return ec;
}

asio::awaitable<Status> TlsSocket::Handshake() {
  for (;;) {
    ERR_clear_error();
    errno = 0;
    const int r = SSL_do_handshake(ssl_);
    if (r == 1) co_return Status::Ok();
    const int err = SSL_get_error(ssl_, r);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
      if (error_code ec = co_await WaitFor(err))
        co_return Error::Unavailable("TLS handshake: " + ec.message());
      continue;
    }
    const long verify = SSL_get_verify_result(ssl_);
    if (verify != X509_V_OK)
      co_return Error::Unauthenticated(std::string("TLS: the peer's certificate is refused: ") +
                                       X509_verify_cert_error_string(verify));
    char buf[256] = {0};
    const unsigned long e = ERR_peek_last_error();
    if (e != 0) ERR_error_string_n(e, buf, sizeof buf);
    co_return Error::Unavailable(std::string("TLS handshake failed: ") +
                                 (e != 0 ? buf : SslError(err).message().c_str()));
  }
}

bool TlsSocket::HasPending() const {
  return SSL_has_pending(ssl_) == 1;
}

asio::awaitable<error_code> TlsSocket::WaitReadable() {
  if (HasPending()) co_return error_code{};
  co_return co_await WaitFor(read_wants_write_ ? SSL_ERROR_WANT_WRITE : SSL_ERROR_WANT_READ);
}

std::size_t TlsSocket::TryRead(void* data, std::size_t size, error_code& ec) {
  ERR_clear_error();
  errno = 0;
  std::size_t n = 0;
  const int r = SSL_read_ex(ssl_, data, size, &n);
  read_wants_write_ = false;
  if (r == 1) {
    ec = {};
    return n;
  }
  const int err = SSL_get_error(ssl_, r);
  if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
    read_wants_write_ = err == SSL_ERROR_WANT_WRITE;
    ec = asio::error::would_block;
    return 0;
  }
  ec = SslError(err);
  return 0;
}

std::size_t TlsSocket::TryWrite(const void* data, std::size_t size, error_code& ec, int& wait) {
  ERR_clear_error();
  errno = 0;
  std::size_t n = 0;
  const int r = SSL_write_ex(ssl_, data, size, &n);
  if (r == 1) {
    ec = {};
    return n;
  }
  const int err = SSL_get_error(ssl_, r);
  if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
    wait = err;
    ec = asio::error::would_block;
    return 0;
  }
  ec = SslError(err);
  return 0;
}

void teardown(boost::beast::role_type, TlsStreamRef& s, error_code& ec) {
  s.socket().Close();
  ec = {};
}

asio::awaitable<error_code> TlsSocket::WriteAll(const void* data, std::size_t size) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    ERR_clear_error();
    errno = 0;
    std::size_t n = 0;
    const int r = SSL_write_ex(ssl_, p, size, &n);
    if (r == 1) {
      p += n;
      size -= n;
      continue;
    }
    const int err = SSL_get_error(ssl_, r);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
      if (error_code ec = co_await WaitFor(err)) co_return ec;
      continue;
    }
    co_return SslError(err);
  }
  co_return error_code{};
}

bool TlsSocket::TryShutdownSend(error_code& ec, int& wait) {
  ec = {};
  if (sent_shutdown_) return true;
  ERR_clear_error();
  errno = 0;
  const int r = SSL_shutdown(ssl_);
  if (r >= 0) {  // 0: close_notify sent, the peer's not yet received; that is all we want
    sent_shutdown_ = true;
    return true;
  }
  const int err = SSL_get_error(ssl_, r);
  if (err == SSL_ERROR_WANT_WRITE || err == SSL_ERROR_WANT_READ) {
    wait = err;
    return false;
  }
  ec = SslError(err);
  return true;
}

asio::awaitable<error_code> TlsSocket::ShutdownSend() {
  for (;;) {
    error_code ec;
    int wait = 0;
    if (TryShutdownSend(ec, wait)) co_return ec;
    if ((ec = co_await WaitFor(wait))) co_return ec;
  }
}

void TlsSocket::Close() {
  error_code ec;
  socket_.shutdown(tcp::socket::shutdown_both, ec);
  socket_.close(ec);
}

}  // namespace lattice::tunnel
