#include "http/client_address.h"

#include <gtest/gtest.h>

namespace lattice::http {
namespace {

TrustedProxies Trust(const std::vector<std::string>& entries) {
  auto t = TrustedProxies::Parse(entries);
  EXPECT_TRUE(t.ok());
  return t.ok() ? std::move(t).value() : TrustedProxies{};
}

TEST(TrustedProxies, ParsesAddressesAndNetworks) {
  const TrustedProxies t =
      Trust({"127.0.0.1", "10.0.0.0/8", "fd00::/8", " ::1 ", "192.168.1.7/16"});
  namespace ip = boost::asio::ip;
  EXPECT_TRUE(t.Contains(ip::make_address("127.0.0.1")));
  EXPECT_FALSE(t.Contains(ip::make_address("127.0.0.2")));
  EXPECT_TRUE(t.Contains(ip::make_address("10.255.0.1")));
  EXPECT_TRUE(t.Contains(ip::make_address("192.168.200.1")));  // host bits of the entry ignored
  EXPECT_TRUE(t.Contains(ip::make_address("fd12::5")));
  EXPECT_TRUE(t.Contains(ip::make_address("::1")));
  EXPECT_FALSE(t.Contains(ip::make_address("fe80::1")));
  EXPECT_FALSE(t.Contains(ip::make_address("11.0.0.1")));
}

TEST(TrustedProxies, RejectsGarbage) {
  for (const char* bad :
       {"proxy.local", "10.0.0.0/33", "10.0.0.0/", "::1/129", "1.2.3.4/x", "300.1.1.1"}) {
    auto t = TrustedProxies::Parse({bad});
    ASSERT_FALSE(t.ok()) << bad;
    EXPECT_NE(t.error().message.find(bad), std::string::npos) << t.error().message;
  }
  EXPECT_TRUE(TrustedProxies::Parse({}).ok());
  EXPECT_TRUE(TrustedProxies::Parse({""})->empty());
}

TEST(ClientAddress, WithoutTrustedProxiesThePeerIsTheClient) {
  const TrustedProxies none;
  EXPECT_EQ(ClientAddress("127.0.0.1", {"203.0.113.9"}, none), "127.0.0.1");
  EXPECT_EQ(ClientAddress("::ffff:127.0.0.1", {}, none), "127.0.0.1");
}

TEST(ClientAddress, ForwardedForIsBelievedOnlyFromTrustedPeers) {
  const TrustedProxies t = Trust({"127.0.0.1", "10.0.0.0/8"});
  // An untrusted peer cannot choose its recorded address.
  EXPECT_EQ(ClientAddress("198.51.100.4", {"203.0.113.9"}, t), "198.51.100.4");
  // A trusted peer names the client.
  EXPECT_EQ(ClientAddress("127.0.0.1", {"203.0.113.9"}, t), "203.0.113.9");
  EXPECT_EQ(ClientAddress("::ffff:127.0.0.1", {"203.0.113.9"}, t), "203.0.113.9");
  // Trusted hops are skipped from the right; what the client wrote on the left is ignored.
  EXPECT_EQ(ClientAddress("127.0.0.1", {"6.6.6.6, 203.0.113.9, 10.1.1.1"}, t), "203.0.113.9");
  EXPECT_EQ(ClientAddress("127.0.0.1", {"6.6.6.6, 203.0.113.9", "10.1.1.1"}, t), "203.0.113.9");
  // Every hop trusted: the leftmost is the client.
  EXPECT_EQ(ClientAddress("127.0.0.1", {"10.0.0.2, 10.0.0.3"}, t), "10.0.0.2");
  // No header: the trusted peer itself.
  EXPECT_EQ(ClientAddress("127.0.0.1", {}, t), "127.0.0.1");
  // Garbage stops the walk at the last hop we could believe.
  EXPECT_EQ(ClientAddress("127.0.0.1", {"203.0.113.9, <script>"}, t), "127.0.0.1");
  EXPECT_EQ(ClientAddress("127.0.0.1", {"unknown, 10.0.0.5"}, t), "10.0.0.5");
  // Ports and brackets some proxies add.
  EXPECT_EQ(ClientAddress("127.0.0.1", {"203.0.113.9:5555"}, t), "203.0.113.9");
  EXPECT_EQ(ClientAddress("127.0.0.1", {"[2001:db8::1]:443"}, t), "2001:db8::1");
  EXPECT_EQ(ClientAddress("127.0.0.1", {"2001:db8::1"}, t), "2001:db8::1");
}

}  // namespace
}  // namespace lattice::http
