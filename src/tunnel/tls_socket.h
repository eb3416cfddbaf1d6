// TlsSocket: TLS over one TCP socket, with OpenSSL reading and writing the socket itself.
//
// Why not asio::ssl::stream: it keeps two 17 KB buffers and a BIO pair with two more per
// connection, for as long as the connection lives. A tunnel edge holds one TLS data connection
// per outside connection, most of them idle (database pools), so that is ~70 KB each. Here an
// idle connection costs the SSL object and the socket: contexts are expected to set
// SSL_MODE_RELEASE_BUFFERS (OpenSSL then frees its record buffers while nothing is in flight),
// and readers wait for readiness before they take a buffer (WaitReadable, then TryRead).
//
// Everything is non-blocking: an operation calls OpenSSL and, when it wants the socket, waits
// for readiness on it. One reader and one writer may be in progress at once, driven from one
// strand (OpenSSL is never entered concurrently). Close() may be called from that strand at any
// time; operations in progress then fail. Writes never raise SIGPIPE (process-wide SIG_IGN is
// installed on first use, as servers do).
//
// End of stream: ShutdownSend() sends close_notify (TLS 1.3 half-close: this side may keep
// reading); the peer's close_notify is read as boost::asio::error::eof; a TCP close without
// close_notify as boost::asio::ssl::error::stream_truncated.
#pragma once

#include <openssl/ssl.h>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <cstddef>
#include <memory>
#include <string>

#include "common/result.h"

namespace lattice::tunnel {

class TlsSocket {
 public:
  enum class Role { kClient, kServer };

  // Takes the connected socket. `ctx` must outlive the TlsSocket. For a client, a non-empty
  // `server_name` is sent as SNI and required in the peer certificate (hostname verification,
  // on top of whatever verification `ctx` does). kInternal if OpenSSL cannot allocate.
  static Result<std::unique_ptr<TlsSocket>> Create(boost::asio::ip::tcp::socket socket,
                                                   SSL_CTX* ctx, Role role,
                                                   const std::string& server_name = "");
  ~TlsSocket();
  TlsSocket(const TlsSocket&) = delete;
  TlsSocket& operator=(const TlsSocket&) = delete;

  // Completes the TLS handshake. kUnauthenticated when the peer's certificate is refused
  // (the message says why), kUnavailable for I/O failures. Bound it with a timer + Close().
  boost::asio::awaitable<Status> Handshake();

  // Returns once a TryRead can make progress (decrypted bytes pending, or the socket readable),
  // without holding any buffer. An error only if the socket failed or was closed.
  boost::asio::awaitable<boost::system::error_code> WaitReadable();
  // Reads what is available now into [data, data+size): the count (> 0), or 0 with `ec` set:
  // would_block (wait again), eof (close_notify received), or another error.
  std::size_t TryRead(void* data, std::size_t size, boost::system::error_code& ec);
  // True if OpenSSL holds decrypted or undecrypted bytes a TryRead would return without I/O.
  bool HasPending() const;

  // Writes what it can of [data, data+size) now: the count, or 0 with `ec` = would_block and
  // `wait` = the SSL_ERROR_WANT_* to wait for, or another error.
  std::size_t TryWrite(const void* data, std::size_t size, boost::system::error_code& ec,
                       int& wait);
  // What a reader that got would_block waits for on the socket.
  boost::asio::socket_base::wait_type read_wait_type() const {
    return read_wants_write_ ? boost::asio::socket_base::wait_write
                             : boost::asio::socket_base::wait_read;
  }

  // Writes all of [data, data+size).
  boost::asio::awaitable<boost::system::error_code> WriteAll(const void* data, std::size_t size);
  // Sends close_notify once; later writes fail, reads go on.
  boost::asio::awaitable<boost::system::error_code> ShutdownSend();
  // The same without waiting: true when sent (or failed: `ec`), false with `wait` = the
  // SSL_ERROR_WANT_* to wait for before calling again.
  bool TryShutdownSend(boost::system::error_code& ec, int& wait);
  // Closes the socket at once (no close_notify).
  void Close();

  boost::asio::ip::tcp::socket& socket() { return socket_; }
  SSL* native_handle() { return ssl_; }

  // Moves the connection onto `ex`'s io_context (the same descriptor, so OpenSSL's state goes
  // on as it was): for a connection accepted on one context and relayed on another. Nothing
  // may be in progress on it. An error leaves it closed.
  boost::system::error_code MoveTo(const boost::asio::any_io_executor& ex);

 private:
  struct Key {
    explicit Key() = default;
  };

 public:
  TlsSocket(Key, boost::asio::ip::tcp::socket socket, SSL* ssl);  // use Create()

 private:
  boost::asio::awaitable<boost::system::error_code> WaitFor(int ssl_error);

  boost::asio::ip::tcp::socket socket_;
  SSL* ssl_;
  bool read_wants_write_ = false;  // the last TryRead needs the socket writable first
  bool sent_shutdown_ = false;
};

}  // namespace lattice::tunnel
