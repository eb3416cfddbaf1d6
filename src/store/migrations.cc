#include "store/migrations.h"

namespace lattice::store {

// Migration 13 (metrics), in each dialect: one table for every resolution of every series (a
// workload's or a node's), keyed so that a series has at most one row per second (raw) or per
// bucket (rollups); the second index serves retention, which deletes by resolution and age.
constexpr const char* kMetricsSqlite = R"sql(
CREATE TABLE metric_points (
  series         TEXT    NOT NULL,
  resolution     INTEGER NOT NULL,
  at             INTEGER NOT NULL,
  samples        INTEGER NOT NULL,
  cpu_sum        REAL    NOT NULL,
  cpu_max        REAL    NOT NULL,
  memory_sum     REAL    NOT NULL,
  memory_max     REAL    NOT NULL,
  memory_limit   REAL    NOT NULL,
  net_rx_sum     REAL    NOT NULL,
  net_rx_max     REAL    NOT NULL,
  net_tx_sum     REAL    NOT NULL,
  net_tx_max     REAL    NOT NULL,
  disk_read_sum  REAL    NOT NULL,
  disk_read_max  REAL    NOT NULL,
  disk_write_sum REAL    NOT NULL,
  disk_write_max REAL    NOT NULL,
  PRIMARY KEY (series, resolution, at)
) WITHOUT ROWID;
CREATE INDEX metric_points_age ON metric_points(resolution, at);
)sql";
constexpr const char* kMetricsPostgres = R"sql(
CREATE TABLE metric_points (
  series         TEXT             NOT NULL,
  resolution     INTEGER          NOT NULL,
  at             BIGINT           NOT NULL,
  samples        BIGINT           NOT NULL,
  cpu_sum        DOUBLE PRECISION NOT NULL,
  cpu_max        DOUBLE PRECISION NOT NULL,
  memory_sum     DOUBLE PRECISION NOT NULL,
  memory_max     DOUBLE PRECISION NOT NULL,
  memory_limit   DOUBLE PRECISION NOT NULL,
  net_rx_sum     DOUBLE PRECISION NOT NULL,
  net_rx_max     DOUBLE PRECISION NOT NULL,
  net_tx_sum     DOUBLE PRECISION NOT NULL,
  net_tx_max     DOUBLE PRECISION NOT NULL,
  disk_read_sum  DOUBLE PRECISION NOT NULL,
  disk_read_max  DOUBLE PRECISION NOT NULL,
  disk_write_sum DOUBLE PRECISION NOT NULL,
  disk_write_max DOUBLE PRECISION NOT NULL,
  PRIMARY KEY (series, resolution, at)
);
CREATE INDEX metric_points_age ON metric_points(resolution, at);
)sql";

// Migration 14 (endpoint probes), in each dialect: the current state of every probed endpoint,
// and its history (changes plus periodic samples), pruned by age through the second index.
constexpr const char* kProbesSqlite = R"sql(
CREATE TABLE probe_endpoints (
  workload_id    TEXT    NOT NULL,
  container_port INTEGER NOT NULL,
  public_port    INTEGER NOT NULL,
  state          TEXT    NOT NULL,
  reason         TEXT    NOT NULL,
  message        TEXT    NOT NULL,
  latency_us     INTEGER NOT NULL,
  at             INTEGER NOT NULL,
  changed_at     INTEGER NOT NULL,
  PRIMARY KEY (workload_id, container_port)
) WITHOUT ROWID;
CREATE TABLE probe_results (
  workload_id    TEXT    NOT NULL,
  container_port INTEGER NOT NULL,
  at             INTEGER NOT NULL,
  public_port    INTEGER NOT NULL,
  state          TEXT    NOT NULL,
  reason         TEXT    NOT NULL,
  message        TEXT    NOT NULL,
  latency_us     INTEGER NOT NULL,
  PRIMARY KEY (workload_id, container_port, at)
) WITHOUT ROWID;
CREATE INDEX probe_results_age ON probe_results(at);
)sql";
constexpr const char* kProbesPostgres = R"sql(
CREATE TABLE probe_endpoints (
  workload_id    TEXT    NOT NULL,
  container_port INTEGER NOT NULL,
  public_port    INTEGER NOT NULL,
  state          TEXT    NOT NULL,
  reason         TEXT    NOT NULL,
  message        TEXT    NOT NULL,
  latency_us     BIGINT  NOT NULL,
  at             BIGINT  NOT NULL,
  changed_at     BIGINT  NOT NULL,
  PRIMARY KEY (workload_id, container_port)
);
CREATE TABLE probe_results (
  workload_id    TEXT    NOT NULL,
  container_port INTEGER NOT NULL,
  at             BIGINT  NOT NULL,
  public_port    INTEGER NOT NULL,
  state          TEXT    NOT NULL,
  reason         TEXT    NOT NULL,
  message        TEXT    NOT NULL,
  latency_us     BIGINT  NOT NULL,
  PRIMARY KEY (workload_id, container_port, at)
);
CREATE INDEX probe_results_age ON probe_results(at);
)sql";

