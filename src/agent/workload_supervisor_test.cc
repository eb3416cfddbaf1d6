// The supervisor and the diff loop against the in-memory FakeRuntime, with a manual clock where
// time matters: a hanging pull holds one engine worker, not the node; a busy supervisor is never
// given a second step; a failure is retried only after its backoff. Hermetic: no engine.
#include "agent/workload_supervisor.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "agent/agent_test_util.h"
#include "agent/fake_runtime.h"
#include "agent/reconciler.h"
#include "agent/restore_job.h"
#include "agent/workload_container.h"

namespace lattice::agent {
namespace {

using namespace testing;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr char kSlowImage[] = "lattice/slow:1";
constexpr char kFastImage[] = "lattice/fast:1";

link::Assignment Workload(const std::string& id, const std::string& image,
                          std::int64_t generation = 1) {
  link::Assignment a;
  a.workload_id = id;
  a.generation = generation;
  a.desired_state = DesiredState::kRunning;
  a.spec.image = image;
  return a;
}

// Polls `done` every 5 ms until it holds or `timeout` passes.
bool Eventually(const std::function<bool()>& done, milliseconds timeout = seconds(5)) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    if (done()) return true;
    std::this_thread::sleep_for(milliseconds(5));
  }
  return done();
}

std::optional<WorkloadStatus> LastState(const StatusRecorder& r, const std::string& id) {
  auto states = r.States(id);
  if (states.empty()) return std::nullopt;
  return states.back();
}

class DiffLoopTest : public ::testing::Test {
 protected:
  ReconcilerOptions Options(int workers = 4) const {
    ReconcilerOptions o;
    o.node_id = "node-1";
    o.tick = milliseconds(50);
    o.fast_tick = milliseconds(10);
    o.engine_workers = workers;
    return o;
  }
  void StartReconciler(ReconcilerOptions o) {
    rec_ = std::make_unique<Reconciler>(std::move(o), rt_, statuses_.Sink(), clock_);
    rec_->Start();
  }
  void TearDown() override {
    rt_.ReleasePull();  // a held pull would keep Stop() waiting
    rec_.reset();
  }

  FakeRuntime rt_;
  ManualSteadyClock clock_;
  StatusRecorder statuses_;
  std::unique_ptr<Reconciler> rec_;
};

TEST_F(DiffLoopTest, AHangingPullDoesNotDelayAnotherWorkload) {
  rt_.HoldPull(kSlowImage);
  StartReconciler(Options());
  rec_->SetAssignments({Workload("a", kSlowImage), Workload("b", kFastImage)});

  ASSERT_TRUE(statuses_.WaitState("b", 1, WorkloadStatus::kRunning, seconds(5)))
      << ::testing::PrintToString(statuses_.States("b"));
  ASSERT_TRUE(Eventually([&] { return rt_.PullBlocked(kSlowImage); }));
  std::this_thread::sleep_for(milliseconds(100));  // passes go by; a stays where it is
  EXPECT_EQ(LastState(statuses_, "a"), WorkloadStatus::kCreating);
  EXPECT_EQ(statuses_.States("b"),
            (std::vector<WorkloadStatus>{WorkloadStatus::kCreating, WorkloadStatus::kStarting,
                                         WorkloadStatus::kRunning}));

  rt_.ReleasePull();
  ASSERT_TRUE(statuses_.WaitState("a", 1, WorkloadStatus::kRunning, seconds(5)))
      << ::testing::PrintToString(statuses_.States("a"));
  EXPECT_EQ(statuses_.States("a"),
            (std::vector<WorkloadStatus>{WorkloadStatus::kCreating, WorkloadStatus::kStarting,
                                         WorkloadStatus::kRunning}));
  EXPECT_EQ(rec_->RunningCount(), 2);
}

TEST_F(DiffLoopTest, WithOneEngineWorkerAHangingPullHoldsEveryoneBack) {
  // The pool is the bound: this is what the agent did before it had more than one worker.
  rt_.HoldPull(kSlowImage);
  StartReconciler(Options(1));
  rec_->SetAssignments({Workload("a", kSlowImage)});
  ASSERT_TRUE(Eventually([&] { return rt_.PullBlocked(kSlowImage); }));
  rec_->Upsert(Workload("b", kFastImage));
  EXPECT_FALSE(statuses_.WaitState("b", 1, WorkloadStatus::kRunning, milliseconds(300)));
  rt_.ReleasePull();
  EXPECT_TRUE(statuses_.WaitState("b", 1, WorkloadStatus::kRunning, seconds(5)));
}

