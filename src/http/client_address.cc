#include "http/client_address.h"

#include <algorithm>
#include <optional>

namespace lattice::http {
namespace {

namespace ip = boost::asio::ip;

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// An address with IPv4-mapped IPv6 (::ffff:a.b.c.d) folded to IPv4; nullopt if not an address.
std::optional<ip::address> ParseAddress(std::string_view text) {
  text = Trim(text);
  // "[v6]" and "[v6]:port" are accepted as some proxies write them; "v4:port" too.
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    text = text.substr(1, close - 1);
  } else if (std::count(text.begin(), text.end(), ':') == 1) {
    text = text.substr(0, text.find(':'));
  }
  boost::system::error_code ec;
  ip::address a = ip::make_address(std::string(text), ec);
  if (ec) return std::nullopt;
  if (a.is_v6() && a.to_v6().is_v4_mapped())
    return ip::address(ip::make_address_v4(ip::v4_mapped, a.to_v6()));
  return a;
}

}  // namespace

Result<TrustedProxies> TrustedProxies::Parse(const std::vector<std::string>& entries) {
  TrustedProxies out;
  for (const std::string& raw : entries) {
    const std::string_view e = Trim(raw);
    if (e.empty()) continue;
    boost::system::error_code ec;
    const auto slash = e.find('/');
    const std::string addr(e.substr(0, slash));
    const ip::address a = ip::make_address(addr, ec);
    int bits = a.is_v4() ? 32 : 128;
    if (!ec && slash != std::string_view::npos) {
      const std::string_view len = e.substr(slash + 1);
      if (len.empty() || len.size() > 3 || len.find_first_not_of("0123456789") != len.npos) {
        bits = -1;
      } else {
        bits = std::stoi(std::string(len));
      }
    }
    if (ec || bits < 0 || bits > (a.is_v4() ? 32 : 128))
      return Error::Invalid("--trusted-proxy '" + std::string(e) +
                            "': expected an IP address or a CIDR network such as 10.0.0.0/8");
    // Host bits set ("10.1.2.3/8") are allowed and ignored, as most proxies' configs do.
    if (a.is_v4())
      out.networks_.push_back(
          ip::make_network_v4(a.to_v4(), static_cast<unsigned short>(bits)).canonical());
    else
      out.networks_.push_back(
          ip::make_network_v6(a.to_v6(), static_cast<unsigned short>(bits)).canonical());
  }
  return out;
}

bool TrustedProxies::Contains(const ip::address& a) const {
  for (const auto& n : networks_) {
    if (const auto* v4 = std::get_if<ip::network_v4>(&n)) {
      if (a.is_v4() && ip::make_network_v4(a.to_v4(), v4->prefix_length()).canonical() == *v4)
        return true;
    } else if (const auto* v6 = std::get_if<ip::network_v6>(&n)) {
      if (a.is_v6() && ip::make_network_v6(a.to_v6(), v6->prefix_length()).canonical() == *v6)
        return true;
    }
  }
  return false;
}

std::string ClientAddress(std::string_view peer, const std::vector<std::string_view>& forwarded_for,
                          const TrustedProxies& trusted) {
  const std::optional<ip::address> peer_addr = ParseAddress(peer);
  if (!peer_addr) return std::string(peer);
  if (trusted.empty() || !trusted.Contains(*peer_addr)) return peer_addr->to_string();
  std::vector<std::string_view> hops;
  for (std::string_view header : forwarded_for) {
    while (!header.empty()) {
      const auto comma = header.find(',');
      hops.push_back(Trim(header.substr(0, comma)));
      header = comma == std::string_view::npos ? std::string_view{} : header.substr(comma + 1);
    }
  }
  ip::address client = *peer_addr;
  for (auto it = hops.rbegin(); it != hops.rend(); ++it) {
    const std::optional<ip::address> hop = ParseAddress(*it);
    if (!hop) break;  // garbage: the last trusted hop is as far as we can believe
    client = *hop;
    if (!trusted.Contains(*hop)) break;
  }
  return client.to_string();
}

}  // namespace lattice::http
