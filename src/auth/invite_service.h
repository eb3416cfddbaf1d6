// InviteService: the sign-up invitations admins hand out when registration is by invite.
// A code is shown once, at creation; only its SHA-256 is stored, and it admits exactly one
// account before it expires (store::Store::CreateUser consumes it atomically with the
// sign-up). Creating and deleting invites is recorded in the audit log.
// Holds references to the store, clock and audit log, which must outlive it. Thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "audit/audit_log.h"
#include "common/clock.h"
#include "common/principal.h"
#include "common/result.h"
#include "store/store.h"

namespace lattice::auth {

struct InviteIssued {
  store::Invite invite;
  std::string code;  // the secret; never stored, never shown again
};

class InviteService {
 public:
  static constexpr std::int64_t kDefaultTtlSeconds = 7 * 24 * 3600;
  static constexpr std::int64_t kMaxTtlSeconds = 90 * 24 * 3600;

  InviteService(store::Store& store, const Clock& clock, audit::AuditLog& audit)
      : store_(store), clock_(clock), audit_(audit) {}
  InviteService(const InviteService&) = delete;
  InviteService& operator=(const InviteService&) = delete;

  // A new invite valid for `ttl_seconds` (60 .. kMaxTtlSeconds), with `note` (≤ 200 bytes) to
  // tell invites apart. kInvalidArgument with field errors (`ttl_seconds`, `note`).
  Result<InviteIssued> Create(const Principal& admin, std::string note, std::int64_t ttl_seconds,
                              const std::string& remote);
  // Newest first.
  Result<std::vector<store::Invite>> List();
  // kNotFound if there is no invite with this id.
  Status Delete(const Principal& admin, const std::string& id, const std::string& remote);

 private:
  store::Store& store_;
  const Clock& clock_;
  audit::AuditLog& audit_;
};

}  // namespace lattice::auth
