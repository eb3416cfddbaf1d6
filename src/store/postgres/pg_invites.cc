// PostgresStore: sign-up invites, and admitting a sign-up under the registration policy.
#include "store/engine_neutral.h"
#include "store/postgres/pg_store.h"

namespace lattice::store::postgres {
Status Admit(Connection& c, const Admission& a, const std::string& user_id) {
  auto step = DecideAdmission(a);
  if (!step.ok()) return std::move(step).error();
  if (*step == AdmissionStep::kAdmit) return Status::Ok();
  // The row lock taken by UPDATE makes a concurrent use of the same invite wait, then find it
  // used (READ COMMITTED re-checks the WHERE clause): an invite admits one account only.
  auto r = c.Exec(
      "UPDATE invites SET used_at = $1, used_by = $2 "
      "WHERE code_hash = $3 AND used_at IS NULL AND expires_at > $1",
      Params().Add(a.now).Add(user_id).Add(a.invite_hash));
  if (!r.ok()) return std::move(r).error();
  if (r->affected() != 1) return InviteInvalid();
  return Status::Ok();
}

Status PostgresStore::CreateInvite(const Invite& inv) {
  auto c = Acquire();
  if (!c.ok()) return std::move(c).error();
  auto r = (*c)->Exec(
      "INSERT INTO invites(id, code_hash, note, created_by, created_at, expires_at) "
      "VALUES ($1, $2, $3, $4, $5, $6)",
      Params()
          .Add(inv.id)
          .Add(inv.code_hash)
          .Add(inv.note)
          .Add(inv.created_by)
          .Add(inv.created_at)
          .Add(inv.expires_at));
  if (!r.ok()) return std::move(r).error();
  return Status::Ok();
}

Result<std::vector<Invite>> PostgresStore::ListInvites() {
  auto c = Acquire();
  if (!c.ok()) return std::move(c).error();
  auto r = (*c)->Exec(
      "SELECT i.id, i.code_hash, i.note, i.created_by, i.created_at, i.expires_at, i.used_at, "
      "i.used_by, COALESCE(cu.email, ''), COALESCE(uu.email, '') FROM invites i "
      "LEFT JOIN users cu ON cu.id = i.created_by LEFT JOIN users uu ON uu.id = i.used_by "
      "ORDER BY i.created_at DESC, i.id DESC");
  if (!r.ok()) return std::move(r).error();
  std::vector<Invite> out;
  out.reserve(static_cast<std::size_t>(r->rows()));
  for (int i = 0; i < r->rows(); ++i) {
    out.push_back(Invite{r->Text(i, 0), r->Text(i, 1), r->Text(i, 2), r->Text(i, 3), r->Int(i, 4),
                         r->Int(i, 5), r->OptInt(i, 6), r->Text(i, 7), r->Text(i, 8),
                         r->Text(i, 9)});
  }
  return out;
}

Status PostgresStore::DeleteInvite(const std::string& id) {
  auto c = Acquire();
  if (!c.ok()) return std::move(c).error();
  auto r = (*c)->Exec("DELETE FROM invites WHERE id = $1", Params().Add(id));
  if (!r.ok()) return std::move(r).error();
  if (r->affected() == 0) return Error::NotFound("invite not found");
  return Status::Ok();
}

}  // namespace lattice::store::postgres
