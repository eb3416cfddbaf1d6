// The pure parts of BackupJobs: the tool's command line, its target configuration and reading
// its result, and a job against the in-memory engine. The jobs themselves run against the real
// engine in tests/e2e/test_backups.py.
#include "agent/backup_jobs.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include "agent/fake_runtime.h"

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

TEST(BackupJobs, AJobWhoseContainerIsRemovedEndsInterruptedNotAtItsTimeout) {
  boost::asio::io_context io;
  testing::FakeRuntime rt;
  std::vector<link::BackupResult> results;
  BackupJobOptions o;
  o.poll = std::chrono::milliseconds(5);
  o.node_id = "node_1";
  BackupJobs jobs(
      io.get_executor(), rt,
      [](const std::string&) {
        return std::optional<DatabaseAccess>({"lattice-wl_1", "u", "p"});
      },
      [&](link::BackupResult r) { results.push_back(std::move(r)); }, o);
  jobs.Run(SampleRun(link::BackupOp::kBackup));
  // The job's container appears (running, labelled with the node); then someone removes it.
  for (int i = 0; i < 2000 && !rt.Inspect("lattice-job-job_1").ok(); ++i)
    io.run_for(std::chrono::milliseconds(1));
  auto job = rt.Inspect("lattice-job-job_1");
  ASSERT_TRUE(job.ok());
  EXPECT_EQ(job->labels.at("lattice.node"), "node_1");
  ASSERT_TRUE(rt.Remove(job->id).ok());
  for (int i = 0; i < 2000 && results.empty(); ++i) io.run_for(std::chrono::milliseconds(1));
  jobs.Stop();
  ASSERT_EQ(results.size(), 1u);
  EXPECT_FALSE(results[0].ok);
  EXPECT_EQ(results[0].error_code, "interrupted");
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
