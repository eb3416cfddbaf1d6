#include <gtest/gtest.h>

#include "server/config.h"

namespace lattice::server {
namespace {

TEST(ParseListen, AcceptsHostPortAndRejectsGarbage) {
  std::string host;
  std::uint16_t port = 0;
  ASSERT_TRUE(ParseListen("127.0.0.1:8080", host, port));
  EXPECT_EQ(host, "127.0.0.1");
  EXPECT_EQ(port, 8080);
  ASSERT_TRUE(ParseListen("[::1]:0", host, port));
  EXPECT_EQ(host, "::1");
  EXPECT_EQ(port, 0);
  for (const char* bad : {"", "8080", ":80", "host:", "h:70000", "h:8x", "h:123456"})
    EXPECT_FALSE(ParseListen(bad, host, port)) << bad;
}

}  // namespace
}  // namespace lattice::server
