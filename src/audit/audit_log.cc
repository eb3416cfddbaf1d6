#include "audit/audit_log.h"

#include <spdlog/spdlog.h>

namespace lattice::audit {
namespace {

// Fields come partly from requests (a workload id in a path, an email): keep rows small, and
// never cut a UTF-8 sequence in half.
std::string Bounded(std::string_view s, std::size_t max) {
  if (s.size() <= max) return std::string(s);
  std::size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return std::string(s.substr(0, n));
}

}  // namespace

void AuditLog::Success(const Actor& who, std::string_view action, std::string_view target,
                       std::string_view client_address, std::string_view detail) {
  Append(who, action, target, client_address, true, detail);
}

void AuditLog::Failure(const Actor& who, std::string_view action, std::string_view target,
                       std::string_view client_address, const Error& why) {
  Append(who, action, target, client_address, false,
         why.code == ErrorCode::kInternal ? std::string_view("internal error (see the server log)")
                                          : std::string_view(why.message));
}

store::AuditEvent AuditLog::Event(const Actor& who, std::string_view action,
                                  std::string_view target, std::string_view client_address, bool ok,
                                  std::string_view detail) const {
  store::AuditEvent e;
  e.at = clock_.NowSeconds();
  e.actor_id = Bounded(who.id, 64);
  e.actor_email = Bounded(who.email, 254);
  e.action = Bounded(action, 64);
  e.target = Bounded(target, 128);
  e.client_address = Bounded(client_address, 64);
  e.outcome = ok ? "success" : "failure";
  e.detail = Bounded(detail, 512);
  return e;
}

void AuditLog::Append(const Actor& who, std::string_view action, std::string_view target,
                      std::string_view client_address, bool ok, std::string_view detail) {
  const store::AuditEvent e = Event(who, action, target, client_address, ok, detail);
  if (Status s = store_.AppendAudit(e); !s.ok()) {
    spdlog::error("msg=\"cannot record audit event\" action={} target={} error=\"{}\"", e.action,
                  e.target, s.error().message);
  }
}

}  // namespace lattice::audit
