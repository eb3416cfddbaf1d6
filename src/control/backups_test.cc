// Backups on a real SQLite store with a manual clock and a recording agent link: targets
// (validation, sealing, owner scope), back up now, results and verification, schedules
// (including a missed one), an interrupted backup, retention.
#include "control/backups.h"

#include <gtest/gtest.h>

#include <set>

#include "common/secretbox.h"
#include "control/recording_alerts.h"
#include "store/testing/temp_sqlite.h"
#include "templates/spec_storage.h"
#include "templates/template.h"

namespace lattice::control {
namespace {

// A node's link that records what the server sends it.
class RecordingLink final : public AgentConnection {
 public:
  bool Send(const link::Message& m) override {
    if (const auto* run = std::get_if<link::BackupRun>(&m)) runs.push_back(*run);
    return true;
  }
  void Close() override {}
  std::vector<link::BackupRun> runs;
};

class BackupsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const store::User& u = db_.user();
    owner_ = {u.id, u.email, u.role, "", 1};
    auto other = store_->CreateUser({"usr_2", "b@x.io", "hash", "user", 1, 1}, {});
    ASSERT_TRUE(other.ok());
    stranger_ = {"usr_2", "b@x.io", "user", "", 1};
    hub_.Attach("node_1", link_);
    AddWorkload("wl_db", "db", "postgres", WorkloadStatus::kRunning,
                {{"username", "u1"}, {"password", "old-pw"}, {"database", "d1"}});
    AddWorkload("wl_s3", "files", "minio", WorkloadStatus::kRunning,
                {{"access_key", "AKFILES"}, {"secret_key", "SKFILES"}});
  }

  void AddWorkload(const std::string& id, const std::string& name, const std::string& tmpl,
                   WorkloadStatus status, templates::Credentials creds = {}) {
    store::Workload w;
    w.id = id;
    w.owner_id = owner_.user_id;
    w.name = name;
    w.template_name = tmpl;
    w.image = "img";
    w.spec_enc = Seal("{}", keys_.secrets_key());
    w.credentials_enc = Seal(templates::CredentialsToJson(creds), keys_.secrets_key());
    w.status = status;
    w.node_id = "node_1";
    w.created_at = w.updated_at = 1;
    ASSERT_TRUE(store_->CreateWorkload(w, {}).ok());
  }

  // A workload whose stored spec is what `req` renders to (its volumes, for snapshots).
  void AddRendered(const std::string& id, const templates::WorkloadRequest& req,
                   WorkloadStatus status, DesiredState desired = DesiredState::kRunning) {
    const templates::Credentials creds = templates::GenerateCredentials(req.template_name);
    store::Workload w;
    w.id = id;
    w.owner_id = owner_.user_id;
    w.name = req.name;
    w.template_name = req.template_name;
    const templates::RenderedWorkload spec = templates::Render(req, creds, {});
    w.image = spec.image;
    w.spec_enc = Seal(templates::EncodeStoredSpec(spec), keys_.secrets_key());
    w.credentials_enc = Seal(templates::CredentialsToJson(creds), keys_.secrets_key());
    w.status = status;
    w.desired_state = desired;
    w.node_id = "node_1";
    w.created_at = w.updated_at = 1;
    ASSERT_TRUE(store_->CreateWorkload(w, {}).ok());
  }

  std::string AddTarget(const std::string& name = "main") {
    TargetRequest t;
    t.name = name;
    t.endpoint = "https://s3.example:9000";
    t.bucket = "backups";
    t.access_key = "AKEXTERNAL";
    t.secret_key = "SKEXTERNAL";
    t.check = false;  // probes have tests of their own; here only backup jobs are sent
    auto made = backups_.CreateTarget(owner_, t);
    EXPECT_TRUE(made.ok()) << made.error().message;
    return made.ok() ? made->id : "";
  }

  void SetPolicy(std::int64_t interval, int keep_count = 0, bool verify = true) {
    PolicyRequest p;
    p.target_id = target_;
    p.interval_seconds = interval;
    p.keep_count = keep_count;
    p.verify = verify;
    auto put = backups_.PutPolicy(owner_, "wl_db", p);
    ASSERT_TRUE(put.ok()) << put.error().message;
  }

  link::BackupResult Result(const link::BackupRun& run, bool ok, const std::string& code = "") {
    link::BackupResult r;
    r.job_id = run.job_id;
    r.op = run.op;
    r.workload_id = run.workload_id;
    r.backup_id = run.backup_id;
    r.ok = ok;
    r.error_code = code;
    r.message = ok ? "" : "the tool said no";
    r.size_bytes = 4096;
    r.duration_ms = 1500;
    r.tables = 2;
    r.rows = 17;
    return r;
  }

  std::vector<std::string> TimelineOf(const std::string& id) {
    std::vector<std::string> out;
    auto events = store_->ListEvents(id, 100);
    EXPECT_TRUE(events.ok());
    if (events.ok())
      for (const auto& e : *events) out.push_back(e.message);
    return out;
  }
  static bool Mentions(const std::vector<std::string>& lines, const std::string& what) {
    for (const auto& l : lines)
      if (l.find(what) != std::string::npos) return true;
    return false;
  }

  store::testing::TempSqlite db_{"lattice-backups"};
  store::sqlite::SqliteStore* store_ = &db_.store();
  ManualClock clock_{1000};
  Keyring keys_ = Keyring::FromMaster(std::string(32, 'k'));
  RecordingAlerts alerts_;
  AgentHub hub_;
  std::shared_ptr<RecordingLink> link_ = std::make_shared<RecordingLink>();
  Backups backups_{*store_, clock_, keys_, hub_, alerts_};
  Principal owner_;
  Principal stranger_;
  std::string target_;
};

