// SqliteStore: the audit trail. The table refuses UPDATE and DELETE (triggers, migration 4).
#include "store/sqlite/sqlite_store.h"

#include <limits>

namespace lattice::store::sqlite {

Status InsertAudit(Connection& c, const AuditEvent& e) {
  auto q = c.Prepare(
      "INSERT INTO audit_events(at, actor_id, actor_email, action, target, client_address, "
      "outcome, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
  if (!q.ok()) return std::move(q).error();
  (*q)->Bind(1, e.at)
      .Bind(2, e.actor_id)
      .Bind(3, e.actor_email)
      .Bind(4, e.action)
      .Bind(5, e.target)
      .Bind(6, e.client_address)
      .Bind(7, e.outcome)
      .Bind(8, e.detail);
  if (int rc = (*q)->Step(); rc != SQLITE_DONE) return c.ToError(rc, "append audit event");
  return Status::Ok();
}

Status SqliteStore::AppendAudit(const AuditEvent& e) {
  auto c = Acquire();
  return InsertAudit(*c, e);
}

Result<std::vector<AuditEvent>> SqliteStore::ListAudit(std::int64_t before, int limit) {
  auto c = Acquire();
  auto q = c->Prepare(
      "SELECT id, at, actor_id, actor_email, action, target, client_address, outcome, detail "
      "FROM audit_events WHERE id < ? ORDER BY id DESC LIMIT ?");
  if (!q.ok()) return std::move(q).error();
  // A rowid range: the page is read straight from the primary key, however deep it is.
  (*q)->Bind(1, before > 0 ? before : std::numeric_limits<std::int64_t>::max())
      .Bind(2, static_cast<std::int64_t>(limit));
  std::vector<AuditEvent> out;
  int rc;
  while ((rc = (*q)->Step()) == SQLITE_ROW) {
    const Stmt& s = **q;
    out.push_back(AuditEvent{s.Int(0), s.Int(1), s.Text(2), s.Text(3), s.Text(4), s.Text(5),
                             s.Text(6), s.Text(7), s.Text(8)});
  }
  if (rc != SQLITE_DONE) return c->ToError(rc, "list audit events");
  return out;
}

}  // namespace lattice::store::sqlite
