#include "auth/auth_service.h"

#include <sodium.h>

#include "auth/password.h"
#include "auth/token.h"
#include "common/random.h"

namespace lattice::auth {
namespace {

Error BadCredentials() {
  return Error::Unauthenticated("The email or password is incorrect.");
}

}  // namespace

AuthService::AuthService(store::Store& store, const Clock& clock, const Keyring& keys,
                         AuthOptions opts)
    : store_(store),
      clock_(clock),
      keys_(keys),
      opts_(opts),
      by_account_(clock, opts.max_failures_per_account, opts.failure_window_seconds),
      by_address_(clock, opts.max_failures_per_address, opts.failure_window_seconds) {
  auto h = HashPassword(RandomToken(16));
  if (h.ok()) dummy_hash_ = std::move(h).value();
}

Result<SignedIn> AuthService::Register(std::string_view email, std::string_view password,
                                       const std::string& remote) {
  std::vector<FieldError> errors;
  const std::string normalized = NormalizeEmail(email);
  if (normalized.empty()) errors.push_back({"email", "must be a valid email address"});
  if (std::string v = PasswordPolicyViolation(password); !v.empty())
    errors.push_back({"password", v});
  if (!errors.empty()) return Error::Invalid("The account details are not valid.", errors);

  auto hash = HashPassword(password);
  if (!hash.ok()) return std::move(hash).error();
  const std::int64_t now = clock_.NowSeconds();
  auto user = store_.CreateUser(store::User{NewId("usr"), normalized, *hash, "", now, now}, {});
  if (!user.ok()) {
    Error e = std::move(user).error();
    if (e.code == ErrorCode::kConflict) {
      e.message = "An account with this email already exists.";
      e.fields = {{"email", "is already registered"}};
    }
    return e;
  }
  return StartSession(*user, remote);
}

Result<SignedIn> AuthService::Login(std::string_view email, std::string_view password,
                                    const std::string& remote) {
  const std::string normalized = NormalizeEmail(email);
  const std::string account_key = "account:" + normalized;
  const std::string address_key = "addr:" + remote;
  const std::int64_t wait =
      std::max(by_account_.RetryAfter(account_key), by_address_.RetryAfter(address_key));
  if (wait > 0) {
    return Error::RateLimited(
        "Too many failed sign-ins. Try again in " + std::to_string(wait) + " seconds.",
        static_cast<int>(wait));
  }
  auto user = normalized.empty() ? Result<store::User>(Error::NotFound("no such user"))
                                 : store_.GetUserByEmail(normalized);
  if (!user.ok() && user.error().code != ErrorCode::kNotFound) return std::move(user).error();
  const bool match = user.ok() ? VerifyPassword(password, user->password_hash)
                               : (VerifyPassword(password, dummy_hash_), false);
  if (!match) {
    if (!normalized.empty()) by_account_.RecordFailure(account_key);
    by_address_.RecordFailure(address_key);
    return BadCredentials();
  }
  by_account_.Reset(account_key);
  return StartSession(*user, remote);
}

Result<SignedIn> AuthService::StartSession(const store::User& user, const std::string& remote) {
  const std::int64_t now = clock_.NowSeconds();
  TokenClaims claims{NewId("ses"), RandomToken(24), now + opts_.session_ttl_seconds};
  store::Session s{claims.session_id, user.id, HashSecret(claims.secret), now, claims.expires_at,
                   std::nullopt,      remote};
  if (Status st = store_.CreateSession(s); !st.ok()) return std::move(st).error();
  return SignedIn{user, SignToken(claims, keys_.token_key()), claims.expires_at};
}

template <typename Pred>
void AuthService::Forget(Pred pred) {
  std::unique_lock lock(cache_mu_);
  for (auto it = cache_.begin(); it != cache_.end();) {
    if (pred(it->second.principal))
      it = cache_.erase(it);
    else
      ++it;
  }
}

Status AuthService::Logout(const Principal& who) {
  Status s = store_.RevokeSession(who.session_id, clock_.NowSeconds());
  Forget([&](const Principal& p) { return p.session_id == who.session_id; });
  return s;
}

Result<SignedIn> AuthService::ChangePassword(const Principal& who, std::string_view current,
                                             std::string_view next, const std::string& remote) {
  if (std::string v = PasswordPolicyViolation(next); !v.empty())
    return Error::Invalid("The new password is not valid.", {{"new_password", v}});
  auto user = store_.GetUserById(who.user_id);
  if (!user.ok()) return std::move(user).error();
  if (!VerifyPassword(current, user->password_hash))
    return Error::Invalid("The current password is incorrect.",
                          {{"current_password", "is incorrect"}});
  auto hash = HashPassword(next);
  if (!hash.ok()) return std::move(hash).error();
  if (Status s = store_.UpdatePassword(user->id, *hash, clock_.NowSeconds()); !s.ok())
    return std::move(s).error();
  Forget([&](const Principal& p) { return p.user_id == user->id; });
  user->password_hash = *hash;
  return StartSession(*user, remote);
}

Result<Principal> AuthService::Authenticate(std::string_view token) const {
  const std::int64_t now = clock_.NowSeconds();
  if (opts_.verified_cache_seconds > 0) {
    std::shared_lock lock(cache_mu_);
    auto it = cache_.find(token);
    if (it != cache_.end() && it->second.expires_at > now &&
        now - it->second.checked_at < opts_.verified_cache_seconds)
      return it->second.principal;
  }
  auto v = AuthenticateUncached(token);
  if (!v.ok()) return std::move(v).error();
  if (opts_.verified_cache_seconds > 0) {
    std::unique_lock lock(cache_mu_);
    if (cache_.size() >= 100000) cache_.clear();  // bounded; refills from the store
    cache_[std::string(token)] = *v;
  }
  return std::move(v->principal);
}

Result<AuthService::Verified> AuthService::AuthenticateUncached(std::string_view token) const {
  auto claims = VerifyTokenSignature(token, keys_.token_key());
  if (!claims) return Error::Unauthenticated("The token is invalid.");
  const std::int64_t now = clock_.NowSeconds();
  if (claims->expires_at <= now) return Error::Unauthenticated("The token has expired.");
  auto rec = store_.GetSession(claims->session_id);
  if (!rec.ok()) {
    if (rec.error().code == ErrorCode::kNotFound)
      return Error::Unauthenticated("The token is invalid.");
    return std::move(rec).error();
  }
  const std::string h = HashSecret(claims->secret);
  if (h.size() != rec->session.secret_hash.size() ||
      sodium_memcmp(h.data(), rec->session.secret_hash.data(), h.size()) != 0)
    return Error::Unauthenticated("The token is invalid.");
  if (rec->session.revoked_at) return Error::Unauthenticated("The token has been revoked.");
  if (rec->session.expires_at <= now) return Error::Unauthenticated("The token has expired.");
  const store::User& u = rec->user;
  return Verified{Principal{u.id, u.email, u.role, rec->session.id, u.created_at},
                  rec->session.expires_at, now};
}

}  // namespace lattice::auth