// Migration 15 (notifications), in each dialect: channels (a webhook's secret sealed) and the
// delivery log, found by channel (newest first) and by due time (the dispatcher's claim).
constexpr const char* kNotificationsSqlite = R"sql(
CREATE TABLE notification_channels (
  id         TEXT PRIMARY KEY,
  owner_id   TEXT NOT NULL,
  kind       TEXT NOT NULL,
  target     TEXT NOT NULL,
  secret_enc TEXT NOT NULL DEFAULT '',
  events     TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX notification_channels_owner ON notification_channels(owner_id, created_at);
CREATE TABLE notification_deliveries (
  id              TEXT PRIMARY KEY,
  channel_id      TEXT NOT NULL,
  owner_id        TEXT NOT NULL,
  kind            TEXT NOT NULL,
  workload_id     TEXT NOT NULL DEFAULT '',
  payload         TEXT NOT NULL,
  attempts        INTEGER NOT NULL DEFAULT 0,
  status          TEXT NOT NULL,
  last_code       INTEGER NOT NULL DEFAULT 0,
  last_result     TEXT NOT NULL DEFAULT '',
  next_attempt_at INTEGER NOT NULL,
  created_at      INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL
);
CREATE INDEX notification_deliveries_channel ON notification_deliveries(channel_id, created_at);
CREATE INDEX notification_deliveries_due ON notification_deliveries(status, next_attempt_at);
)sql";
constexpr const char* kNotificationsPostgres = R"sql(
CREATE TABLE notification_channels (
  id         TEXT PRIMARY KEY,
  owner_id   TEXT NOT NULL,
  kind       TEXT NOT NULL,
  target     TEXT NOT NULL,
  secret_enc TEXT NOT NULL DEFAULT '',
  events     TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE INDEX notification_channels_owner ON notification_channels(owner_id, created_at);
CREATE TABLE notification_deliveries (
  id              TEXT PRIMARY KEY,
  channel_id      TEXT NOT NULL,
  owner_id        TEXT NOT NULL,
  kind            TEXT NOT NULL,
  workload_id     TEXT NOT NULL DEFAULT '',
  payload         TEXT NOT NULL,
  attempts        INTEGER NOT NULL DEFAULT 0,
  status          TEXT NOT NULL,
  last_code       INTEGER NOT NULL DEFAULT 0,
  last_result     TEXT NOT NULL DEFAULT '',
  next_attempt_at BIGINT NOT NULL,
  created_at      BIGINT NOT NULL,
  updated_at      BIGINT NOT NULL
);
CREATE INDEX notification_deliveries_channel ON notification_deliveries(channel_id, created_at);
CREATE INDEX notification_deliveries_due ON notification_deliveries(status, next_attempt_at);
)sql";

constexpr const char* kCoveringIndexes = R"sql(
DROP INDEX workloads_node;
CREATE INDEX workloads_node ON workloads(node_id, desired_state, memory_mb);
DROP INDEX workloads_owner;
CREATE INDEX workloads_owner ON workloads(owner_id, created_at, desired_state, memory_mb, cpus);
)sql";

