// PostgresStore: backup targets, policies and backups (store/backup_store.h).
#include "store/backup_sql.h"
#include "store/postgres/pg_store.h"

namespace lattice::store::postgres {
namespace {

using backup_sql::kPolicySelect;
using backup_sql::kTargetSelect;
const std::string kBackupSelect =
    std::string("SELECT ") + backup_sql::kBackupColumns + " FROM backups";

BackupTarget ReadTarget(const PgResult& r, int i) {
  return BackupTarget{r.Text(i, 0),
                      r.Text(i, 1),
                      r.Text(i, 2),
                      r.Text(i, 3),
                      r.Text(i, 4),
                      r.Text(i, 5),
                      r.Text(i, 6),
                      r.Text(i, 7),
                      r.Text(i, 8),
                      r.Int(i, 9),
                      ParseProbeStatus(r.Text(i, 10)).value_or(ProbeStatus::kUntested),
                      r.Text(i, 11),
                      r.Int(i, 12)};
}

BackupPolicy ReadPolicy(const PgResult& r, int i) {
  BackupPolicy p{
      r.Text(i, 0), r.Text(i, 1),     r.Text(i, 2), r.Int(i, 3), static_cast<int>(r.Int(i, 4)),
      r.Int(i, 5),  r.Int(i, 6) != 0, r.Int(i, 7),  r.Int(i, 8), r.Text(i, 9)};
  p.archive_state = ParseArchiveState(r.Text(i, 10)).value_or(ArchiveState::kUnknown);
  p.archive_message = r.Text(i, 11);
  p.archive_changed_at = r.Int(i, 12);
  return p;
}

Backup ReadBackup(const PgResult& r, int i) {
  Backup b;
  b.id = r.Text(i, 0);
  b.workload_id = r.Text(i, 1);
  b.owner_id = r.Text(i, 2);
  b.target_id = r.Text(i, 3);
  b.node_id = r.Text(i, 4);
  b.trigger = r.Text(i, 5);
  b.status = ParseBackupStatus(r.Text(i, 6)).value_or(BackupStatus::kFailed);
  b.started_at = r.Int(i, 7);
  b.finished_at = r.Int(i, 8);
  b.size_bytes = r.Int(i, 9);
  b.duration_ms = r.Int(i, 10);
  b.start_lsn = r.Text(i, 11);
  b.end_lsn = r.Text(i, 12);
  b.error_code = r.Text(i, 13);
  b.message = r.Text(i, 14);
  b.verify_status = ParseVerifyStatus(r.Text(i, 15)).value_or(VerifyStatus::kFailed);
  b.verified_at = r.Int(i, 16);
  b.verify_duration_ms = r.Int(i, 17);
  b.verify_tables = r.Int(i, 18);
  b.verify_rows = r.Int(i, 19);
  b.verify_message = r.Text(i, 20);
  b.kind = ParseBackupKind(r.Text(i, 21)).value_or(BackupKind::kPostgres);
  return b;
}

}  // namespace

Status PostgresStore::CreateBackupTarget(const BackupTarget& t) {
  auto c = Acquire();
  if (!c.ok()) return std::move(c).error();
  auto r = (*c)->Exec(
      "INSERT INTO backup_targets(id, owner_id, name, endpoint, bucket, region, prefix, "
      "source_workload_id, keys_enc, created_at, probe_status, probe_message, probed_at) "
      "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
      Params()
          .Add(t.id)
          .Add(t.owner_id)
          .Add(t.name)
          .Add(t.endpoint)
          .Add(t.bucket)
          .Add(t.region)
          .Add(t.prefix)
          .Add(t.source_workload_id)
          .Add(t.keys_enc)
          .Add(t.created_at)
          .Add(std::string(Name(t.probe_status)))
          .Add(t.probe_message)
          .Add(t.probed_at));
  if (!r.ok()) {
    if (r.error().code == ErrorCode::kConflict)
      return Error::Conflict("A backup target named '" + t.name + "' already exists.");
    return std::move(r).error();
  }
  return Status::Ok();
}

Result<BackupTarget> PostgresStore::GetBackupTarget(const std::string& id) {
  auto c = Acquire();
  if (!c.ok()) return std::move(c).error();
  static const std::string sql = std::string(kTargetSelect) + " WHERE id = $1";
  auto r = (*c)->Exec(sql, Params().Add(id));
  if (!r.ok()) return std::move(r).error();
  if (r->rows() == 0) return Error::NotFound("backup target not found");
  return ReadTarget(*r, 0);
}

Result<std::vector<BackupTarget>> PostgresStore::ListBackupTargets(const std::string& owner_id) {
  auto c = Acquire();
  if (!c.ok()) return std::move(c).error();
  static const std::string sql = std::string(kTargetSelect) + " WHERE owner_id = $1 ORDER BY name";
  auto r = (*c)->Exec(sql, Params().Add(owner_id));
  if (!r.ok()) return std::move(r).error();
  return RowsOf<BackupTarget>(*r, ReadTarget);
}

Status PostgresStore::DeleteBackupTarget(const std::string& id) {
  auto c = Acquire();
  if (!c.ok()) return std::move(c).error();
  Connection& conn = **c;
  return InTransaction(conn, [&]() -> Status {
    // The target's row lock orders this against a policy being pointed at it.
    auto t = conn.Exec("SELECT id FROM backup_targets WHERE id = $1 FOR UPDATE", Params().Add(id));
    if (!t.ok()) return std::move(t).error();
    if (t->rows() == 0) return Error::NotFound("backup target not found");
    auto used =
        conn.Exec("SELECT count(*) FROM backup_policies WHERE target_id = $1", Params().Add(id));
    if (!used.ok()) return std::move(used).error();
    if (used->Int(0, 0) > 0)
      return Error::Conflict("A backup policy still uses this target; change or remove it first.");
    auto r = conn.Exec("DELETE FROM backup_targets WHERE id = $1", Params().Add(id));
    if (!r.ok()) return std::move(r).error();
    return Status::Ok();
  });
}

Status PostgresStore::RecordTargetProbe(const BackupTarget& t) {
  auto c = Acquire();
  if (!c.ok()) return std::move(c).error();
  auto r = (*c)->Exec(
      "UPDATE backup_targets SET probe_status = $1, probe_message = $2, probed_at = $3 "
      "WHERE id = $4",
      Params()
          .Add(std::string(Name(t.probe_status)))
          .Add(t.probe_message)
          .Add(t.probed_at)
          .Add(t.id));
  if (!r.ok()) return std::move(r).error();
  if (r->affected() == 0) return Error::NotFound("backup target not found");
  return Status::Ok();
}

Status PostgresStore::PutBackupPolicy(const BackupPolicy& p) {
  auto c = Acquire();
  if (!c.ok()) return std::move(c).error();
  auto r = (*c)->Exec(
      "INSERT INTO backup_policies(workload_id, owner_id, target_id, interval_seconds, keep_count, "
      "keep_seconds, verify, next_due_at, updated_at, cron) "
      "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) "
      "ON CONFLICT(workload_id) DO UPDATE SET target_id = excluded.target_id, "
      "interval_seconds = excluded.interval_seconds, cron = excluded.cron, "
      "keep_count = excluded.keep_count, "
      "keep_seconds = excluded.keep_seconds, verify = excluded.verify, "
      "next_due_at = excluded.next_due_at, updated_at = excluded.updated_at",
      Params()
          .Add(p.workload_id)
          .Add(p.owner_id)
          .Add(p.target_id)
          .Add(p.interval_seconds)
          .Add(p.keep_count)
          .Add(p.keep_seconds)
          .Add(p.verify ? 1 : 0)
          .Add(p.next_due_at)
          .Add(p.updated_at)
          .Add(p.cron));
  if (!r.ok()) return std::move(r).error();
  return Status::Ok();
}

Result<BackupPolicy> PostgresStore::GetBackupPolicy(const std::string& workload_id) {
  auto c = Acquire();
  if (!c.ok()) return std::move(c).error();
  static const std::string sql = std::string(kPolicySelect) + " WHERE workload_id = $1";
  auto r = (*c)->Exec(sql, Params().Add(workload_id));
  if (!r.ok()) return std::move(r).error();
  if (r->rows() == 0) return Error::NotFound("no backup policy");
  return ReadPolicy(*r, 0);
}

Status PostgresStore::DeleteBackupPolicy(const std::string& workload_id) {
  auto c = Acquire();
  if (!c.ok()) return std::move(c).error();
  auto r =
      (*c)->Exec("DELETE FROM backup_policies WHERE workload_id = $1", Params().Add(workload_id));
  if (!r.ok()) return std::move(r).error();
  return Status::Ok();
}

Result<bool> PostgresStore::RecordArchiveState(const std::string& workload_id, ArchiveState state,
                                               const std::string& message, std::int64_t at) {
  auto c = Acquire();
  if (!c.ok()) return std::move(c).error();
  auto r = (*c)->Exec(
      "UPDATE backup_policies SET archive_state = $1, archive_message = $2, "
      "archive_changed_at = $3 WHERE workload_id = $4 AND "
      "(archive_state <> $1 OR archive_message <> $2)",
      Params().Add(std::string(Name(state))).Add(message).Add(at).Add(workload_id));
  if (!r.ok()) return std::move(r).error();
  return r->affected() == 1;
}

Result<std::vector<BackupPolicy>> PostgresStore::ListBackupPolicies() {
  auto c = Acquire();
  if (!c.ok()) return std::move(c).error();
  static const std::string sql = std::string(kPolicySelect) + " ORDER BY workload_id";
  auto r = (*c)->Exec(sql, Params());
  if (!r.ok()) return std::move(r).error();
  return RowsOf<BackupPolicy>(*r, ReadPolicy);
}

Result<std::vector<BackupPolicy>> PostgresStore::DueBackupPolicies(std::int64_t now, int limit) {
  auto c = Acquire();
  if (!c.ok()) return std::move(c).error();
  static const std::string sql = [] {
    std::string where = backup_sql::kDueWhere;
    where.replace(where.find("{1}"), 3, "$1");
    where.replace(where.find("{2}"), 3, "$2");
    return std::string(kPolicySelect) + where;
  }();
  auto r = (*c)->Exec(sql, Params().Add(now).Add(limit));
  if (!r.ok()) return std::move(r).error();
  return RowsOf<BackupPolicy>(*r, ReadPolicy);
}

Result<bool> PostgresStore::AdvanceBackupSchedule(const std::string& workload_id,
                                                  std::int64_t expected_due,
                                                  std::int64_t next_due) {
  auto c = Acquire();
  if (!c.ok()) return std::move(c).error();
  auto r = (*c)->Exec(
      "UPDATE backup_policies SET next_due_at = $1 WHERE workload_id = $2 AND next_due_at = $3",
      Params().Add(next_due).Add(workload_id).Add(expected_due));
  if (!r.ok()) return std::move(r).error();
  return r->affected() == 1;
}

Status PostgresStore::CreateBackup(const Backup& b) {
  auto c = Acquire();
  if (!c.ok()) return std::move(c).error();
  auto r = (*c)->Exec(
      "INSERT INTO backups(id, workload_id, owner_id, target_id, node_id, trigger_kind, status, "
      "started_at, verify_status, kind) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
      Params()
          .Add(b.id)
          .Add(b.workload_id)
          .Add(b.owner_id)
          .Add(b.target_id)
          .Add(b.node_id)
          .Add(b.trigger)
          .Add(Name(b.status))
          .Add(b.started_at)
          .Add(Name(b.verify_status))
          .Add(Name(b.kind)));
  if (!r.ok()) return std::move(r).error();
  return Status::Ok();
}

Result<Backup> PostgresStore::GetBackup(const std::string& id) {
  auto c = Acquire();
  if (!c.ok()) return std::move(c).error();
  static const std::string sql = std::string(kBackupSelect) + " WHERE id = $1";
  auto r = (*c)->Exec(sql, Params().Add(id));
  if (!r.ok()) return std::move(r).error();
  if (r->rows() == 0) return Error::NotFound("backup not found");
  return ReadBackup(*r, 0);
}

Result<std::vector<Backup>> PostgresStore::ListBackups(const std::string& workload_id) {
  auto c = Acquire();
  if (!c.ok()) return std::move(c).error();
  static const std::string sql =
      std::string(kBackupSelect) + " WHERE workload_id = $1 ORDER BY started_at DESC, id DESC";
  auto r = (*c)->Exec(sql, Params().Add(workload_id));
  if (!r.ok()) return std::move(r).error();
  return RowsOf<Backup>(*r, ReadBackup);
}

Status PostgresStore::FinishBackup(const Backup& b) {
  auto c = Acquire();
  if (!c.ok()) return std::move(c).error();
  auto r = (*c)->Exec(
      "UPDATE backups SET status = $1, finished_at = $2, size_bytes = $3, duration_ms = $4, "
      "start_lsn = $5, end_lsn = $6, error_code = $7, message = $8, verify_status = $9 "
      "WHERE id = $10 AND status = 'running'",
      Params()
          .Add(Name(b.status))
          .Add(b.finished_at)
          .Add(b.size_bytes)
          .Add(b.duration_ms)
          .Add(b.start_lsn)
          .Add(b.end_lsn)
          .Add(b.error_code)
          .Add(b.message)
          .Add(Name(b.verify_status))
          .Add(b.id));
  if (!r.ok()) return std::move(r).error();
  if (r->affected() == 0) return Error::NotFound("no running backup with this id");
  return Status::Ok();
}

Status PostgresStore::RecordVerification(const Backup& b) {
  auto c = Acquire();
  if (!c.ok()) return std::move(c).error();
  auto r = (*c)->Exec(
      "UPDATE backups SET verify_status = $1, verified_at = $2, verify_duration_ms = $3, "
      "verify_tables = $4, verify_rows = $5, verify_message = $6 "
      "WHERE id = $7 AND status = 'succeeded'",
      Params()
          .Add(Name(b.verify_status))
          .Add(b.verified_at)
          .Add(b.verify_duration_ms)
          .Add(b.verify_tables)
          .Add(b.verify_rows)
          .Add(b.verify_message)
          .Add(b.id));
  if (!r.ok()) return std::move(r).error();
  if (r->affected() == 0) return Error::NotFound("no succeeded backup with this id");
  return Status::Ok();
}

Result<bool> PostgresStore::MarkVerifying(const std::string& id,
                                          std::int64_t expected_verified_at) {
  auto c = Acquire();
  if (!c.ok()) return std::move(c).error();
  auto r = (*c)->Exec(
      "UPDATE backups SET verify_status = 'pending' WHERE id = $1 AND status = 'succeeded' "
      "AND verify_status != 'pending' AND verified_at = $2",
      Params().Add(id).Add(expected_verified_at));
  if (!r.ok()) return std::move(r).error();
  return r->affected() == 1;
}

Result<std::vector<Backup>> PostgresStore::BackupsToReverify(std::int64_t verified_before,
                                                             int limit) {
  auto c = Acquire();
  if (!c.ok()) return std::move(c).error();
  static const std::string sql = [] {
    std::string where = backup_sql::kReverifyWhere;
    where.replace(where.find("{1}"), 3, "$1");
    where.replace(where.find("{2}"), 3, "$2");
    return kBackupSelect + where;
  }();
  auto r = (*c)->Exec(sql, Params().Add(verified_before).Add(static_cast<std::int64_t>(limit)));
  if (!r.ok()) return std::move(r).error();
  return RowsOf<Backup>(*r, ReadBackup);
}

Result<std::vector<Backup>> PostgresStore::FailRunningBackups(const std::string& node_id,
                                                              std::int64_t now,
                                                              const std::string& message) {
  auto c = Acquire();
  if (!c.ok()) return std::move(c).error();
  // One statement: the rows it changed, as they are now.
  static const std::string sql =
      "UPDATE backups SET status = 'failed', finished_at = $1, error_code = 'interrupted', "
      "message = $2, verify_status = 'skipped' WHERE node_id = $3 AND status = 'running' "
      "RETURNING " +
      std::string(backup_sql::kBackupColumns);
  auto r = (*c)->Exec(sql, Params().Add(now).Add(message).Add(node_id));
  if (!r.ok()) return std::move(r).error();
  return RowsOf<Backup>(*r, ReadBackup);
}

Status PostgresStore::DeleteBackup(const std::string& id) {
  auto c = Acquire();
  if (!c.ok()) return std::move(c).error();
  auto r = (*c)->Exec("DELETE FROM backups WHERE id = $1", Params().Add(id));
  if (!r.ok()) return std::move(r).error();
  if (r->affected() == 0) return Error::NotFound("backup not found");
  return Status::Ok();
}

Result<std::vector<BackupSummary>> PostgresStore::SummarizeBackups() {
  auto c = Acquire();
  if (!c.ok()) return std::move(c).error();
  auto r = (*c)->Exec(backup_sql::kSummary);
  if (!r.ok()) return std::move(r).error();
  return RowsOf<BackupSummary>(*r, [](const PgResult& x, int i) {
    return BackupSummary{x.Text(i, 0), x.Int(i, 1), x.Int(i, 2), x.Int(i, 3)};
  });
}

}  // namespace lattice::store::postgres