TEST_F(BackupsTest, ATargetIsValidatedItsKeysSealedAndItIsTheOwnersAlone) {
  TargetRequest bad;
  bad.name = "Bad Name";
  bad.endpoint = "ftp://x";
  bad.bucket = "B";
  bad.access_key = "with space";
  auto refused = backups_.CreateTarget(owner_, bad);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kInvalidArgument);
  std::set<std::string> fields;
  for (const auto& f : refused.error().fields) fields.insert(f.field);
  EXPECT_EQ(fields,
            (std::set<std::string>{"name", "endpoint", "bucket", "access_key", "secret_key"}));

  target_ = AddTarget();
  auto stored = store_->Backups().GetBackupTarget(target_);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->keys_enc.find("SKEXTERNAL"), std::string::npos);  // sealed at rest
  auto keys = Open(stored->keys_enc, keys_.secrets_key());
  ASSERT_TRUE(keys.ok());
  EXPECT_NE(keys->find("SKEXTERNAL"), std::string::npos);
  EXPECT_EQ(
      backups_.CreateTarget(owner_, {"main", "https://a:1", "k", "s", "", "bbb", "", "", false})
          .error()
          .code,
      ErrorCode::kConflict);

  EXPECT_TRUE(backups_.ListTargets(stranger_)->empty());
  EXPECT_EQ(backups_.DeleteTarget(stranger_, target_).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(backups_.ListTargets(owner_)->size(), 1u);
}

TEST_F(BackupsTest, AnS3WorkloadTargetUsesThatWorkloadsKeysAndIsReachedByName) {
  TargetRequest t;
  t.name = "own";
  t.workload = "files";
  t.bucket = "pg-backups";
  auto made = backups_.CreateTarget(owner_, t);
  ASSERT_TRUE(made.ok()) << made.error().message;
  EXPECT_EQ(made->source_workload_id, "wl_s3");
  target_ = made->id;
  // It is probed from its own S3 workload's namespace, with that workload's keys.
  ASSERT_EQ(link_->runs.size(), 1u);
  EXPECT_EQ(link_->runs[0].op, link::BackupOp::kProbe);
  EXPECT_EQ(link_->runs[0].workload_id, "wl_s3");
  EXPECT_EQ(link_->runs[0].backup_id, target_);
  EXPECT_EQ(link_->runs[0].target.access_key, "AKFILES");
  EXPECT_EQ(made->probe_status, ProbeStatus::kPending);
  link_->runs.clear();
  t.name = "not-s3";
  t.workload = "db";  // a database is not an S3 target
  EXPECT_EQ(backups_.CreateTarget(owner_, t).error().code, ErrorCode::kInvalidArgument);

  SetPolicy(0);
  auto started = backups_.BackupNow(owner_, "wl_db");
  ASSERT_TRUE(started.ok()) << started.error().message;
  ASSERT_EQ(link_->runs.size(), 1u);
  const link::BackupRun& run = link_->runs[0];
  EXPECT_EQ(run.target.workload_name, "files");
  EXPECT_EQ(run.target.workload_port, 9000);
  EXPECT_EQ(run.target.access_key, "AKFILES");
  EXPECT_EQ(run.target.secret_key, "SKFILES");
  EXPECT_TRUE(run.target.endpoint.empty());
}

TEST_F(BackupsTest, ATargetIsProbedFromWhereItsBackupsRunAndTheOutcomeIsRecorded) {
  TargetRequest t;
  t.name = "ext";
  t.endpoint = "https://s3.example:9000";
  t.bucket = "backups";
  t.prefix = "team";
  t.access_key = "AK";
  t.secret_key = "SK";
  auto made = backups_.CreateTarget(owner_, t);
  ASSERT_TRUE(made.ok()) << made.error().message;
  EXPECT_EQ(made->probe_status, ProbeStatus::kPending);
  ASSERT_EQ(link_->runs.size(), 1u);
  const link::BackupRun probe = link_->runs[0];
  EXPECT_EQ(probe.op, link::BackupOp::kProbe);
  EXPECT_EQ(probe.workload_id, "wl_db");  // a PostgreSQL workload of the owner's, first
  EXPECT_EQ(probe.backup_id, made->id);
  EXPECT_EQ(probe.target.prefix, "team");
  EXPECT_EQ(probe.target.secret_key, "SK");

  // Another node's answer, or another owner's workload, is not the answer.
  EXPECT_TRUE(backups_.OnResult("node_9", Result(probe, false, "target-auth")).ok());
  EXPECT_EQ(backups_.GetTarget(owner_, made->id)->probe_status, ProbeStatus::kPending);

  clock_.Advance(3);
  ASSERT_TRUE(backups_.OnResult("node_1", Result(probe, false, "target-auth")).ok());
  auto failed = backups_.GetTarget(owner_, made->id);
  ASSERT_TRUE(failed.ok());
  EXPECT_EQ(failed->probe_status, ProbeStatus::kFailed);
  EXPECT_EQ(failed->probe_message, "target-auth: the tool said no");
  EXPECT_EQ(failed->probed_at, 1003);
  // A late second answer does not overwrite the outcome.
  EXPECT_TRUE(backups_.OnResult("node_1", Result(probe, true)).ok());
  EXPECT_EQ(backups_.GetTarget(owner_, made->id)->probe_status, ProbeStatus::kFailed);

  // Checked again: pending, then passed.
  EXPECT_EQ(backups_.ProbeTarget(stranger_, made->id).error().code, ErrorCode::kNotFound);
  auto again = backups_.ProbeTarget(owner_, made->id);
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(again->probe_status, ProbeStatus::kPending);
  ASSERT_EQ(link_->runs.size(), 2u);
  ASSERT_TRUE(backups_.OnResult("node_1", Result(link_->runs[1], true)).ok());
  EXPECT_EQ(backups_.GetTarget(owner_, made->id)->probe_status, ProbeStatus::kPassed);
  EXPECT_TRUE(backups_.GetTarget(owner_, made->id)->probe_message.empty());

  // Saved without a check: untested, nothing sent.
  t.name = "later";
  t.check = false;
  auto unchecked = backups_.CreateTarget(owner_, t);
  ASSERT_TRUE(unchecked.ok());
  EXPECT_EQ(unchecked->probe_status, ProbeStatus::kUntested);
  EXPECT_EQ(link_->runs.size(), 2u);

  // No connected node to check from: untested, with the reason.
  ASSERT_TRUE(hub_.Detach("node_1", link_.get()));
  auto again_offline = backups_.ProbeTarget(owner_, made->id);
  ASSERT_TRUE(again_offline.ok());
  EXPECT_EQ(again_offline->probe_status, ProbeStatus::kUntested);
  EXPECT_NE(again_offline->probe_message.find("none of your workloads"), std::string::npos)
      << again_offline->probe_message;
  EXPECT_EQ(backups_.GetTarget(owner_, made->id)->probe_status, ProbeStatus::kUntested);
}

