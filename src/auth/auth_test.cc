#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "auth/auth_service.h"
#include "auth/email.h"
#include "auth/invite_service.h"
#include "auth/password.h"
#include "auth/rate_limiter.h"
#include "auth/token.h"
#include "common/random.h"
#include "store/sqlite/sqlite_store.h"

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

TEST(Backoff, FreeFailuresThenDoublingUpToTheCap) {
  ManualClock clock(1000);
  Backoff b(clock, BackoffPolicy{3, 1, 60, 3600});
  EXPECT_EQ(b.DelayAfter(0), 0);
  EXPECT_EQ(b.DelayAfter(3), 0);
  EXPECT_EQ(b.DelayAfter(4), 1);
  EXPECT_EQ(b.DelayAfter(5), 2);
  EXPECT_EQ(b.DelayAfter(8), 16);
  EXPECT_EQ(b.DelayAfter(10), 60);
  EXPECT_EQ(b.DelayAfter(1000), 60);

  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(b.RetryAfter("k"), 0);
    b.RecordFailure("k");
  }
  EXPECT_EQ(b.RetryAfter("k"), 0);  // three are free
  b.RecordFailure("k");
  EXPECT_EQ(b.RetryAfter("k"), 1);
  EXPECT_EQ(b.RetryAfter("other"), 0);
  clock.Advance(1);
  EXPECT_EQ(b.RetryAfter("k"), 0);
  b.RecordFailure("k");
  EXPECT_EQ(b.RetryAfter("k"), 2);
  b.Reset("k");  // a success
  EXPECT_EQ(b.RetryAfter("k"), 0);

  for (int i = 0; i < 6; ++i) b.RecordFailure("old");
  EXPECT_EQ(b.RetryAfter("old"), 4);
  clock.Advance(3600);  // forgotten after a quiet while: starts from zero
  b.RecordFailure("old");
  EXPECT_EQ(b.RetryAfter("old"), 0);
}

TEST(Email, RefusesInvisibleAndBidiCharactersAndMixedScripts) {
  for (const char* ok : {"alice@example.com", "jos\xc3\xa9@example.fr",
                         "ivan@\xd0\xbf\xd1\x80\xd0\xb8.\xd1\x80\xd1\x84",
                         "\xd0\xb8\xd0\xb2\xd0\xb0\xd0\xbd@example.com",
                         "taro\xe5\xa4\xaa\xe9\x83\x8e@example.jp", "a-1_2+tag@sub.example.com"}) {
    EXPECT_EQ(EmailViolation(ok), "") << ok;
  }
  const std::string bidi[] = {"\u202e", "\u202a",     "\u202b", "\u202c", "\u202d", "\u2066",
                              "\u2067", "\u2068",     "\u2069", "\u200e", "\u200f", "\u061c",
                              "\u200b", "\u200d",     "\u2060", "\ufeff", "\u00ad", "\u00a0",
                              "\ufe0f", "\U000e0041", "\ue000"};
  for (const std::string& c : bidi) {
    EXPECT_NE(EmailViolation("ali" + c + "ce@example.com"), "") << c;
    EXPECT_NE(EmailViolation("alice@exa" + c + "mple.com"), "") << c;
  }
  // Latin with Cyrillic or Greek in one label.
  EXPECT_NE(EmailViolation("p\u0430ypal@example.com"), "");  // Cyrillic a
  EXPECT_NE(EmailViolation("alice@p\u0430ypal.com"), "");
  EXPECT_NE(EmailViolation("\u03bfpen@example.com"), "");     // Greek omicron
  EXPECT_NE(EmailViolation("\u0430\u03b1@example.com"), "");  // Cyrillic with Greek
  EXPECT_NE(EmailViolation("bad\xff@example.com"), "");       // not UTF-8
  EXPECT_NE(EmailViolation("bad\xc0\xaf@example.com"), "");   // overlong
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
    audit_ = std::make_unique<audit::AuditLog>(*store_, clock_);
    Start(store::Registration::kOpen);
  }
  void Start(store::Registration registration) {
    AuthOptions opts;
    opts.session_ttl_seconds = 3600;
    opts.backoff = BackoffPolicy{2, 10, 900, 24 * 3600};
    opts.max_failures_per_address = 5;
    opts.signups_per_address_per_hour = signups_per_hour_;
    opts.registration = registration;
    svc_ = std::make_unique<AuthService>(*store_, clock_, keys_, *audit_, opts);
  }
  void TearDown() override {
    svc_.reset();
    audit_.reset();
    store_.reset();
    fs::remove_all(dir_);
  }
  // The audit trail, oldest first.
  std::vector<store::AuditEvent> Trail() {
    auto events = *store_->ListAudit(0, 1000);
    std::reverse(events.begin(), events.end());
    return events;
  }

  int signups_per_hour_ = 100;
  fs::path dir_;
  ManualClock clock_{1'700'000'000};
  Keyring keys_ = Keyring::FromMaster(std::string(32, 'm'));
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<audit::AuditLog> audit_;
  std::unique_ptr<AuthService> svc_;
};

