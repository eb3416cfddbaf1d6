// The column lists of the backup tables, shared by both engines' BackupStore (the order is
// what their row readers expect). SQL text only; no dialect-specific syntax.
#pragma once

namespace lattice::store::backup_sql {

inline constexpr const char* kTargetSelect =
    "SELECT id, owner_id, name, endpoint, bucket, region, prefix, source_workload_id, keys_enc, "
    "created_at, probe_status, probe_message, probed_at FROM backup_targets";
inline constexpr const char* kPolicySelect =
    "SELECT workload_id, owner_id, target_id, interval_seconds, keep_count, keep_seconds, verify, "
    "next_due_at, updated_at, cron, archive_state, archive_message, archive_changed_at "
    "FROM backup_policies";
// DueBackupPolicies' condition: a schedule is set (the parameters are the dialect's: now, limit).
inline constexpr const char* kDueWhere =
    " WHERE (interval_seconds > 0 OR cron <> '') AND next_due_at > 0 AND next_due_at <= {1} "
    "ORDER BY next_due_at LIMIT {2}";
inline constexpr const char* kBackupColumns =
    "id, workload_id, owner_id, target_id, node_id, trigger_kind, status, started_at, "
    "finished_at, size_bytes, duration_ms, start_lsn, end_lsn, error_code, message, "
    "verify_status, verified_at, verify_duration_ms, verify_tables, verify_rows, verify_message, "
    "kind";

// BackupsToReverify's condition (the parameters are the dialect's: verified_before, limit).
inline constexpr const char* kReverifyWhere =
    " WHERE status = 'succeeded' AND verify_status = 'verified' AND verified_at > 0 "
    "AND verified_at < {1} AND EXISTS (SELECT 1 FROM backup_policies p "
    "WHERE p.workload_id = backups.workload_id AND p.verify <> 0) ORDER BY verified_at, id LIMIT "
    "{2}";

// SummarizeBackups: one row per workload (both dialects accept it as written).
inline constexpr const char* kSummary =
    "SELECT workload_id, "
    "COALESCE(MAX(CASE WHEN status = 'succeeded' THEN finished_at END), 0), "
    "COALESCE(MAX(CASE WHEN verify_status = 'verified' THEN verified_at END), 0), "
    "SUM(CASE WHEN status = 'failed' OR verify_status = 'failed' THEN 1 ELSE 0 END) "
    "FROM backups GROUP BY workload_id ORDER BY workload_id";

}  // namespace lattice::store::backup_sql
