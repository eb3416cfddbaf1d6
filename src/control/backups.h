// Backups: the server's side of issue 19. Owners keep backup targets (S3 buckets: an external
// endpoint with keys, sealed at rest, or one of their own S3 workloads), give a PostgreSQL
// workload a policy (target, schedule, retention, verification) and back it up now or on
// schedule; while it has a policy, its node archives its WAL continuously (link::ArchiveSet). The
// job itself runs on the workload's node (the agent's tool container, see docs/backups.md); this
// service records each run in the store, sends the node a `backup.run`, applies the
// `backup.result`, asks for the verification of every new backup (and for the deletion of expired
// ones), and writes what happened on the workload's timeline.
//
// Every failure is a failed backup with a machine-readable `error_code` and a reason, on the
// workload's timeline and in the audit trail (actor `system`): the node
// is unreachable, the workload is stopped, the agent restarted mid-backup ("interrupted"), a
// schedule could not run ("schedule-missed"), or whatever the tool reported ("target-auth", …).
//
// Owner-scoped like the workloads: another user's workload, target or backup is kNotFound.
// Calls the store: run it off the network threads. Thread-safe (no state of its own beyond
// its collaborators, which must outlive it).
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "audit/audit_log.h"
#include "common/clock.h"
#include "common/keyring.h"
#include "common/principal.h"
#include "common/result.h"
#include "control/agent_hub.h"
#include "control/alerts.h"
#include "control/create_extras.h"
#include "control/views.h"
#include "link/protocol.h"
#include "store/store.h"

namespace lattice::control {

struct TargetRequest {
  std::string name;
  // Either an external endpoint with keys…
  std::string endpoint;
  std::string access_key;
  std::string secret_key;
  // …or one of the owner's own S3 workloads, by name (its keys are used).
  std::string workload;
  std::string bucket;
  std::string region;
  std::string prefix;
  bool check = true;  // probe it now (false: save it untested, e.g. before the bucket exists)
};

struct PolicyRequest {
  std::string target_id;
  std::int64_t interval_seconds = 0;  // 0: no interval schedule
  std::string cron;                   // or a cron expression in UTC (common/cron.h); not both
  int keep_count = 0;
  std::int64_t keep_days = 0;
  bool verify = true;
};

struct RestoreRequest {
  std::string name;         // the new workload's (not with in_place)
  std::string backup_id;    // from this backup…
  std::string target_time;  // …and/or to this time (RFC 3339 with a zone); at least one
  // Over the workload's own data instead of into a new workload: only when `confirm` repeats
  // the workload's name (a user who typed it knows which data is replaced).
  bool in_place = false;
  std::string confirm{};
};

// A restore, planned: the new workload to create (ControlPlane::CreateWorkload with `extras`).
struct RestorePlan {
  store::Workload source;
  store::Backup backup;
  std::string target_time;  // as the tool takes it, "YYYY-MM-DD HH:MM:SS.ffffff+00"; or empty
  templates::WorkloadRequest request;  // the source's template, image and limits, a new name
  CreateExtras extras;    // the restore, the source's user and database, the source's node
  bool in_place = false;  // then `request` is unused: ControlPlane::RestoreInPlace(extras.restore)
};

struct BackupsOptions {
  // A verified backup is verified again (restored, its rows counted) once its last verification
  // is this old, so a backup kept for months is still known to restore.
  std::int64_t reverify_after_seconds = 7 * 86400;
  // A scheduled backup starting later than this after its time counts as a missed firing.
  std::int64_t late_grace_seconds = 300;
};

class Backups {
 public:
  // `alerts` hears of every failed backup (a missed schedule included) and failed
  // verification.
  Backups(store::Store& store, const Clock& clock, const Keyring& keys, AgentHub& hub,
          AlertSink& alerts, BackupsOptions options = {});