TEST_F(AuthServiceTest, RegisterValidatesEveryField) {
  auto r = svc_->Register({"nope", "short"}, "1.2.3.4");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  ASSERT_EQ(r.error().fields.size(), 2u);
  EXPECT_EQ(r.error().fields[0].field, "email");
  EXPECT_EQ(r.error().fields[1].field, "password");
}

TEST_F(AuthServiceTest, TokenWorksUntilLogoutOrExpiry) {
  auto r = svc_->Register({"A@x.io", "0123456789"}, "1.2.3.4");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->user.role, "admin");
  auto p = svc_->Authenticate(r->token);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->email, "a@x.io");

  auto second = svc_->Login("a@x.io", "0123456789", "1.2.3.4");
  ASSERT_TRUE(second.ok());
  ASSERT_TRUE(svc_->Logout(*p, "").ok());
  EXPECT_FALSE(svc_->Authenticate(r->token).ok());      // revoked
  EXPECT_TRUE(svc_->Authenticate(second->token).ok());  // other sessions unaffected

  clock_.Advance(3600);
  EXPECT_FALSE(svc_->Authenticate(second->token).ok());  // expired
}

TEST_F(AuthServiceTest, ForgedTokenForRealSessionIsRejected) {
  auto r = svc_->Register({"a@x.io", "0123456789"}, "");
  ASSERT_TRUE(r.ok());
  auto claims = VerifyTokenSignature(r->token, keys_.token_key());
  ASSERT_TRUE(claims.has_value());
  claims->secret = "guessed";
  EXPECT_FALSE(svc_->Authenticate(SignToken(*claims, keys_.token_key())).ok());
  EXPECT_FALSE(svc_->Authenticate(SignToken(*claims, std::string(32, 'x'))).ok());
}

TEST_F(AuthServiceTest, LoginBacksOffPerAccountAndAddress) {
  ASSERT_TRUE(svc_->Register({"a@x.io", "0123456789"}, "").ok());
  for (int i = 0; i < 3; ++i) {  // two free failures, then a 10 s wait
    auto r = svc_->Login("a@x.io", "wrong-password", "10.0.0.1");
    ASSERT_EQ(r.error().code, ErrorCode::kUnauthenticated);
  }
  auto waiting = svc_->Login("a@x.io", "0123456789", "10.0.0.1");  // even the right password
  ASSERT_FALSE(waiting.ok());
  EXPECT_EQ(waiting.error().code, ErrorCode::kRateLimited);
  EXPECT_EQ(waiting.error().retry_after_seconds, 10);
  EXPECT_EQ(svc_->Login("A@X.io", "0123456789", "10.0.0.1").error().code,
            ErrorCode::kRateLimited);  // keyed by the normalised email
  // The wrong passwords from 10.0.0.1 never lock the owner out from elsewhere.
  EXPECT_TRUE(svc_->Login("a@x.io", "0123456789", "10.0.0.2").ok());
  clock_.Advance(10);
  EXPECT_EQ(svc_->Login("a@x.io", "wrong-password", "10.0.0.1").error().code,
            ErrorCode::kUnauthenticated);
  EXPECT_EQ(svc_->Login("a@x.io", "0123456789", "10.0.0.1").error().retry_after_seconds,
            20);  // doubled
  clock_.Advance(20);
  EXPECT_TRUE(svc_->Login("a@x.io", "0123456789", "10.0.0.1").ok());
  EXPECT_EQ(svc_->Login("a@x.io", "wrong-password", "10.0.0.1").error().code,
            ErrorCode::kUnauthenticated);  // the success started it over

  // Per address: failures spread over unknown accounts still stop the address.
  for (int i = 0; i < 5; ++i) svc_->Login("u" + std::to_string(i) + "@x.io", "x", "10.0.0.9").ok();
  ASSERT_TRUE(svc_->Register({"b@x.io", "0123456789"}, "").ok());
  EXPECT_EQ(svc_->Login("b@x.io", "0123456789", "10.0.0.9").error().code, ErrorCode::kRateLimited);
  EXPECT_TRUE(svc_->Login("b@x.io", "0123456789", "10.0.0.3").ok());
}

