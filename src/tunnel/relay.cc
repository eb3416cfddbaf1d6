#include "tunnel/relay.h"

#include <openssl/ssl.h>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <optional>

#include "tunnel/buffer_pool.h"

namespace lattice::tunnel {

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;
using WaitType = asio::socket_base::wait_type;

namespace {

WaitType FromSsl(int want) {
  return want == SSL_ERROR_WANT_WRITE ? tcp::socket::wait_write : tcp::socket::wait_read;
}

}  // namespace

// --- RelayEnd

tcp::socket& RelayEnd::socket() {
  if (auto* t = std::get_if<std::unique_ptr<TlsSocket>>(&s_)) return (*t)->socket();
  return std::get<tcp::socket>(s_);
}

WaitType RelayEnd::read_wait() const {
  if (auto* t = std::get_if<std::unique_ptr<TlsSocket>>(&s_)) return (*t)->read_wait_type();
  return tcp::socket::wait_read;
}

bool RelayEnd::HasPending() const {
  auto* t = std::get_if<std::unique_ptr<TlsSocket>>(&s_);
  return t != nullptr && (*t)->HasPending();
}

std::size_t RelayEnd::TryRead(char* p, std::size_t n, error_code& ec) {
  if (auto* t = std::get_if<std::unique_ptr<TlsSocket>>(&s_)) return (*t)->TryRead(p, n, ec);
  tcp::socket& s = std::get<tcp::socket>(s_);
  if (!s.non_blocking()) {
    s.non_blocking(true, ec);
    if (ec) return 0;
  }
  const std::size_t got = s.read_some(asio::buffer(p, n), ec);
  // One read takes what the kernel has; a second would only report would_block.
  if (!ec && got < n) ec = asio::error::would_block;
  return got;
}

std::size_t RelayEnd::TryWrite(const char* p, std::size_t n, error_code& ec, WaitType& wait) {
  if (auto* t = std::get_if<std::unique_ptr<TlsSocket>>(&s_)) {
    int want = 0;
    const std::size_t put = (*t)->TryWrite(p, n, ec, want);
    if (ec == asio::error::would_block) wait = FromSsl(want);
    return put;
  }
  tcp::socket& s = std::get<tcp::socket>(s_);
  if (!s.non_blocking()) {
    s.non_blocking(true, ec);
    if (ec) return 0;
  }
  wait = tcp::socket::wait_write;
  return s.write_some(asio::buffer(p, n), ec);
}

bool RelayEnd::TryShutdownSend(error_code& ec, WaitType& wait) {
  if (auto* t = std::get_if<std::unique_ptr<TlsSocket>>(&s_)) {
    int want = 0;
    if ((*t)->TryShutdownSend(ec, want)) return true;
    wait = FromSsl(want);
    return false;
  }
  std::get<tcp::socket>(s_).shutdown(tcp::socket::shutdown_send, ec);
  return true;
}

void RelayEnd::Close() {
  if (auto* t = std::get_if<std::unique_ptr<TlsSocket>>(&s_)) return (*t)->Close();
  error_code ec;
  std::get<tcp::socket>(s_).close(ec);
}

// --- RelaySession

namespace {

// Buffers moved per direction before it yields to the executor (fairness).
constexpr int kBurst = 8;

class RelaySession : public std::enable_shared_from_this<RelaySession> {
 public:
  RelaySession(asio::any_io_executor strand, RelayEnd a, RelayEnd b, RelayOptions opts,
               RelayDone done)
      : strand_(std::move(strand)),
        a_(std::move(a)),
        b_(std::move(b)),
        timer_(strand_),
        opts_(opts),
        done_(std::move(done)),
        dirs_{{&a_, &b_, &stats_.a_to_b}, {&b_, &a_, &stats_.b_to_a}} {}

  ~RelaySession() {
    if (done_) {  // the io_context went away with the relay still running
      stats_.aborted = !stats_.idle_timed_out;
      Finish();
    }
  }

  void Start() {
    ArmTimer();
    // Both directions begin with a read attempt: bytes may already be waiting.
    Pump(0);
    Pump(1);
  }

 private:
  struct Direction {
    Direction(RelayEnd* s, RelayEnd* d, std::uint64_t* c) : src(s), dst(d), count(c) {}
    RelayEnd* src;
    RelayEnd* dst;
    std::uint64_t* count;
    std::optional<RelayBuffer> buf;  // only while bytes are in flight
    std::size_t off = 0, len = 0;    // buf[off, len) is still to be written
    bool readable = true;            // try a read before waiting
    bool eof = false;                // src ended: shut dst's sending half, then end
    bool ended = false;
  };