// Migration 8 (backups), in each dialect: only the integer type differs.
constexpr const char* kBackupsSqlite = R"sql(
CREATE TABLE backup_targets (
  id                 TEXT PRIMARY KEY,
  owner_id           TEXT NOT NULL,
  name               TEXT NOT NULL,
  endpoint           TEXT NOT NULL,
  bucket             TEXT NOT NULL,
  region             TEXT NOT NULL DEFAULT '',
  prefix             TEXT NOT NULL DEFAULT '',
  source_workload_id TEXT NOT NULL DEFAULT '',
  keys_enc           TEXT NOT NULL,
  created_at         INTEGER NOT NULL,
  UNIQUE (owner_id, name)
);
CREATE TABLE backup_policies (
  workload_id      TEXT PRIMARY KEY,
  owner_id         TEXT NOT NULL,
  target_id        TEXT NOT NULL,
  interval_seconds INTEGER NOT NULL DEFAULT 0,
  keep_count       INTEGER NOT NULL DEFAULT 0,
  keep_seconds     INTEGER NOT NULL DEFAULT 0,
  verify           INTEGER NOT NULL DEFAULT 1,
  next_due_at      INTEGER NOT NULL DEFAULT 0,
  updated_at       INTEGER NOT NULL
);
CREATE INDEX backup_policies_due ON backup_policies(next_due_at);
CREATE INDEX backup_policies_target ON backup_policies(target_id);
CREATE TABLE backups (
  id                 TEXT PRIMARY KEY,
  workload_id        TEXT NOT NULL,
  owner_id           TEXT NOT NULL,
  target_id          TEXT NOT NULL,
  node_id            TEXT NOT NULL DEFAULT '',
  trigger_kind       TEXT NOT NULL DEFAULT 'manual',
  status             TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'failed')),
  started_at         INTEGER NOT NULL,
  finished_at        INTEGER NOT NULL DEFAULT 0,
  size_bytes         INTEGER NOT NULL DEFAULT 0,
  duration_ms        INTEGER NOT NULL DEFAULT 0,
  start_lsn          TEXT NOT NULL DEFAULT '',
  end_lsn            TEXT NOT NULL DEFAULT '',
  error_code         TEXT NOT NULL DEFAULT '',
  message            TEXT NOT NULL DEFAULT '',
  verify_status      TEXT NOT NULL DEFAULT 'pending',
  verified_at        INTEGER NOT NULL DEFAULT 0,
  verify_duration_ms INTEGER NOT NULL DEFAULT 0,
  verify_tables      INTEGER NOT NULL DEFAULT 0,
  verify_rows        INTEGER NOT NULL DEFAULT 0,
  verify_message     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX backups_workload ON backups(workload_id, started_at);
CREATE INDEX backups_running ON backups(node_id, status);
)sql";

constexpr const char* kBackupsPostgres = R"sql(
CREATE TABLE backup_targets (
  id                 TEXT PRIMARY KEY,
  owner_id           TEXT NOT NULL,
  name               TEXT NOT NULL,
  endpoint           TEXT NOT NULL,
  bucket             TEXT NOT NULL,
  region             TEXT NOT NULL DEFAULT '',
  prefix             TEXT NOT NULL DEFAULT '',
  source_workload_id TEXT NOT NULL DEFAULT '',
  keys_enc           TEXT NOT NULL,
  created_at         BIGINT NOT NULL,
  UNIQUE (owner_id, name)
);
CREATE TABLE backup_policies (
  workload_id      TEXT PRIMARY KEY,
  owner_id         TEXT NOT NULL,
  target_id        TEXT NOT NULL,
  interval_seconds BIGINT NOT NULL DEFAULT 0,
  keep_count       INTEGER NOT NULL DEFAULT 0,
  keep_seconds     BIGINT NOT NULL DEFAULT 0,
  verify           INTEGER NOT NULL DEFAULT 1,
  next_due_at      BIGINT NOT NULL DEFAULT 0,
  updated_at       BIGINT NOT NULL
);
CREATE INDEX backup_policies_due ON backup_policies(next_due_at);
CREATE INDEX backup_policies_target ON backup_policies(target_id);
CREATE TABLE backups (
  id                 TEXT PRIMARY KEY,
  workload_id        TEXT NOT NULL,
  owner_id           TEXT NOT NULL,
  target_id          TEXT NOT NULL,
  node_id            TEXT NOT NULL DEFAULT '',
  trigger_kind       TEXT NOT NULL DEFAULT 'manual',
  status             TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'failed')),
  started_at         BIGINT NOT NULL,
  finished_at        BIGINT NOT NULL DEFAULT 0,
  size_bytes         BIGINT NOT NULL DEFAULT 0,
  duration_ms        BIGINT NOT NULL DEFAULT 0,
  start_lsn          TEXT NOT NULL DEFAULT '',
  end_lsn            TEXT NOT NULL DEFAULT '',
  error_code         TEXT NOT NULL DEFAULT '',
  message            TEXT NOT NULL DEFAULT '',
  verify_status      TEXT NOT NULL DEFAULT 'pending',
  verified_at        BIGINT NOT NULL DEFAULT 0,
  verify_duration_ms BIGINT NOT NULL DEFAULT 0,
  verify_tables      BIGINT NOT NULL DEFAULT 0,
  verify_rows        BIGINT NOT NULL DEFAULT 0,
  verify_message     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX backups_workload ON backups(workload_id, started_at);