  // --- targets
  Result<store::BackupTarget> CreateTarget(const Principal& who, const TargetRequest& req);
  Result<std::vector<store::BackupTarget>> ListTargets(const Principal& who);
  Status DeleteTarget(const Principal& who, const std::string& id);
  Result<store::BackupTarget> GetTarget(const Principal& who, const std::string& id);
  // Checks the target again: a node writes, reads back and deletes a probe object with its
  // keys (CreateTarget does it too). The target comes back `pending` and its outcome is
  // recorded when the node answers — `failed` with the tool's code and reason — or
  // `untested` with why no node could try: the probe runs in the network namespace the
  // owner's backups would use (the target's own S3 workload, or a running workload of the
  // owner's, PostgreSQL first, on a connected node).
  Result<store::BackupTarget> ProbeTarget(const Principal& who, const std::string& id);

  // --- policy of one workload
  Result<store::BackupPolicy> PutPolicy(const Principal& who, const std::string& workload_id,
                                        const PolicyRequest& req);
  Result<store::BackupPolicy> GetPolicy(const Principal& who, const std::string& workload_id);
  Status DeletePolicy(const Principal& who, const std::string& workload_id);

  // --- backups of one workload
  // Starts a backup now with the policy's target: a PostgreSQL base backup, or a volume snapshot
  // of an S3 or custom workload (running or stopped). kConflict (with the reason) if the
  // workload cannot be backed up now: no policy, a database not running, not placed, a custom
  // workload without volumes, or a backup of it is still running; kUnavailable if its node's
  // agent is not connected.
  Result<store::Backup> BackupNow(const Principal& who, const std::string& workload_id);
  Result<std::vector<store::Backup>> List(const Principal& who, const std::string& workload_id);
  Result<store::Backup> Get(const Principal& who, const std::string& workload_id,
                            const std::string& backup_id);
  // Verifies a succeeded backup again, now: its verification becomes pending and the node
  // restores it into a throw-away container. kConflict (the reason): not succeeded, already
  // being verified, the database not running (the job joins its network namespace) or moved
  // to another node; kUnavailable: its node is not connected.
  Result<store::Backup> VerifyNow(const Principal& who, const std::string& workload_id,
                                  const std::string& backup_id);

  // --- restore into a new workload (never over the old one)
  // Plans restoring `workload_id`'s backup (`req.backup_id`, or the newest succeeded one that
  // finished before `req.target_time`) into a new workload on the same node, with the same role
  // and database and a new password. A volume snapshot: into a new workload made from the
  // source's request (new generated credentials), as the snapshot was taken — a time only picks
  // the snapshot, and a time with a backup_id is kInvalidArgument. kInvalidArgument: neither or a
  // malformed time, a time in the future; kNotFound: not the caller's workload or backup; kConflict
  // (the reason): not PostgreSQL, the backup did not succeed or failed verification, no backup
  // before the time, its target is gone, the workload is not placed; kUnavailable: its node is not
  // connected.
  Result<RestorePlan> PlanRestore(const Principal& who, const std::string& workload_id,
                                  const RestoreRequest& req);
  // The restore was created as `restored`: says so on the source's timeline.
  void RestoreStarted(const RestorePlan& plan, const WorkloadView& restored);

  // --- from agents and the clock
  // Applies a node's report on a job. A report about a backup that is not the node's, or that
  // already ended, is ignored (Ok). kUnavailable if the store could not be written.
  Status OnResult(const std::string& node_id, const link::BackupResult& result);
  // Applies a node's word on a workload's continuous WAL archiving: recorded on the policy
  // (for the API and /metrics) and, when it changed, on the workload's timeline — a failure
  // with the tool's reason. Ignored (Ok) for a workload that is not on that node or has no
  // policy; kUnavailable if the store could not be written.
  Status OnArchiveStatus(const std::string& node_id, const link::ArchiveStatus& status);
  // The node's agent (re)connected: a backup it was running is gone with the old process; its
  // databases with a policy archive their WAL again (link::ArchiveSet).
  void OnAgentConnected(const std::string& node_id);
  // Starts every scheduled backup that is due. Safe on every replica at once: the store's
  // compare-and-set on the schedule lets one replica start each firing. A due backup that
  // cannot start is recorded as a failed backup (`schedule-missed`, with the reason), and so
  // is a firing found more than `late_grace_seconds` late (no server was running then: the
  // backup runs now, once, and the failure says how many firings were missed). About
  // once a minute, also verifies again the backups whose last verification is older than
  // `reverify_after_seconds` (the store's compare-and-set lets one replica start each).
  void Tick();

