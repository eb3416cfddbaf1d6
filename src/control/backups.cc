#include "control/backups.h"

#include <spdlog/spdlog.h>
#include <boost/json.hpp>

#include <algorithm>
#include <set>

#include "common/clock.h"
#include "common/cron.h"
#include "common/random.h"
#include "common/secretbox.h"
#include "templates/builtin.h"
#include "templates/spec_storage.h"
#include "templates/template.h"

namespace lattice::control {
namespace {

namespace json = boost::json;

constexpr std::int64_t kMinIntervalSeconds = 60;
constexpr std::int64_t kMaxIntervalSeconds = 366 * 86400;
constexpr int kMaxKeepCount = 1000;
constexpr std::size_t kMaxCronLength = 128;
constexpr std::int64_t kMaxKeepDays = 3650;
constexpr int kDueBatch = 100;

bool CharsIn(std::string_view s, std::string_view allowed) {
  return s.find_first_not_of(allowed) == std::string_view::npos;
}
constexpr std::string_view kLowerDigits = "abcdefghijklmnopqrstuvwxyz0123456789";

// Keys go into the job's rclone configuration file (one INI value each): letters, digits and
// the characters S3 keys use ("+/=_.-~"), bounded; nothing that could end or comment a line.
bool PlainKey(std::string_view k) {
  if (k.empty() || k.size() > 256) return false;
  return CharsIn(k, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/=_.-~");
}

// http(s)://host[:port] and nothing else (no user info, path, query or fragment).
bool PlainEndpoint(std::string_view e) {
  std::string_view rest;
  if (e.rfind("https://", 0) == 0)
    rest = e.substr(8);
  else if (e.rfind("http://", 0) == 0)
    rest = e.substr(7);
  else
    return false;
  if (rest.empty() || rest.size() > 253) return false;
  return CharsIn(rest, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]");
}

Status ValidateTarget(const TargetRequest& r) {
  std::vector<FieldError> bad;
  if (r.name.empty() || r.name.size() > 63 || !CharsIn(r.name, std::string(kLowerDigits) + "-"))
    bad.push_back({"name", "must be 1-63 lower-case letters, digits or '-'"});
  if (r.bucket.size() < 3 || r.bucket.size() > 63 ||
      !CharsIn(r.bucket, std::string(kLowerDigits) + ".-"))
    bad.push_back({"bucket", "must be 3-63 lower-case letters, digits, '.' or '-'"});
  if (r.region.size() > 32 || !CharsIn(r.region, std::string(kLowerDigits) + "-"))
    bad.push_back({"region", "must be at most 32 lower-case letters, digits or '-'"});
  if (r.prefix.size() > 200 || r.prefix.find("..") != std::string::npos ||
      !CharsIn(r.prefix, std::string(kLowerDigits) + "ABCDEFGHIJKLMNOPQRSTUVWXYZ/_.-"))
    bad.push_back({"prefix", "must be at most 200 letters, digits, '/', '_', '.' or '-'"});
  if (r.workload.empty()) {
    if (!PlainEndpoint(r.endpoint))
      bad.push_back({"endpoint", "must be http(s)://host[:port] (or name a workload instead)"});
    if (!PlainKey(r.access_key))
      bad.push_back({"access_key", "is required: letters, digits and +/=_.-~"});
    if (!PlainKey(r.secret_key))
      bad.push_back({"secret_key", "is required: letters, digits and +/=_.-~"});
  } else if (!r.endpoint.empty() || !r.access_key.empty() || !r.secret_key.empty()) {
    bad.push_back({"workload", "names an S3 workload: give no endpoint or keys with it"});
  }
  if (!bad.empty()) return Error::Invalid("The backup target is not valid.", std::move(bad));
  return Status::Ok();
}

Status ValidatePolicy(const PolicyRequest& r) {
  std::vector<FieldError> bad;
  if (r.target_id.empty()) bad.push_back({"target_id", "is required"});
  if (r.interval_seconds != 0 &&
      (r.interval_seconds < kMinIntervalSeconds || r.interval_seconds > kMaxIntervalSeconds))
    bad.push_back({"interval_seconds", "must be 0 (no schedule) or between 60 and 31622400"});
  if (!r.cron.empty()) {
    if (r.interval_seconds != 0)
      bad.push_back({"cron", "give a cron expression or interval_seconds, not both"});
    else if (r.cron.size() > kMaxCronLength)
      bad.push_back({"cron", "must be at most 128 characters"});
    else if (auto c = CronSchedule::Parse(r.cron); !c.ok())
      bad.push_back(
          {"cron", c.error().fields.empty() ? c.error().message : c.error().fields[0].message});
  }
  if (r.keep_count < 0 || r.keep_count > kMaxKeepCount)
    bad.push_back({"keep_count", "must be between 0 (no limit) and 1000"});
  if (r.keep_days < 0 || r.keep_days > kMaxKeepDays)
    bad.push_back({"keep_days", "must be between 0 (no limit) and 3650"});
  if (!bad.empty()) return Error::Invalid("The backup policy is not valid.", std::move(bad));
  return Status::Ok();
}

// When `p`'s schedule next fires after `now` (0: it has none). Its cron expression was
// validated when the policy was set.
std::int64_t NextDue(const store::BackupPolicy& p, std::int64_t now) {
  if (!p.cron.empty()) {
    auto c = CronSchedule::Parse(p.cron);
    return c.ok() ? c->Next(now) : 0;
  }
  return p.interval_seconds > 0 ? now + p.interval_seconds : 0;
}

// How many firings of `p` fell in (due, now]: the ones no server started (counted up to 1000;
// the expression is parsed once, not per firing).
std::int64_t FiringsSince(const store::BackupPolicy& p, std::int64_t due, std::int64_t now) {
  std::optional<CronSchedule> cron;
  if (!p.cron.empty()) {
    auto c = CronSchedule::Parse(p.cron);
    if (!c.ok()) return 0;
    cron = std::move(c).value();
  }
  auto next = [&](std::int64_t t) -> std::int64_t {
    if (cron) return cron->Next(t);
    return p.interval_seconds > 0 ? t + p.interval_seconds : 0;
  };
  std::int64_t n = 0;
  for (std::int64_t t = next(due); t > 0 && t <= now && n < 1000; t = next(t)) ++n;
  return n;
}

std::string ScheduleText(const store::BackupPolicy& p) {
  if (!p.cron.empty()) return "on cron \"" + p.cron + "\" (UTC)";
  if (p.interval_seconds > 0) return "every " + std::to_string(p.interval_seconds) + " s";
  return "on demand";
}

std::string SealKeys(const std::string& access, const std::string& secret, const Keyring& k) {
  return Seal(json::serialize(json::object{{"access_key", access}, {"secret_key", secret}}),
              k.secrets_key());
}

}  // namespace

Backups::Backups(store::Store& store, const Clock& clock, const Keyring& keys, AgentHub& hub,
                 AlertSink& alerts, BackupsOptions options)
    : store_(store),
      backups_(store.Backups()),
      clock_(clock),
      keys_(keys),
      hub_(hub),
      alerts_(alerts),
      audit_(store, clock),
      options_(options) {}

Result<std::string> Backups::RunningBackupOf(const std::string& workload_id) {
  auto list = backups_.ListBackups(workload_id);
  if (!list.ok()) return std::move(list).error();
  for (const auto& b : *list)
    if (b.status == BackupStatus::kRunning) return b.id;
  return std::string();
}

Result<store::Workload> Backups::OwnedWorkload(const Principal& who, const std::string& id) {
  auto w = store_.GetWorkload(id);
  if (!w.ok() || w->owner_id != who.user_id) {
    if (!w.ok() && w.error().code != ErrorCode::kNotFound) return std::move(w).error();
    return Error::NotFound("No workload with id '" + id.substr(0, 64) + "'.");
  }
  return w;
}

Result<store::BackupTarget> Backups::OwnedTarget(const Principal& who, const std::string& id) {
  auto t = backups_.GetBackupTarget(id);
  if (!t.ok() || t->owner_id != who.user_id) {
    if (!t.ok() && t.error().code != ErrorCode::kNotFound) return std::move(t).error();
    return Error::NotFound("No backup target with id '" + id.substr(0, 64) + "'.");
  }
  return t;
}

Result<store::BackupTarget> Backups::CreateTarget(const Principal& who, const TargetRequest& req) {
  if (Status s = ValidateTarget(req); !s.ok()) return std::move(s).error();
  store::BackupTarget t;
  t.id = NewId("bt");
  t.owner_id = who.user_id;
  t.name = req.name;
  t.endpoint = req.endpoint;
  t.bucket = req.bucket;
  t.region = req.region;
  t.prefix = req.prefix;
  t.created_at = clock_.NowSeconds();
  if (!req.workload.empty()) {
    store::WorkloadFilter f;
    f.owner_id = who.user_id;
    auto mine = store_.ListWorkloads(f);
    if (!mine.ok()) return std::move(mine).error();
    auto it = std::find_if(mine->begin(), mine->end(),
                           [&](const store::Workload& w) { return w.name == req.workload; });
    if (it == mine->end() || it->template_name != "minio")
      return Error::Invalid("The backup target is not valid.",
                            {{"workload", "must name one of your S3 workloads"}});
    auto creds = Open(it->credentials_enc, keys_.secrets_key());
    if (!creds.ok()) return std::move(creds).error();
    auto c = templates::CredentialsFromJson(*creds);
    t.source_workload_id = it->id;
    t.keys_enc = SealKeys(c["access_key"], c["secret_key"], keys_);
  } else {
    t.keys_enc = SealKeys(req.access_key, req.secret_key, keys_);
  }
  // Planned before the row is written, so it is written once, already pending or untested.
  std::optional<ProbeJob> probe;
  if (req.check) {
    probe = PlanProbe(t);
  } else {
    t.probe_message = "Not checked: saved without a check.";
  }
  if (Status s = backups_.CreateBackupTarget(t); !s.ok()) return std::move(s).error();
  SendProbe(t, std::move(probe));
  return t;
}

Result<store::BackupTarget> Backups::ProbeTarget(const Principal& who, const std::string& id) {
  auto t = OwnedTarget(who, id);
  if (!t.ok()) return std::move(t).error();
  auto probe = PlanProbe(*t);  // a probe still pending is simply asked again
  if (Status s = backups_.RecordTargetProbe(*t); !s.ok()) return std::move(s).error();
  SendProbe(*t, std::move(probe));
  return t;
}

Result<store::BackupTarget> Backups::GetTarget(const Principal& who, const std::string& id) {
  return OwnedTarget(who, id);
}

std::optional<Backups::ProbeJob> Backups::PlanProbe(store::BackupTarget& t) {
  t.probed_at = 0;
  t.probe_message.clear();
  // From where the owner's backups reach the target: its own S3 workload's namespace, or any
  // running workload of the owner's (a PostgreSQL one first) on a connected node.
  std::optional<store::Workload> from;
  auto usable = [&](const store::Workload& w) {
    return w.desired_state == DesiredState::kRunning && w.status == WorkloadStatus::kRunning &&
           !w.node_id.empty() && hub_.IsConnected(w.node_id);
  };
  if (!t.source_workload_id.empty()) {
    if (auto w = store_.GetWorkload(t.source_workload_id); w.ok() && usable(*w)) from = *w;
  } else {
    store::WorkloadFilter f;
    f.owner_id = t.owner_id;
    if (auto mine = store_.ListWorkloads(f); mine.ok())
      for (const auto& w : *mine)
        if (usable(w) &&
            (!from || (w.template_name == "postgres" && from->template_name != "postgres")))
          from = w;
  }
  if (!from) {
    t.probe_status = ProbeStatus::kUntested;
    t.probe_message = t.source_workload_id.empty()
                          ? "Not checked: none of your workloads runs on a connected node to "
                            "check it from. Its first backup will show whether it works."
                          : "Not checked: its S3 workload is not running on a connected node.";
    return std::nullopt;
  }
  auto reach = Reach(t, from->node_id);
  if (!reach.ok()) {
    t.probe_status = ProbeStatus::kUntested;
    t.probe_message = "Not checked: " + reach.error().message;
    return std::nullopt;
  }
  link::BackupRun run;
  run.job_id = NewId("job");
  run.op = link::BackupOp::kProbe;
  run.workload_id = from->id;
  run.backup_id = t.id;
  run.target = std::move(reach).value();
  t.probe_status = ProbeStatus::kPending;
  return ProbeJob{from->node_id, std::move(run)};
}

void Backups::SendProbe(store::BackupTarget& t, std::optional<ProbeJob> job) {
  if (!job || hub_.Send(job->node_id, job->run)) return;
  t.probe_status = ProbeStatus::kUntested;
  t.probe_message = "Not checked: the node to check it from went away.";
  (void)backups_.RecordTargetProbe(t);
}

Status Backups::OnProbeResult(const std::string& node_id, const link::BackupResult& r) {
  auto t = backups_.GetBackupTarget(r.backup_id);
  if (!t.ok()) return t.error().code == ErrorCode::kNotFound ? Status::Ok() : Status(t.error());
  auto from = store_.GetWorkload(r.workload_id);
  // Only the answer to a probe this target waits for, from the node it was sent to.
  if (t->probe_status != ProbeStatus::kPending || !from.ok() || from->node_id != node_id ||
      from->owner_id != t->owner_id)
    return Status::Ok();
  t->probe_status = r.ok ? ProbeStatus::kPassed : ProbeStatus::kFailed;
  t->probe_message = r.ok ? "" : r.error_code + ": " + r.message;
  t->probed_at = clock_.NowSeconds();
  Status s = backups_.RecordTargetProbe(*t);
  return s.ok() || s.error().code == ErrorCode::kNotFound ? Status::Ok() : s;
}

Result<std::vector<store::BackupTarget>> Backups::ListTargets(const Principal& who) {
  return backups_.ListBackupTargets(who.user_id);
}

Status Backups::DeleteTarget(const Principal& who, const std::string& id) {
  auto t = OwnedTarget(who, id);
  if (!t.ok()) return std::move(t).error();
  return backups_.DeleteBackupTarget(id);
}

Result<store::BackupPolicy> Backups::PutPolicy(const Principal& who, const std::string& workload_id,
                                               const PolicyRequest& req) {
  auto w = OwnedWorkload(who, workload_id);
  if (!w.ok()) return std::move(w).error();
  if (Status s = ValidatePolicy(req); !s.ok()) return std::move(s).error();
  if (!BackupKindOf(w->template_name))
    return Error::Conflict("Workloads of this template cannot be backed up.");
  auto t = OwnedTarget(who, req.target_id);
  if (!t.ok())
    return Error::Invalid("The backup policy is not valid.",
                          {{"target_id", "must name one of your backup targets"}});
  const std::int64_t now = clock_.NowSeconds();
  store::BackupPolicy p{workload_id,
                        who.user_id,
                        req.target_id,
                        req.interval_seconds,
                        req.keep_count,
                        req.keep_days * 86400,
                        req.verify,
                        0,
                        now,
                        req.cron.empty() ? "" : CronSchedule::Parse(req.cron)->text()};
  p.next_due_at = NextDue(p, now);
  if (Status s = backups_.PutBackupPolicy(p); !s.ok()) return std::move(s).error();
  Timeline(*w, "backup policy set: " + ScheduleText(p));
  SendArchive(*w, &*t);
  return p;
}

Result<store::BackupPolicy> Backups::GetPolicy(const Principal& who,
                                               const std::string& workload_id) {
  auto w = OwnedWorkload(who, workload_id);
  if (!w.ok()) return std::move(w).error();
  auto p = backups_.GetBackupPolicy(workload_id);
  if (!p.ok() && p.error().code == ErrorCode::kNotFound)
    return Error::NotFound("The workload has no backup policy.");
  return p;
}

Status Backups::DeletePolicy(const Principal& who, const std::string& workload_id) {
  auto w = OwnedWorkload(who, workload_id);
  if (!w.ok()) return std::move(w).error();
  if (Status s = backups_.DeleteBackupPolicy(workload_id); !s.ok()) return s;
  SendArchive(*w, nullptr);
  return Status::Ok();
}

Result<store::Backup> Backups::BackupNow(const Principal& who, const std::string& workload_id) {
  auto w = OwnedWorkload(who, workload_id);
  if (!w.ok()) return std::move(w).error();
  auto p = backups_.GetBackupPolicy(workload_id);
  if (!p.ok()) {
    if (p.error().code != ErrorCode::kNotFound) return std::move(p).error();
    return Error::Conflict("The workload has no backup policy: set one (its target) first.");
  }
  return Start(*w, *p, "manual", false);
}

Result<store::Backup> Backups::Start(const store::Workload& w, const store::BackupPolicy& policy,
                                     const std::string& trigger, bool record_failure) {
  store::Backup b;
  b.id = NewId("bk");
  b.workload_id = w.id;
  b.owner_id = w.owner_id;
  b.target_id = policy.target_id;
  b.node_id = w.node_id;
  b.trigger = trigger;
  b.started_at = clock_.NowSeconds();
  b.verify_status = policy.verify ? VerifyStatus::kPending : VerifyStatus::kSkipped;
  const std::optional<BackupKind> kind = BackupKindOf(w.template_name);
  b.kind = kind.value_or(BackupKind::kPostgres);

  std::optional<Error> refused;
  if (!kind)
    refused = Error::Conflict("Workloads of this template cannot be backed up.");
  else if (*kind == BackupKind::kVolume)
    refused = SnapshotRefusal(w);  // running or stopped: the job reads the volumes
  else if (w.desired_state != DesiredState::kRunning || w.status != WorkloadStatus::kRunning)
    refused = Error::Conflict(
        "The database is not running (it is " + std::string(Name(w.status)) +
        "): a backup reads it through PostgreSQL's replication protocol, so start it first.");
  else if (w.node_id.empty())
    refused = Error::Conflict("The workload is not placed on a node yet.");
  else if (!hub_.IsConnected(w.node_id))
    refused = Error::Unavailable("The workload's node is not connected; try again when it is.");
  if (!refused) {
    auto running = RunningBackupOf(w.id);
    if (!running.ok()) return std::move(running).error();
    if (!running->empty())
      refused = Error::Conflict("Backup " + *running + " of this workload is still running.");
  }
  auto target = backups_.GetBackupTarget(policy.target_id);
  if (!refused && !target.ok()) {
    if (target.error().code != ErrorCode::kNotFound) return std::move(target).error();
    refused = Error::Conflict("The policy's backup target no longer exists.");
  }
  Result<link::BackupRun> job =
      refused ? Result<link::BackupRun>(*refused) : Job(link::BackupOp::kBackup, b, *target);
  if (!refused && !job.ok()) refused = job.error();

  if (refused) {
    if (!record_failure) return *refused;
    if (Status s =
            RecordMissed(w, policy, "The scheduled backup could not start: " + refused->message);
        !s.ok())
      return std::move(s).error();
    return *refused;
  }
  if (Status s = backups_.CreateBackup(b); !s.ok()) return std::move(s).error();
  if (!hub_.Send(w.node_id, *job)) {
    b.status = BackupStatus::kFailed;
    b.finished_at = clock_.NowSeconds();
    b.error_code = "node-unreachable";
    b.message = "The node's link could not take the job.";
    b.verify_status = VerifyStatus::kSkipped;
    (void)backups_.FinishBackup(b);
    Timeline(w, "backup " + b.id + " failed: " + b.message);
    AuditFailure("backup.failed", b.id, b.error_code + ": " + b.message);
    Alert(w, AlertKind::kBackupFailed, b.id, b.message);
    return Error::Unavailable(b.message);
  }
  Timeline(w, std::string(b.kind == BackupKind::kVolume ? "snapshot " : "backup ") + b.id +
                  " started (" + trigger + ")");
  return b;
}

std::optional<Error> Backups::SnapshotRefusal(const store::Workload& w) {
  if (w.desired_state == DesiredState::kDeleted)
    return Error::Conflict("The workload is being deleted.");
  if (w.node_id.empty()) return Error::Conflict("The workload is not placed on a node yet.");
  auto volumes = VolumeCount(w);
  if (!volumes.ok()) return volumes.error();
  if (*volumes == 0)
    return Error::Conflict("The workload has no volume: there is nothing to snapshot.");
  if (w.status == WorkloadStatus::kScheduled || w.status == WorkloadStatus::kCreating)
    return Error::Conflict("The workload's volumes are not created yet (it is " +
                           std::string(Name(w.status)) + "); try again once it has started.");
  if (!hub_.IsConnected(w.node_id))
    return Error::Unavailable("The workload's node is not connected; try again when it is.");
  return std::nullopt;
}

Result<templates::RenderedWorkload> Backups::SpecOf(const store::Workload& w) {
  auto text = Open(w.spec_enc, keys_.secrets_key());
  if (!text.ok()) return std::move(text).error();
  auto stored = templates::DecodeStoredSpec(*text);
  if (!stored.ok()) return std::move(stored).error();
  return std::move(stored->spec);
}

Result<std::size_t> Backups::VolumeCount(const store::Workload& w) {
  auto spec = SpecOf(w);
  if (!spec.ok()) return std::move(spec).error();
  return spec->volumes.size();
}

Result<templates::WorkloadRequest> Backups::SourceRequest(const store::Workload& w) {
  auto spec = SpecOf(w);
  if (!spec.ok()) return std::move(spec).error();
  return templates::RequestOf(w.template_name, *spec);
}

Result<link::BackupRun> Backups::Job(link::BackupOp op, const store::Backup& backup,
                                     const store::BackupTarget& target) {
  auto db = store_.GetWorkload(backup.workload_id);
  auto reach = Reach(target, db.ok() ? db->node_id : backup.node_id);
  if (!reach.ok()) return std::move(reach).error();
  link::BackupRun run;
  run.job_id = NewId("job");
  run.op = op;
  run.workload_id = backup.workload_id;
  run.backup_id = backup.id;
  run.target = std::move(reach).value();
  run.kind = backup.kind;
  return run;
}

Result<templates::S3Target> Backups::Reach(const store::BackupTarget& target,
                                           const std::string& node_id) {
  auto keys = Open(target.keys_enc, keys_.secrets_key());
  if (!keys.ok()) return std::move(keys).error();
  auto creds = templates::CredentialsFromJson(*keys);
  templates::S3Target t;
  t.endpoint = target.endpoint;
  t.bucket = target.bucket;
  t.region = target.region;
  t.prefix = target.prefix;
  t.access_key = creds["access_key"];
  t.secret_key = creds["secret_key"];
  if (!target.source_workload_id.empty()) {
    auto src = store_.GetWorkload(target.source_workload_id);
    if (!src.ok()) return Error::Conflict("The backup target's S3 workload no longer exists.");
    if (src->node_id != node_id)
      return Error::Conflict(
          "The backup target's S3 workload runs on another node; use its public endpoint as "
          "an external target instead.");
    t.workload_name = src->name;
    t.workload_port = templates::builtin::kMinioS3Port;
  }
  return t;
}

Result<std::vector<store::Backup>> Backups::List(const Principal& who,
                                                 const std::string& workload_id) {
  auto w = OwnedWorkload(who, workload_id);
  if (!w.ok()) return std::move(w).error();
  return backups_.ListBackups(workload_id);
}

Result<store::Backup> Backups::Get(const Principal& who, const std::string& workload_id,
                                   const std::string& backup_id) {
  auto w = OwnedWorkload(who, workload_id);
  if (!w.ok()) return std::move(w).error();
  auto b = backups_.GetBackup(backup_id);
  if (!b.ok() || b->workload_id != workload_id) {
    if (!b.ok() && b.error().code != ErrorCode::kNotFound) return std::move(b).error();
    return Error::NotFound("No backup with id '" + backup_id.substr(0, 64) + "'.");
  }
  return b;
}

Result<store::Backup> Backups::VerifyNow(const Principal& who, const std::string& workload_id,
                                         const std::string& backup_id) {
  auto w = OwnedWorkload(who, workload_id);
  if (!w.ok()) return std::move(w).error();
  auto b = Get(who, workload_id, backup_id);
  if (!b.ok()) return std::move(b).error();
  return StartVerification(*w, std::move(b).value(), "asked by " + who.email);
}

Result<store::Backup> Backups::StartVerification(const store::Workload& w, store::Backup b,
                                                 const std::string& why) {
  if (b.status != BackupStatus::kSucceeded)
    return Error::Conflict("Backup " + b.id + " did not succeed: there is nothing to verify.");
  if (b.verify_status == VerifyStatus::kPending)
    return Error::Conflict("Backup " + b.id + " is being verified already.");
  if (b.kind == BackupKind::kPostgres &&
      (w.desired_state != DesiredState::kRunning || w.status != WorkloadStatus::kRunning))
    return Error::Conflict("The database is not running (it is " + std::string(Name(w.status)) +
                           "): verification runs beside it, so start it first.");
  if (w.node_id != b.node_id)
    return Error::Conflict("The database has moved to another node since backup " + b.id + ".");
  if (!hub_.IsConnected(w.node_id))
    return Error::Unavailable("The workload's node is not connected; try again when it is.");
  auto target = backups_.GetBackupTarget(b.target_id);
  if (!target.ok()) {
    if (target.error().code != ErrorCode::kNotFound) return std::move(target).error();
    return Error::Conflict("Backup " + b.id + "'s target no longer exists.");
  }
  auto job = Job(link::BackupOp::kVerify, b, *target);
  if (!job.ok()) return std::move(job).error();
  auto won = backups_.MarkVerifying(b.id, b.verified_at);
  if (!won.ok()) return std::move(won).error();
  if (!*won) return Error::Conflict("Backup " + b.id + " is being verified already.");
  b.verify_status = VerifyStatus::kPending;
  if (!hub_.Send(w.node_id, *job)) {
    b.verify_status = VerifyStatus::kFailed;
    b.verified_at = clock_.NowSeconds();
    b.verify_message = "node-unreachable: the node's link could not take the job";
    (void)backups_.RecordVerification(b);
    return Error::Unavailable("The node's link could not take the job.");
  }
  Timeline(w, "backup " + b.id + " is being verified again (" + why + ")");
  return b;
}

void Backups::Reverify() {
  const std::int64_t now = clock_.NowSeconds();
  auto due = backups_.BackupsToReverify(now - options_.reverify_after_seconds, kDueBatch);
  if (!due.ok()) return;
  std::set<std::string> started;  // one verification per database at a time
  for (const auto& b : *due) {
    if (started.count(b.workload_id)) continue;
    auto w = store_.GetWorkload(b.workload_id);
    if (!w.ok()) continue;
    const std::int64_t days = (now - b.verified_at) / 86400;
    auto s =
        StartVerification(*w, b, "scheduled: last verified " + std::to_string(days) + " days ago");
    if (s.ok()) started.insert(b.workload_id);  // else: tried again at the next look
  }
}

Status Backups::OnResult(const std::string& node_id, const link::BackupResult& r) {
  if (r.op == link::BackupOp::kProbe) return OnProbeResult(node_id, r);
  auto b = backups_.GetBackup(r.backup_id);
  if (!b.ok()) return b.error().code == ErrorCode::kNotFound ? Status::Ok() : Status(b.error());
  if (b->node_id != node_id || b->workload_id != r.workload_id) return Status::Ok();
  auto w = store_.GetWorkload(b->workload_id);
  const std::int64_t now = clock_.NowSeconds();
  switch (r.op) {
    case link::BackupOp::kBackup: {
      store::Backup done = *b;
      done.status = r.ok ? BackupStatus::kSucceeded : BackupStatus::kFailed;
      done.finished_at = now;
      done.size_bytes = r.size_bytes;
      done.duration_ms = r.duration_ms;
      done.start_lsn = r.start_lsn;
      done.end_lsn = r.end_lsn;
      done.error_code = r.ok ? "" : (r.error_code.empty() ? "failed" : r.error_code);
      done.message = r.message;
      if (!r.ok) done.verify_status = VerifyStatus::kSkipped;
      Status s = backups_.FinishBackup(done);
      if (!s.ok()) return s.error().code == ErrorCode::kNotFound ? Status::Ok() : s;
      const std::string what = b->kind == BackupKind::kVolume ? "snapshot " : "backup ";
      const std::string files =
          b->kind == BackupKind::kVolume ? std::to_string(r.files) + " files, " : "";
      if (w.ok())
        Timeline(*w, r.ok ? what + b->id + " succeeded (" + files + std::to_string(r.size_bytes) +
                                " bytes in " + std::to_string(r.duration_ms) + " ms)"
                          : what + b->id + " failed: " + done.error_code + ": " + r.message);
      if (!r.ok) AuditFailure("backup.failed", b->id, done.error_code + ": " + r.message);
      if (!r.ok && w.ok())
        Alert(*w, AlertKind::kBackupFailed, b->id, done.error_code + ": " + r.message);
      if (r.ok && done.verify_status == VerifyStatus::kPending)
        SendFollowUp(link::BackupOp::kVerify, done);
      if (r.ok && w.ok())
        if (auto p = backups_.GetBackupPolicy(w->id); p.ok()) ApplyRetention(*w, *p);
      return Status::Ok();
    }
    case link::BackupOp::kVerify: {
      store::Backup proof = *b;
      proof.verify_status = r.ok ? VerifyStatus::kVerified : VerifyStatus::kFailed;
      proof.verified_at = now;
      proof.verify_duration_ms = r.duration_ms;
      proof.verify_tables = r.tables;
      proof.verify_rows = r.rows;
      proof.verify_message = r.ok ? "" : r.error_code + ": " + r.message;
      Status s = backups_.RecordVerification(proof);
      if (!s.ok()) return s.error().code == ErrorCode::kNotFound ? Status::Ok() : s;
      if (w.ok() && b->kind == BackupKind::kVolume)
        Timeline(*w, r.ok ? "snapshot " + b->id + " verified: read back whole, " +
                                std::to_string(r.files) + " files"
                          : "snapshot " + b->id + " FAILED verification: " + proof.verify_message);
      else if (w.ok())
        Timeline(*w, r.ok ? "backup " + b->id + " verified: restored, " + std::to_string(r.tables) +
                                " tables, " + std::to_string(r.rows) + " rows read"
                          : "backup " + b->id + " FAILED verification: " + proof.verify_message);
      if (!r.ok) AuditFailure("backup.verify-failed", b->id, proof.verify_message);
      if (!r.ok && w.ok())
        Alert(*w, AlertKind::kBackupNotVerified, b->id,
              "the backup could not be restored: " + proof.verify_message);
      return Status::Ok();
    }
    case link::BackupOp::kProbe:
      return Status::Ok();  // answered above
    case link::BackupOp::kDelete:
      if (!r.ok) {
        spdlog::warn("msg=\"expired backup not deleted\" backup={} error=\"{}\"", b->id, r.message);
        return Status::Ok();  // kept: retried at the next retention pass
      }
      if (Status s = backups_.DeleteBackup(b->id);
          !s.ok() && s.error().code != ErrorCode::kNotFound)
        return s;
      if (w.ok()) Timeline(*w, "backup " + b->id + " deleted (retention)");
      return Status::Ok();
  }
  return Status::Ok();
}

void Backups::SendFollowUp(link::BackupOp op, const store::Backup& backup) {
  auto target = backups_.GetBackupTarget(backup.target_id);
  if (!target.ok()) return;
  auto job = Job(op, backup, *target);
  if (!job.ok() || !hub_.Send(backup.node_id, *job))
    spdlog::warn("msg=\"backup follow-up not sent\" backup={} op={}", backup.id, Name(op));
}

void Backups::ApplyRetention(const store::Workload& w, const store::BackupPolicy& policy) {
  if (policy.keep_count == 0 && policy.keep_seconds == 0) return;
  auto list = backups_.ListBackups(w.id);  // newest first
  if (!list.ok()) return;
  const std::int64_t now = clock_.NowSeconds();
  int kept = 0;
  for (const auto& b : *list) {
    if (b.status == BackupStatus::kRunning) continue;
    const bool succeeded = b.status == BackupStatus::kSucceeded;
    // The newest succeeded backup is never expired by age: a policy must not leave nothing.
    const bool over_count = policy.keep_count > 0 && kept >= policy.keep_count;
    const bool too_old = policy.keep_seconds > 0 && b.started_at < now - policy.keep_seconds &&
                         !(succeeded && kept == 0);
    if (succeeded) ++kept;
    if (!over_count && !too_old) continue;
    if (!succeeded) {
      (void)backups_.DeleteBackup(b.id);  // a failed run's row; its partial objects stay unlisted
      continue;
    }
    if (!hub_.IsConnected(b.node_id) && !hub_.IsConnected(w.node_id)) continue;
    store::Backup on_node = b;
    on_node.node_id = w.node_id;  // the workload's node reaches the target now
    SendFollowUp(link::BackupOp::kDelete, on_node);
  }
}

Result<RestorePlan> Backups::PlanRestore(const Principal& who, const std::string& workload_id,
                                         const RestoreRequest& req) {
  std::optional<std::int64_t> at;
  if (!req.target_time.empty()) {
    at = ParseTimestampMicros(req.target_time);
    if (!at)
      return Error::Invalid("The restore is not valid.",
                            {{"target_time",
                              "must be an RFC 3339 time with a zone, e.g. "
                              "2026-12-07T08:00:00Z"}});
    if (*at > (clock_.NowSeconds() + 1) * 1'000'000)
      return Error::Invalid("The restore is not valid.", {{"target_time", "is in the future"}});
  }
  if (req.backup_id.empty() && !at)
    return Error::Invalid("The restore is not valid.",
                          {{"backup_id", "give a backup, a target_time, or both"}});
  if (req.in_place && !req.name.empty())
    return Error::Invalid("The restore is not valid.",
                          {{"name", "a restore in place keeps the workload's name; give no name"}});
  auto w = OwnedWorkload(who, workload_id);
  if (!w.ok()) return std::move(w).error();
  if (req.in_place && req.confirm != w->name)
    return Error::Invalid(
        "The restore is not valid.",
        {{"confirm", "a restore in place replaces the workload's data: repeat its name ('" +
                         w->name + "') to confirm"}});
  const std::optional<BackupKind> kind = BackupKindOf(w->template_name);
  if (!kind) return Error::Conflict("Workloads of this template cannot be restored.");
  // A snapshot is restored as taken: a time only picks the newest snapshot before it.
  if (*kind == BackupKind::kVolume && at && !req.backup_id.empty())
    return Error::Invalid(
        "The restore is not valid.",
        {{"target_time",
          "a volume snapshot restores as it was taken: give a backup_id or a target_time (which "
          "picks the newest snapshot that finished before it), not both"}});
  if (w->node_id.empty()) return Error::Conflict("The workload is not placed on a node.");

  RestorePlan plan;
  plan.source = *w;
  if (!req.backup_id.empty()) {
    auto b = Get(who, workload_id, req.backup_id);
    if (!b.ok()) return std::move(b).error();
    plan.backup = std::move(b).value();
  } else {
    auto list = backups_.ListBackups(workload_id);  // newest first
    if (!list.ok()) return std::move(list).error();
    auto it = std::find_if(list->begin(), list->end(), [&](const store::Backup& b) {
      return b.status == BackupStatus::kSucceeded && b.verify_status != VerifyStatus::kFailed &&
             b.finished_at * 1'000'000 <= *at;
    });
    if (it == list->end())
      return Error::Conflict("No backup of this workload finished before " + req.target_time +
                             ": there is nothing to recover from.");
    plan.backup = *it;
  }
  const store::Backup& b = plan.backup;
  if (b.status != BackupStatus::kSucceeded)
    return Error::Conflict("Backup " + b.id + " did not succeed (it is " +
                           std::string(Name(b.status)) + ").");
  if (b.verify_status == VerifyStatus::kFailed)
    return Error::Conflict("Backup " + b.id + " failed verification: " + b.verify_message);
  if (at && *at < b.started_at * 1'000'000)
    return Error::Conflict("Backup " + b.id + " started after " + req.target_time +
                           "; choose an older backup or a later time.");
  if (!hub_.IsConnected(w->node_id))
    return Error::Unavailable("The workload's node is not connected; try again when it is.");
  if (req.in_place) {  // its job would read the data being replaced
    auto running = RunningBackupOf(workload_id);
    if (!running.ok()) return std::move(running).error();
    if (!running->empty())
      return Error::Conflict("Backup " + *running +
                             " of this workload is still running; restore once it has ended.");
  }
  auto target = backups_.GetBackupTarget(b.target_id);
  if (!target.ok()) {
    if (target.error().code != ErrorCode::kNotFound) return std::move(target).error();
    return Error::Conflict("Backup " + b.id + "'s target no longer exists.");
  }
  auto reach = Reach(*target, w->node_id);
  if (!reach.ok()) return std::move(reach).error();

  auto sealed = Open(w->credentials_enc, keys_.secrets_key());
  if (!sealed.ok()) return std::move(sealed).error();
  const templates::Credentials creds = templates::CredentialsFromJson(*sealed);
  templates::RestoreSource source;
  source.target = std::move(reach).value();
  std::string& prefix =
      source.target.prefix;  // the source's objects (as the agent's jobs name them)
  if (!prefix.empty() && prefix.back() != '/') prefix += '/';
  prefix += w->id;
  source.backup_id = b.id;
  source.kind = *kind;
  source.verified = b.verify_status == VerifyStatus::kVerified;
  if (at && *kind == BackupKind::kPostgres) {
    const std::int64_t secs = *at / 1'000'000, micros = *at % 1'000'000;
    std::string t = FormatTimestamp(secs);  // 2026-12-07T08:00:00Z
    t[10] = ' ';
    t.pop_back();
    std::string frac = std::to_string(micros);
    plan.target_time = t + "." + std::string(6 - frac.size(), '0') + frac + "+00";
    source.target_time = plan.target_time;
  }

  plan.in_place = req.in_place;
  if (req.in_place) {  // the workload's own credentials stay: the tool sets its password
    plan.extras.restore = std::move(source);
    plan.extras.event =
        "data replaced by " + who.email + ": " +
        (*kind == BackupKind::kVolume ? "snapshot " : "backup ") + b.id + " restored in place" +
        (at && *kind == BackupKind::kPostgres ? ", recovered to " + req.target_time : "") +
        "; the data before stays until the restored workload is ready";
    return plan;
  }
  templates::WorkloadRequest& r = plan.request;
  if (*kind == BackupKind::kVolume) {
    // The source's own request, again (a custom workload's env, command, ports and volumes);
    // its generated credentials are not copied: the new workload gets its own.
    auto same = SourceRequest(*w);
    if (!same.ok()) return std::move(same).error();
    r = std::move(same).value();
  }
  r.name = req.name;
  r.template_name = w->template_name;
  r.image = w->image;
  if (w->memory_mb > 0) r.memory_mb = w->memory_mb;
  if (w->cpus > 0) r.cpus = w->cpus;
  if (*kind == BackupKind::kPostgres)
    for (const char* key : {"username", "database"})
      if (auto it = creds.find(key); it != creds.end()) plan.extras.credentials[key] = it->second;
  plan.extras.restore = std::move(source);
  plan.extras.node_id = w->node_id;
  plan.extras.event =
      "created by " + who.email + " from " +
      (*kind == BackupKind::kVolume ? "snapshot " : "backup ") + b.id + " of '" + w->name + "'" +
      (at && *kind == BackupKind::kPostgres ? " recovered to " + req.target_time : "");
  return plan;
}

void Backups::RestoreStarted(const RestorePlan& plan, const WorkloadView& restored) {
  Timeline(plan.source, "backup " + plan.backup.id + " is being restored into new workload '" +
                            restored.w.name + "' (" + restored.w.id + ")" +
                            (plan.target_time.empty() ? "" : ", to " + plan.target_time));
}

void Backups::SendArchive(const store::Workload& w, const store::BackupTarget* target) {
  if (w.node_id.empty() || w.template_name != "postgres") return;
  link::ArchiveSet m;
  m.workload_id = w.id;
  if (target) {
    auto reach = Reach(*target, w.node_id);
    if (reach.ok())
      m.target = std::move(reach).value();
    else
      Timeline(w, "continuous WAL archiving is off: " + reach.error().message);
  }
  (void)hub_.Send(w.node_id, m);  // not connected: sent again when its agent says hello
}

Status Backups::OnArchiveStatus(const std::string& node_id, const link::ArchiveStatus& status) {
  auto w = store_.GetWorkload(status.workload_id);
  if (!w.ok()) return w.error().code == ErrorCode::kNotFound ? Status::Ok() : Status(w.error());
  if (w->node_id != node_id) return Status::Ok();  // not that node's to say
  const std::string message = status.ok ? std::string() : status.error_code + ": " + status.message;
  auto changed = backups_.RecordArchiveState(
      w->id, status.ok ? ArchiveState::kArchiving : ArchiveState::kFailing, message,
      clock_.NowSeconds());
  if (!changed.ok()) return changed.error();
  if (*changed)
    Timeline(*w, status.ok ? "continuous WAL archiving is running"
                           : "continuous WAL archiving is failing: " + message);
  if (*changed && !status.ok) AuditFailure("backup.archiving-failed", w->id, message);
  return Status::Ok();
}

void Backups::OnAgentConnected(const std::string& node_id) {
  // Continuous WAL archiving for every policy of the node's databases.
  store::WorkloadFilter on_node;
  on_node.node_id = node_id;
  if (auto list = store_.ListWorkloads(on_node); list.ok()) {
    for (const auto& w : *list) {
      if (w.template_name != "postgres" || w.desired_state == DesiredState::kDeleted) continue;
      auto p = backups_.GetBackupPolicy(w.id);
      if (!p.ok()) continue;
      auto t = backups_.GetBackupTarget(p->target_id);
      if (t.ok()) SendArchive(w, &*t);
    }
  }
  auto failed = backups_.FailRunningBackups(
      node_id, clock_.NowSeconds(),
      "The node's agent restarted or lost its link during the backup; it did not finish.");
  if (!failed.ok()) return;
  for (const auto& b : *failed)
    if (auto w = store_.GetWorkload(b.workload_id); w.ok()) {
      Timeline(*w, "backup " + b.id + " failed: " + std::string(kInterrupted) + ": " + b.message);
      Alert(*w, AlertKind::kBackupFailed, b.id, std::string(kInterrupted) + ": " + b.message);
    }
  for (const auto& b : *failed)
    AuditFailure("backup.failed", b.id, std::string(kInterrupted) + ": " + b.message);
}

void Backups::Tick() {
  const std::int64_t now = clock_.NowSeconds();
  if (std::int64_t last = last_reverify_.load();
      now - last >= 60 && last_reverify_.compare_exchange_strong(last, now))
    Reverify();
  auto due = backups_.DueBackupPolicies(now, kDueBatch);
  if (!due.ok()) return;
  for (const auto& p : *due) {
    // Only one replica wins a firing; the next one is the schedule's next after now, so a
    // server that was down for several firings starts one backup, not one per missed firing,
    // and says that the others were missed.
    auto won = backups_.AdvanceBackupSchedule(p.workload_id, p.next_due_at, NextDue(p, now));
    if (!won.ok() || !*won) continue;
    auto w = store_.GetWorkload(p.workload_id);
    if (!w.ok()) {
      if (w.error().code == ErrorCode::kNotFound) (void)backups_.DeleteBackupPolicy(p.workload_id);
      continue;
    }
    if (now - p.next_due_at > options_.late_grace_seconds) {
      const std::int64_t later = FiringsSince(p, p.next_due_at, now);
      (void)RecordMissed(*w, p,
                         "No server was running when the backup was due at " +
                             FormatTimestamp(p.next_due_at) +
                             (later > 0 ? " (nor at " + std::to_string(later) + " later firing" +
                                              (later > 1 ? "s" : "") + ")"
                                        : "") +
                             "; backing up now instead.");
    }
    (void)Start(*w, p, "schedule", true);
  }
}

Status Backups::RecordMissed(const store::Workload& w, const store::BackupPolicy& policy,
                             const std::string& message) {
  store::Backup b;
  b.id = NewId("bk");
  b.workload_id = w.id;
  b.owner_id = w.owner_id;
  b.target_id = policy.target_id;
  b.node_id = w.node_id;
  b.trigger = "schedule";
  b.started_at = clock_.NowSeconds();
  b.verify_status = VerifyStatus::kSkipped;
  if (Status s = backups_.CreateBackup(b); !s.ok()) return s;
  b.status = BackupStatus::kFailed;
  b.finished_at = b.started_at;
  b.error_code = kScheduleMissed;
  b.message = message;
  if (Status s = backups_.FinishBackup(b); !s.ok()) return s;
  Timeline(w, "backup " + b.id + " failed: " + std::string(kScheduleMissed) + ": " + message);
  AuditFailure("backup.schedule-missed", b.id, message);
  Alert(w, AlertKind::kBackupFailed, b.id, std::string(kScheduleMissed) + ": " + message);
  return Status::Ok();
}

void Backups::Alert(const store::Workload& w, AlertKind kind, const std::string& backup_id,
                    const std::string& message) {
  alerts_.Raise(
      {kind, w.owner_id, w.id, w.name, w.node_id, backup_id, message, clock_.NowSeconds()});
}

void Backups::AuditFailure(std::string_view action, const std::string& target,
                           const std::string& why) {
  audit_.Failure({"system", ""}, action, target, "", Error::Conflict(why));
}

void Backups::Timeline(const store::Workload& w, const std::string& message) {
  store::WorkloadEvent e;
  e.workload_id = w.id;
  e.at = clock_.NowSeconds();
  e.status = w.status;
  e.message = message;
  if (Status s = store_.AppendEvent(e); !s.ok())
    spdlog::warn("msg=\"timeline event not written\" workload={} error=\"{}\"", w.id,
                 s.error().message);
}

}  // namespace lattice::control
