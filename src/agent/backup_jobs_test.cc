// The pure parts of BackupJobs: the tool's command line, its target configuration and reading
// its result. The jobs themselves run against the real engine in tests/e2e/test_backups.py.
#include "agent/backup_jobs.h"

#include <gtest/gtest.h>

#include "agent/restore_job.h"

namespace lattice::agent {
namespace {

link::BackupRun SampleRun(link::BackupOp op) {
  link::BackupRun r;
  r.job_id = "job_1";
  r.op = op;
  r.workload_id = "wl_1";
  r.backup_id = "bk_1";
  r.target = {"https://s3.example:9000", "bucket", "", "team/", "AK", "S/K+1=", "", 0};
  return r;
}

TEST(BackupJobs, TheToolGetsArgvWithFilesNotSecrets) {
  const auto cmd = ToolCommand(SampleRun(link::BackupOp::kBackup), "u_owner");
  EXPECT_EQ(cmd,
            (std::vector<std::string>{"backup", "--id", "bk_1", "--bucket", "bucket", "--prefix",
                                      "team/wl_1", "--target-config", "/work/target.conf",
                                      "--pgpass-file", "/work/pgpass", "--user", "u_owner"}));
  for (const auto& a : cmd) EXPECT_EQ(a.find("S/K+1="), std::string::npos);
  const auto verify = ToolCommand(SampleRun(link::BackupOp::kVerify), "u");
  EXPECT_EQ(verify.front(), "verify");
  EXPECT_EQ(verify[verify.size() - 2], "--work-dir");  // scratch space on the job's volume
  auto no_prefix = SampleRun(link::BackupOp::kDelete);
  no_prefix.target.prefix = "";
  EXPECT_EQ(ToolCommand(no_prefix, "u")[6], "wl_1");
  // A probe writes under the target's own prefix and names no database.
  const auto probe_run = SampleRun(link::BackupOp::kProbe);
  EXPECT_EQ(
      ToolCommand(probe_run, "u"),
      (std::vector<std::string>{"probe", "--bucket", "bucket", "--prefix", probe_run.target.prefix,
                                "--target-config", "/work/target.conf"}));
}

TEST(BackupJobs, AVolumeSnapshotReadsTheWorkloadsVolumesReadOnlyAndNamesNoDatabase) {
  auto run = SampleRun(link::BackupOp::kBackup);
  run.kind = BackupKind::kVolume;
  EXPECT_EQ(ToolCommand(run, ""),
            (std::vector<std::string>{"snapshot", "--id", "bk_1", "--bucket", "bucket", "--prefix",
                                      "team/wl_1", "--target-config", "/work/target.conf",
                                      "--source", "/source"}));
  const WorkloadVolumes volumes{"lattice-t-usr_1", {"data", "cache"}};
  const auto mounts = SnapshotMounts(run, volumes, "lattice-job-job_1");
  ASSERT_EQ(mounts.size(), 3u);
  EXPECT_EQ(mounts[0].volume, "lattice-job-job_1");
  EXPECT_EQ(mounts[0].container_path, "/work");
  EXPECT_FALSE(mounts[0].read_only);
  EXPECT_EQ(mounts[1].volume, "lattice-wl_1-data");  // the workload container's volume
  EXPECT_EQ(mounts[1].container_path, "/source/data");
  EXPECT_TRUE(mounts[1].read_only);
  EXPECT_EQ(mounts[2].volume, "lattice-wl_1-cache");
  EXPECT_TRUE(mounts[2].read_only);

  // Verification and deletion read the bucket only: no volume of the workload is mounted.
  run.op = link::BackupOp::kVerify;
  EXPECT_EQ(ToolCommand(run, "").front(), "snapshot-verify");
  EXPECT_EQ(ToolCommand(run, "").size(), 9u);
  EXPECT_EQ(SnapshotMounts(run, volumes, "j").size(), 1u);
  run.op = link::BackupOp::kDelete;
  EXPECT_EQ(ToolCommand(run, "").front(), "snapshot-delete");
  EXPECT_EQ(SnapshotMounts(run, volumes, "j").size(), 1u);
  // A probe is the same for both kinds.
  run.op = link::BackupOp::kProbe;
  EXPECT_EQ(ToolCommand(run, "").front(), "probe");
}

TEST(BackupJobs, ASnapshotRestoreFillsEveryVolumeOfTheNewWorkload) {
  link::Assignment a;
  a.workload_id = "wl_new";
  a.spec.volumes = {{"data", "/data"}, {"conf", "/etc/app"}};
  a.spec.secret_files = {{"postgres_password", "must-not-be-used"}};
  templates::RestoreSource r;
  r.target = {"", "b", "", "p/wl_src", "AK", "SK", "files", 9000};
  r.backup_id = "bk_9";
  r.kind = BackupKind::kVolume;
  a.spec.restore = r;
  EXPECT_EQ(RestoreCommand(a),
            (std::vector<std::string>{"snapshot-restore", "--id", "bk_9", "--data", "/data",
                                      "--bucket", "b", "--prefix", "p/wl_src", "--target-config",
                                      "/work/target.conf", "--skip-if-restored"}));
  const auto mounts = RestoreMounts(a);
  ASSERT_EQ(mounts.size(), 3u);
  EXPECT_EQ(mounts[0].volume, "lattice-wl_new-data");
  EXPECT_EQ(mounts[0].container_path, "/data/data");
  EXPECT_EQ(mounts[1].volume, "lattice-wl_new-conf");
  EXPECT_EQ(mounts[1].container_path, "/data/conf");
  EXPECT_FALSE(mounts[1].read_only);
  EXPECT_EQ(mounts[2].volume, RestoreContainerName("wl_new"));
  EXPECT_EQ(mounts[2].container_path, "/work");
  // PostgreSQL keeps its one data volume at $PGDATA.
  a.spec.restore->kind = BackupKind::kPostgres;
  a.spec.volumes = {{"data", "/var/lib/postgresql/data"}};
  EXPECT_EQ(RestoreMounts(a)[0].container_path, "/var/lib/postgresql/data");
  EXPECT_EQ(RestoreCommand(a).front(), "restore");
}

TEST(BackupJobs, TheTargetConfigNamesTheEndpointOrTheTenantsWorkload) {
  std::string conf = TargetConfig(SampleRun(link::BackupOp::kBackup).target);
  EXPECT_NE(conf.find("[target]\ntype = s3\n"), std::string::npos);
  EXPECT_NE(conf.find("endpoint = https://s3.example:9000\n"), std::string::npos);
  EXPECT_NE(conf.find("secret_access_key = S/K+1=\n"), std::string::npos);
  EXPECT_NE(conf.find("region = us-east-1\n"), std::string::npos);
  link::BackupTargetSpec own{"", "b", "eu-1", "", "AK", "SK", "files", 9000};
  conf = TargetConfig(own);
  EXPECT_NE(conf.find("endpoint = http://files:9000\n"), std::string::npos);
  EXPECT_NE(conf.find("region = eu-1\n"), std::string::npos);
}

TEST(BackupJobs, TheToolsLastJsonLineIsTheResult) {
  const auto run = SampleRun(link::BackupOp::kBackup);
  auto ok = ReadToolResult(run,
                           "pgtool: starting\n{\"note\":1}\n"
                           "{\"ok\":true,\"size_bytes\":4096,\"duration_ms\":1200,"
                           "\"start_lsn\":\"0/2000028\",\"end_lsn\":\"0/2000100\"}\n",
                           0);
  EXPECT_TRUE(ok.ok);
  EXPECT_EQ(ReadToolResult(run, R"({"ok":true,"files":17,"size_bytes":5})", 0).files, 17);
  EXPECT_EQ(ok.size_bytes, 4096);
  EXPECT_EQ(ok.start_lsn, "0/2000028");
  EXPECT_EQ(ok.job_id, "job_1");
  EXPECT_EQ(ok.backup_id, "bk_1");

  auto failed = ReadToolResult(
      run, "{\"ok\":false,\"error\":\"target-auth\",\"message\":\"the keys were refused\"}\n", 1);
  EXPECT_FALSE(failed.ok);
  EXPECT_EQ(failed.error_code, "target-auth");
  EXPECT_EQ(failed.message, "the keys were refused");

  auto silent = ReadToolResult(run, "Killed\n", 137);
  EXPECT_FALSE(silent.ok);
  EXPECT_EQ(silent.error_code, "internal");
  EXPECT_NE(silent.message.find("137"), std::string::npos);
  // "ok":true with a failing exit status is not a success.
  EXPECT_FALSE(ReadToolResult(run, "{\"ok\":true}\n", 1).ok);

  auto verified = ReadToolResult(SampleRun(link::BackupOp::kVerify),
                                 "{\"ok\":true,\"tables\":3,\"rows\":1366,\"duration_ms\":7}\n", 0);
  EXPECT_TRUE(verified.ok);
  EXPECT_EQ(verified.tables, 3);
  EXPECT_EQ(verified.rows, 1366);
  EXPECT_EQ(verified.op, link::BackupOp::kVerify);
}

}  // namespace
}  // namespace lattice::agent
