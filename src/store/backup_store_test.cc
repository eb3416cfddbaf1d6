// The BackupStore contract (store/backup_store.h) on both engines: targets, policies, backups
// and their verification, the schedule's compare-and-set, and failing a node's running backups.
#include <gtest/gtest.h>

#include "store/store_test_fixture.h"

namespace lattice::store {
namespace {

class BackupStoreTest : public StoreTest {
 protected:
  BackupStore& b() { return store_->Backups(); }
  static BackupTarget Target(const std::string& id, const std::string& owner,
                             const std::string& name) {
    return BackupTarget{id,      owner,    name, "http://127.0.0.1:9000", "bk", "", "lattice/",
                        "wl_s3", "sealed", 100,  ProbeStatus::kUntested,  "",   0};
  }
  static Backup Running(const std::string& id, const std::string& wl, std::int64_t at,
                        const std::string& node = "node_1") {
    Backup x;
    x.id = id;
    x.workload_id = wl;
    x.owner_id = "usr_a";
    x.target_id = "bt_1";
    x.node_id = node;
    x.trigger = "manual";
    x.started_at = at;
    return x;
  }
};

TEST_P(BackupStoreTest, TargetsAreNamedOncePerOwnerAndListedByOwner) {
  ASSERT_TRUE(b().CreateBackupTarget(Target("bt_1", "usr_a", "main")).ok());
  ASSERT_TRUE(b().CreateBackupTarget(Target("bt_2", "usr_b", "main")).ok());  // other owner
  auto dup = b().CreateBackupTarget(Target("bt_3", "usr_a", "main"));
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().code, ErrorCode::kConflict);
  EXPECT_NE(dup.error().message.find("main"), std::string::npos);
  auto mine = b().ListBackupTargets("usr_a");
  ASSERT_TRUE(mine.ok());
  ASSERT_EQ(mine->size(), 1u);
  EXPECT_EQ((*mine)[0].id, "bt_1");
  EXPECT_EQ((*mine)[0].endpoint, "http://127.0.0.1:9000");
  EXPECT_EQ((*mine)[0].prefix, "lattice/");
  EXPECT_EQ((*mine)[0].source_workload_id, "wl_s3");
  EXPECT_EQ((*mine)[0].keys_enc, "sealed");
  EXPECT_EQ(b().GetBackupTarget("bt_2")->owner_id, "usr_b");
  EXPECT_EQ(b().GetBackupTarget("bt_9").error().code, ErrorCode::kNotFound);
}

TEST_P(BackupStoreTest, ATargetKeepsItsLatestProbe) {
  BackupTarget t = Target("bt_1", "usr_a", "main");
  t.probe_status = ProbeStatus::kPending;
  ASSERT_TRUE(b().CreateBackupTarget(t).ok());
  EXPECT_EQ(b().GetBackupTarget("bt_1")->probe_status, ProbeStatus::kPending);
  t.probe_status = ProbeStatus::kFailed;
  t.probe_message = "target-auth: the keys were refused";
  t.probed_at = 1234;
  ASSERT_TRUE(b().RecordTargetProbe(t).ok());
  auto got = b().GetBackupTarget("bt_1");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->probe_status, ProbeStatus::kFailed);
  EXPECT_EQ(got->probe_message, "target-auth: the keys were refused");
  EXPECT_EQ(got->probed_at, 1234);
  EXPECT_EQ(b().ListBackupTargets("usr_a")->at(0).probe_status, ProbeStatus::kFailed);
  t.id = "bt_9";
  EXPECT_EQ(b().RecordTargetProbe(t).error().code, ErrorCode::kNotFound);
}

TEST_P(BackupStoreTest, ATargetAPolicyUsesCannotBeDeleted) {
  ASSERT_TRUE(b().CreateBackupTarget(Target("bt_1", "usr_a", "main")).ok());
  BackupPolicy p{"wl_1", "usr_a", "bt_1", 3600, 7, 86400, true, 5000, 100, ""};
  ASSERT_TRUE(b().PutBackupPolicy(p).ok());
  auto refused = b().DeleteBackupTarget("bt_1");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kConflict);
  ASSERT_TRUE(b().DeleteBackupPolicy("wl_1").ok());
  ASSERT_TRUE(b().DeleteBackupPolicy("wl_1").ok());  // idempotent
  ASSERT_TRUE(b().DeleteBackupTarget("bt_1").ok());
  EXPECT_EQ(b().DeleteBackupTarget("bt_1").error().code, ErrorCode::kNotFound);
}