TEST_F(AuthServiceTest, PasswordChangeBacksOffLikeSignIn) {
  auto r = svc_->Register({"a@x.io", "0123456789"}, "");
  ASSERT_TRUE(r.ok());
  auto p = svc_->Authenticate(r->token);
  ASSERT_TRUE(p.ok());
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(svc_->ChangePassword(*p, "wrong-password", "new-password-1", "10.0.0.1").error().code,
              ErrorCode::kInvalidArgument);
  auto waiting = svc_->ChangePassword(*p, "0123456789", "new-password-1", "10.0.0.1");
  ASSERT_FALSE(waiting.ok());
  EXPECT_EQ(waiting.error().code, ErrorCode::kRateLimited);
  EXPECT_EQ(waiting.error().retry_after_seconds, 10);
  clock_.Advance(10);
  EXPECT_TRUE(svc_->ChangePassword(*p, "0123456789", "new-password-1", "10.0.0.1").ok());
}

TEST_F(AuthServiceTest, SignUpsAreThrottledPerAddress) {
  signups_per_hour_ = 2;
  Start(store::Registration::kOpen);
  EXPECT_TRUE(svc_->Register({"a@x.io", "0123456789"}, "10.0.0.1").ok());
  EXPECT_EQ(svc_->Register({"a@x.io", "0123456789"}, "10.0.0.1").error().code,
            ErrorCode::kConflict);  // a failed attempt counts too
  auto third = svc_->Register({"c@x.io", "0123456789"}, "10.0.0.1");
  ASSERT_FALSE(third.ok());
  EXPECT_EQ(third.error().code, ErrorCode::kRateLimited);
  EXPECT_GT(third.error().retry_after_seconds, 0);
  EXPECT_EQ(svc_->Register({"bad", "0123456789"}, "10.0.0.1").error().code,
            ErrorCode::kInvalidArgument);  // malformed input is refused before the count
  EXPECT_TRUE(svc_->Register({"c@x.io", "0123456789"}, "10.0.0.2").ok());
  clock_.Advance(3600);
  EXPECT_TRUE(svc_->Register({"d@x.io", "0123456789"}, "10.0.0.1").ok());
}

TEST_F(AuthServiceTest, RegisterRefusesDeceptiveAddresses) {
  for (const char* email : {"ad\u202emin@x.io", "p\u0430ypal@x.io", "a\u200b@x.io"}) {
    auto r = svc_->Register({email, "0123456789"}, "");
    ASSERT_FALSE(r.ok()) << email;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
    ASSERT_EQ(r.error().fields.size(), 1u);
    EXPECT_EQ(r.error().fields[0].field, "email");
  }
}

TEST_F(AuthServiceTest, RevocationsAreAnnounced) {
  std::vector<Revocation> seen;
  svc_->SetRevocationListener([&](const Revocation& r) { seen.push_back(r); });
  auto r = svc_->Register({"a@x.io", "0123456789"}, "");
  ASSERT_TRUE(r.ok());
  auto p = svc_->Authenticate(r->token);
  ASSERT_TRUE(p.ok());
  ASSERT_TRUE(svc_->Logout(*p, "").ok());
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].user_id, p->user_id);
  EXPECT_EQ(seen[0].session_id, p->session_id);

  auto s = svc_->Login("a@x.io", "0123456789", "");
  ASSERT_TRUE(s.ok());
  auto ps = svc_->Authenticate(s->token);
  ASSERT_TRUE(ps.ok());
  ASSERT_TRUE(svc_->ChangePassword(*ps, "0123456789", "new-password-1", "").ok());
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[1].user_id, p->user_id);
  EXPECT_EQ(seen[1].session_id, "");  // every session of the user
}

