// SqliteStore: backup targets, policies and backups (store/backup_store.h).
#include "store/backup_sql.h"
#include "store/sqlite/sqlite_store.h"

namespace lattice::store::sqlite {
namespace {

using backup_sql::kPolicySelect;
using backup_sql::kTargetSelect;
const std::string kBackupSelect =
    std::string("SELECT ") + backup_sql::kBackupColumns + " FROM backups";

BackupTarget ReadTarget(const Stmt& s) {
  return BackupTarget{s.Text(0),
                      s.Text(1),
                      s.Text(2),
                      s.Text(3),
                      s.Text(4),
                      s.Text(5),
                      s.Text(6),
                      s.Text(7),
                      s.Text(8),
                      s.Int(9),
                      ParseProbeStatus(s.Text(10)).value_or(ProbeStatus::kUntested),
                      s.Text(11),
                      s.Int(12)};
}

BackupPolicy ReadPolicy(const Stmt& s) {
  BackupPolicy p{s.Text(0), s.Text(1),     s.Text(2), s.Int(3), static_cast<int>(s.Int(4)),
                 s.Int(5),  s.Int(6) != 0, s.Int(7),  s.Int(8), s.Text(9)};
  p.archive_state = ParseArchiveState(s.Text(10)).value_or(ArchiveState::kUnknown);
  p.archive_message = s.Text(11);
  p.archive_changed_at = s.Int(12);
  return p;
}

Backup ReadBackup(const Stmt& s) {
  Backup b;
  b.id = s.Text(0);
  b.workload_id = s.Text(1);
  b.owner_id = s.Text(2);
  b.target_id = s.Text(3);
  b.node_id = s.Text(4);
  b.trigger = s.Text(5);
  b.status = ParseBackupStatus(s.Text(6)).value_or(BackupStatus::kFailed);
  b.started_at = s.Int(7);
  b.finished_at = s.Int(8);
  b.size_bytes = s.Int(9);
  b.duration_ms = s.Int(10);
  b.start_lsn = s.Text(11);
  b.end_lsn = s.Text(12);
  b.error_code = s.Text(13);
  b.message = s.Text(14);
  b.verify_status = ParseVerifyStatus(s.Text(15)).value_or(VerifyStatus::kFailed);
  b.verified_at = s.Int(16);
  b.verify_duration_ms = s.Int(17);
  b.verify_tables = s.Int(18);
  b.verify_rows = s.Int(19);
  b.verify_message = s.Text(20);
  b.kind = ParseBackupKind(s.Text(21)).value_or(BackupKind::kPostgres);
  return b;
}

// Runs a prepared SELECT and reads every row with `read`.
template <typename T, typename Read>
Result<std::vector<T>> All(Connection& c, Stmt& q, Read read, std::string_view what) {
  std::vector<T> out;
  int rc;
  while ((rc = q.Step()) == SQLITE_ROW) out.push_back(read(q));
  if (rc != SQLITE_DONE) return c.ToError(rc, what);
  return out;
}

}  // namespace

Status SqliteStore::CreateBackupTarget(const BackupTarget& t) {
  auto c = Acquire();
  auto q = c->Prepare(
      "INSERT INTO backup_targets(id, owner_id, name, endpoint, bucket, region, prefix, "
      "source_workload_id, keys_enc, created_at, probe_status, probe_message, probed_at) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  if (!q.ok()) return std::move(q).error();
  (*q)->Bind(1, t.id)
      .Bind(2, t.owner_id)
      .Bind(3, t.name)
      .Bind(4, t.endpoint)
      .Bind(5, t.bucket)
      .Bind(6, t.region)
      .Bind(7, t.prefix)
      .Bind(8, t.source_workload_id)
      .Bind(9, t.keys_enc)
      .Bind(10, t.created_at)
      .Bind(11, std::string(Name(t.probe_status)))
      .Bind(12, t.probe_message)
      .Bind(13, t.probed_at);
  if (int rc = (*q)->Step(); rc != SQLITE_DONE) {
    if ((rc & 0xff) == SQLITE_CONSTRAINT)
      return Error::Conflict("A backup target named '" + t.name + "' already exists.");
    return c->ToError(rc, "create backup target");
  }
  return Status::Ok();
}

Result<BackupTarget> SqliteStore::GetBackupTarget(const std::string& id) {
  auto c = Acquire();
  static const std::string sql = std::string(kTargetSelect) + " WHERE id = ?";
  auto q = c->Prepare(sql.c_str());
  if (!q.ok()) return std::move(q).error();
  (*q)->Bind(1, id);
  const int rc = (*q)->Step();
  if (rc == SQLITE_ROW) return ReadTarget(**q);
  if (rc == SQLITE_DONE) return Error::NotFound("backup target not found");
  return c->ToError(rc, "get backup target");
}

Result<std::vector<BackupTarget>> SqliteStore::ListBackupTargets(const std::string& owner_id) {
  auto c = Acquire();
  static const std::string sql = std::string(kTargetSelect) + " WHERE owner_id = ? ORDER BY name";
  auto q = c->Prepare(sql.c_str());
  if (!q.ok()) return std::move(q).error();
  (*q)->Bind(1, owner_id);
  return All<BackupTarget>(*c, **q, ReadTarget, "list backup targets");
}

Status SqliteStore::DeleteBackupTarget(const std::string& id) {
  auto c = Acquire();
  return InTransaction(*c, [&]() -> Status {
    auto used = c->Prepare("SELECT count(*) FROM backup_policies WHERE target_id = ?");
    if (!used.ok()) return std::move(used).error();
    (*used)->Bind(1, id);
    if (int rc = (*used)->Step(); rc != SQLITE_ROW) return c->ToError(rc, "target in use");
    if ((*used)->Int(0) > 0)
      return Error::Conflict("A backup policy still uses this target; change or remove it first.");
    auto q = c->Prepare("DELETE FROM backup_targets WHERE id = ?");
    if (!q.ok()) return std::move(q).error();
    (*q)->Bind(1, id);
    if (int rc = (*q)->Step(); rc != SQLITE_DONE) return c->ToError(rc, "delete backup target");
    if (sqlite3_changes(c->raw()) == 0) return Error::NotFound("backup target not found");
    return Status::Ok();
  });
}

Status SqliteStore::RecordTargetProbe(const BackupTarget& t) {
  auto c = Acquire();
  auto q = c->Prepare(
      "UPDATE backup_targets SET probe_status = ?, probe_message = ?, probed_at = ? WHERE id = ?");
  if (!q.ok()) return std::move(q).error();
  (*q)->Bind(1, std::string(Name(t.probe_status))).Bind(2, t.probe_message).Bind(3, t.probed_at);
  (*q)->Bind(4, t.id);
  if (int rc = (*q)->Step(); rc != SQLITE_DONE) return c->ToError(rc, "record target probe");
  if (sqlite3_changes(c->raw()) == 0) return Error::NotFound("backup target not found");
  return Status::Ok();
}

Status SqliteStore::PutBackupPolicy(const BackupPolicy& p) {
  auto c = Acquire();
  auto q = c->Prepare(
      "INSERT INTO backup_policies(workload_id, owner_id, target_id, interval_seconds, keep_count, "
      "keep_seconds, verify, next_due_at, updated_at, cron) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
      "ON CONFLICT(workload_id) DO UPDATE SET target_id = excluded.target_id, "
      "interval_seconds = excluded.interval_seconds, cron = excluded.cron, "
      "keep_count = excluded.keep_count, "
      "keep_seconds = excluded.keep_seconds, verify = excluded.verify, "
      "next_due_at = excluded.next_due_at, updated_at = excluded.updated_at");
  if (!q.ok()) return std::move(q).error();
  (*q)->Bind(1, p.workload_id)
      .Bind(2, p.owner_id)
      .Bind(3, p.target_id)
      .Bind(4, p.interval_seconds)
      .Bind(5, static_cast<std::int64_t>(p.keep_count))
      .Bind(6, p.keep_seconds)
      .Bind(7, static_cast<std::int64_t>(p.verify ? 1 : 0))
      .Bind(8, p.next_due_at)
      .Bind(9, p.updated_at)
      .Bind(10, p.cron);
  if (int rc = (*q)->Step(); rc != SQLITE_DONE) return c->ToError(rc, "put backup policy");
  return Status::Ok();
}

Result<BackupPolicy> SqliteStore::GetBackupPolicy(const std::string& workload_id) {
  auto c = Acquire();
  static const std::string sql = std::string(kPolicySelect) + " WHERE workload_id = ?";
  auto q = c->Prepare(sql.c_str());
  if (!q.ok()) return std::move(q).error();
  (*q)->Bind(1, workload_id);
  const int rc = (*q)->Step();
  if (rc == SQLITE_ROW) return ReadPolicy(**q);
  if (rc == SQLITE_DONE) return Error::NotFound("no backup policy");
  return c->ToError(rc, "get backup policy");
}

Status SqliteStore::DeleteBackupPolicy(const std::string& workload_id) {
  auto c = Acquire();
  auto q = c->Prepare("DELETE FROM backup_policies WHERE workload_id = ?");
  if (!q.ok()) return std::move(q).error();
  (*q)->Bind(1, workload_id);
  if (int rc = (*q)->Step(); rc != SQLITE_DONE) return c->ToError(rc, "delete backup policy");
  return Status::Ok();
}

Result<bool> SqliteStore::RecordArchiveState(const std::string& workload_id, ArchiveState state,
                                             const std::string& message, std::int64_t at) {
  auto c = Acquire();
  auto q = c->Prepare(
      "UPDATE backup_policies SET archive_state = ?, archive_message = ?, archive_changed_at = ? "
      "WHERE workload_id = ? AND (archive_state <> ? OR archive_message <> ?)");
  if (!q.ok()) return std::move(q).error();
  const std::string name(Name(state));
  (*q)->Bind(1, name).Bind(2, message).Bind(3, at).Bind(4, workload_id);
  (*q)->Bind(5, name).Bind(6, message);
  if (int rc = (*q)->Step(); rc != SQLITE_DONE) return c->ToError(rc, "record archive state");
  return sqlite3_changes(c->raw()) == 1;
}

Result<std::vector<BackupPolicy>> SqliteStore::ListBackupPolicies() {
  auto c = Acquire();
  static const std::string sql = std::string(kPolicySelect) + " ORDER BY workload_id";
  auto q = c->Prepare(sql.c_str());
  if (!q.ok()) return std::move(q).error();
  return All<BackupPolicy>(*c, **q, ReadPolicy, "backup policies");
}

Result<std::vector<BackupPolicy>> SqliteStore::DueBackupPolicies(std::int64_t now, int limit) {
  auto c = Acquire();
  static const std::string sql = [] {
    std::string where = backup_sql::kDueWhere;
    where.replace(where.find("{1}"), 3, "?");
    where.replace(where.find("{2}"), 3, "?");
    return std::string(kPolicySelect) + where;
  }();
  auto q = c->Prepare(sql.c_str());
  if (!q.ok()) return std::move(q).error();
  (*q)->Bind(1, now).Bind(2, static_cast<std::int64_t>(limit));
  return All<BackupPolicy>(*c, **q, ReadPolicy, "due backup policies");
}

Result<bool> SqliteStore::AdvanceBackupSchedule(const std::string& workload_id,
                                                std::int64_t expected_due, std::int64_t next_due) {
  auto c = Acquire();
  auto q = c->Prepare(
      "UPDATE backup_policies SET next_due_at = ? WHERE workload_id = ? AND next_due_at = ?");
  if (!q.ok()) return std::move(q).error();
  (*q)->Bind(1, next_due).Bind(2, workload_id).Bind(3, expected_due);
  if (int rc = (*q)->Step(); rc != SQLITE_DONE) return c->ToError(rc, "advance backup schedule");
  return sqlite3_changes(c->raw()) == 1;
}

Status SqliteStore::CreateBackup(const Backup& b) {
  auto c = Acquire();
  auto q = c->Prepare(
      "INSERT INTO backups(id, workload_id, owner_id, target_id, node_id, trigger_kind, status, "
      "started_at, verify_status, kind) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  if (!q.ok()) return std::move(q).error();
  (*q)->Bind(1, b.id)
      .Bind(2, b.workload_id)
      .Bind(3, b.owner_id)
      .Bind(4, b.target_id)
      .Bind(5, b.node_id)
      .Bind(6, b.trigger)
      .Bind(7, Name(b.status))
      .Bind(8, b.started_at)
      .Bind(9, Name(b.verify_status))
      .Bind(10, Name(b.kind));
  if (int rc = (*q)->Step(); rc != SQLITE_DONE) return c->ToError(rc, "create backup");
  return Status::Ok();
}

Result<Backup> SqliteStore::GetBackup(const std::string& id) {
  auto c = Acquire();
  static const std::string sql = std::string(kBackupSelect) + " WHERE id = ?";
  auto q = c->Prepare(sql.c_str());
  if (!q.ok()) return std::move(q).error();
  (*q)->Bind(1, id);
  const int rc = (*q)->Step();
  if (rc == SQLITE_ROW) return ReadBackup(**q);
  if (rc == SQLITE_DONE) return Error::NotFound("backup not found");
  return c->ToError(rc, "get backup");
}

Result<std::vector<Backup>> SqliteStore::ListBackups(const std::string& workload_id) {
  auto c = Acquire();
  static const std::string sql =
      std::string(kBackupSelect) + " WHERE workload_id = ? ORDER BY started_at DESC, id DESC";
  auto q = c->Prepare(sql.c_str());
  if (!q.ok()) return std::move(q).error();
  (*q)->Bind(1, workload_id);
  return All<Backup>(*c, **q, ReadBackup, "list backups");
}

Status SqliteStore::FinishBackup(const Backup& b) {
  auto c = Acquire();
  auto q = c->Prepare(
      "UPDATE backups SET status = ?, finished_at = ?, size_bytes = ?, duration_ms = ?, "
      "start_lsn = ?, end_lsn = ?, error_code = ?, message = ?, verify_status = ? "
      "WHERE id = ? AND status = 'running'");
  if (!q.ok()) return std::move(q).error();
  (*q)->Bind(1, Name(b.status))
      .Bind(2, b.finished_at)
      .Bind(3, b.size_bytes)
      .Bind(4, b.duration_ms)
      .Bind(5, b.start_lsn)
      .Bind(6, b.end_lsn)
      .Bind(7, b.error_code)
      .Bind(8, b.message)
      .Bind(9, Name(b.verify_status))
      .Bind(10, b.id);
  if (int rc = (*q)->Step(); rc != SQLITE_DONE) return c->ToError(rc, "finish backup");
  if (sqlite3_changes(c->raw()) == 0) return Error::NotFound("no running backup with this id");
  return Status::Ok();
}

Status SqliteStore::RecordVerification(const Backup& b) {
  auto c = Acquire();
  auto q = c->Prepare(
      "UPDATE backups SET verify_status = ?, verified_at = ?, verify_duration_ms = ?, "
      "verify_tables = ?, verify_rows = ?, verify_message = ? "
      "WHERE id = ? AND status = 'succeeded'");
  if (!q.ok()) return std::move(q).error();
  (*q)->Bind(1, Name(b.verify_status))
      .Bind(2, b.verified_at)
      .Bind(3, b.verify_duration_ms)
      .Bind(4, b.verify_tables)
      .Bind(5, b.verify_rows)
      .Bind(6, b.verify_message)
      .Bind(7, b.id);
  if (int rc = (*q)->Step(); rc != SQLITE_DONE) return c->ToError(rc, "record verification");
  if (sqlite3_changes(c->raw()) == 0) return Error::NotFound("no succeeded backup with this id");
  return Status::Ok();
}

Result<bool> SqliteStore::MarkVerifying(const std::string& id, std::int64_t expected_verified_at) {
  auto c = Acquire();
  auto q = c->Prepare(
      "UPDATE backups SET verify_status = 'pending' WHERE id = ? AND status = 'succeeded' "
      "AND verify_status != 'pending' AND verified_at = ?");
  if (!q.ok()) return std::move(q).error();
  (*q)->Bind(1, id).Bind(2, expected_verified_at);
  if (int rc = (*q)->Step(); rc != SQLITE_DONE) return c->ToError(rc, "mark verifying");
  return sqlite3_changes(c->raw()) == 1;
}

Result<std::vector<Backup>> SqliteStore::BackupsToReverify(std::int64_t verified_before,
                                                           int limit) {
  auto c = Acquire();
  static const std::string sql = [] {
    std::string where = backup_sql::kReverifyWhere;
    where.replace(where.find("{1}"), 3, "?");
    where.replace(where.find("{2}"), 3, "?");
    return std::string(kBackupSelect) + where;
  }();
  auto q = c->Prepare(sql.c_str());
  if (!q.ok()) return std::move(q).error();
  (*q)->Bind(1, verified_before).Bind(2, static_cast<std::int64_t>(limit));
  return All<Backup>(*c, **q, ReadBackup, "backups to re-verify");
}

Result<std::vector<Backup>> SqliteStore::FailRunningBackups(const std::string& node_id,
                                                            std::int64_t now,
                                                            const std::string& message) {
  auto c = Acquire();
  std::vector<Backup> failed;
  Status s = InTransaction(*c, [&]() -> Status {
    static const std::string sql =
        std::string(kBackupSelect) + " WHERE node_id = ? AND status = 'running'";
    auto q = c->Prepare(sql.c_str());
    if (!q.ok()) return std::move(q).error();
    (*q)->Bind(1, node_id);
    auto running = All<Backup>(*c, **q, ReadBackup, "running backups");
    if (!running.ok()) return std::move(running).error();
    auto u = c->Prepare(
        "UPDATE backups SET status = 'failed', finished_at = ?, error_code = 'interrupted', "
        "message = ?, verify_status = 'skipped' WHERE node_id = ? AND status = 'running'");
    if (!u.ok()) return std::move(u).error();
    (*u)->Bind(1, now).Bind(2, message).Bind(3, node_id);
    if (int rc = (*u)->Step(); rc != SQLITE_DONE) return c->ToError(rc, "fail running backups");
    for (auto& b : *running) {
      b.status = BackupStatus::kFailed;
      b.finished_at = now;
      b.error_code = "interrupted";
      b.message = message;
      b.verify_status = VerifyStatus::kSkipped;
    }
    failed = std::move(running).value();
    return Status::Ok();
  });
  if (!s.ok()) return std::move(s).error();
  return failed;
}

Status SqliteStore::DeleteBackup(const std::string& id) {
  auto c = Acquire();
  auto q = c->Prepare("DELETE FROM backups WHERE id = ?");
  if (!q.ok()) return std::move(q).error();
  (*q)->Bind(1, id);
  if (int rc = (*q)->Step(); rc != SQLITE_DONE) return c->ToError(rc, "delete backup");
  if (sqlite3_changes(c->raw()) == 0) return Error::NotFound("backup not found");
  return Status::Ok();
}

Result<std::vector<BackupSummary>> SqliteStore::SummarizeBackups() {
  auto c = Acquire();
  auto q = c->Prepare(backup_sql::kSummary);
  if (!q.ok()) return std::move(q).error();
  return All<BackupSummary>(
      *c, **q,
      [](const Stmt& st) {
        return BackupSummary{st.Text(0), st.Int(1), st.Int(2), st.Int(3)};
      },
      "summarize backups");
}

}  // namespace lattice::store::sqlite