TEST_P(BackupStoreTest, APolicyIsReplacedAndItsScheduleAdvancesOnceWhenDue) {
  BackupPolicy p{"wl_1", "usr_a", "bt_1", 3600, 7, 86400, true, 5000, 100, ""};
  ASSERT_TRUE(b().PutBackupPolicy(p).ok());
  p.keep_count = 3;
  p.verify = false;
  ASSERT_TRUE(b().PutBackupPolicy(p).ok());
  auto got = b().GetBackupPolicy("wl_1");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->keep_count, 3);
  EXPECT_FALSE(got->verify);
  EXPECT_EQ(got->interval_seconds, 3600);
  EXPECT_EQ(got->keep_seconds, 86400);
  EXPECT_EQ(b().GetBackupPolicy("wl_2").error().code, ErrorCode::kNotFound);
  // Unscheduled policies are never due.
  ASSERT_TRUE(b().PutBackupPolicy({"wl_2", "usr_a", "bt_1", 0, 0, 0, true, 0, 100, ""}).ok());

  EXPECT_TRUE(b().DueBackupPolicies(4999, 10)->empty());
  auto due = b().DueBackupPolicies(5000, 10);
  ASSERT_TRUE(due.ok());
  ASSERT_EQ(due->size(), 1u);
  EXPECT_EQ((*due)[0].workload_id, "wl_1");
  // Two replicas race for the same firing: exactly one wins.
  EXPECT_TRUE(*b().AdvanceBackupSchedule("wl_1", 5000, 8600));
  EXPECT_FALSE(*b().AdvanceBackupSchedule("wl_1", 5000, 8600));
  EXPECT_TRUE(b().DueBackupPolicies(5000, 10)->empty());
  EXPECT_EQ(b().GetBackupPolicy("wl_1")->next_due_at, 8600);
}

TEST_P(BackupStoreTest, ACronPolicyKeepsItsExpressionAndIsDueLikeAnInterval) {
  BackupPolicy p{"wl_1", "usr_a", "bt_1", 0, 7, 0, true, 5000, 100, "30 2 * * *"};
  ASSERT_TRUE(b().PutBackupPolicy(p).ok());
  EXPECT_EQ(b().GetBackupPolicy("wl_1")->cron, "30 2 * * *");
  auto due = b().DueBackupPolicies(5000, 10);
  ASSERT_TRUE(due.ok());
  ASSERT_EQ(due->size(), 1u);
  EXPECT_EQ((*due)[0].cron, "30 2 * * *");
  // Replaced by an interval schedule, the expression is gone.
  p.cron.clear();
  p.interval_seconds = 3600;
  ASSERT_TRUE(b().PutBackupPolicy(p).ok());
  EXPECT_EQ(b().GetBackupPolicy("wl_1")->cron, "");
  EXPECT_EQ(b().GetBackupPolicy("wl_1")->interval_seconds, 3600);
}

TEST_P(BackupStoreTest, APolicyKeepsItsArchivingStateAndSaysWhenItChanged) {
  EXPECT_FALSE(*b().RecordArchiveState("wl_1", ArchiveState::kArchiving, "", 10));  // no policy
  ASSERT_TRUE(b().PutBackupPolicy({"wl_1", "usr_a", "bt_1", 0, 0, 0, true, 0, 100, ""}).ok());
  ASSERT_TRUE(b().PutBackupPolicy({"wl_2", "usr_a", "bt_1", 0, 0, 0, true, 0, 100, ""}).ok());
  EXPECT_EQ(b().GetBackupPolicy("wl_1")->archive_state, ArchiveState::kUnknown);
  EXPECT_TRUE(*b().RecordArchiveState("wl_1", ArchiveState::kArchiving, "", 200));
  EXPECT_FALSE(*b().RecordArchiveState("wl_1", ArchiveState::kArchiving, "", 210));  // same
  EXPECT_TRUE(*b().RecordArchiveState("wl_1", ArchiveState::kFailing, "target-auth: no", 220));
  EXPECT_TRUE(*b().RecordArchiveState("wl_1", ArchiveState::kFailing, "bucket-missing: x", 230));
  auto p = b().GetBackupPolicy("wl_1");
  EXPECT_EQ(p->archive_state, ArchiveState::kFailing);
  EXPECT_EQ(p->archive_message, "bucket-missing: x");
  EXPECT_EQ(p->archive_changed_at, 230);
  // Setting the policy again keeps what the node said.
  ASSERT_TRUE(b().PutBackupPolicy({"wl_1", "usr_a", "bt_1", 60, 0, 0, true, 0, 300, ""}).ok());
  EXPECT_EQ(b().GetBackupPolicy("wl_1")->archive_state, ArchiveState::kFailing);
  auto all = b().ListBackupPolicies();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].workload_id, "wl_1");
  EXPECT_EQ((*all)[1].archive_state, ArchiveState::kUnknown);
}