TEST_F(AuthServiceTest, VerifiedCacheHonoursLocalRevocationAtOnceAndRemoteWithinTtl) {
  auto r = svc_->Register({"a@x.io", "0123456789"}, "");
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
  ASSERT_TRUE(svc_->Logout(*ps, "").ok());
  EXPECT_FALSE(svc_->Authenticate(s->token).ok());
}

TEST_F(AuthServiceTest, ChangePasswordRevokesOldTokens) {
  auto r = svc_->Register({"a@x.io", "0123456789"}, "");
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

TEST_F(AuthServiceTest, InviteOnlyRegistration) {
  Start(store::Registration::kInvite);
  auto admin = svc_->Register({"root@x.io", "0123456789"}, "");  // the first: no invite needed
  ASSERT_TRUE(admin.ok());
  EXPECT_EQ(admin->user.role, "admin");
  auto p = svc_->Authenticate(admin->token);
  ASSERT_TRUE(p.ok());

  auto none = svc_->Register({"b@x.io", "0123456789"}, "");
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code, ErrorCode::kPermissionDenied);
  EXPECT_EQ(none.error().type, "invite-required");
  ASSERT_EQ(none.error().fields.size(), 1u);
  EXPECT_EQ(none.error().fields[0].field, "invite");
  auto forged = svc_->Register({"b@x.io", "0123456789", "lin_forged"}, "");
  ASSERT_FALSE(forged.ok());
  EXPECT_EQ(forged.error().type, "invite-invalid");

  InviteService invites(*store_, clock_, *audit_);
  auto inv = invites.Create(*p, "for bob", 3600, "10.0.0.1");
  ASSERT_TRUE(inv.ok());
  EXPECT_EQ(inv->code.rfind("lin_", 0), 0u);
  EXPECT_NE(inv->invite.code_hash, inv->code);  // only the hash is kept
  auto bob = svc_->Register({"bob@x.io", "0123456789", "  " + inv->code + " "}, "");
  ASSERT_TRUE(bob.ok()) << bob.error().message;
  EXPECT_EQ(bob->user.role, "user");
  auto again = svc_->Register({"eve@x.io", "0123456789", inv->code}, "");
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().type, "invite-invalid");

  auto late = invites.Create(*p, "", 60, "");
  ASSERT_TRUE(late.ok());
  clock_.Advance(60);
  EXPECT_EQ(svc_->Register({"eve@x.io", "0123456789", late->code}, "").error().type,
            "invite-invalid");
  EXPECT_EQ(invites.Create(*p, "", 59, "").error().fields.at(0).field, "ttl_seconds");
  EXPECT_EQ(invites.Create(*p, std::string(201, 'n'), 60, "").error().fields.at(0).field, "note");
  ASSERT_TRUE(invites.Delete(*p, late->invite.id, "").ok());
  EXPECT_EQ(invites.Delete(*p, late->invite.id, "").error().code, ErrorCode::kNotFound);
}

TEST_F(AuthServiceTest, ClosedRegistrationAdmitsOnlyTheFirstAccount) {
  Start(store::Registration::kClosed);
  ASSERT_TRUE(svc_->Register({"root@x.io", "0123456789"}, "").ok());
  auto r = svc_->Register({"b@x.io", "0123456789", "lin_whatever"}, "");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kPermissionDenied);
  EXPECT_EQ(r.error().type, "registration-closed");
  EXPECT_NE(r.error().message.find("closed"), std::string::npos);
}