  // Runs direction d until it has to wait, or ends it.
  void Pump(int d) {
    Direction& x = dirs_[d];
    for (int burst = 0;;) {
      if (closed_) return End(d);
      error_code ec;
      WaitType wait = tcp::socket::wait_write;
      if (x.off < x.len) {  // finish the write in flight
        const std::size_t n = x.dst->TryWrite(x.buf->data() + x.off, x.len - x.off, ec, wait);
        if (ec == asio::error::would_block) return WaitOn(d, *x.dst, wait);
        if (ec) return Abort(d);
        x.off += n;
        continue;
      }
      x.buf.reset();
      if (x.eof) {
        if (!x.dst->TryShutdownSend(ec, wait)) return WaitOn(d, *x.dst, wait);
        if (ec) return Abort(d);
        return End(d);
      }
      if (!x.readable && !x.src->HasPending()) return WaitOn(d, *x.src, x.src->read_wait());
      if (burst++ == kBurst) {
        asio::post(strand_, [self = shared_from_this(), d] { self->Pump(d); });
        return;
      }
      x.buf.emplace();
      std::size_t total = 0;
      while (total < x.buf->size()) {
        total += x.src->TryRead(x.buf->data() + total, x.buf->size() - total, ec);
        if (ec) break;
      }
      x.readable = !ec;  // a full buffer: there may be more; would_block: wait
      if (ec && ec != asio::error::would_block) {
        if (ec != asio::error::eof) return Abort(d);
        x.eof = true;
      }
      x.off = 0;
      x.len = total;
      if (total > 0) {
        *x.count += total;
        last_activity_ = std::chrono::steady_clock::now();
      }
    }
  }

  void WaitOn(int d, RelayEnd& end, WaitType what) {
    end.socket().async_wait(
        what, asio::bind_executor(strand_, [self = shared_from_this(), d](error_code ec) {
          if (ec && !self->closed_) return self->Abort(d);
          self->dirs_[d].readable = true;
          self->Pump(d);
        }));
  }

  // A failure on direction d: close both streams, which ends the other direction too.
  void Abort(int d) {
    if (!closed_) {
      closed_ = true;
      stats_.aborted = true;
      a_.Close();
      b_.Close();
    }
    End(d);
  }

  void End(int d) {
    Direction& x = dirs_[d];
    x.buf.reset();
    if (x.ended) return;
    x.ended = true;
    if (!dirs_[0].ended || !dirs_[1].ended) return;
    timer_.cancel();
    Finish();
  }

  void Finish() {
    a_.Close();
    b_.Close();
    RelayDone done = std::move(done_);
    done_ = nullptr;
    if (stats_.idle_timed_out) stats_.aborted = false;
    done(stats_);
  }

  // The idle watchdog: wakes at last_activity + idle_timeout, and closes both streams if nothing
  // moved since; otherwise sleeps until the new deadline.
  void ArmTimer() {
    timer_.expires_at(last_activity_ + opts_.idle_timeout);
    timer_.async_wait([self = shared_from_this()](error_code ec) {
      if (ec || self->closed_ || !self->done_) return;
      if (std::chrono::steady_clock::now() < self->last_activity_ + self->opts_.idle_timeout)
        return self->ArmTimer();
      self->stats_.idle_timed_out = true;
      self->closed_ = true;
      self->a_.Close();
      self->b_.Close();
    });
  }

  asio::any_io_executor strand_;
  RelayEnd a_, b_;
  asio::steady_timer timer_;
  RelayOptions opts_;
  RelayDone done_;
  RelayStats stats_;
  std::chrono::steady_clock::time_point last_activity_ = std::chrono::steady_clock::now();
  bool closed_ = false;
  Direction dirs_[2];
};

}  // namespace

void StartRelay(asio::any_io_executor strand, RelayEnd a, RelayEnd b, RelayOptions opts,
                RelayDone done) {
  asio::any_io_executor ex = strand;
  auto s = std::make_shared<RelaySession>(std::move(strand), std::move(a), std::move(b), opts,
                                          std::move(done));
  asio::dispatch(ex, [s = std::move(s)] { s->Start(); });
}

}  // namespace lattice::tunnel