TEST_F(DiffLoopTest, ABusySupervisorIsNotGivenASecondStep) {
  rt_.HoldPull(kSlowImage);
  StartReconciler(Options());
  rec_->SetAssignments({Workload("a", kSlowImage)});
  ASSERT_TRUE(Eventually([&] { return rt_.PullBlocked(kSlowImage); }));
  // Many passes go by (a 50 ms tick, and every change forces one) while the pull hangs.
  for (int i = 0; i < 5; ++i) {
    rec_->SetAssignments({Workload("a", kSlowImage)});
    std::this_thread::sleep_for(milliseconds(60));
  }
  EXPECT_EQ(rt_.pulls(kSlowImage), 1) << "a second step would have pulled again";
  rt_.ReleasePull();
  ASSERT_TRUE(statuses_.WaitState("a", 1, WorkloadStatus::kRunning, seconds(5)));
  EXPECT_EQ(rt_.pulls(kSlowImage), 1);
  EXPECT_EQ(rt_.creates(), 1);
}

TEST_F(DiffLoopTest, ANewGenerationThatArrivesDuringAStepIsActedOnWhenItEnds) {
  rt_.HoldPull(kSlowImage);
  ReconcilerOptions o = Options();
  o.tick = seconds(60);  // only a change, or a step asking for it, brings a pass
  StartReconciler(o);
  rec_->SetAssignments({Workload("a", kSlowImage)});
  ASSERT_TRUE(Eventually([&] { return rt_.PullBlocked(kSlowImage); }));
  link::Assignment stopped = Workload("a", kSlowImage, 2);
  stopped.desired_state = DesiredState::kStopped;
  rec_->Upsert(stopped);
  rt_.ReleasePull();
  EXPECT_TRUE(statuses_.WaitState("a", 2, WorkloadStatus::kStopped, seconds(5)))
      << ::testing::PrintToString(statuses_.States("a"));
}

TEST_F(DiffLoopTest, AFailedCreateIsRetriedOnlyAfterTheBackoff) {
  rt_.FailCreates(1);
  StartReconciler(Options());
  rec_->SetAssignments({Workload("a", kFastImage)});
  auto failed = statuses_.WaitState("a", 1, WorkloadStatus::kFailed, seconds(5));
  ASSERT_TRUE(failed);
  EXPECT_NE(failed->reason.find("could not create the container"), std::string::npos)
      << failed->reason;

  // The clock stands still: however many passes go by, no second attempt.
  std::this_thread::sleep_for(milliseconds(300));
  EXPECT_EQ(rt_.creates(), 1);
  clock_.Advance(milliseconds(999));  // the first backoff is 1 s
  std::this_thread::sleep_for(milliseconds(300));
  EXPECT_EQ(rt_.creates(), 1);

  clock_.Advance(milliseconds(1));
  ASSERT_TRUE(statuses_.WaitState("a", 1, WorkloadStatus::kRunning, seconds(5)));
  EXPECT_EQ(rt_.creates(), 2);
}

TEST_F(DiffLoopTest, NeverReadyFailsWhenTheDeadlinePassesOnTheClock) {
  link::Assignment a = Workload("deaf", kFastImage);
  a.spec.readiness.kind = templates::Readiness::Kind::kTcp;
  a.spec.readiness.container_port = 9999;  // not published: every probe fails
  StartReconciler(Options());
  rec_->SetAssignments({a});
  ASSERT_TRUE(statuses_.WaitState("deaf", 1, WorkloadStatus::kStarting, seconds(5)));
  std::this_thread::sleep_for(milliseconds(200));
  EXPECT_EQ(LastState(statuses_, "deaf"), WorkloadStatus::kStarting)
      << "the deadline is 180 s of the clock";
  clock_.Advance(seconds(180));
  auto failed = statuses_.WaitState("deaf", 1, WorkloadStatus::kFailed, seconds(5));
  ASSERT_TRUE(failed);
  EXPECT_NE(failed->reason.find("did not become ready within 180 s"), std::string::npos)
      << failed->reason;
}

// The supervisor alone: the claim, and what a step asks of the loop.
class RecordingHost final : public SupervisorHost {
 public:
  std::vector<std::string> AllowedRegistries() const override { return {}; }
  void Report(const link::Assignment&, WorkloadStatus state, std::string, Reach,
              std::string) override {
    std::lock_guard lock(mu_);
    states.push_back(state);
  }
  std::vector<WorkloadStatus> states;

 private:
  std::mutex mu_;
};

