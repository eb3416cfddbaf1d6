// SqliteStore: sign-up invites, and admitting a sign-up under the registration policy.
#include "store/engine_neutral.h"
#include "store/sqlite/sqlite_store.h"

namespace lattice::store::sqlite {
Status Admit(Connection& c, const Admission& a, const std::string& user_id) {
  auto step = DecideAdmission(a);
  if (!step.ok()) return std::move(step).error();
  if (*step == AdmissionStep::kAdmit) return Status::Ok();
  auto q = c.Prepare(
      "UPDATE invites SET used_at = ?, used_by = ? "
      "WHERE code_hash = ? AND used_at IS NULL AND expires_at > ?");
  if (!q.ok()) return std::move(q).error();
  (*q)->Bind(1, a.now).Bind(2, user_id).Bind(3, a.invite_hash).Bind(4, a.now);
  if (int rc = (*q)->Step(); rc != SQLITE_DONE) return c.ToError(rc, "use invite");
  if (sqlite3_changes(c.raw()) != 1) return InviteInvalid();
  return Status::Ok();
}

Status SqliteStore::CreateInvite(const Invite& inv) {
  auto c = Acquire();
  auto q = c->Prepare(
      "INSERT INTO invites(id, code_hash, note, created_by, created_at, expires_at) "
      "VALUES (?, ?, ?, ?, ?, ?)");
  if (!q.ok()) return std::move(q).error();
  (*q)->Bind(1, inv.id)
      .Bind(2, inv.code_hash)
      .Bind(3, inv.note)
      .Bind(4, inv.created_by)
      .Bind(5, inv.created_at)
      .Bind(6, inv.expires_at);
  if (int rc = (*q)->Step(); rc != SQLITE_DONE) return c->ToError(rc, "create invite");
  return Status::Ok();
}

Result<std::vector<Invite>> SqliteStore::ListInvites() {
  auto c = Acquire();
  auto q = c->Prepare(
      "SELECT i.id, i.code_hash, i.note, i.created_by, i.created_at, i.expires_at, i.used_at, "
      "i.used_by, COALESCE(cu.email, ''), COALESCE(uu.email, '') FROM invites i "
      "LEFT JOIN users cu ON cu.id = i.created_by LEFT JOIN users uu ON uu.id = i.used_by "
      "ORDER BY i.created_at DESC, i.id DESC");
  if (!q.ok()) return std::move(q).error();
  std::vector<Invite> out;
  int rc;
  while ((rc = (*q)->Step()) == SQLITE_ROW) {
    const Stmt& s = **q;
    out.push_back(Invite{s.Text(0), s.Text(1), s.Text(2), s.Text(3), s.Int(4), s.Int(5),
                         s.OptInt(6), s.Text(7), s.Text(8), s.Text(9)});
  }
  if (rc != SQLITE_DONE) return c->ToError(rc, "list invites");
  return out;
}

Status SqliteStore::DeleteInvite(const std::string& id) {
  auto c = Acquire();
  auto q = c->Prepare("DELETE FROM invites WHERE id = ?");
  if (!q.ok()) return std::move(q).error();
  (*q)->Bind(1, id);
  if (int rc = (*q)->Step(); rc != SQLITE_DONE) return c->ToError(rc, "delete invite");
  if (sqlite3_changes(c->raw()) == 0) return Error::NotFound("invite not found");
  return Status::Ok();
}

}  // namespace lattice::store::sqlite
