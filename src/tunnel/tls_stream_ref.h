// TlsStreamRef: a TlsSocket seen as an Asio/Beast AsyncStream (async_read_some /
// async_write_some, plus Beast's teardown), so a WebSocket can run over the same lean TLS
// connection the server accepted: `beast::websocket::stream<TlsStreamRef> ws(TlsStreamRef(s))`.
// Non-owning: the TlsSocket must outlive it. Same threading rules as TlsSocket (one read and
// one write at a time, on one strand).
#pragma once

#include <boost/asio/append.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/compose.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/websocket/teardown.hpp>

#include "tunnel/tls_socket.h"

namespace lattice::tunnel {

class TlsStreamRef {
 public:
  using executor_type = boost::asio::ip::tcp::socket::executor_type;

  explicit TlsStreamRef(TlsSocket& s) : s_(&s) {}
  executor_type get_executor() { return s_->socket().get_executor(); }
  TlsSocket& socket() { return *s_; }

  template <class MutableBufferSequence, class Token>
  auto async_read_some(const MutableBufferSequence& buffers, Token&& token) {
    return boost::asio::async_compose<Token, void(boost::system::error_code, std::size_t)>(
        ReadOp{s_, FirstBuffer<boost::asio::mutable_buffer>(buffers)}, token, s_->socket());
  }

  template <class ConstBufferSequence, class Token>
  auto async_write_some(const ConstBufferSequence& buffers, Token&& token) {
    return boost::asio::async_compose<Token, void(boost::system::error_code, std::size_t)>(
        WriteOp{s_, FirstBuffer<boost::asio::const_buffer>(buffers)}, token, s_->socket());
  }

 private:
  template <class Buffer, class Sequence>
  static Buffer FirstBuffer(const Sequence& seq) {
    for (auto it = boost::asio::buffer_sequence_begin(seq);
         it != boost::asio::buffer_sequence_end(seq); ++it) {
      Buffer b(*it);
      if (b.size() > 0) return b;
    }
    return Buffer();
  }

  // Tries the operation; waits for the socket when OpenSSL must; never completes inline
  // (a result found on the first call is posted first).
  struct ReadOp {
    TlsSocket* s;
    boost::asio::mutable_buffer b;
    bool started = false;
    template <class Self>
    void operator()(Self& self, boost::system::error_code ec = {}, std::size_t n = 0,
                    bool posted = false) {
      if (posted) return self.complete(ec, n);
      if (started && ec) return self.complete(ec, 0);
      const bool first = !started;
      started = true;
      if (b.size() == 0) return Finish(self, first, {}, 0);
      boost::system::error_code rec;
      const std::size_t got = s->TryRead(b.data(), b.size(), rec);
      if (rec == boost::asio::error::would_block) {
        return s->socket().async_wait(s->read_wait_type(), std::move(self));
      }
      Finish(self, first, rec, got);
    }
    template <class Self>
    static void Finish(Self& self, bool first, boost::system::error_code ec, std::size_t n) {
      if (!first) return self.complete(ec, n);
      auto ex = self.get_io_executor();
      boost::asio::post(ex, boost::asio::append(std::move(self), ec, n, true));
    }
  };

  struct WriteOp {
    TlsSocket* s;
    boost::asio::const_buffer b;
    bool started = false;
    template <class Self>
    void operator()(Self& self, boost::system::error_code ec = {}, std::size_t n = 0,
                    bool posted = false) {
      if (posted) return self.complete(ec, n);
      if (started && ec) return self.complete(ec, 0);
      const bool first = !started;
      started = true;
      if (b.size() == 0) return ReadOp::Finish(self, first, {}, 0);
      boost::system::error_code wec;
      int wait = 0;
      const std::size_t put = s->TryWrite(b.data(), b.size(), wec, wait);
      if (wec == boost::asio::error::would_block) {
        return s->socket().async_wait(wait == SSL_ERROR_WANT_READ
                                          ? boost::asio::ip::tcp::socket::wait_read
                                          : boost::asio::ip::tcp::socket::wait_write,
                                      std::move(self));
      }
      ReadOp::Finish(self, first, wec, put);
    }
  };

  TlsSocket* s_;
};

// Beast's WebSocket closes its next layer through these (found by argument-dependent lookup).
inline void beast_close_socket(TlsStreamRef& s) {
  s.socket().Close();
}
void teardown(boost::beast::role_type role, TlsStreamRef& s, boost::system::error_code& ec);

template <class TeardownHandler>
void async_teardown(boost::beast::role_type, TlsStreamRef& s, TeardownHandler&& handler) {
  s.socket().Close();
  boost::asio::post(s.get_executor(), boost::asio::append(std::forward<TeardownHandler>(handler),
                                                          boost::system::error_code{}));
}

}  // namespace lattice::tunnel