class SupervisorTest : public ::testing::Test {
 protected:
  FakeRuntime rt_;
  ManualSteadyClock clock_;
  TenantNetworks networks_{rt_, {}};
  RecordingHost host_;
  SupervisorContext ctx_{SupervisorOptions{}, rt_, clock_, networks_, host_};
  WorkloadSupervisor sup_{ctx_};
};

TEST_F(SupervisorTest, AClaimedSupervisorRefusesASecondClaimUntilItsStepEnds) {
  ASSERT_TRUE(sup_.TryClaim(1));
  EXPECT_TRUE(sup_.Busy());
  EXPECT_FALSE(sup_.TryClaim(1));
  EXPECT_EQ(sup_.Step(Workload("a", kFastImage), std::nullopt), NextPass::kOnTick);
  EXPECT_FALSE(sup_.Busy());
  EXPECT_EQ(host_.states,
            (std::vector<WorkloadStatus>{WorkloadStatus::kCreating, WorkloadStatus::kStarting,
                                         WorkloadStatus::kRunning}));
  EXPECT_TRUE(sup_.TryClaim(1));
}

TEST_F(SupervisorTest, ANewGenerationRefusedWhileBusyAsksForThePassAtOnce) {
  ASSERT_TRUE(sup_.TryClaim(1));
  EXPECT_FALSE(sup_.TryClaim(2));
  EXPECT_EQ(sup_.Step(Workload("a", kFastImage), std::nullopt), NextPass::kNow);
  ASSERT_TRUE(sup_.TryClaim(2));
  auto c = rt_.Inspect(ContainerName("a"));
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(sup_.Step(Workload("a", kFastImage, 2), *c), NextPass::kOnTick);
}

TEST_F(SupervisorTest, AFailureDueWithinATickAsksForTheFastTick) {
  rt_.FailCreates(1);
  ASSERT_TRUE(sup_.TryClaim(1));
  // The first backoff (1 s) is shorter than the default 2 s tick: look again soon.
  EXPECT_EQ(sup_.Step(Workload("a", kFastImage), std::nullopt), NextPass::kSoon);
  EXPECT_EQ(host_.states.back(), WorkloadStatus::kFailed);
}

// A workload restored from a backup: the tool container fills its data volume first; the
// workload's own container is created only once the tool reported success, a failed restore is
// retried after its backoff, and deleting the workload mid-restore ends the tool container.
link::Assignment Restored(const std::string& id) {
  link::Assignment a = Workload(id, kFastImage);
  a.spec.volumes = {{"data", "/var/lib/postgresql/data"}};
  a.spec.secret_files = {{"postgres_password", "new-secret"}};
  templates::RestoreSource r;
  r.target.bucket = "backups";
  r.target.prefix = "clusters/wl_src";
  r.target.access_key = "AK";
  r.target.secret_key = "SK";
  r.target.endpoint = "http://s3.example:9000";
  r.backup_id = "bk_1";
  r.target_time = "2026-12-07 08:00:00.000000+00";
  a.spec.restore = r;
  return a;
}