TEST_F(BackupsTest, ABackupRunsOnItsNodeThenIsVerifiedAndTheTimelineSaysSo) {
  target_ = AddTarget();
  EXPECT_EQ(backups_.BackupNow(owner_, "wl_db").error().code, ErrorCode::kConflict);  // no policy
  SetPolicy(0);
  auto started = backups_.BackupNow(owner_, "wl_db");
  ASSERT_TRUE(started.ok()) << started.error().message;
  EXPECT_EQ(started->status, BackupStatus::kRunning);
  ASSERT_EQ(link_->runs.size(), 1u);
  const link::BackupRun run = link_->runs[0];
  EXPECT_EQ(run.op, link::BackupOp::kBackup);
  EXPECT_EQ(run.backup_id, started->id);
  EXPECT_EQ(run.target.endpoint, "https://s3.example:9000");
  EXPECT_EQ(run.target.secret_key, "SKEXTERNAL");
  auto again = backups_.BackupNow(owner_, "wl_db");  // one at a time
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, ErrorCode::kConflict);

  clock_.Advance(30);
  ASSERT_TRUE(backups_.OnResult("node_1", Result(run, true)).ok());
  auto done = backups_.Get(owner_, "wl_db", started->id);
  ASSERT_TRUE(done.ok());
  EXPECT_EQ(done->status, BackupStatus::kSucceeded);
  EXPECT_EQ(done->size_bytes, 4096);
  EXPECT_EQ(done->verify_status, VerifyStatus::kPending);
  ASSERT_EQ(link_->runs.size(), 2u);  // the verification was asked for
  EXPECT_EQ(link_->runs[1].op, link::BackupOp::kVerify);
  EXPECT_EQ(link_->runs[1].backup_id, started->id);

  ASSERT_TRUE(backups_.OnResult("node_1", Result(link_->runs[1], true)).ok());
  done = backups_.Get(owner_, "wl_db", started->id);
  EXPECT_EQ(done->verify_status, VerifyStatus::kVerified);
  EXPECT_EQ(done->verify_rows, 17);
  EXPECT_EQ(done->verified_at, 1030);
  // A report from another node, or a repeated one, changes nothing.
  ASSERT_TRUE(backups_.OnResult("node_9", Result(run, false)).ok());
  ASSERT_TRUE(backups_.OnResult("node_1", Result(run, false)).ok());
  EXPECT_EQ(backups_.Get(owner_, "wl_db", started->id)->status, BackupStatus::kSucceeded);

  const auto lines = TimelineOf("wl_db");
  EXPECT_TRUE(Mentions(lines, "backup " + started->id + " started (manual)"));
  EXPECT_TRUE(Mentions(lines, "backup " + started->id + " succeeded"));
  EXPECT_TRUE(Mentions(lines, "backup " + started->id + " verified"));
  // Another user sees none of it.
  EXPECT_EQ(backups_.List(stranger_, "wl_db").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(backups_.Get(stranger_, "wl_db", started->id).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(backups_.BackupNow(stranger_, "wl_db").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(backups_.GetPolicy(stranger_, "wl_db").error().code, ErrorCode::kNotFound);
}

TEST_F(BackupsTest, AFailedVerificationIsRecordedWithItsReason) {
  target_ = AddTarget();
  SetPolicy(0);
  auto started = backups_.BackupNow(owner_, "wl_db");
  ASSERT_TRUE(started.ok());
  ASSERT_TRUE(backups_.OnResult("node_1", Result(link_->runs[0], true)).ok());
  ASSERT_TRUE(backups_.OnResult("node_1", Result(link_->runs[1], false, "verify-failed")).ok());
  auto b = backups_.Get(owner_, "wl_db", started->id);
  EXPECT_EQ(b->status, BackupStatus::kSucceeded);
  EXPECT_EQ(b->verify_status, VerifyStatus::kFailed);
  EXPECT_EQ(b->verify_message, "verify-failed: the tool said no");
  EXPECT_TRUE(Mentions(TimelineOf("wl_db"), "FAILED verification: verify-failed"));
  // The audit trail has it too, with the server itself as the actor.
  auto trail = store_->ListAudit(0, 10);
  ASSERT_TRUE(trail.ok());
  ASSERT_FALSE(trail->empty());
  EXPECT_EQ(trail->at(0).action, "backup.verify-failed");
  EXPECT_EQ(trail->at(0).target, started->id);
  EXPECT_EQ(trail->at(0).actor_id, "system");
  EXPECT_EQ(trail->at(0).outcome, "failure");
  EXPECT_EQ(trail->at(0).detail, "verify-failed: the tool said no");
}

TEST_F(BackupsTest, AStoppedDatabaseIsRefusedWithTheReason) {
  target_ = AddTarget();
  SetPolicy(0);
  ASSERT_TRUE(
      store_->SetDesiredState("wl_db", DesiredState::kStopped, WorkloadStatus::kStopped, 2).ok());
  auto refused = backups_.BackupNow(owner_, "wl_db");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kConflict);
  EXPECT_NE(refused.error().message.find("not running"), std::string::npos);
  EXPECT_TRUE(link_->runs.empty());
  EXPECT_TRUE(backups_.List(owner_, "wl_db")->empty());  // a refused "now" leaves no row
}

TEST_F(BackupsTest, SchedulesFireWhenDueOnceAndAMissedOneIsAFailure) {
  target_ = AddTarget();
  SetPolicy(3600);  // at t=1000: first due at 4600
  clock_.Advance(4599 - clock_.NowSeconds());
  backups_.Tick();
  EXPECT_TRUE(link_->runs.empty());
  clock_.Advance(4600 - clock_.NowSeconds());
  backups_.Tick();
  backups_.Tick();  // the same firing once only
  ASSERT_EQ(link_->runs.size(), 1u);
  auto list = backups_.List(owner_, "wl_db");
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].trigger, "schedule");
  ASSERT_TRUE(backups_.OnResult("node_1", Result(link_->runs[0], true)).ok());

  // The next firing finds the node gone: a failed backup says why.
  ASSERT_TRUE(hub_.Detach("node_1", link_.get()));
  clock_.Advance(8200 - clock_.NowSeconds());
  backups_.Tick();
  list = backups_.List(owner_, "wl_db");
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].status, BackupStatus::kFailed);
  EXPECT_EQ((*list)[0].error_code, Backups::kScheduleMissed);
  EXPECT_NE((*list)[0].message.find("node is not connected"), std::string::npos);
  EXPECT_EQ(store_->Backups().GetBackupPolicy("wl_db")->next_due_at, 8200 + 3600);
  // Its owner hears of it (alerts.h), once; the good one raised nothing.
  const auto alerts = alerts_.Raised();
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].kind, AlertKind::kBackupFailed);
  EXPECT_EQ(alerts[0].workload_id, "wl_db");
  EXPECT_EQ(alerts[0].subject, (*list)[0].id);
}

