// AuditLog: records who did what, to what, when, from where, and how it ended (the audit
// trail admins read at GET /api/v1/audit). Callers name the action and its outcome; the log
// stamps the time, bounds every field, and appends to the store. Recording never fails the
// action it describes: a store error is logged and the action's answer stands.
// Holds references to the store and clock, which must outlive it. Thread-safe.
//
// What is recorded, and what never is: events carry ids, emails, client addresses and short
// reasons. Passwords, tokens, invite codes and join tokens are never passed in, so they
// cannot end up in the trail.
#pragma once

#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/principal.h"
#include "common/result.h"
#include "store/store.h"

namespace lattice::audit {

// Who acted: a signed-in user, or (both empty) an anonymous caller.
struct Actor {
  std::string id;
  std::string email;
  static Actor Anonymous() { return {}; }
  static Actor Of(const Principal& p) { return {p.user_id, p.email}; }
};

class AuditLog {
 public:
  AuditLog(store::Store& store, const Clock& clock) : store_(store), clock_(clock) {}
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  // `action` is "<resource>.<verb>", e.g. "auth.login", "workload.stop"; `target` the id of
  // what it acted on ("" if none); `detail` extra context (never a secret).
  void Success(const Actor& who, std::string_view action, std::string_view target,
               std::string_view client_address, std::string_view detail = {});
  // The reason is `why`'s message, except for internal errors (which say only that).
  void Failure(const Actor& who, std::string_view action, std::string_view target,
               std::string_view client_address, const Error& why);
  // Records `outcome` of an action: Success if it is ok, else Failure with its error.
  template <typename T>
  void Outcome(const Actor& who, std::string_view action, std::string_view target,
               std::string_view client_address, const Result<T>& outcome) {
    if (outcome.ok())
      Success(who, action, target, client_address);
    else
      Failure(who, action, target, client_address, outcome.error());
  }

  // The record Success/Failure would append, for a caller that writes it itself inside the
  // transaction of the action it describes (a workload create). Time, bounds and outcome as
  // there; `target` may be filled in later.
  store::AuditEvent Event(const Actor& who, std::string_view action, std::string_view target,
                          std::string_view client_address, bool ok,
                          std::string_view detail = {}) const;

 private:
  void Append(const Actor& who, std::string_view action, std::string_view target,
              std::string_view client_address, bool ok, std::string_view detail);

  store::Store& store_;
  const Clock& clock_;
};

}  // namespace lattice::audit
