#include "agent/tls_dial.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace lattice::agent {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
using asio::ip::tcp;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

}  // namespace

Result<std::unique_ptr<TlsDialer>> TlsDialer::Create(std::string_view ca_fingerprint) {
  auto client = tls::PinnedClient::Create(ca_fingerprint);
  if (!client.ok()) return std::move(client).error();
  return std::make_unique<TlsDialer>(std::move(client).value());
}

TlsDialer::TlsDialer(std::unique_ptr<tls::PinnedClient> client) : client_(std::move(client)) {}

asio::awaitable<Status> TlsDialer::Connect(tls::TlsStream& stream, const LinkEndpoint& endpoint,
                                           std::chrono::milliseconds timeout) {
  const std::string where = endpoint.host + ":" + endpoint.port;
  auto& tcp_layer = beast::get_lowest_layer(stream);
  tcp::resolver resolver(tcp_layer.get_executor());
  auto [rec, results] = co_await resolver.async_resolve(endpoint.host, endpoint.port, kNoThrow);
  if (rec) co_return Error::Unavailable("resolve " + where + ": " + rec.message());
  tcp_layer.expires_after(timeout);
  auto [cec, ep] = co_await tcp_layer.async_connect(results, kNoThrow);
  if (cec) co_return Error::Unavailable("connect " + where + ": " + cec.message());
  beast::error_code nec;
  tcp_layer.socket().set_option(tcp::no_delay(true), nec);
  if (Status st = client_->Prepare(stream.native_handle(), endpoint.host); !st.ok()) co_return st;
  auto [hec] = co_await stream.async_handshake(asio::ssl::stream_base::client, kNoThrow);
  if (hec) co_return client_->HandshakeError(stream.native_handle(), hec.message(), where);
  tcp_layer.expires_never();
  co_return Status::Ok();
}

}  // namespace lattice::agent