TEST_F(BackupsTest, ACronScheduleFiresAtItsTimesInUtc) {
  target_ = AddTarget();
  // 1000 s after the epoch is 00:16:40 on 1970-01-01: "30 2 * * *" next fires at 02:30.
  PolicyRequest p;
  p.target_id = target_;
  p.cron = "  30 2 * * * ";
  auto put = backups_.PutPolicy(owner_, "wl_db", p);
  ASSERT_TRUE(put.ok()) << put.error().message;
  EXPECT_EQ(put->cron, "30 2 * * *");
  EXPECT_EQ(put->next_due_at, 2 * 3600 + 30 * 60);
  EXPECT_TRUE(Mentions(TimelineOf("wl_db"), "on cron \"30 2 * * *\" (UTC)"));

  clock_.Advance(9000 - clock_.NowSeconds());
  backups_.Tick();
  ASSERT_EQ(link_->runs.size(), 1u);
  // The next firing is the next day's 02:30, not an interval after now.
  EXPECT_EQ(store_->Backups().GetBackupPolicy("wl_db")->next_due_at, 86400 + 9000);
  auto list = backups_.List(owner_, "wl_db");
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].status, BackupStatus::kRunning);
}

TEST_F(BackupsTest, ACronExpressionIsValidatedAndExcludesAnInterval) {
  target_ = AddTarget();
  PolicyRequest p;
  p.target_id = target_;
  for (const char* bad : {"61 * * * *", "* * *", "0 0 30 2 *"}) {
    p.cron = bad;
    auto refused = backups_.PutPolicy(owner_, "wl_db", p);
    ASSERT_FALSE(refused.ok()) << bad;
    EXPECT_EQ(refused.error().code, ErrorCode::kInvalidArgument);
    ASSERT_EQ(refused.error().fields.size(), 1u) << bad;
    EXPECT_EQ(refused.error().fields[0].field, "cron");
  }
  p.cron = "@daily";
  p.interval_seconds = 3600;
  auto both = backups_.PutPolicy(owner_, "wl_db", p);
  ASSERT_FALSE(both.ok());
  EXPECT_NE(both.error().fields.at(0).message.find("not both"), std::string::npos);
  EXPECT_EQ(store_->Backups().GetBackupPolicy("wl_db").error().code, ErrorCode::kNotFound);
}