TEST_F(DiffLoopTest, ARestoredWorkloadStartsOnlyAfterItsRestoreSucceeded) {
  StartReconciler(Options());
  rec_->SetAssignments({Restored("r")});
  const std::string tool = RestoreContainerName("r");
  ASSERT_TRUE(Eventually([&] { return rt_.Inspect(tool).ok(); }));
  auto creating = statuses_.WaitFor(
      "r",
      [](const auto& s) { return s.reason.find("restoring backup bk_1") != std::string::npos; },
      seconds(5));
  ASSERT_TRUE(creating);
  EXPECT_EQ(creating->state, WorkloadStatus::kCreating);
  const runtime::ContainerSpec spec = rt_.SpecOf(tool);
  EXPECT_EQ(spec.image, "lattice/pgtools:15");
  EXPECT_EQ(spec.command, (std::vector<std::string>{
                              "restore", "--id", "bk_1", "--data", "/var/lib/postgresql/data",
                              "--bucket", "backups", "--prefix", "clusters/wl_src",
                              "--target-config", "/work/target.conf", "--new-password-file",
                              "/work/password", "--target-time", "2026-12-07 08:00:00.000000+00"}));
  ASSERT_EQ(spec.volumes.size(), 2u);
  EXPECT_EQ(spec.volumes[0].volume, "lattice-r-data");
  EXPECT_EQ(spec.volumes[0].container_path, "/var/lib/postgresql/data");
  EXPECT_TRUE(spec.ports.empty()) << "a restore job publishes nothing";
  std::this_thread::sleep_for(milliseconds(150));  // passes go by while the tool runs
  EXPECT_FALSE(rt_.Inspect(ContainerName("r")).ok()) << "no database before the data is there";

  // The tool fails: the workload is failed with the tool's reason, retried after the backoff.
  rt_.Exit(tool, 1, R"({"ok":false,"error":"backup-damaged","message":"sha256 differs"})");
  auto failed = statuses_.WaitState("r", 1, WorkloadStatus::kFailed, seconds(5));
  ASSERT_TRUE(failed);
  EXPECT_NE(failed->reason.find("backup-damaged: sha256 differs"), std::string::npos)
      << failed->reason;
  ASSERT_TRUE(Eventually([&] { return !rt_.Inspect(tool).ok(); })) << "removed after its result";
  std::this_thread::sleep_for(milliseconds(150));
  EXPECT_FALSE(rt_.Inspect(tool).ok()) << "no retry before the backoff";
  clock_.Advance(seconds(2));
  ASSERT_TRUE(Eventually([&] { return rt_.Inspect(tool).ok(); })) << "retried after the backoff";

  const std::size_t before = statuses_.size();
  rt_.Exit(tool, 0,
           "restoring...\n"
           R"({"ok":true,"id":"bk_1","recovery":"target-time"})");
  auto running = statuses_.WaitFor(
      "r", [](const auto& s) { return s.state == WorkloadStatus::kRunning; }, seconds(5), before);
  ASSERT_TRUE(running) << ::testing::PrintToString(statuses_.States("r"));
  EXPECT_FALSE(rt_.Inspect(tool).ok());
  EXPECT_TRUE(rt_.Inspect(ContainerName("r")).ok());
}

TEST_F(DiffLoopTest, DeletingAWorkloadMidRestoreEndsTheRestore) {
  StartReconciler(Options());
  rec_->SetAssignments({Restored("d")});
  const std::string tool = RestoreContainerName("d");
  ASSERT_TRUE(Eventually([&] { return rt_.Inspect(tool).ok(); }));
  link::Assignment gone = Restored("d");
  gone.generation = 2;
  gone.desired_state = DesiredState::kDeleted;
  rec_->Upsert(gone);
  ASSERT_TRUE(statuses_.WaitState("d", 2, WorkloadStatus::kDeleted, seconds(5)));
  EXPECT_FALSE(rt_.Inspect(tool).ok());
  EXPECT_FALSE(rt_.Inspect(ContainerName("d")).ok());
}

// A restore in place: the running workload gets a new generation whose spec names the next
// volume epoch; its container is replaced, the restore fills the new volume, and the old one is
// removed only once the workload is ready again.
TEST_F(DiffLoopTest, ARestoreInPlaceKeepsTheOldVolumeUntilTheRestoredWorkloadIsReady) {
  StartReconciler(Options());
  link::Assignment a = Restored("p");
  a.spec.restore.reset();
  rec_->SetAssignments({a});
  ASSERT_TRUE(statuses_.WaitState("p", 1, WorkloadStatus::kRunning, seconds(5)));
  EXPECT_EQ(rt_.SpecOf(ContainerName("p")).volumes.at(0).volume, "lattice-p-data");

  link::Assignment in_place = Restored("p");
  in_place.generation = 2;
  in_place.spec.volume_epoch = 1;
  rec_->Upsert(in_place);
  const std::string tool = RestoreContainerName("p");
  ASSERT_TRUE(Eventually([&] { return rt_.Inspect(tool).ok(); }));
  EXPECT_FALSE(rt_.Inspect(ContainerName("p")).ok()) << "the database is off its old data";
  EXPECT_EQ(rt_.SpecOf(tool).volumes.at(0).volume, "lattice-p-data.r1") << "restored aside";
  for (const auto& v : rt_.removed_volumes())
    EXPECT_NE(v, "lattice-p-data") << "the old data stays while the restore runs";

  rt_.Exit(tool, 0, R"({"ok":true,"id":"bk_1","recovery":"target-time"})");
  ASSERT_TRUE(statuses_.WaitState("p", 2, WorkloadStatus::kRunning, seconds(5)));
  EXPECT_EQ(rt_.SpecOf(ContainerName("p")).volumes.at(0).volume, "lattice-p-data.r1");
  ASSERT_TRUE(Eventually([&] {
    const auto removed = rt_.removed_volumes();
    return std::find(removed.begin(), removed.end(), "lattice-p-data") != removed.end();
  })) << "the replaced data is removed once the restored workload is ready";
}

}  // namespace
}  // namespace lattice::agent
