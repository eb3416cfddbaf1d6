#include "tunnel/relay.h"

#include <boost/asio/write.hpp>

namespace lattice::tunnel {

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;
namespace {
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);
}

ReadWait RelayReadWait(tcp::socket& s) {
  return {&s, tcp::socket::wait_read};
}

std::size_t RelayRead(tcp::socket& s, char* p, std::size_t n, error_code& ec) {
  if (!s.non_blocking()) s.non_blocking(true, ec);
  const std::size_t got = s.read_some(asio::buffer(p, n), ec);
  // One read takes what the kernel has; a second would only report would_block.
  if (!ec && got < n) ec = asio::error::would_block;
  return got;
}

asio::awaitable<error_code> RelayWrite(tcp::socket& s, const char* p, std::size_t n) {
  auto [ec, written] = co_await asio::async_write(s, asio::buffer(p, n), kNoThrow);
  co_return ec;
}

asio::awaitable<error_code> RelayShutdownSend(tcp::socket& s) {
  error_code ec;
  s.shutdown(tcp::socket::shutdown_send, ec);
  co_return ec;
}

void RelayClose(tcp::socket& s) {
  error_code ec;
  s.close(ec);
}

ReadWait RelayReadWait(TlsSocket& s) {
  if (s.HasPending()) return {};
  return {&s.socket(), s.read_wait_type()};
}

std::size_t RelayRead(TlsSocket& s, char* p, std::size_t n, error_code& ec) {
  return s.TryRead(p, n, ec);
}

asio::awaitable<error_code> RelayWrite(TlsSocket& s, const char* p, std::size_t n) {
  co_return co_await s.WriteAll(p, n);
}

asio::awaitable<error_code> RelayShutdownSend(TlsSocket& s) {
  co_return co_await s.ShutdownSend();
}

void RelayClose(TlsSocket& s) {
  s.Close();
}

}  // namespace lattice::tunnel