TEST_F(BackupsTest, FiringsMissedWhileNoServerRanAreAFailureThenOneBackupRuns) {
  target_ = AddTarget();
  SetPolicy(3600);  // due at 4600, 8200, 11800, …
  // The server comes back at 12000: the firings at 4600, 8200 and 11800 were missed.
  clock_.Advance(12000 - clock_.NowSeconds());
  backups_.Tick();
  auto list = backups_.List(owner_, "wl_db");
  ASSERT_EQ(list->size(), 2u);
  ASSERT_EQ(link_->runs.size(), 1u);  // one backup now, not three
  const store::Backup& missed =
      (*list)[0].status == BackupStatus::kFailed ? (*list)[0] : (*list)[1];
  EXPECT_EQ(missed.error_code, Backups::kScheduleMissed);
  EXPECT_NE(missed.message.find("1970-01-01T01:16:40Z"), std::string::npos) << missed.message;
  EXPECT_NE(missed.message.find("2 later firings"), std::string::npos) << missed.message;
  EXPECT_TRUE(Mentions(TimelineOf("wl_db"), "schedule-missed"));
  EXPECT_EQ(store_->ListAudit(0, 10)->at(0).action, "backup.schedule-missed");
  EXPECT_EQ(store_->Backups().GetBackupPolicy("wl_db")->next_due_at, 12000 + 3600);
  // A firing a few seconds late is not a miss.
  ASSERT_TRUE(backups_.OnResult("node_1", Result(link_->runs[0], true)).ok());
  clock_.Advance(15630 - clock_.NowSeconds());
  backups_.Tick();
  EXPECT_EQ(backups_.List(owner_, "wl_db")->size(), 3u);
  EXPECT_EQ(link_->runs.size(), 3u);  // the backup and its verification, then the next backup
}

TEST_F(BackupsTest, ArchivingFailuresAndRecoveriesAreRecordedAndOnTheTimelineOnce) {
  target_ = AddTarget();
  SetPolicy(0);
  ASSERT_TRUE(backups_.OnArchiveStatus("node_1", {"wl_db", true, "", ""}).ok());
  ASSERT_TRUE(backups_.OnArchiveStatus("node_1", {"wl_db", true, "", ""}).ok());  // same again
  EXPECT_EQ(store_->Backups().GetBackupPolicy("wl_db")->archive_state, ArchiveState::kArchiving);
  ASSERT_TRUE(
      backups_.OnArchiveStatus("node_1", {"wl_db", false, "target-auth", "keys refused"}).ok());
  auto p = store_->Backups().GetBackupPolicy("wl_db");
  EXPECT_EQ(p->archive_state, ArchiveState::kFailing);
  EXPECT_EQ(p->archive_message, "target-auth: keys refused");
  // Another node's word on it is not taken.
  ASSERT_TRUE(backups_.OnArchiveStatus("node_2", {"wl_db", true, "", ""}).ok());
  EXPECT_EQ(store_->Backups().GetBackupPolicy("wl_db")->archive_state, ArchiveState::kFailing);
  ASSERT_TRUE(backups_.OnArchiveStatus("node_1", {"wl_db", true, "", ""}).ok());
  ASSERT_TRUE(backups_.OnArchiveStatus("node_1", {"wl_gone", true, "", ""}).ok());

  int running = 0;
  int failing = 0;
  for (const auto& line : TimelineOf("wl_db")) {
    running += line == "continuous WAL archiving is running";
    failing += line == "continuous WAL archiving is failing: target-auth: keys refused";
  }
  EXPECT_EQ(running, 2);  // first, and after the failure: not for the repeat
  EXPECT_EQ(failing, 1);
}

TEST_F(BackupsTest, ABackupRunningWhenTheAgentCameBackIsFailedAndItsLateResultIgnored) {
  target_ = AddTarget();
  SetPolicy(0);
  auto started = backups_.BackupNow(owner_, "wl_db");
  ASSERT_TRUE(started.ok());
  backups_.OnAgentConnected("node_1");
  auto b = backups_.Get(owner_, "wl_db", started->id);
  EXPECT_EQ(b->status, BackupStatus::kFailed);
  EXPECT_EQ(b->error_code, Backups::kInterrupted);
  ASSERT_TRUE(backups_.OnResult("node_1", Result(link_->runs[0], true)).ok());
  EXPECT_EQ(backups_.Get(owner_, "wl_db", started->id)->status, BackupStatus::kFailed);
  EXPECT_TRUE(Mentions(TimelineOf("wl_db"), "failed: interrupted"));
  // The next one can start.
  EXPECT_TRUE(backups_.BackupNow(owner_, "wl_db").ok());
}

TEST_F(BackupsTest, RetentionByCountDeletesExactlyTheOldestBackups) {
  target_ = AddTarget();
  SetPolicy(0, /*keep_count=*/2, /*verify=*/false);
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    clock_.Advance(100);
    auto b = backups_.BackupNow(owner_, "wl_db");
    ASSERT_TRUE(b.ok()) << b.error().message;
    ids.push_back(b->id);
    ASSERT_TRUE(backups_.OnResult("node_1", Result(link_->runs.back(), true)).ok());
  }
  // After the third success: one delete job, for the first backup.
  std::vector<link::BackupRun> deletes;
  for (const auto& r : link_->runs)
    if (r.op == link::BackupOp::kDelete) deletes.push_back(r);
  ASSERT_EQ(deletes.size(), 1u);
  EXPECT_EQ(deletes[0].backup_id, ids[0]);
  ASSERT_TRUE(backups_.OnResult("node_1", Result(deletes[0], true)).ok());
  auto left = backups_.List(owner_, "wl_db");
  ASSERT_EQ(left->size(), 2u);
  EXPECT_EQ((*left)[0].id, ids[2]);
  EXPECT_EQ((*left)[1].id, ids[1]);
}