TEST_P(BackupStoreTest, ABackupKeepsItsKindThroughItsLife) {
  Backup snap = Running("bk_v", "wl_s3", 100);
  snap.kind = BackupKind::kVolume;
  ASSERT_TRUE(b().CreateBackup(snap).ok());
  ASSERT_TRUE(b().CreateBackup(Running("bk_p", "wl_pg", 100)).ok());
  EXPECT_EQ(b().GetBackup("bk_v")->kind, BackupKind::kVolume);
  EXPECT_EQ(b().GetBackup("bk_p")->kind, BackupKind::kPostgres);  // the default
  snap.status = BackupStatus::kSucceeded;
  snap.finished_at = 110;
  ASSERT_TRUE(b().FinishBackup(snap).ok());
  snap.verify_status = VerifyStatus::kVerified;
  snap.verified_at = 120;
  ASSERT_TRUE(b().RecordVerification(snap).ok());
  auto list = b().ListBackups("wl_s3");
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ(list->front().kind, BackupKind::kVolume);
  EXPECT_EQ(list->front().status, BackupStatus::kSucceeded);
}

TEST_P(BackupStoreTest, ABackupEndsOnceAndOnlyASucceededOneIsVerified) {
  ASSERT_TRUE(b().CreateBackup(Running("bk_1", "wl_1", 100)).ok());
  ASSERT_TRUE(b().CreateBackup(Running("bk_2", "wl_1", 200)).ok());
  ASSERT_TRUE(b().CreateBackup(Running("bk_3", "wl_2", 300)).ok());
  EXPECT_EQ(b().GetBackup("bk_1")->status, BackupStatus::kRunning);

  Backup done = Running("bk_1", "wl_1", 100);
  done.status = BackupStatus::kSucceeded;
  done.finished_at = 130;
  done.size_bytes = 4096;
  done.duration_ms = 30000;
  done.start_lsn = "0/2000028";
  done.end_lsn = "0/2000100";
  ASSERT_TRUE(b().FinishBackup(done).ok());
  Backup late = done;
  late.status = BackupStatus::kFailed;
  EXPECT_EQ(b().FinishBackup(late).error().code, ErrorCode::kNotFound);  // outcome kept

  Backup failed = Running("bk_2", "wl_1", 200);
  failed.status = BackupStatus::kFailed;
  failed.finished_at = 210;
  failed.error_code = "target-auth";
  failed.message = "The target refused the keys.";
  failed.verify_status = VerifyStatus::kSkipped;
  ASSERT_TRUE(b().FinishBackup(failed).ok());

  Backup proof = done;
  proof.verify_status = VerifyStatus::kVerified;
  proof.verified_at = 160;
  proof.verify_duration_ms = 9000;
  proof.verify_tables = 2;
  proof.verify_rows = 1234;
  ASSERT_TRUE(b().RecordVerification(proof).ok());
  proof.id = "bk_2";  // failed: nothing to verify
  EXPECT_EQ(b().RecordVerification(proof).error().code, ErrorCode::kNotFound);

  auto list = b().ListBackups("wl_1");
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].id, "bk_2");  // newest first
  EXPECT_EQ((*list)[0].status, BackupStatus::kFailed);
  EXPECT_EQ((*list)[0].error_code, "target-auth");
  EXPECT_EQ((*list)[0].verify_status, VerifyStatus::kSkipped);
  const Backup& ok = (*list)[1];
  EXPECT_EQ(ok.status, BackupStatus::kSucceeded);
  EXPECT_EQ(ok.size_bytes, 4096);
  EXPECT_EQ(ok.end_lsn, "0/2000100");
  EXPECT_EQ(ok.verify_status, VerifyStatus::kVerified);
  EXPECT_EQ(ok.verified_at, 160);
  EXPECT_EQ(ok.verify_rows, 1234);
  EXPECT_EQ(ok.verify_tables, 2);

  auto summary = b().SummarizeBackups();
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  ASSERT_EQ(summary->size(), 2u);
  EXPECT_EQ((*summary)[0].workload_id, "wl_1");
  EXPECT_EQ((*summary)[0].last_success_at, 130);
  EXPECT_EQ((*summary)[0].last_verified_at, 160);
  EXPECT_EQ((*summary)[0].failed, 1);
  EXPECT_EQ((*summary)[1].workload_id, "wl_2");  // still running: nothing yet
  EXPECT_EQ((*summary)[1].last_success_at, 0);
  EXPECT_EQ((*summary)[1].failed, 0);

  ASSERT_TRUE(b().DeleteBackup("bk_2").ok());
  EXPECT_EQ(b().DeleteBackup("bk_2").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(b().ListBackups("wl_1")->size(), 1u);
}

