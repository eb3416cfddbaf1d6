// BackupStore: the durable side of backups (issue 19) — where a user's backups go (targets),
// when a workload is backed up and how long backups are kept (policies), and every backup run
// with the proof that it restores (verification). Both engines implement it
// (store/sqlite/sqlite_backups.cc, store/postgres/pg_backups.cc) with the same contract,
// pinned by store_test.cc on both. Owner checks are the caller's (control/backups.h): rows
// carry the owner so a listing is one indexed read. Thread-safe like Store.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"
#include "common/states.h"

namespace lattice::store {

// An S3 bucket backups are written to. The keys are sealed (secretbox) with the server's
// secrets key, like workload credentials; the store never sees them in the clear.
struct BackupTarget {
  std::string id;
  std::string owner_id;
  std::string name;      // unique per owner
  std::string endpoint;  // http(s)://host[:port] of the S3 API
  std::string bucket;
  std::string region;              // "" → us-east-1
  std::string prefix;              // key prefix inside the bucket ("" → none)
  std::string source_workload_id;  // set when the target is one of the owner's S3 workloads
  std::string keys_enc;            // sealed {"access_key":…, "secret_key":…}
  std::int64_t created_at = 0;
  // The last check that the target works (a probe object written, read back, deleted).
  ProbeStatus probe_status = ProbeStatus::kUntested;
  std::string probe_message;  // why it failed or was not tried ("target-auth: …")
  std::int64_t probed_at = 0;
};

// How one workload is backed up. At most one per workload.
struct BackupPolicy {
  std::string workload_id;
  std::string owner_id;
  std::string target_id;
  std::int64_t interval_seconds = 0;  // 0: no interval schedule ("back up now", or `cron`)
  int keep_count = 0;                 // 0: no limit by count
  std::int64_t keep_seconds = 0;      // 0: no limit by age
  bool verify = true;                 // restore each new backup into a throw-away container
  std::int64_t next_due_at = 0;       // when the schedule next fires (0: not scheduled)
  std::int64_t updated_at = 0;
  std::string cron;  // a cron expression (UTC; common/cron.h), or "": set instead of an interval
  // Continuous WAL archiving, as the node last reported it (RecordArchiveState).
  ArchiveState archive_state = ArchiveState::kUnknown;
  std::string archive_message{};  // failing: the tool's code and reason
  std::int64_t archive_changed_at = 0;
};

// One backup run and, once it succeeded, its verification.
struct Backup {
  std::string id;
  std::string workload_id;
  std::string owner_id;
  std::string target_id;
  std::string node_id;  // where it ran
  std::string trigger;  // "manual" or "schedule"
  BackupStatus status = BackupStatus::kRunning;
  std::int64_t started_at = 0;
  std::int64_t finished_at = 0;  // 0 while running
  std::int64_t size_bytes = 0;
  std::int64_t duration_ms = 0;
  std::string start_lsn;
  std::string end_lsn;
  std::string error_code;  // machine-readable cause of a failure ("target-auth", …)
  std::string message;     // for people
  VerifyStatus verify_status = VerifyStatus::kPending;
  std::int64_t verified_at = 0;
  std::int64_t verify_duration_ms = 0;
  std::int64_t verify_tables = 0;
  std::int64_t verify_rows = 0;
  std::string verify_message;
  // A PostgreSQL base backup or a volume snapshot (its workload's template decides; set when it
  // is created, never changed). Rows from before snapshots existed are kPostgres.
  BackupKind kind = BackupKind::kPostgres;
};

// Per workload with backups: what /metrics says about them.
struct BackupSummary {
  std::string workload_id;
  std::int64_t last_success_at = 0;   // finish of the newest succeeded backup (0: none)
  std::int64_t last_verified_at = 0;  // newest verification that passed (0: none)
  std::int64_t failed = 0;            // backups and verifications that failed, still listed
};

class BackupStore {
 public:
  virtual ~BackupStore() = default;

  // --- targets. kConflict if the owner already has a target of that name.
  virtual Status CreateBackupTarget(const BackupTarget& t) = 0;
  virtual Result<BackupTarget> GetBackupTarget(const std::string& id) = 0;
  virtual Result<std::vector<BackupTarget>> ListBackupTargets(const std::string& owner_id) = 0;
  // kNotFound if absent; kConflict while a policy still names it.
  virtual Status DeleteBackupTarget(const std::string& id) = 0;
  // Records the outcome of a probe of the target (status, message, probed_at); kNotFound if
  // absent.
  virtual Status RecordTargetProbe(const BackupTarget& t) = 0;

  // --- policies (one per workload; Put replaces).
  virtual Status PutBackupPolicy(const BackupPolicy& p) = 0;
  virtual Result<BackupPolicy> GetBackupPolicy(const std::string& workload_id) = 0;
  virtual Status DeleteBackupPolicy(const std::string& workload_id) = 0;  // idempotent
  // Records how the workload's WAL archiving is doing; true if that changed it (state or
  // message), false if it already said so or the workload has no policy.
  virtual Result<bool> RecordArchiveState(const std::string& workload_id, ArchiveState state,
                                          const std::string& message, std::int64_t at) = 0;
  // Every policy, by workload (for /metrics; one per PostgreSQL workload with backups).
  virtual Result<std::vector<BackupPolicy>> ListBackupPolicies() = 0;
  // Policies with a schedule (an interval or a cron expression) whose next_due_at is at or before
  // `now`, oldest first.
  virtual Result<std::vector<BackupPolicy>> DueBackupPolicies(std::int64_t now, int limit) = 0;
  // Moves the schedule on, only if it is still `expected_due` (a replica that lost the race
  // gets false and does not start a second backup).
  virtual Result<bool> AdvanceBackupSchedule(const std::string& workload_id,
                                             std::int64_t expected_due, std::int64_t next_due) = 0;

  // --- backups
  virtual Status CreateBackup(const Backup& b) = 0;
  virtual Result<Backup> GetBackup(const std::string& id) = 0;
  // Newest first.
  virtual Result<std::vector<Backup>> ListBackups(const std::string& workload_id) = 0;
  // Ends a running backup (status, sizes, LSNs, error); kNotFound if it is not running any
  // more, so a late report never overwrites an outcome.
  virtual Status FinishBackup(const Backup& b) = 0;
  // Records a verification outcome of a succeeded backup.
  virtual Status RecordVerification(const Backup& b) = 0;
  // Marks a succeeded backup's verification pending again (it is verified anew), only if no
  // verification is pending and `verified_at` is still `expected_verified_at` (a replica that
  // lost the race gets false and sends no second job).
  virtual Result<bool> MarkVerifying(const std::string& id, std::int64_t expected_verified_at) = 0;
  // Succeeded backups last verified (and passed) before `verified_before`, of workloads whose
  // policy asks for verification; oldest verification first.
  virtual Result<std::vector<Backup>> BackupsToReverify(std::int64_t verified_before,
                                                        int limit) = 0;
  // Every backup still `running` on `node_id` becomes failed with `message` (its agent came
  // back without it, or the node is lost). Returns the ones it failed.
  virtual Result<std::vector<Backup>> FailRunningBackups(const std::string& node_id,
                                                         std::int64_t now,
                                                         const std::string& message) = 0;
  virtual Status DeleteBackup(const std::string& id) = 0;  // kNotFound if absent
  // One row per workload that has any backup, by workload id.
  virtual Result<std::vector<BackupSummary>> SummarizeBackups() = 0;
};

}  // namespace lattice::store
