// AuthService: accounts and sessions — register (under the server's registration policy,
// throttled per source address), sign in and change password (both with exponential backoff per
// (account, source address) and a failure limit per address), sign out, and verify bearer
// tokens. Every revocation it makes is announced to the revocation listener, so long-lived
// streams opened with a revoked token can end at once. Every sign-up,
// sign-in (successful or not, except attempts the rate limiter refuses before the password is
// checked), sign-out and password change is recorded in the audit log; attempted passwords
// never are. Sign-ups refused before anything was tried (no invite where one is needed,
// registration closed) are not recorded: they cost the caller nothing. Holds references to the
// store, clock, keyring and audit log, which must outlive it. Thread-safe.
// Register/Login/ChangePassword run argon2id and take tens of milliseconds: call them off the I/O
// threads. Authenticate is cheap (HMAC + one lookup).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>

#include "audit/audit_log.h"
#include "auth/rate_limiter.h"
#include "common/clock.h"
#include "common/keyring.h"
#include "common/principal.h"
#include "common/result.h"
#include "store/store.h"

namespace lattice::auth {

struct AuthOptions {
  std::int64_t session_ttl_seconds = 7 * 24 * 3600;
  // How long a verified token is trusted without a store lookup. Logout and password changes
  // on this server take effect at once; this bounds how late a revocation made by another
  // server replica is noticed. 0 disables the cache.
  std::int64_t verified_cache_seconds = 5;
  // Failed sign-ins (and password changes) per (account, source address): a few are free,
  // then each one doubles the wait before the next attempt from that address.
  BackoffPolicy backoff;
  // Failures from one source address, whatever the account, in a fixed window.
  int max_failures_per_address = 20;
  std::int64_t failure_window_seconds = 15 * 60;
  // Sign-ups from one source address per hour; 0: no limit.
  int signups_per_address_per_hour = 20;
  // Who may sign up once the first account (the admin) exists.
  store::Registration registration = store::Registration::kOpen;
};

struct SignUp {
  std::string_view email;
  std::string_view password;
  std::string_view invite = {};  // an invite code (needed under Registration::kInvite)
};

// Sessions that just stopped being valid: one session, or (session_id empty) every session of
// `user_id`.
struct Revocation {
  std::string user_id;
  std::string session_id;
};
using RevocationListener = std::function<void(const Revocation&)>;

struct SignedIn {
  store::User user;
  std::string token;
  std::int64_t expires_at = 0;
};

class AuthService {
 public:
  AuthService(store::Store& store, const Clock& clock, const Keyring& keys, audit::AuditLog& audit,
              AuthOptions opts);
  AuthService(const AuthService&) = delete;
  AuthService& operator=(const AuthService&) = delete;

  // Called (on the revoking thread, after the store has it) for every revocation this service
  // makes. Set it before the service is used; it must not block.
  void SetRevocationListener(RevocationListener listener) { on_revoked_ = std::move(listener); }
  // Another server replica revoked these sessions: stop trusting cached verifications of
  // them at once (instead of within verified_cache_seconds). Not announced again.
  void RevokedElsewhere(const Revocation& r);

  // kInvalidArgument with field errors; kConflict if the email is taken; kRateLimited when
  // the source address has signed up too often; kPermissionDenied
  // (type "registration-closed", "invite-required" or "invite-invalid", the last two with a
  // field error on `invite`) when the policy does not admit the sign-up.
  Result<SignedIn> Register(const SignUp& sign_up, const std::string& remote);
  // kUnauthenticated (never says which part was wrong); kRateLimited with retry_after.
  Result<SignedIn> Login(std::string_view email, std::string_view password,
                         const std::string& remote);
  // Revokes the caller's session.
  Status Logout(const Principal& who, const std::string& remote);
  // Verifies the current password, sets the new one, revokes every session of the user and
  // returns a fresh session. kRateLimited (retry_after) while wrong current passwords from
  // this address back off.
  Result<SignedIn> ChangePassword(const Principal& who, std::string_view current,
                                  std::string_view next, const std::string& remote);
  // kUnauthenticated for a malformed, forged, expired or revoked token.
  Result<Principal> Authenticate(std::string_view token) const;
  // Authenticate's answer when a recent verification of `token` is cached (the same rules:
  // not expired, checked within verified_cache_seconds); nullopt otherwise. Never reads the
  // store, so it may run on a network thread.
  std::optional<Principal> CachedPrincipal(std::string_view token) const;

  store::Registration registration() const { return opts_.registration; }

 private:
  Result<SignedIn> StartSession(const store::User& user, const std::string& remote);
  Result<SignedIn> ChangePasswordUnaudited(const Principal& who, std::string_view current,
                                           std::string_view next, const std::string& remote);
  // Refuses a sign-up the policy cannot admit before any argon2id work is spent on it; the
  // store decides again, atomically, when the account is created.
  Status PrecheckAdmission(std::string_view invite);
  struct Verified {
    Principal principal;
    std::int64_t expires_at = 0;  // the session's own expiry
    std::int64_t checked_at = 0;
  };
  // The full check (signature, expiry, session row, secret, revocation), without the cache.
  Result<Verified> AuthenticateUncached(std::string_view token) const;
  // Drops cached verifications matching `pred(principal)`.
  template <typename Pred>
  void Forget(Pred pred);

  store::Store& store_;
  const Clock& clock_;
  const Keyring& keys_;
  audit::AuditLog& audit_;
  const AuthOptions opts_;
  // Announces a revocation and drops the matching cached verifications.
  void Revoked(const Revocation& r);
  void ForgetCached(const Revocation& r);

  Backoff backoff_;  // keys "login:<email>|<addr>", "password:<user id>|<addr>"
  FailureLimiter by_address_;
  FailureLimiter signups_;
  RevocationListener on_revoked_;  // set before use
  std::string dummy_hash_;         // verified against for unknown emails, so timing reveals nothing

  // Tokens verified recently, keyed by the exact token text (only verified tokens get in).
  struct TextHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  mutable std::shared_mutex cache_mu_;
  mutable std::unordered_map<std::string, Verified, TextHash, std::equal_to<>>
      cache_;  // guarded by cache_mu_
};

}  // namespace lattice::auth
