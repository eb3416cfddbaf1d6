#include <gtest/gtest.h>

#include <filesystem>

#include "auth/auth_service.h"
#include "auth/password.h"
#include "auth/rate_limiter.h"
#include "auth/token.h"
#include "common/random.h"

namespace lattice::auth {
namespace {

namespace fs = std::filesystem;

TEST(Password, HashIsArgon2idAndVerifies) {
  InitCrypto();
  auto h = HashPassword("correct horse battery");
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->rfind("$argon2id$", 0), 0u);
  EXPECT_NE(h->find("m=65536,t=2,p=1"), std::string::npos);  // ≥ OWASP m=19456,t=2
  EXPECT_TRUE(VerifyPassword("correct horse battery", *h));
  EXPECT_FALSE(VerifyPassword("correct horse batterx", *h));
  EXPECT_FALSE(VerifyPassword("x", "not a hash"));
}

TEST(Password, Policy) {
  EXPECT_NE(PasswordPolicyViolation("short"), "");
  EXPECT_NE(PasswordPolicyViolation("ééééééééé"), "");  // 9 code points, 18 bytes
  EXPECT_EQ(PasswordPolicyViolation("éééééééééé"), "");
  EXPECT_EQ(PasswordPolicyViolation("0123456789"), "");
  EXPECT_NE(PasswordPolicyViolation(std::string(257, 'a')), "");
}

TEST(Email, NormalisesAndRejects) {
  EXPECT_EQ(NormalizeEmail("  Alice@Example.COM \t"), "alice@example.com");
  for (const char* bad : {"", "a", "no-at.example.com", "@example.com", "a@", "a@b", "a@@b.c",
                          "a b@c.d", "a@.com", "a@b.", "a@b..c"}) {
    EXPECT_EQ(NormalizeEmail(bad), "") << bad;
  }
}

TEST(Token, SignVerifyAndTamper) {
  const std::string key(32, 'k');
  TokenClaims c{"ses_abc", "secretXYZ", 12345};
  const std::string t = SignToken(c, key);
  auto v = VerifyTokenSignature(t, key);
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->session_id, "ses_abc");
  EXPECT_EQ(v->secret, "secretXYZ");
  EXPECT_EQ(v->expires_at, 12345);

  EXPECT_FALSE(VerifyTokenSignature(t, std::string(32, 'j')).has_value());
  std::string tampered = t;
  tampered[tampered.find("12345")] = '9';  // extend the expiry
  EXPECT_FALSE(VerifyTokenSignature(tampered, key).has_value());
  for (const char* bad : {"", ".", "lt1", "lt1.a.b.c.d", "a.b.c.d.e.f", "lt1...."})
    EXPECT_FALSE(VerifyTokenSignature(bad, key).has_value()) << bad;
}

TEST(FailureLimiter, LocksAfterMaxAndUnlocksAfterWindow) {
  ManualClock clock(1000);
  FailureLimiter l(clock, 3, 60);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(l.RetryAfter("k"), 0);
    l.RecordFailure("k");
  }
  EXPECT_EQ(l.RetryAfter("k"), 60);
  EXPECT_EQ(l.RetryAfter("other"), 0);
  clock.Advance(59);
  EXPECT_EQ(l.RetryAfter("k"), 1);
  clock.Advance(1);
  EXPECT_EQ(l.RetryAfter("k"), 0);
  l.RecordFailure("k");  // a new window starts
  EXPECT_EQ(l.RetryAfter("k"), 0);
}

class AuthServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    InitCrypto();
    dir_ = fs::temp_directory_path() / ("lattice-auth-" + RandomToken(8));
    fs::create_directories(dir_);
    auto s = store::OpenSqliteStore((dir_ / "db").string());
    ASSERT_TRUE(s.ok());
    store_ = std::move(s).value();
    AuthOptions opts;
    opts.session_ttl_seconds = 3600;
    opts.max_failures_per_account = 3;
    opts.max_failures_per_address = 5;
    svc_ = std::make_unique<AuthService>(*store_, clock_, keys_, opts);
  }
  void TearDown() override {
    svc_.reset();
    store_.reset();
    fs::remove_all(dir_);
  }

  fs::path dir_;
  ManualClock clock_{1'700'000'000};
  Keyring keys_ = Keyring::FromMaster(std::string(32, 'm'));
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<AuthService> svc_;
};

TEST_F(AuthServiceTest, RegisterValidatesEveryField) {
  auto r = svc_->Register("nope", "short", "1.2.3.4");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  ASSERT_EQ(r.error().fields.size(), 2u);
  EXPECT_EQ(r.error().fields[0].field, "email");
  EXPECT_EQ(r.error().fields[1].field, "password");
}