TEST_F(AuthServiceTest, AuditRecordsAccountEventsButNeverPasswords) {
  auto r = svc_->Register({"a@x.io", "0123456789"}, "10.0.0.1");
  ASSERT_TRUE(r.ok());
  ASSERT_FALSE(svc_->Login("a@x.io", "attempted-secret-1", "10.0.0.2").ok());
  ASSERT_FALSE(svc_->Login("attempted-secret-2", "attempted-secret-3", "10.0.0.3").ok());
  ASSERT_FALSE(svc_->Login("nobody@x.io", "attempted-secret-4", "10.0.0.3").ok());
  auto s = svc_->Login("a@x.io", "0123456789", "10.0.0.4");
  ASSERT_TRUE(s.ok());
  auto p = svc_->Authenticate(s->token);
  ASSERT_TRUE(p.ok());
  ASSERT_FALSE(svc_->ChangePassword(*p, "attempted-secret-5", "abcdefghijk", "10.0.0.5").ok());
  auto changed = svc_->ChangePassword(*p, "0123456789", "abcdefghijk", "10.0.0.5");
  ASSERT_TRUE(changed.ok());
  auto p2 = svc_->Authenticate(changed->token);
  ASSERT_TRUE(p2.ok());
  ASSERT_TRUE(svc_->Logout(*p2, "10.0.0.6").ok());

  struct Want {
    std::string action, outcome, actor, target, address;
  };
  const std::string id = r->user.id;
  const std::vector<Want> want = {
      {"auth.register", "success", id, id, "10.0.0.1"},
      {"auth.login", "failure", "", id, "10.0.0.2"},  // a known account: named as the target
      {"auth.login", "failure", "", "", "10.0.0.3"},  // not an email: nothing of it is kept
      {"auth.login", "failure", "", "", "10.0.0.3"},  // unknown account: not named either
      {"auth.login", "success", id, id, "10.0.0.4"},
      {"auth.password_change", "failure", id, id, "10.0.0.5"},
      {"auth.password_change", "success", id, id, "10.0.0.5"},
      {"auth.logout", "success", id, p2->session_id, "10.0.0.6"},
  };
  const auto trail = Trail();
  ASSERT_EQ(trail.size(), want.size());
  for (std::size_t i = 0; i < want.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(trail[i].action, want[i].action);
    EXPECT_EQ(trail[i].outcome, want[i].outcome);
    EXPECT_EQ(trail[i].actor_id, want[i].actor);
    EXPECT_EQ(trail[i].target, want[i].target);
    EXPECT_EQ(trail[i].client_address, want[i].address);
    EXPECT_EQ(trail[i].at, clock_.NowSeconds());
    for (const std::string& field : {trail[i].actor_email, trail[i].target, trail[i].detail})
      EXPECT_EQ(field.find("attempted-secret"), std::string::npos) << field;
  }
  EXPECT_EQ(trail[0].actor_email, "a@x.io");
}

TEST_F(AuthServiceTest, RateLimitedAttemptsAreNotRecordedOneByOne) {
  ASSERT_TRUE(svc_->Register({"a@x.io", "0123456789"}, "").ok());
  for (int i = 0; i < 10; ++i) (void)svc_->Login("a@x.io", "wrong-password", "10.0.0.1");
  // 3 failures reach the password check; the 7 refused while backing off never do.
  EXPECT_EQ(Trail().size(), 1u + 3u);
}

TEST_F(AuthServiceTest, RefusedSignUpsAreRecordedWithoutTheirInput) {
  Start(store::Registration::kInvite);
  ASSERT_TRUE(svc_->Register({"root@x.io", "0123456789"}, "").ok());
  ASSERT_FALSE(svc_->Register({"b@x.io", "0123456789", "lin_guess"}, "10.9.9.9").ok());
  ASSERT_FALSE(svc_->Register({"bad", "short", "lin_x"}, "10.9.9.9").ok());  // malformed: not kept
  ASSERT_FALSE(svc_->Register({"c@x.io", "0123456789"}, "10.9.9.9").ok());   // no invite: free
  const auto trail = Trail();
  ASSERT_EQ(trail.size(), 2u);
  EXPECT_EQ(trail[1].action, "auth.register");
  EXPECT_EQ(trail[1].outcome, "failure");
  EXPECT_EQ(trail[1].actor_id, "");
  EXPECT_EQ(trail[1].client_address, "10.9.9.9");
  EXPECT_EQ(trail[1].detail.find("lin_guess"), std::string::npos);
}

}  // namespace
}  // namespace lattice::auth
