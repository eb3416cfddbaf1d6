// Who is on the other end of a request. Behind a reverse proxy the socket's peer is the proxy,
// and the client is named by the proxy in X-Forwarded-For — a header any client can also send
// itself. So the header is believed only from peers the operator listed (--trusted-proxy):
// walking it from the right (the hop nearest to us), trusted proxies are skipped and the first
// address that is not one is the client. With no trusted proxies the peer is the client.
// Pure functions over immutable data; thread-safe.
#pragma once

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/network_v4.hpp>
#include <boost/asio/ip/network_v6.hpp>

#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/result.h"

namespace lattice::http {

class TrustedProxies {
 public:
  // Each entry is an IP address or a CIDR network ("10.0.0.0/8", "::1", "fd00::/8").
  // kInvalidArgument names the first bad entry.
  static Result<TrustedProxies> Parse(const std::vector<std::string>& entries);

  bool empty() const { return networks_.empty(); }
  bool Contains(const boost::asio::ip::address& a) const;

 private:
  std::vector<std::variant<boost::asio::ip::network_v4, boost::asio::ip::network_v6>> networks_;
};

// The client's address for a request whose socket peer is `peer` and whose X-Forwarded-For
// header values (in order, each possibly a comma-separated list) are `forwarded_for`.
// IPv4-mapped IPv6 addresses are shown as IPv4. A malformed hop ends the walk at the last
// trusted address before it, so a client can never choose what is recorded for it.
std::string ClientAddress(std::string_view peer, const std::vector<std::string_view>& forwarded_for,
                          const TrustedProxies& trusted);

}  // namespace lattice::http
