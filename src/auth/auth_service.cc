#include "auth/auth_service.h"

#include <sodium.h>

#include <cctype>

#include "auth/email.h"
#include "auth/password.h"
#include "auth/token.h"
#include "common/random.h"

namespace lattice::auth {
namespace {

Error TooManyFailures(std::string_view what, std::int64_t wait) {
  return Error::RateLimited("Too many failed " + std::string(what) + ". Try again in " +
                                std::to_string(wait) + " seconds.",
                            static_cast<int>(wait));
}

Error BadCredentials() {
  return Error::Unauthenticated("The email or password is incorrect.");
}

// The store's refusal, worded for the person signing up (and the field to mark).
Error AdmissionRefused(Error e) {
  if (e.type == "registration-closed") {
    e.message = "Registration is closed on this server: ask its administrator for an account.";
  } else if (e.type == "invite-required") {
    e.message = "This server is invite-only: sign up with an invite code from its administrator.";
    e.fields = {{"invite", "is required"}};
  } else if (e.type == "invite-invalid") {
    e.message = "The invite code is unknown, expired or already used.";
    e.fields = {{"invite", "is unknown, expired or already used"}};
  }
  return e;
}

std::string_view PolicyName(store::Registration r) {
  switch (r) {
    case store::Registration::kOpen:
      return "open";
    case store::Registration::kInvite:
      return "invite";
    case store::Registration::kClosed:
      return "closed";
  }
  return "open";
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

}  // namespace

AuthService::AuthService(store::Store& store, const Clock& clock, const Keyring& keys,
                         audit::AuditLog& audit, AuthOptions opts)
    : store_(store),
      clock_(clock),
      keys_(keys),
      audit_(audit),
      opts_(opts),
      backoff_(clock, opts.backoff),
      by_address_(clock, opts.max_failures_per_address, opts.failure_window_seconds),
      signups_(clock, opts.signups_per_address_per_hour, 3600) {
  auto h = HashPassword(RandomToken(16));
  if (h.ok()) dummy_hash_ = std::move(h).value();
}

Status AuthService::PrecheckAdmission(std::string_view invite) {
  if (opts_.registration == store::Registration::kOpen) return Status::Ok();
  if (opts_.registration == store::Registration::kInvite && !invite.empty()) return Status::Ok();
  auto any = store_.HasUsers();
  if (!any.ok()) return std::move(any).error();
  if (!*any) return Status::Ok();  // the first account: always admitted
  Error e = Error::Forbidden("");
  e.type = opts_.registration == store::Registration::kClosed ? "registration-closed"
                                                              : "invite-required";
  return AdmissionRefused(std::move(e));
}

Result<SignedIn> AuthService::Register(const SignUp& sign_up, const std::string& remote) {
  const std::string_view invite = Trim(sign_up.invite);
  auto refuse = [&](Error e) -> Error {
    // A guessed invite, a taken email or a failure is worth a row. Malformed input is not,
    // nor is a sign-up refused before anything was tried (no invite on an invite-only or
    // closed server): that costs a caller nothing, so recording it would let anyone fill the
    // trail (and the disk) for free.
    const bool cheap = e.code == ErrorCode::kInvalidArgument || e.type == "invite-required" ||
                       e.type == "registration-closed";
    if (!cheap) audit_.Failure(audit::Actor::Anonymous(), "auth.register", "", remote, e);
    return e;
  };
  if (Status s = PrecheckAdmission(invite); !s.ok()) return refuse(std::move(s).error());

  std::vector<FieldError> errors;
  const std::string normalized = NormalizeEmail(sign_up.email);
  if (normalized.empty())
    errors.push_back({"email", "must be a valid email address"});
  else if (std::string v = EmailViolation(normalized); !v.empty())
    errors.push_back({"email", v});
  if (std::string v = PasswordPolicyViolation(sign_up.password); !v.empty())
    errors.push_back({"password", v});
  if (invite.size() > 256) errors.push_back({"invite", "must be at most 256 characters"});
  if (!errors.empty()) return Error::Invalid("The account details are not valid.", errors);

  // Each sign-up that gets this far costs an argon2id hash and may create an account.
  const std::string signup_key = "signup:" + remote;
  if (opts_.signups_per_address_per_hour > 0) {
    if (const std::int64_t wait = signups_.RetryAfter(signup_key); wait > 0)
      return Error::RateLimited(
          "Too many sign-ups from this address. Try again in " + std::to_string(wait) + " seconds.",
          static_cast<int>(wait));
    signups_.RecordFailure(signup_key);
  }
  auto hash = HashPassword(sign_up.password);
  if (!hash.ok()) return refuse(std::move(hash).error());
  const std::int64_t now = clock_.NowSeconds();
  const store::Admission admission{opts_.registration, invite.empty() ? "" : HashSecret(invite),
                                   now};
  auto user =
      store_.CreateUser(store::User{NewId("usr"), normalized, *hash, "", now, now}, admission);
  if (!user.ok()) {
    Error e = std::move(user).error();
    if (e.code == ErrorCode::kConflict) {
      e.message = "An account with this email already exists.";
      e.fields = {{"email", "is already registered"}};
    } else if (e.code == ErrorCode::kPermissionDenied) {
      e = AdmissionRefused(std::move(e));
    }
    return refuse(std::move(e));
  }
  std::string how = user->role == "admin"
                        ? "the first account (admin)"
                        : "registration " + std::string(PolicyName(opts_.registration));
  if (user->role != "admin" && opts_.registration == store::Registration::kInvite)
    how = "with an invite";
  audit_.Success({user->id, user->email}, "auth.register", user->id, remote, how);
  return StartSession(*user, remote);
}

Result<SignedIn> AuthService::Login(std::string_view email, std::string_view password,
                                    const std::string& remote) {
  std::string normalized = NormalizeEmail(email);
  if (!EmailViolation(normalized).empty()) normalized.clear();  // no account can have it
  const std::string account_key = "login:" + normalized + "|" + remote;
  const std::string address_key = "addr:" + remote;
  const std::int64_t wait =
      std::max(backoff_.RetryAfter(account_key), by_address_.RetryAfter(address_key));
  if (wait > 0) return TooManyFailures("sign-ins", wait);
  auto user = normalized.empty() ? Result<store::User>(Error::NotFound("no such user"))
                                 : store_.GetUserByEmail(normalized);
  if (!user.ok() && user.error().code != ErrorCode::kNotFound) return std::move(user).error();
  const bool match = user.ok() ? VerifyPassword(password, user->password_hash)
                               : (VerifyPassword(password, dummy_hash_), false);
  if (!match) {
    if (!normalized.empty()) backoff_.RecordFailure(account_key);
    by_address_.RecordFailure(address_key);
    // The attempted email is recorded only when it names an account: text typed into the
    // email field of a failed sign-in may be a password.
    audit_.Failure(
        audit::Actor::Anonymous(), "auth.login", user.ok() ? user->id : "", remote,
        Error::Unauthenticated(user.ok() ? "wrong password" : "no account with this email"));
    return BadCredentials();
  }
  backoff_.Reset(account_key);
  auto signed_in = StartSession(*user, remote);
  if (signed_in.ok())
    audit_.Success({user->id, user->email}, "auth.login", user->id, remote);
  else
    audit_.Failure({user->id, user->email}, "auth.login", user->id, remote, signed_in.error());
  return signed_in;
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

void AuthService::ForgetCached(const Revocation& r) {
  if (r.session_id.empty())
    Forget([&](const Principal& p) { return p.user_id == r.user_id; });
  else
    Forget([&](const Principal& p) { return p.session_id == r.session_id; });
}

void AuthService::Revoked(const Revocation& r) {
  ForgetCached(r);
  if (on_revoked_) on_revoked_(r);
}

void AuthService::RevokedElsewhere(const Revocation& r) {
  ForgetCached(r);
}

Status AuthService::Logout(const Principal& who, const std::string& remote) {
  Status s = store_.RevokeSession(who.session_id, clock_.NowSeconds());
  Revoked({who.user_id, who.session_id});
  if (s.ok())
    audit_.Success(audit::Actor::Of(who), "auth.logout", who.session_id, remote);
  else
    audit_.Failure(audit::Actor::Of(who), "auth.logout", who.session_id, remote, s.error());
  return s;
}

Result<SignedIn> AuthService::ChangePassword(const Principal& who, std::string_view current,
                                             std::string_view next, const std::string& remote) {
  auto r = ChangePasswordUnaudited(who, current, next, remote);
  audit_.Outcome(audit::Actor::Of(who), "auth.password_change", who.user_id, remote, r);
  return r;
}

Result<SignedIn> AuthService::ChangePasswordUnaudited(const Principal& who,
                                                      std::string_view current,
                                                      std::string_view next,
                                                      const std::string& remote) {
  if (std::string v = PasswordPolicyViolation(next); !v.empty())
    return Error::Invalid("The new password is not valid.", {{"new_password", v}});
  const std::string backoff_key = "password:" + who.user_id + "|" + remote;
  const std::string address_key = "addr:" + remote;
  const std::int64_t wait =
      std::max(backoff_.RetryAfter(backoff_key), by_address_.RetryAfter(address_key));
  if (wait > 0) return TooManyFailures("password changes", wait);
  auto user = store_.GetUserById(who.user_id);
  if (!user.ok()) return std::move(user).error();
  if (!VerifyPassword(current, user->password_hash)) {
    backoff_.RecordFailure(backoff_key);
    by_address_.RecordFailure(address_key);
    return Error::Invalid("The current password is incorrect.",
                          {{"current_password", "is incorrect"}});
  }
  backoff_.Reset(backoff_key);
  auto hash = HashPassword(next);
  if (!hash.ok()) return std::move(hash).error();
  if (Status s = store_.UpdatePassword(user->id, *hash, clock_.NowSeconds()); !s.ok())
    return std::move(s).error();
  Revoked({user->id, ""});
  user->password_hash = *hash;
  return StartSession(*user, remote);
}

std::optional<Principal> AuthService::CachedPrincipal(std::string_view token) const {
  if (opts_.verified_cache_seconds <= 0) return std::nullopt;
  const std::int64_t now = clock_.NowSeconds();
  std::shared_lock lock(cache_mu_);
  auto it = cache_.find(token);
  if (it != cache_.end() && it->second.expires_at > now &&
      now - it->second.checked_at < opts_.verified_cache_seconds)
    return it->second.principal;
  return std::nullopt;
}

Result<Principal> AuthService::Authenticate(std::string_view token) const {
  if (auto cached = CachedPrincipal(token)) return std::move(*cached);
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