TEST_F(BackupsTest, AVerifiedBackupIsVerifiedAgainOnDemandAndWhenItsProofIsAWeekOld) {
  target_ = AddTarget();
  SetPolicy(0);
  auto b = backups_.BackupNow(owner_, "wl_db");
  ASSERT_TRUE(b.ok());
  ASSERT_TRUE(backups_.OnResult("node_1", Result(link_->runs[0], true)).ok());
  EXPECT_EQ(backups_.VerifyNow(owner_, "wl_db", b->id).error().code, ErrorCode::kConflict)
      << "its first verification is still pending";
  ASSERT_TRUE(backups_.OnResult("node_1", Result(link_->runs[1], true)).ok());
  ASSERT_EQ(link_->runs.size(), 2u);

  clock_.Advance(3600);
  auto again = backups_.VerifyNow(owner_, "wl_db", b->id);
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(again->verify_status, VerifyStatus::kPending);
  ASSERT_EQ(link_->runs.size(), 3u);
  EXPECT_EQ(link_->runs[2].op, link::BackupOp::kVerify);
  EXPECT_EQ(backups_.VerifyNow(owner_, "wl_db", b->id).error().code, ErrorCode::kConflict);
  EXPECT_EQ(backups_.VerifyNow(stranger_, "wl_db", b->id).error().code, ErrorCode::kNotFound);
  ASSERT_TRUE(backups_.OnResult("node_1", Result(link_->runs[2], false, "verify-failed")).ok());
  EXPECT_EQ(backups_.Get(owner_, "wl_db", b->id)->verify_status, VerifyStatus::kFailed);
  EXPECT_TRUE(Mentions(TimelineOf("wl_db"), "is being verified again (asked by"));

  // A failed proof is not re-checked on schedule; a passed one is, once it is a week old.
  clock_.Advance(8 * 86400);
  backups_.Tick();
  EXPECT_EQ(link_->runs.size(), 3u);
  auto c = backups_.VerifyNow(owner_, "wl_db", b->id);
  ASSERT_TRUE(c.ok()) << c.error().message;
  ASSERT_TRUE(backups_.OnResult("node_1", Result(link_->runs[3], true)).ok());
  clock_.Advance(6 * 86400);
  backups_.Tick();
  EXPECT_EQ(link_->runs.size(), 4u) << "verified six days ago: not yet";
  clock_.Advance(86400 + 60);
  backups_.Tick();
  backups_.Tick();  // once
  ASSERT_EQ(link_->runs.size(), 5u);
  EXPECT_EQ(link_->runs[4].op, link::BackupOp::kVerify);
  EXPECT_EQ(link_->runs[4].backup_id, b->id);
  EXPECT_TRUE(Mentions(TimelineOf("wl_db"), "scheduled: last verified 7 days ago"));

  // A stopped database cannot host the job: refused with the reason.
  ASSERT_TRUE(backups_.OnResult("node_1", Result(link_->runs[4], true)).ok());
  ASSERT_TRUE(
      store_->SetDesiredState("wl_db", DesiredState::kStopped, WorkloadStatus::kStopped, 2).ok());
  auto refused = backups_.VerifyNow(owner_, "wl_db", b->id);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("not running"), std::string::npos);
}

