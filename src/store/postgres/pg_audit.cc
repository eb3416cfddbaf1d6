// PostgresStore: the audit trail. Triggers refuse UPDATE, DELETE and TRUNCATE (migration 4).
#include "store/postgres/pg_store.h"

#include <limits>

namespace lattice::store::postgres {

Status InsertAudit(Connection& conn, const AuditEvent& e) {
  auto r = conn.Exec(
      "INSERT INTO audit_events(at, actor_id, actor_email, action, target, client_address, "
      "outcome, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
      Params()
          .Add(e.at)
          .Add(e.actor_id)
          .Add(e.actor_email)
          .Add(e.action)
          .Add(e.target)
          .Add(e.client_address)
          .Add(e.outcome)
          .Add(e.detail));
  if (!r.ok()) return std::move(r).error();
  return Status::Ok();
}

Status PostgresStore::AppendAudit(const AuditEvent& e) {
  auto c = Acquire();
  if (!c.ok()) return std::move(c).error();
  return InsertAudit(**c, e);
}

Result<std::vector<AuditEvent>> PostgresStore::ListAudit(std::int64_t before, int limit) {
  auto c = Acquire();
  if (!c.ok()) return std::move(c).error();
  auto r = (*c)->Exec(
      "SELECT id, at, actor_id, actor_email, action, target, client_address, outcome, detail "
      "FROM audit_events WHERE id < $1 ORDER BY id DESC LIMIT $2",
      Params().Add(before > 0 ? before : std::numeric_limits<std::int64_t>::max()).Add(limit));
  if (!r.ok()) return std::move(r).error();
  std::vector<AuditEvent> out;
  out.reserve(static_cast<std::size_t>(r->rows()));
  for (int i = 0; i < r->rows(); ++i) {
    out.push_back(AuditEvent{r->Int(i, 0), r->Int(i, 1), r->Text(i, 2), r->Text(i, 3),
                             r->Text(i, 4), r->Text(i, 5), r->Text(i, 6), r->Text(i, 7),
                             r->Text(i, 8)});
  }
  return out;
}

}  // namespace lattice::store::postgres
