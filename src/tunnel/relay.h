// Relay: moves bytes both ways between two connected streams until both directions have ended,
// either of them fails, or nothing moves for `idle_timeout`. It is the tunnel's hot path, and
// what an idle tunneled connection costs, so it is a small callback state machine rather than
// coroutines: an idle stream is one RelaySession (a few hundred bytes), two pending readiness
// waits and one timer.
//
//  - No buffer is held while a direction is idle: each direction waits for readability, then
//    borrows a RelayBuffer, reads what is there (for TLS, every record already arrived, up to
//    the buffer's size), writes all of it, and gives the buffer back.
//  - Back-pressure: a direction reads again only after the previous write completed, so a slow
//    reader slows the writer down to its pace through the TCP windows on both sides.
//  - Half-close: end of stream on one side (FIN, or TLS close_notify) is passed on as a
//    shutdown of the other side's sending half; the other direction goes on.
//  - Failure: a reset, a TLS error, or a TLS connection closed without close_notify aborts the
//    relay: both streams are closed at once, so the far end sees the failure too.
//  - Fairness: a direction that always finds more to read yields to the executor after a few
//    buffers, so one busy stream does not starve the others on its thread.
//
// StartRelay takes both streams and returns at once; everything runs on `strand` (a strand when
// the io_context has several threads), and `done` is called on it exactly once with the totals
// — when the relay ends, or, if the io_context is destroyed first, when its handlers are.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <variant>

#include "tunnel/tls_socket.h"

namespace lattice::tunnel {

struct RelayOptions {
  std::chrono::milliseconds idle_timeout{std::chrono::hours(1)};
};

struct RelayStats {
  std::uint64_t a_to_b = 0;  // bytes
  std::uint64_t b_to_a = 0;
  bool aborted = false;  // a failure cut it short
  bool idle_timed_out = false;
};

// One end of a relay: a plain TCP socket or a TLS connection. Every operation is non-blocking.
class RelayEnd {
 public:
  explicit RelayEnd(boost::asio::ip::tcp::socket s) : s_(std::move(s)) {}
  explicit RelayEnd(std::unique_ptr<TlsSocket> s) : s_(std::move(s)) {}

  // The socket to wait on, and what to wait for before a read can make progress.
  boost::asio::ip::tcp::socket& socket();
  boost::asio::socket_base::wait_type read_wait() const;
  // True if a read would return buffered bytes without touching the socket (TLS only).
  bool HasPending() const;
  // What is there now, up to n: the count, or 0 with `ec` = would_block / eof / a failure.
  // A TCP read that returns less than n also sets would_block (the kernel had no more).
  std::size_t TryRead(char* p, std::size_t n, boost::system::error_code& ec);
  // What fits now: the count, or 0 with `ec` = would_block (wait for `wait`) / a failure.
  std::size_t TryWrite(const char* p, std::size_t n, boost::system::error_code& ec,
                       boost::asio::socket_base::wait_type& wait);
  // Ends this side's sending half: true when done (or failed: `ec`), false to wait for `wait`.
  bool TryShutdownSend(boost::system::error_code& ec, boost::asio::socket_base::wait_type& wait);
  void Close();

 private:
  std::variant<boost::asio::ip::tcp::socket, std::unique_ptr<TlsSocket>> s_;
};

using RelayDone = std::function<void(const RelayStats&)>;

// Relays between `a` and `b` on `strand` (see the header comment); returns at once.
void StartRelay(boost::asio::any_io_executor strand, RelayEnd a, RelayEnd b, RelayOptions opts,
                RelayDone done);

}  // namespace lattice::tunnel