TEST_F(BackupsTest, ARestoreIsPlannedAsANewWorkloadWithTheSourcesRoleAndANewPassword) {
  target_ = AddTarget();
  SetPolicy(0);
  clock_.Advance(2000 - clock_.NowSeconds());
  auto first = backups_.BackupNow(owner_, "wl_db");
  ASSERT_TRUE(first.ok()) << first.error().message;
  clock_.Advance(10);  // finished at 2010
  ASSERT_TRUE(backups_.OnResult("node_1", Result(link_->runs.back(), true)).ok());
  clock_.Advance(1000);  // the next one starts at 3010, finishes at 3020
  auto second = backups_.BackupNow(owner_, "wl_db");
  ASSERT_TRUE(second.ok()) << second.error().message;
  clock_.Advance(10);
  ASSERT_TRUE(backups_.OnResult("node_1", Result(link_->runs[2], true)).ok());
  ASSERT_TRUE(backups_.OnResult("node_1", Result(link_->runs[3], false, "verify-failed")).ok());
  clock_.Advance(4000 - clock_.NowSeconds());

  // A backup by id: the source's role and database, its node, the target as the jobs reach it.
  auto plan = backups_.PlanRestore(owner_, "wl_db", {"db-copy", first->id, ""});
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  EXPECT_EQ(plan->request.name, "db-copy");
  EXPECT_EQ(plan->request.template_name, "postgres");
  EXPECT_EQ(plan->extras.credentials,
            (templates::Credentials{{"database", "d1"}, {"username", "u1"}}))
      << "the password is not carried over: the restore gets a new one";
  EXPECT_EQ(plan->extras.node_id, "node_1");
  ASSERT_TRUE(plan->extras.restore);
  EXPECT_EQ(plan->extras.restore->backup_id, first->id);
  EXPECT_EQ(plan->extras.restore->target_time, "");
  EXPECT_EQ(plan->extras.restore->target.prefix, "wl_db");
  EXPECT_EQ(plan->extras.restore->target.secret_key, "SKEXTERNAL");
  EXPECT_NE(plan->extras.event.find("from backup " + first->id + " of 'db'"), std::string::npos);

  // To a time: the newest backup that finished before it and did not fail verification.
  plan = backups_.PlanRestore(owner_, "wl_db", {"db-copy", "", "1970-01-01T01:30:00.5+01:00"});
  ASSERT_FALSE(plan.ok());  // 00:30:00.5 UTC: no backup had finished
  EXPECT_EQ(plan.error().code, ErrorCode::kConflict);
  plan = backups_.PlanRestore(owner_, "wl_db", {"db-copy", "", "1970-01-01T00:58:00Z"});  // 3480
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  EXPECT_EQ(plan->backup.id, first->id) << "the second failed verification";
  EXPECT_EQ(plan->target_time, "1970-01-01 00:58:00.000000+00");
  EXPECT_EQ(plan->extras.restore->target_time, plan->target_time);

  // Refusals, each with its reason.
  EXPECT_EQ(backups_.PlanRestore(owner_, "wl_db", {"x", second->id, ""}).error().code,
            ErrorCode::kConflict);  // failed verification
  EXPECT_EQ(backups_.PlanRestore(owner_, "wl_db", {"x", "", ""}).error().code,
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(backups_.PlanRestore(owner_, "wl_db", {"x", "", "tomorrow"}).error().code,
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(backups_.PlanRestore(owner_, "wl_db", {"x", "", "2999-01-01T00:00:00Z"}).error().code,
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(
      backups_.PlanRestore(owner_, "wl_db", {"x", first->id, "1970-01-01T00:30:00Z"}).error().code,
      ErrorCode::kConflict);  // the backup started after the time
  EXPECT_EQ(backups_.PlanRestore(owner_, "wl_s3", {"x", first->id, ""}).error().code,
            ErrorCode::kNotFound);  // a backup of another workload
  EXPECT_EQ(backups_.PlanRestore(stranger_, "wl_db", {"x", first->id, ""}).error().code,
            ErrorCode::kNotFound);
  ASSERT_TRUE(hub_.Detach("node_1", link_.get()));
  EXPECT_EQ(backups_.PlanRestore(owner_, "wl_db", {"x", first->id, ""}).error().code,
            ErrorCode::kUnavailable);
}

TEST_F(BackupsTest, ARestoreInPlaceNeedsTheWorkloadsNameAndKeepsItsCredentials) {
  target_ = AddTarget();
  SetPolicy(0);
  auto first = backups_.BackupNow(owner_, "wl_db");
  ASSERT_TRUE(first.ok()) << first.error().message;
  clock_.Advance(10);
  ASSERT_TRUE(backups_.OnResult("node_1", Result(link_->runs.back(), true)).ok());

  control::RestoreRequest req;
  req.backup_id = first->id;
  req.in_place = true;
  auto refused = backups_.PlanRestore(owner_, "wl_db", req);
  ASSERT_FALSE(refused.ok()) << "no confirmation";
  EXPECT_EQ(refused.error().code, ErrorCode::kInvalidArgument);
  ASSERT_EQ(refused.error().fields.size(), 1u);
  EXPECT_EQ(refused.error().fields[0].field, "confirm");
  req.confirm = "db2";
  EXPECT_EQ(backups_.PlanRestore(owner_, "wl_db", req).error().code, ErrorCode::kInvalidArgument)
      << "another name does not confirm";
  req.confirm = "db";
  req.name = "db-copy";
  refused = backups_.PlanRestore(owner_, "wl_db", req);
  ASSERT_FALSE(refused.ok()) << "a new name with in place";
  EXPECT_EQ(refused.error().fields.at(0).field, "name");
  req.name.clear();
  EXPECT_EQ(backups_.PlanRestore(stranger_, "wl_db", req).error().code, ErrorCode::kNotFound)
      << "another user's workload, even named right";

  auto plan = backups_.PlanRestore(owner_, "wl_db", req);
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  EXPECT_FALSE(plan->extras.restore->verified) << "its verification has not answered yet";
  ASSERT_EQ(link_->runs.back().op, link::BackupOp::kVerify);
  ASSERT_TRUE(backups_.OnResult("node_1", Result(link_->runs.back(), true)).ok());
  plan = backups_.PlanRestore(owner_, "wl_db", req);
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  EXPECT_TRUE(plan->extras.restore->verified) << "the restore may trust verify's manifest check";
  EXPECT_TRUE(plan->in_place);
  ASSERT_TRUE(plan->extras.restore);
  EXPECT_EQ(plan->extras.restore->backup_id, first->id);
  EXPECT_TRUE(plan->extras.credentials.empty()) << "the workload keeps its own credentials";
  EXPECT_NE(plan->extras.event.find("restored in place"), std::string::npos) << plan->extras.event;

  // Not while a backup reads the data it would replace.
  auto running = backups_.BackupNow(owner_, "wl_db");
  ASSERT_TRUE(running.ok()) << running.error().message;
  EXPECT_EQ(backups_.PlanRestore(owner_, "wl_db", req).error().code, ErrorCode::kConflict);
}

TEST_F(BackupsTest, AnS3WorkloadIsSnapshottedRunningOrStoppedVerifiedAndRestoredIntoANewOne) {
  templates::WorkloadRequest s3;
  s3.name = "objects";
  s3.template_name = "minio";
  AddRendered("wl_obj", s3, WorkloadStatus::kRunning);
  s3.name = "archive";
  AddRendered("wl_arc", s3, WorkloadStatus::kStopped, DesiredState::kStopped);
  target_ = AddTarget();
  for (const char* id : {"wl_obj", "wl_arc"}) {
    PolicyRequest p;
    p.target_id = target_;
    ASSERT_TRUE(backups_.PutPolicy(owner_, id, p).ok()) << id;
  }

  // A running S3 workload: a volume snapshot job, verified from the bucket afterwards.
  auto snap = backups_.BackupNow(owner_, "wl_obj");
  ASSERT_TRUE(snap.ok()) << snap.error().message;
  EXPECT_EQ(snap->kind, BackupKind::kVolume);
  EXPECT_EQ(store_->Backups().GetBackup(snap->id)->kind, BackupKind::kVolume);
  link::BackupRun run = link_->runs.back();
  EXPECT_EQ(run.op, link::BackupOp::kBackup);
  EXPECT_EQ(run.kind, BackupKind::kVolume);
  EXPECT_EQ(run.workload_id, "wl_obj");
  link::BackupResult done = Result(run, true);
  done.files = 12;
  clock_.Advance(10);
  ASSERT_TRUE(backups_.OnResult("node_1", done).ok());
  EXPECT_TRUE(Mentions(TimelineOf("wl_obj"), "snapshot " + snap->id + " succeeded (12 files"));
  run = link_->runs.back();
  EXPECT_EQ(run.op, link::BackupOp::kVerify);
  EXPECT_EQ(run.kind, BackupKind::kVolume);
  ASSERT_TRUE(backups_.OnResult("node_1", Result(run, true)).ok());
  EXPECT_EQ(store_->Backups().GetBackup(snap->id)->verify_status, VerifyStatus::kVerified);
  EXPECT_TRUE(Mentions(TimelineOf("wl_obj"), "snapshot " + snap->id + " verified"));

  // A stopped one is snapshotted from its volume too, and verified again without running.
  const std::size_t sent = link_->runs.size();
  auto stopped = backups_.BackupNow(owner_, "wl_arc");
  ASSERT_TRUE(stopped.ok()) << stopped.error().message;
  ASSERT_EQ(link_->runs.size(), sent + 1);
  clock_.Advance(10);
  ASSERT_TRUE(backups_.OnResult("node_1", Result(link_->runs.back(), true)).ok());
  ASSERT_TRUE(backups_.OnResult("node_1", Result(link_->runs.back(), true)).ok());
  EXPECT_TRUE(backups_.VerifyNow(owner_, "wl_arc", stopped->id).ok());

  // Restored into a new workload of the same template, as taken, with new credentials.
  clock_.Advance(100);
  auto plan = backups_.PlanRestore(owner_, "wl_obj", {"objects-copy", snap->id, ""});
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  EXPECT_EQ(plan->request.template_name, "minio");
  EXPECT_EQ(plan->request.name, "objects-copy");
  EXPECT_TRUE(plan->extras.credentials.empty()) << "the new workload generates its own keys";
  ASSERT_TRUE(plan->extras.restore);
  EXPECT_EQ(plan->extras.restore->kind, BackupKind::kVolume);
  EXPECT_EQ(plan->extras.restore->target.prefix, "wl_obj");
  EXPECT_EQ(plan->extras.restore->target_time, "");
  EXPECT_NE(plan->extras.event.find("from snapshot " + snap->id), std::string::npos);
  // A time picks the newest snapshot that finished before it; there is no replay.
  plan = backups_.PlanRestore(owner_, "wl_obj", {"objects-copy", "", FormatTimestamp(1100)});
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  EXPECT_EQ(plan->backup.id, snap->id);
  EXPECT_EQ(plan->target_time, "");
  EXPECT_EQ(plan->extras.restore->target_time, "");
  EXPECT_EQ(
      backups_.PlanRestore(owner_, "wl_obj", {"x", snap->id, FormatTimestamp(1100)}).error().code,
      ErrorCode::kInvalidArgument);

  // Owners only.
  EXPECT_EQ(backups_.BackupNow(stranger_, "wl_obj").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(backups_.List(stranger_, "wl_obj").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(backups_.PlanRestore(stranger_, "wl_obj", {"x", snap->id, ""}).error().code,
            ErrorCode::kNotFound);
}

TEST_F(BackupsTest, ACustomWorkloadIsSnapshottedOnlyWithVolumesAndRestoredWithItsRequest) {
  templates::WorkloadRequest app;
  app.name = "app";
  app.template_name = "custom";
  app.image = "lattice/busybox:dev";
  app.command = {"sleep", "1000"};
  app.env = {{"MODE", "test"}};
  app.ports = {{8080, "tcp"}};
  AddRendered("wl_bare", app, WorkloadStatus::kRunning);
  app.name = "app2";
  app.volumes = {{"data", "/srv/data"}};
  AddRendered("wl_app", app, WorkloadStatus::kRunning);
  target_ = AddTarget();
  PolicyRequest p;
  p.target_id = target_;
  ASSERT_TRUE(backups_.PutPolicy(owner_, "wl_bare", p).ok());
  ASSERT_TRUE(backups_.PutPolicy(owner_, "wl_app", p).ok());

  auto bare = backups_.BackupNow(owner_, "wl_bare");
  ASSERT_FALSE(bare.ok());
  EXPECT_EQ(bare.error().code, ErrorCode::kConflict);
  EXPECT_NE(bare.error().message.find("no volume"), std::string::npos);

  auto snap = backups_.BackupNow(owner_, "wl_app");
  ASSERT_TRUE(snap.ok()) << snap.error().message;
  clock_.Advance(10);
  ASSERT_TRUE(backups_.OnResult("node_1", Result(link_->runs.back(), true)).ok());
  auto plan = backups_.PlanRestore(owner_, "wl_app", {"app-copy", snap->id, ""});
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  const templates::WorkloadRequest& r = plan->request;
  EXPECT_EQ(r.template_name, "custom");
  EXPECT_EQ(r.image, "lattice/busybox:dev");
  EXPECT_EQ(r.command, app.command);
  EXPECT_EQ(r.env, app.env);
  ASSERT_EQ(r.ports.size(), 1u);
  EXPECT_EQ(r.ports[0].port, 8080);
  ASSERT_EQ(r.volumes.size(), 1u);
  EXPECT_EQ(r.volumes[0].path, "/srv/data");
  EXPECT_TRUE(templates::Validate(r).ok());
}

}  // namespace
}  // namespace lattice::control