TEST_P(BackupStoreTest, ANodesRunningBackupsFailTogetherAndOthersAreUntouched) {
  ASSERT_TRUE(b().CreateBackup(Running("bk_1", "wl_1", 100, "node_1")).ok());
  ASSERT_TRUE(b().CreateBackup(Running("bk_2", "wl_2", 100, "node_1")).ok());
  ASSERT_TRUE(b().CreateBackup(Running("bk_3", "wl_3", 100, "node_2")).ok());
  Backup done = Running("bk_2", "wl_2", 100, "node_1");
  done.status = BackupStatus::kSucceeded;
  done.finished_at = 120;
  ASSERT_TRUE(b().FinishBackup(done).ok());

  auto failed = b().FailRunningBackups("node_1", 500, "the agent restarted during the backup");
  ASSERT_TRUE(failed.ok());
  ASSERT_EQ(failed->size(), 1u);
  EXPECT_EQ((*failed)[0].id, "bk_1");
  EXPECT_EQ((*failed)[0].status, BackupStatus::kFailed);
  EXPECT_EQ((*failed)[0].message, "the agent restarted during the backup");
  auto one = b().GetBackup("bk_1");
  EXPECT_EQ(one->status, BackupStatus::kFailed);
  EXPECT_EQ(one->error_code, "interrupted");
  EXPECT_EQ(one->finished_at, 500);
  EXPECT_EQ(b().GetBackup("bk_2")->status, BackupStatus::kSucceeded);
  EXPECT_EQ(b().GetBackup("bk_3")->status, BackupStatus::kRunning);
  EXPECT_TRUE(b().FailRunningBackups("node_1", 600, "again")->empty());
}

TEST_P(BackupStoreTest, OldVerificationsAreDueAgainAndOneReplicaClaimsEach) {
  ASSERT_TRUE(b().PutBackupPolicy({"wl_1", "usr_a", "bt_1", 0, 0, 0, true, 0, 100, ""}).ok());
  ASSERT_TRUE(b().PutBackupPolicy({"wl_2", "usr_a", "bt_1", 0, 0, 0, false, 0, 100, ""}).ok());
  auto verified = [&](const std::string& id, const std::string& wl, std::int64_t at,
                      VerifyStatus v = VerifyStatus::kVerified) {
    Backup x = Running(id, wl, at - 50);
    ASSERT_TRUE(b().CreateBackup(x).ok());
    x.status = BackupStatus::kSucceeded;
    x.finished_at = at - 40;
    ASSERT_TRUE(b().FinishBackup(x).ok());
    x.verify_status = v;
    x.verified_at = at;
    ASSERT_TRUE(b().RecordVerification(x).ok());
  };
  verified("bk_old", "wl_1", 160);
  verified("bk_new", "wl_1", 500);
  verified("bk_older", "wl_1", 120);
  verified("bk_noverify", "wl_2", 100);                    // its policy verifies nothing
  verified("bk_bad", "wl_1", 110, VerifyStatus::kFailed);  // failed: not a re-check
  ASSERT_TRUE(b().CreateBackup(Running("bk_running", "wl_1", 90)).ok());

  auto due = b().BackupsToReverify(400, 10);
  ASSERT_TRUE(due.ok()) << due.error().message;
  ASSERT_EQ(due->size(), 2u);
  EXPECT_EQ((*due)[0].id, "bk_older");  // the oldest verification first
  EXPECT_EQ((*due)[1].id, "bk_old");
  EXPECT_EQ(b().BackupsToReverify(400, 1)->size(), 1u);

  EXPECT_FALSE(*b().MarkVerifying("bk_old", 999));  // verified at another time: not ours
  EXPECT_TRUE(*b().MarkVerifying("bk_old", 160));
  EXPECT_FALSE(*b().MarkVerifying("bk_old", 160));  // the second replica loses
  EXPECT_EQ(b().GetBackup("bk_old")->verify_status, VerifyStatus::kPending);
  EXPECT_FALSE(*b().MarkVerifying("bk_running", 0));  // not succeeded
  due = b().BackupsToReverify(400, 10);
  ASSERT_EQ(due->size(), 1u);
  EXPECT_EQ((*due)[0].id, "bk_older");
}

INSTANTIATE_TEST_SUITE_P(Engines, BackupStoreTest, ::testing::Values(SqliteImpl(), PostgresImpl()),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace lattice::store
