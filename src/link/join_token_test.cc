#include "link/join_token.h"

#include <gtest/gtest.h>

#include <vector>

#include "common/random.h"

namespace lattice::link {
namespace {

TEST(JoinToken, RoundTrips) {
  InitCrypto();
  const std::string secret = RandomToken(32), pin = RandomToken(32);
  const std::string token = FormatJoinToken(secret, pin);
  EXPECT_EQ(token, "ljt1." + secret + "." + pin);
  auto parsed = ParseJoinToken(token);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed->secret, secret);
  EXPECT_EQ(parsed->ca_fingerprint, pin);
}

TEST(JoinToken, RejectsWhatIsNotOne) {
  InitCrypto();
  const std::string s = RandomToken(32);
  for (const std::string& bad : std::vector<std::string>{
           std::string(), "ljt1.", "ljt1." + s, "ljt1." + s + ".", "ljt1." + s + "." + s + ".x",
           "ljt2." + s + "." + s, "ljt1." + s + "." + s.substr(1), "ljt1." + s + "." + s + "=",
           "LJT1." + s + "." + s, "ljt1." + s + "!" + s}) {
    auto r = ParseJoinToken(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  }
  auto old = ParseJoinToken("ljt_" + s);
  ASSERT_FALSE(old.ok());
  EXPECT_NE(old.error().message.find("older server"), std::string::npos);
}

}  // namespace
}  // namespace lattice::link
