// The pure parts of BackupJobs: the tool's command line, its target configuration and reading
// its result; and volume snapshot jobs run on a fake engine (what the container is made of, its
// result, a container removed under it). The jobs themselves run against the real engine in
// tests/e2e/test_backups.py and tests/e2e/test_snapshots.py.
#include "agent/backup_jobs.h"

#include <gtest/gtest.h>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "agent/fake_runtime.h"
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
  EXPECT_EQ(RestoreCommand(a).back(), "/work/password") << "not verified: every check runs";
  a.spec.restore->verified = true;
  EXPECT_EQ(RestoreCommand(a).back(), "--verified");
  // Restored in place: the next volume epoch is filled, not the data it replaces.
  a.spec.volume_epoch = 1;
  EXPECT_EQ(RestoreMounts(a)[0].volume, "lattice-wl_new-data.r1");
  // A snapshot of a workload restored in place reads the volumes its container mounts.
  link::BackupRun run = SampleRun(link::BackupOp::kBackup);
  run.kind = BackupKind::kVolume;
  EXPECT_EQ(SnapshotMounts(run, {"", {"data"}, 1}, "j")[1].volume, "lattice-wl_1-data.r1");
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

// Volume snapshot jobs on the fake engine: one io_context thread drives the jobs' timers.
class SnapshotJobsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    BackupJobOptions options;
    options.poll = std::chrono::milliseconds(5);
    jobs_ = std::make_unique<BackupJobs>(
        io_.get_executor(), rt_, [](const std::string&) { return std::nullopt; },
        [this](link::BackupResult r) {
          std::lock_guard lock(mu_);
          results_.push_back(std::move(r));
          cv_.notify_all();
        },
        options, ContainerLookup{},
        [this](const std::string& id) -> std::optional<WorkloadVolumes> {
          if (id != "wl_1") return std::nullopt;
          return WorkloadVolumes{"lattice-t-usr_1", {"data"}};
        });
    thread_ = std::thread([this] { io_.run(); });
  }
  void TearDown() override {
    jobs_->Stop();
    work_.reset();
    io_.stop();
    thread_.join();
  }
  std::optional<link::BackupResult> NextResult() {
    std::unique_lock lock(mu_);
    if (!cv_.wait_for(lock, std::chrono::seconds(5), [&] { return !results_.empty(); }))
      return std::nullopt;
    link::BackupResult r = results_.front();
    results_.erase(results_.begin());
    return r;
  }
  bool Eventually(const std::function<bool()>& f) {
    for (int i = 0; i < 500; ++i) {
      if (f()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }
  static link::BackupRun Snapshot(const std::string& workload = "wl_1") {
    link::BackupRun r = SampleRun(link::BackupOp::kBackup);
    r.kind = BackupKind::kVolume;
    r.workload_id = workload;
    return r;
  }

  testing::FakeRuntime rt_;
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_ =
      boost::asio::make_work_guard(io_);
  std::unique_ptr<BackupJobs> jobs_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<link::BackupResult> results_;
};

TEST_F(SnapshotJobsTest, ASnapshotJobReadsTheVolumesOnTheTenantNetworkAndReportsTheTool) {
  jobs_->Run(Snapshot());
  const std::string name = "lattice-job-job_1";
  ASSERT_TRUE(Eventually([&] { return rt_.Inspect(name).ok(); }));
  const runtime::ContainerSpec spec = rt_.SpecOf(name);
  EXPECT_EQ(spec.network, "lattice-t-usr_1") << "not a database's namespace: it may be stopped";
  EXPECT_EQ(spec.command.front(), "snapshot");
  ASSERT_EQ(spec.volumes.size(), 2u);
  EXPECT_EQ(spec.volumes[1].volume, "lattice-wl_1-data");
  EXPECT_TRUE(spec.volumes[1].read_only);
  EXPECT_EQ(spec.confinement.cap_add, (std::vector<std::string>{"DAC_READ_SEARCH"}));
  EXPECT_TRUE(spec.ports.empty());
  rt_.Exit(name, 0, "snapshot: 3 files\n{\"ok\":true,\"files\":3,\"size_bytes\":99}\n");
  auto r = NextResult();
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->ok) << r->message;
  EXPECT_EQ(r->files, 3);
  EXPECT_EQ(r->size_bytes, 99);
  EXPECT_TRUE(Eventually([&] { return !rt_.Inspect(name).ok(); })) << "removed after its result";
}

TEST_F(SnapshotJobsTest, AJobWhoseContainerVanishesEndsInterruptedAtOnce) {
  jobs_->Run(Snapshot());
  const std::string name = "lattice-job-job_1";
  ASSERT_TRUE(Eventually([&] { return rt_.Inspect(name).ok(); }));
  ASSERT_TRUE(rt_.Remove(name).ok());  // another agent's leftover sweep on a shared engine
  auto r = NextResult();
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->ok);
  EXPECT_EQ(r->error_code, "interrupted");
}

TEST_F(SnapshotJobsTest, AWorkloadNoLongerHereFailsWithoutAContainer) {
  jobs_->Run(Snapshot("wl_gone"));
  auto r = NextResult();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->error_code, "workload-missing");
  EXPECT_EQ(rt_.creates(), 0);
}

}  // namespace
}  // namespace lattice::agent