TEST_F(AuthServiceTest, TokenWorksUntilLogoutOrExpiry) {
  auto r = svc_->Register("A@x.io", "0123456789", "1.2.3.4");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->user.role, "admin");
  auto p = svc_->Authenticate(r->token);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->email, "a@x.io");

  auto second = svc_->Login("a@x.io", "0123456789", "1.2.3.4");
  ASSERT_TRUE(second.ok());
  ASSERT_TRUE(svc_->Logout(*p).ok());
  EXPECT_FALSE(svc_->Authenticate(r->token).ok());      // revoked
  EXPECT_TRUE(svc_->Authenticate(second->token).ok());  // other sessions unaffected

  clock_.Advance(3600);
  EXPECT_FALSE(svc_->Authenticate(second->token).ok());  // expired
}

TEST_F(AuthServiceTest, ForgedTokenForRealSessionIsRejected) {
  auto r = svc_->Register("a@x.io", "0123456789", "");
  ASSERT_TRUE(r.ok());
  auto claims = VerifyTokenSignature(r->token, keys_.token_key());
  ASSERT_TRUE(claims.has_value());
  claims->secret = "guessed";
  EXPECT_FALSE(svc_->Authenticate(SignToken(*claims, keys_.token_key())).ok());
  EXPECT_FALSE(svc_->Authenticate(SignToken(*claims, std::string(32, 'x'))).ok());
}

TEST_F(AuthServiceTest, LoginRateLimitedPerAccountAndAddress) {
  ASSERT_TRUE(svc_->Register("a@x.io", "0123456789", "").ok());
  for (int i = 0; i < 3; ++i) {
    auto r = svc_->Login("a@x.io", "wrong-password", "10.0.0.1");
    ASSERT_EQ(r.error().code, ErrorCode::kUnauthenticated);
  }
  auto locked = svc_->Login("a@x.io", "0123456789", "10.0.0.2");  // even the right password
  ASSERT_FALSE(locked.ok());
  EXPECT_EQ(locked.error().code, ErrorCode::kRateLimited);
  EXPECT_GT(locked.error().retry_after_seconds, 0);

  // Per address: failures spread over unknown accounts still lock the address.
  for (int i = 0; i < 5; ++i) svc_->Login("u" + std::to_string(i) + "@x.io", "x", "10.0.0.9").ok();
  ASSERT_TRUE(svc_->Register("b@x.io", "0123456789", "").ok());
  EXPECT_EQ(svc_->Login("b@x.io", "0123456789", "10.0.0.9").error().code, ErrorCode::kRateLimited);
  EXPECT_TRUE(svc_->Login("b@x.io", "0123456789", "10.0.0.3").ok());
}

TEST_F(AuthServiceTest, VerifiedCacheHonoursLocalRevocationAtOnceAndRemoteWithinTtl) {
  auto r = svc_->Register("a@x.io", "0123456789", "");
  ASSERT_TRUE(r.ok());
  auto p = svc_->Authenticate(r->token);  // now cached
  ASSERT_TRUE(p.ok());
  // Revoked behind the service's back (as another replica would): trusted for at most the
  // cache lifetime (5 s by default), then refused.
  ASSERT_TRUE(store_->RevokeSession(p->session_id, clock_.NowSeconds()).ok());
  EXPECT_TRUE(svc_->Authenticate(r->token).ok());
  clock_.Advance(5);
  EXPECT_FALSE(svc_->Authenticate(r->token).ok());

  // Revoked through this service: refused at once even though it was cached.
  auto s = svc_->Login("a@x.io", "0123456789", "");
  ASSERT_TRUE(s.ok());
  auto ps = svc_->Authenticate(s->token);
  ASSERT_TRUE(ps.ok());
  ASSERT_TRUE(svc_->Logout(*ps).ok());
  EXPECT_FALSE(svc_->Authenticate(s->token).ok());
}

TEST_F(AuthServiceTest, ChangePasswordRevokesOldTokens) {
  auto r = svc_->Register("a@x.io", "0123456789", "");
  ASSERT_TRUE(r.ok());
  auto p = svc_->Authenticate(r->token);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(svc_->ChangePassword(*p, "wrong-current", "abcdefghijk", "").error().code,
            ErrorCode::kInvalidArgument);
  auto changed = svc_->ChangePassword(*p, "0123456789", "abcdefghijk", "");
  ASSERT_TRUE(changed.ok());
  EXPECT_FALSE(svc_->Authenticate(r->token).ok());
  EXPECT_TRUE(svc_->Authenticate(changed->token).ok());
  EXPECT_FALSE(svc_->Login("a@x.io", "0123456789", "").ok());
  EXPECT_TRUE(svc_->Login("a@x.io", "abcdefghijk", "").ok());
}

}  // namespace
}  // namespace lattice::auth