  // What the reasons name, for tests and the API's problem types.
  static constexpr const char* kScheduleMissed = "schedule-missed";
  static constexpr const char* kInterrupted = "interrupted";

 private:
  Result<store::Workload> OwnedWorkload(const Principal& who, const std::string& id);
  // The id of the workload's backup that is still running, or "" when none is.
  Result<std::string> RunningBackupOf(const std::string& workload_id);
  Result<store::BackupTarget> OwnedTarget(const Principal& who, const std::string& id);
  struct ProbeJob {
    std::string node_id;
    link::BackupRun run;
  };
  // Sets `t`'s probe to pending with the job to send once the row is written, or to untested
  // with the reason (no job).
  std::optional<ProbeJob> PlanProbe(store::BackupTarget& t);
  void SendProbe(store::BackupTarget& t, std::optional<ProbeJob> job);
  Status OnProbeResult(const std::string& node_id, const link::BackupResult& r);
  // Starts a backup of `w` under `policy`; records a failed row (and returns its error) when
  // it cannot start and `record_failure` is set.
  Result<store::Backup> Start(const store::Workload& w, const store::BackupPolicy& policy,
                              const std::string& trigger, bool record_failure);
  // Why `w` (an S3 or custom workload) cannot be snapshotted now, or nullopt. Running or
  // stopped are both fine: the job reads its volumes.
  std::optional<Error> SnapshotRefusal(const store::Workload& w);
  // `w`'s rendered spec (unsealed), its number of volumes, and the request that renders like it.
  Result<templates::RenderedWorkload> SpecOf(const store::Workload& w);
  Result<std::size_t> VolumeCount(const store::Workload& w);
  Result<templates::WorkloadRequest> SourceRequest(const store::Workload& w);
  // The job for `op` on `backup` (keys unsealed), or why the target cannot be used.
  Result<link::BackupRun> Job(link::BackupOp op, const store::Backup& backup,
                              const store::BackupTarget& target);
  // How a job on `node_id` reaches `target` (keys unsealed; the prefix as stored), or why not.
  Result<templates::S3Target> Reach(const store::BackupTarget& target, const std::string& node_id);
  void SendFollowUp(link::BackupOp op, const store::Backup& backup);
  // Why `b` of `w` cannot be verified now, or nullopt; then claims it (MarkVerifying) and sends
  // the job. `why` goes on the timeline.
  Result<store::Backup> StartVerification(const store::Workload& w, store::Backup b,
                                          const std::string& why);
  void Reverify();
  // Tells `w`'s node to archive its WAL continuously to `target` (nullptr: to stop).
  void SendArchive(const store::Workload& w, const store::BackupTarget* target);
  void ApplyRetention(const store::Workload& w, const store::BackupPolicy& policy);
  // Records a scheduled run of `w` that ended at once as failed (`schedule-missed`): listed,
  // counted in /metrics and on the timeline like any failure.
  Status RecordMissed(const store::Workload& w, const store::BackupPolicy& policy,
                      const std::string& message);
  // Appends to the workload's timeline (its current status, this message).
  void Timeline(const store::Workload& w, const std::string& message);
  // Records a failure the server found itself (no one acted: the actor is `system`) in the
  // audit trail: `action` on `target` (a backup or workload id), with the reason.
  void AuditFailure(std::string_view action, const std::string& target, const std::string& why);
  // Raises backup.failed or backup.not-verified about backup `backup_id` of `w`.
  void Alert(const store::Workload& w, AlertKind kind, const std::string& backup_id,
             const std::string& message);

  store::Store& store_;
  store::BackupStore& backups_;
  const Clock& clock_;
  const Keyring& keys_;
  AgentHub& hub_;
  AlertSink& alerts_;
  audit::AuditLog audit_;
  const BackupsOptions options_;
  std::atomic<std::int64_t> last_reverify_{0};  // when Tick last looked for old verifications
};

}  // namespace lattice::control
