#include "auth/invite_service.h"

#include "auth/token.h"
#include "common/random.h"

namespace lattice::auth {

Result<InviteIssued> InviteService::Create(const Principal& admin, std::string note,
                                           std::int64_t ttl_seconds, const std::string& remote) {
  std::vector<FieldError> errors;
  if (ttl_seconds < 60 || ttl_seconds > kMaxTtlSeconds)
    errors.push_back({"ttl_seconds", "must be from 60 to " + std::to_string(kMaxTtlSeconds)});
  if (note.size() > 200) errors.push_back({"note", "must be at most 200 bytes"});
  if (!errors.empty()) return Error::Invalid("The invite is not valid.", errors);

  const std::int64_t now = clock_.NowSeconds();
  InviteIssued out;
  out.code = "lin_" + RandomToken(18);
  out.invite.id = NewId("inv");
  out.invite.code_hash = HashSecret(out.code);
  out.invite.note = std::move(note);
  out.invite.created_by = admin.user_id;
  out.invite.created_by_email = admin.email;
  out.invite.created_at = now;
  out.invite.expires_at = now + ttl_seconds;
  Status s = store_.CreateInvite(out.invite);
  if (!s.ok()) {
    audit_.Failure(audit::Actor::Of(admin), "invite.create", out.invite.id, remote, s.error());
    return std::move(s).error();
  }
  audit_.Success(audit::Actor::Of(admin), "invite.create", out.invite.id, remote,
                 "expires " + FormatTimestamp(out.invite.expires_at));
  return out;
}

Result<std::vector<store::Invite>> InviteService::List() {
  return store_.ListInvites();
}

Status InviteService::Delete(const Principal& admin, const std::string& id,
                             const std::string& remote) {
  Status s = store_.DeleteInvite(id);
  if (!s.ok() && s.error().code == ErrorCode::kNotFound)
    s = Error::NotFound("No invite with id '" + id.substr(0, 64) + "'.");
  if (s.ok())
    audit_.Success(audit::Actor::Of(admin), "invite.delete", id, remote);
  else
    audit_.Failure(audit::Actor::Of(admin), "invite.delete", id, remote, s.error());
  return s;
}

}  // namespace lattice::auth