CREATE INDEX backups_running ON backups(node_id, status);
)sql";

const std::vector<Migration>& Migrations() {
  static const std::vector<Migration> kMigrations = {
      {1, "users and sessions",
       R"sql(
CREATE TABLE users (
  id                  TEXT PRIMARY KEY,
  email               TEXT NOT NULL UNIQUE,
  password_hash       TEXT NOT NULL,
  role                TEXT NOT NULL CHECK (role IN ('admin', 'user')),
  created_at          INTEGER NOT NULL,
  password_changed_at INTEGER NOT NULL
);
CREATE TABLE sessions (
  id           TEXT PRIMARY KEY,
  user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  secret_hash  TEXT NOT NULL,
  created_at   INTEGER NOT NULL,
  expires_at   INTEGER NOT NULL,
  revoked_at   INTEGER,
  created_from TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user ON sessions(user_id);
CREATE INDEX sessions_expiry ON sessions(expires_at);
)sql",
       R"sql(
CREATE TABLE users (
  id                  TEXT PRIMARY KEY,
  email               TEXT NOT NULL UNIQUE,
  password_hash       TEXT NOT NULL,
  role                TEXT NOT NULL CHECK (role IN ('admin', 'user')),
  created_at          BIGINT NOT NULL,
  password_changed_at BIGINT NOT NULL
);
CREATE TABLE sessions (
  id           TEXT PRIMARY KEY,
  user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  secret_hash  TEXT NOT NULL,
  created_at   BIGINT NOT NULL,
  expires_at   BIGINT NOT NULL,
  revoked_at   BIGINT,
  created_from TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user ON sessions(user_id);
CREATE INDEX sessions_expiry ON sessions(expires_at);
)sql"},
      {2, "nodes, join tokens, workloads and their events",
       R"sql(
CREATE TABLE nodes (
  id             TEXT PRIMARY KEY,
  name           TEXT NOT NULL,
  cpus           INTEGER NOT NULL DEFAULT 0,
  memory_mb      INTEGER NOT NULL DEFAULT 0,
  disk_mb        INTEGER NOT NULL DEFAULT 0,
  labels_json    TEXT NOT NULL DEFAULT '{}',
  status         TEXT NOT NULL CHECK (status IN ('ready', 'down', 'draining')),
  last_heartbeat INTEGER NOT NULL DEFAULT 0,
  agent_version  TEXT NOT NULL DEFAULT '',
  address        TEXT NOT NULL DEFAULT '',
  secret_hash    TEXT NOT NULL,
  created_at     INTEGER NOT NULL
);
CREATE TABLE join_tokens (
  id         TEXT PRIMARY KEY,
  token_hash TEXT NOT NULL UNIQUE,
  created_by TEXT NOT NULL DEFAULT '',  -- user id; '' for the dev mode's own agent
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  used_at    INTEGER,
  node_id    TEXT NOT NULL DEFAULT ''
);
CREATE TABLE workloads (
  id                  TEXT PRIMARY KEY,
  owner_id            TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  name                TEXT NOT NULL,
  template            TEXT NOT NULL,
  image               TEXT NOT NULL,
  spec_enc            BLOB NOT NULL,
  credentials_enc     BLOB NOT NULL,
  ports_json          TEXT NOT NULL DEFAULT '[]',
  memory_mb           INTEGER NOT NULL DEFAULT 0,
  cpus                REAL NOT NULL DEFAULT 0,
  desired_state       TEXT NOT NULL CHECK (desired_state IN ('running', 'stopped', 'deleted')),
  generation          INTEGER NOT NULL,
  status              TEXT NOT NULL,
  status_reason       TEXT NOT NULL DEFAULT '',
  observed_generation INTEGER NOT NULL DEFAULT 0,
  node_id             TEXT NOT NULL DEFAULT '',
  bindings_json       TEXT NOT NULL DEFAULT '[]',
  created_at          INTEGER NOT NULL,
  updated_at          INTEGER NOT NULL,
  UNIQUE (owner_id, name)
);
CREATE INDEX workloads_node ON workloads(node_id);
CREATE INDEX workloads_status ON workloads(status);
CREATE TABLE workload_events (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  workload_id TEXT NOT NULL,
  at          INTEGER NOT NULL,
  status      TEXT NOT NULL,
  message     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX workload_events_workload ON workload_events(workload_id, id);
)sql",
       R"sql(
CREATE TABLE nodes (
  id             TEXT PRIMARY KEY,
  name           TEXT NOT NULL,
  cpus           INTEGER NOT NULL DEFAULT 0,
  memory_mb      BIGINT NOT NULL DEFAULT 0,
  disk_mb        BIGINT NOT NULL DEFAULT 0,
  labels_json    TEXT NOT NULL DEFAULT '{}',
  status         TEXT NOT NULL CHECK (status IN ('ready', 'down', 'draining')),
  last_heartbeat BIGINT NOT NULL DEFAULT 0,
  agent_version  TEXT NOT NULL DEFAULT '',
  address        TEXT NOT NULL DEFAULT '',
  secret_hash    TEXT NOT NULL,
  created_at     BIGINT NOT NULL
);
CREATE TABLE join_tokens (
  id         TEXT PRIMARY KEY,
  token_hash TEXT NOT NULL UNIQUE,
  created_by TEXT NOT NULL DEFAULT '',  -- user id; '' for the dev mode's own agent
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  used_at    BIGINT,
  node_id    TEXT NOT NULL DEFAULT ''
);
CREATE TABLE workloads (
  id                  TEXT PRIMARY KEY,
  owner_id            TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  name                TEXT NOT NULL,
  template            TEXT NOT NULL,
  image               TEXT NOT NULL,
  spec_enc            BYTEA NOT NULL,
  credentials_enc     BYTEA NOT NULL,
  ports_json          TEXT NOT NULL DEFAULT '[]',
  memory_mb           BIGINT NOT NULL DEFAULT 0,
  cpus                DOUBLE PRECISION NOT NULL DEFAULT 0,
  desired_state       TEXT NOT NULL CHECK (desired_state IN ('running', 'stopped', 'deleted')),
  generation          BIGINT NOT NULL,
  status              TEXT NOT NULL,
  status_reason       TEXT NOT NULL DEFAULT '',
  observed_generation BIGINT NOT NULL DEFAULT 0,
  node_id             TEXT NOT NULL DEFAULT '',
  bindings_json       TEXT NOT NULL DEFAULT '[]',
  created_at          BIGINT NOT NULL,
  updated_at          BIGINT NOT NULL,
  UNIQUE (owner_id, name)
);
CREATE INDEX workloads_node ON workloads(node_id);
CREATE INDEX workloads_status ON workloads(status);
CREATE TABLE workload_events (
  id          BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  workload_id TEXT NOT NULL,
  at          BIGINT NOT NULL,
  status      TEXT NOT NULL,
  message     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX workload_events_workload ON workload_events(workload_id, id);
)sql"},
      {3, "the edge's public ports",
       R"sql(
CREATE TABLE public_ports (
  port           INTEGER PRIMARY KEY,
  workload_id    TEXT NOT NULL,
  container_port INTEGER NOT NULL,
  UNIQUE (workload_id, container_port)
);
)sql",
       R"sql(
CREATE TABLE public_ports (
  port           INTEGER PRIMARY KEY,
  workload_id    TEXT NOT NULL,
  container_port INTEGER NOT NULL,
  UNIQUE (workload_id, container_port)
);
)sql"},
      // The audit trail is append-only: the engine itself refuses to change or remove a row.
      {4, "sign-up invites and the audit trail",
       R"sql(
CREATE TABLE invites (
  id         TEXT PRIMARY KEY,
  code_hash  TEXT NOT NULL UNIQUE,
  note       TEXT NOT NULL DEFAULT '',
  created_by TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  used_at    INTEGER,
  used_by    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX invites_created ON invites(created_at);
CREATE TABLE audit_events (
  id             INTEGER PRIMARY KEY AUTOINCREMENT,
  at             INTEGER NOT NULL,
  actor_id       TEXT NOT NULL DEFAULT '',
  actor_email    TEXT NOT NULL DEFAULT '',
  action         TEXT NOT NULL,
  target         TEXT NOT NULL DEFAULT '',
  client_address TEXT NOT NULL DEFAULT '',
  outcome        TEXT NOT NULL CHECK (outcome IN ('success', 'failure')),
  detail         TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_events_at ON audit_events(at);
CREATE TRIGGER audit_events_append_only_update BEFORE UPDATE ON audit_events
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
CREATE TRIGGER audit_events_append_only_delete BEFORE DELETE ON audit_events
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
)sql",
       R"sql(
CREATE TABLE invites (
  id         TEXT PRIMARY KEY,
  code_hash  TEXT NOT NULL UNIQUE,
  note       TEXT NOT NULL DEFAULT '',
  created_by TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  used_at    BIGINT,
  used_by    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX invites_created ON invites(created_at);
CREATE TABLE audit_events (
  id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at             BIGINT NOT NULL,
  actor_id       TEXT NOT NULL DEFAULT '',
  actor_email    TEXT NOT NULL DEFAULT '',
  action         TEXT NOT NULL,
  target         TEXT NOT NULL DEFAULT '',
  client_address TEXT NOT NULL DEFAULT '',
  outcome        TEXT NOT NULL CHECK (outcome IN ('success', 'failure')),
  detail         TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_events_at ON audit_events(at);
CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'the audit trail is append-only'; END $$;
CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
CREATE TRIGGER audit_events_append_only_truncate BEFORE TRUNCATE ON audit_events
FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();
)sql"},
      // Server replicas (several processes on one PostgreSQL; one row per running process,
      // refreshed every few seconds) and which replica holds each node's agent link, so a
      // replica that dies is noticed and its nodes go down from when it was last seen.
      {5, "server replicas and agent-link ownership",
       R"sql(
CREATE TABLE replicas (
  id      TEXT PRIMARY KEY,
  url     TEXT NOT NULL DEFAULT '',
  seen_at INTEGER NOT NULL
);
ALTER TABLE nodes ADD COLUMN link_replica TEXT NOT NULL DEFAULT '';
ALTER TABLE nodes ADD COLUMN down_since INTEGER NOT NULL DEFAULT 0;
)sql",
       R"sql(
CREATE TABLE replicas (
  id      TEXT PRIMARY KEY,
  url     TEXT NOT NULL DEFAULT '',
  seen_at BIGINT NOT NULL
);
ALTER TABLE nodes ADD COLUMN link_replica TEXT NOT NULL DEFAULT '';
ALTER TABLE nodes ADD COLUMN down_since BIGINT NOT NULL DEFAULT 0;
)sql"},
      // Listing a user's workloads and charging their quota look workloads up by owner; with
      // hundreds of thousands of rows that must not be a full scan.
      {6, "workloads by owner", "CREATE INDEX workloads_owner ON workloads(owner_id, created_at);",
       "CREATE INDEX workloads_owner ON workloads(owner_id, created_at);"},
      // Indexes that cover the two sums: the scheduler's recount (memory per node over every
      // workload) and the quota check (one owner's workloads, memory and CPUs) read the index
      // alone, never the rows. Each keeps its old columns first, so it still serves every
      // lookup the index it replaces served (by node; by owner in creation order).
      {7, "covering indexes for allocation and quota sums", kCoveringIndexes, kCoveringIndexes},
      // Backups (issue 19): targets (S3 buckets, keys sealed), one policy per workload, and
      // every backup run with its verification. A backup outlives nothing it names: deleting a
      // target a policy still uses is refused by the store, not by a foreign key, so both
      // engines answer the same way.
      {8, "backup targets, policies and backups", kBackupsSqlite, kBackupsPostgres},
      // A target records whether a node could write, read and delete a probe object with it.
      {9, "backup target probes",
       R"sql(
ALTER TABLE backup_targets ADD COLUMN probe_status TEXT NOT NULL DEFAULT 'untested';
ALTER TABLE backup_targets ADD COLUMN probe_message TEXT NOT NULL DEFAULT '';
ALTER TABLE backup_targets ADD COLUMN probed_at INTEGER NOT NULL DEFAULT 0;
)sql",
       R"sql(
ALTER TABLE backup_targets ADD COLUMN probe_status TEXT NOT NULL DEFAULT 'untested';
ALTER TABLE backup_targets ADD COLUMN probe_message TEXT NOT NULL DEFAULT '';
ALTER TABLE backup_targets ADD COLUMN probed_at BIGINT NOT NULL DEFAULT 0;
)sql"},
      // A policy's schedule may be a cron expression (UTC) instead of an interval.
      {10, "backup policy cron schedules",
       "ALTER TABLE backup_policies ADD COLUMN cron TEXT NOT NULL DEFAULT '';",
       "ALTER TABLE backup_policies ADD COLUMN cron TEXT NOT NULL DEFAULT '';"},
      // The node's last word on the policy's continuous WAL archiving.
      {11, "backup policy archiving state",
       R"sql(
ALTER TABLE backup_policies ADD COLUMN archive_state TEXT NOT NULL DEFAULT 'unknown';
ALTER TABLE backup_policies ADD COLUMN archive_message TEXT NOT NULL DEFAULT '';
ALTER TABLE backup_policies ADD COLUMN archive_changed_at INTEGER NOT NULL DEFAULT 0;
)sql",
       R"sql(
ALTER TABLE backup_policies ADD COLUMN archive_state TEXT NOT NULL DEFAULT 'unknown';
ALTER TABLE backup_policies ADD COLUMN archive_message TEXT NOT NULL DEFAULT '';
ALTER TABLE backup_policies ADD COLUMN archive_changed_at BIGINT NOT NULL DEFAULT 0;
)sql"},
      // A backup is a PostgreSQL base backup or a volume snapshot (S3 and custom workloads);
      // every backup before this migration was a base backup.
      {12, "backup kinds", "ALTER TABLE backups ADD COLUMN kind TEXT NOT NULL DEFAULT 'postgres';",
       "ALTER TABLE backups ADD COLUMN kind TEXT NOT NULL DEFAULT 'postgres';"},
      // Metrics (issue 20): raw samples and their 1-minute and 1-hour rollups of every workload
      // and node, pruned by age (store/metrics_store.h).
      {13, "metric samples and rollups", kMetricsSqlite, kMetricsPostgres},
      // Outside-in endpoint probes (issue 20): each endpoint's current state and its bounded
      // history (store/probe_store.h).
      {14, "endpoint probe results", kProbesSqlite, kProbesPostgres},
      // Notifications (issue 20): channels and the delivery log, bounded by
      // NotificationStore::PruneDeliveries (store/notification_store.h).
      {15, "notification channels and deliveries", kNotificationsSqlite, kNotificationsPostgres},
  };
  return kMigrations;
}

int LatestSchemaVersion() {
  return Migrations().empty() ? 0 : Migrations().back().version;
}

std::string SchemaTooNewMessage(std::int64_t found) {
  return "the database schema is at version " + std::to_string(found) +
         ", newer than this lattice binary knows (" + std::to_string(LatestSchemaVersion()) +
         "): run the newer lattice release that migrated it, or point --database elsewhere";
}

}  // namespace lattice::store
