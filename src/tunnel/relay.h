// Relay: moves bytes both ways between two connected streams until both directions have ended,
// either of them fails, or nothing moves for `idle_timeout`. It is the tunnel's hot path.
//
//  - No buffer is held while a direction is idle: each direction waits for readability first,
//    then borrows a RelayBuffer, reads what is there (for TLS, every record already arrived, up
//    to the buffer's size), writes all of it, and gives the buffer back.
//  - Back-pressure: a direction reads again only after the previous write completed, so a slow
//    reader slows the writer down to its pace through the TCP windows on both sides.
//  - Half-close: end of stream on one side (FIN, or TLS close_notify) is passed on as a
//    shutdown of the other side's sending half; the other direction goes on.
//  - Failure: a reset, a TLS error, or a TLS connection closed without close_notify aborts the
//    relay: both streams are closed at once, so the far end sees the failure too.
//
// Works for any pair of tcp::socket and TlsSocket (the overloads below). Both streams must be
// used only from the relay's executor while it runs (a strand when the io_context has several
// threads). The streams are closed when Relay returns.
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <cstdint>

#include "tunnel/buffer_pool.h"
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

// --- the operations Relay needs from a stream, for plain TCP and for TLS
// What to wait for before a read can make progress: the socket and the readiness, or nullptr
// when bytes are already buffered. (Waiting directly on the socket keeps an idle direction down
// to one small pending operation, with no coroutine frames nested under it.)
struct ReadWait {
  boost::asio::ip::tcp::socket* socket = nullptr;
  boost::asio::socket_base::wait_type type = boost::asio::socket_base::wait_read;
};
ReadWait RelayReadWait(boost::asio::ip::tcp::socket& s);
ReadWait RelayReadWait(TlsSocket& s);
std::size_t RelayRead(boost::asio::ip::tcp::socket& s, char* p, std::size_t n,
                      boost::system::error_code& ec);
boost::asio::awaitable<boost::system::error_code> RelayWrite(boost::asio::ip::tcp::socket& s,
                                                             const char* p, std::size_t n);
boost::asio::awaitable<boost::system::error_code> RelayShutdownSend(
    boost::asio::ip::tcp::socket& s);
void RelayClose(boost::asio::ip::tcp::socket& s);

std::size_t RelayRead(TlsSocket& s, char* p, std::size_t n, boost::system::error_code& ec);
boost::asio::awaitable<boost::system::error_code> RelayWrite(TlsSocket& s, const char* p,
                                                             std::size_t n);
boost::asio::awaitable<boost::system::error_code> RelayShutdownSend(TlsSocket& s);
void RelayClose(TlsSocket& s);

namespace detail {

struct RelayState {
  std::chrono::steady_clock::time_point last_activity = std::chrono::steady_clock::now();
  RelayStats stats;
};

// One direction: src → dst. Returns when src ended (dst's sending half is then shut) or on
// failure (`abort` closes both streams, which ends the other direction too).
template <class Src, class Dst, class Abort>
boost::asio::awaitable<void> Pump(Src& src, Dst& dst, std::uint64_t& count, RelayState& st,
                                  Abort abort) {
  for (;;) {
    if (const ReadWait w = RelayReadWait(src); w.socket != nullptr) {
      auto [ec] =
          co_await w.socket->async_wait(w.type, boost::asio::as_tuple(boost::asio::use_awaitable));
      if (ec) co_return abort();
    }
    boost::system::error_code rec;
    {
      RelayBuffer buf;
      std::size_t total = 0;
      // Read everything already there (several TLS records, or one TCP read), up to the buffer.
      while (total < buf.size()) {
        total += RelayRead(src, buf.data() + total, buf.size() - total, rec);
        if (rec) break;
      }
      if (total > 0) {
        st.last_activity = std::chrono::steady_clock::now();
        count += total;
        if (co_await RelayWrite(dst, buf.data(), total)) co_return abort();
      }
    }
    if (!rec || rec == boost::asio::error::would_block) continue;
    if (rec == boost::asio::error::eof) {
      if (co_await RelayShutdownSend(dst)) co_return abort();
      co_return;
    }
    co_return abort();
  }
}

}  // namespace detail

template <class A, class B>
boost::asio::awaitable<RelayStats> Relay(A& a, B& b, RelayOptions opts = {}) {
  using namespace boost::asio::experimental::awaitable_operators;
  detail::RelayState st;
  auto abort = [&] {
    st.stats.aborted = true;
    RelayClose(a);
    RelayClose(b);
  };
  auto watchdog = [&]() -> boost::asio::awaitable<void> {
    boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor);
    for (;;) {
      const auto deadline = st.last_activity + opts.idle_timeout;
      if (std::chrono::steady_clock::now() >= deadline) {
        st.stats.idle_timed_out = true;
        RelayClose(a);
        RelayClose(b);
        co_return;
      }
      timer.expires_at(deadline);
      auto [ec] = co_await timer.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
      if (ec) co_return;  // the relay ended first
    }
  };
  co_await ((detail::Pump(a, b, st.stats.a_to_b, st, abort) &&
             detail::Pump(b, a, st.stats.b_to_a, st, abort)) ||
            watchdog());
  if (st.stats.idle_timed_out) st.stats.aborted = false;
  RelayClose(a);
  RelayClose(b);
  co_return st.stats;
}

}  // namespace lattice::tunnel
