// The Reconciler against the real Docker engine (skipped when none answers or the local test
// images are missing). Every container and volume a test creates carries this run's prefix and
// is removed at the end.
#include "agent/reconciler.h"
#include "common/test_env.h"

#include <gtest/gtest.h>

#include <libpq-fe.h>
#include <set>

#include "agent/agent_test_util.h"

namespace lattice::agent {
namespace {

using namespace testing;

class ReconcilerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    rt_ = OpenDocker(why);
    if (!rt_) LATTICE_SKIP_UNLESS_REQUIRED() << "no Docker engine answers: " << why;
    if (!HasImage(*rt_, kBusybox))
      LATTICE_SKIP_UNLESS_REQUIRED()
          << kBusybox << " is missing (scripts/build-images.sh builds it)";
    prefix_ = RunPrefix();
    node_ = prefix_ + "node";
  }
  void TearDown() override {
    rec_.reset();
    if (rt_) CleanUp(*rt_, prefix_, volumes_);
  }

  ReconcilerOptions Options() const {
    ReconcilerOptions o;
    o.node_id = node_;
    o.tick = milliseconds(1000);
    o.fast_tick = milliseconds(200);
    o.stop_grace = seconds(1);  // busybox sh as PID 1 ignores SIGTERM: don't wait 10 s
    o.max_backoff = seconds(2);
    return o;
  }
  void StartReconciler(ReconcilerOptions o) {
    rec_ = std::make_unique<Reconciler>(std::move(o), *rt_, statuses_.Sink());
    rec_->Start();
  }
  void StartReconciler() { StartReconciler(Options()); }

  std::unique_ptr<runtime::docker::DockerRuntime> rt_;
  std::unique_ptr<Reconciler> rec_;
  StatusRecorder statuses_;
  std::string prefix_, node_;
  std::vector<std::string> volumes_;
};

std::string ContainerIdOf(runtime::Runtime& rt, const std::string& workload) {
  auto info = rt.Inspect(ContainerName(workload));
  return info.ok() ? info->id : "";
}

TEST_F(ReconcilerTest, RunStopRestartAdoptDelete) {
  const std::string id = prefix_ + "web";
  volumes_ = {VolumeName(id, "data")};
  auto web = [&](std::int64_t gen, DesiredState desired) {
    link::Assignment a = ShellWorkload(
        id, gen, "echo ready; date >> /data/starts; exec busybox httpd -f -p 8080 -h /");
    a.desired_state = desired;
    a.spec.ports = {{"port-8080", 8080, "tcp", "http"}};
    a.spec.volumes = {{"data", "/data"}};
    a.spec.memory_mb = 64;
    a.spec.readiness.kind = templates::Readiness::Kind::kHttp;
    a.spec.readiness.container_port = 8080;
    a.spec.readiness.http_path = "/data/starts";
    return a;
  };
  StartReconciler();
  rec_->SetAssignments({web(1, DesiredState::kRunning)});
  auto running = statuses_.WaitState(id, 1, WorkloadStatus::kRunning, seconds(30));
  ASSERT_TRUE(running) << "states: " << ::testing::PrintToString(statuses_.States(id));
  EXPECT_EQ(statuses_.States(id),
            (std::vector<WorkloadStatus>{WorkloadStatus::kCreating, WorkloadStatus::kStarting,
                                         WorkloadStatus::kRunning}));
  // Nothing is published on the host unless asked: the node reaches the container on its own
  // address, and only on a port the spec declares.
  EXPECT_TRUE(running->bindings.empty());
  const auto target = rec_->TargetOf(id, 8080);
  ASSERT_TRUE(target && target->ok());
  EXPECT_NE(target->host, "127.0.0.1");
  EXPECT_EQ(target->port, 8080);
  EXPECT_FALSE(rec_->TargetOf(id, 8081)) << "a port the spec does not declare";
  EXPECT_FALSE(rec_->TargetOf(prefix_ + "other", 8080)) << "a workload not assigned here";
  auto got = HttpGet(target->host, target->port, "/data/starts");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->first, 200);
  const std::string container = ContainerIdOf(*rt_, id);
  ASSERT_FALSE(container.empty());

  rec_->Upsert(web(2, DesiredState::kStopped));
  ASSERT_TRUE(statuses_.WaitState(id, 2, WorkloadStatus::kStopped, seconds(20)));
  EXPECT_FALSE(rt_->Inspect(container)->running);
  EXPECT_FALSE(rec_->TargetOf(id, 8080)) << "no target while stopped";

  rec_->Upsert(web(3, DesiredState::kRunning));
  auto again = statuses_.WaitState(id, 3, WorkloadStatus::kRunning, seconds(30));
  ASSERT_TRUE(again);
  EXPECT_EQ(ContainerIdOf(*rt_, id), container) << "restarted, not recreated";
  const auto again_target = rec_->TargetOf(id, 8080);
  ASSERT_TRUE(again_target);
  auto starts = HttpGet(again_target->host, again_target->port, "/data/starts");
  ASSERT_TRUE(starts);
  EXPECT_EQ(std::count(starts->second.begin(), starts->second.end(), '\n'), 2)
      << "the volume kept the first start's line";

  // An agent restart: a new Reconciler adopts the running container.
  rec_.reset();
  const std::size_t before = statuses_.size();
  StartReconciler();
  rec_->SetAssignments({web(3, DesiredState::kRunning)});
  auto adopted = statuses_.WaitFor(
      id, [](const auto& s) { return s.state == WorkloadStatus::kRunning; }, seconds(20), before);
  ASSERT_TRUE(adopted);
  EXPECT_EQ(adopted->generation, 3);
  EXPECT_EQ(ContainerIdOf(*rt_, id), container);
  EXPECT_EQ(CountContainers(*rt_, id), 1);
  EXPECT_EQ(rec_->RunningCount(), 1);
  const auto adopted_target = rec_->TargetOf(id, 8080);
  ASSERT_TRUE(adopted_target) << "an adopted container is reached too";
  EXPECT_TRUE(HttpGet(adopted_target->host, adopted_target->port, "/data/starts"));

  rec_->Upsert(web(4, DesiredState::kDeleted));
  ASSERT_TRUE(statuses_.WaitState(id, 4, WorkloadStatus::kDeleted, seconds(20)));
  EXPECT_EQ(rt_->Inspect(container).error().code, ErrorCode::kNotFound);
  EXPECT_FALSE(VolumeExists(*rt_, volumes_[0]));
  EXPECT_EQ(CountContainers(*rt_, id), 0);
  auto replay = rec_->Statuses();
  ASSERT_EQ(replay.size(), 1u);
  EXPECT_EQ(replay[0].state, WorkloadStatus::kDeleted);
}

TEST_F(ReconcilerTest, ChangedSpecReplacesTheContainerAndKeepsTheVolume) {
  const std::string id = prefix_ + "respec";
  volumes_ = {VolumeName(id, "data")};
  auto web = [&](std::int64_t gen, const std::string& greeting, bool publish = false) {
    link::Assignment a =
        ShellWorkload(id, gen, "date >> /data/starts; exec busybox httpd -f -p 8080 -h /");
    a.spec.env = {"GREETING=" + greeting};
    a.spec.ports = {{"port-8080", 8080, "tcp", "http"}};
    a.spec.ports[0].publish = publish;
    a.spec.volumes = {{"data", "/data"}};
    a.spec.readiness = {templates::Readiness::Kind::kHttp, 8080, "/data/starts", "", "", ""};
    return a;
  };
  StartReconciler();
  rec_->SetAssignments({web(1, "hello")});
  ASSERT_TRUE(statuses_.WaitState(id, 1, WorkloadStatus::kRunning, seconds(30)));
  const std::string first = ContainerIdOf(*rt_, id);

  ASSERT_TRUE(rec_->TargetOf(id, 8080));

  // The new spec also asks for the port on the node's loopback.
  rec_->Upsert(web(2, "bonjour", true));
  auto running = statuses_.WaitState(id, 2, WorkloadStatus::kRunning, seconds(30));
  ASSERT_TRUE(running);
  EXPECT_NE(ContainerIdOf(*rt_, id), first) << "a new container for the new spec";
  EXPECT_EQ(CountContainers(*rt_, id), 1);
  // The re-created container is reached on its (new) address...
  const auto target = rec_->TargetOf(id, 8080);
  ASSERT_TRUE(target);
  auto starts = HttpGet(target->host, target->port, "/data/starts");
  ASSERT_TRUE(starts);
  EXPECT_EQ(std::count(starts->second.begin(), starts->second.end(), '\n'), 2)
      << "the data volume outlived the old container";
  // ...and, as asked, on a host port of the node's loopback.
  ASSERT_EQ(running->bindings.size(), 1u);
  EXPECT_EQ(running->bindings[0].container_port, 8080);
  auto published = HttpGet(running->bindings[0].host_port, "/data/starts");
  ASSERT_TRUE(published);
  EXPECT_EQ(published->second, starts->second);
}

TEST_F(ReconcilerTest, MissingImageFailsWithAReadableReason) {
  const std::string id = prefix_ + "noimage";
  link::Assignment a = ShellWorkload(id, 1, "true");
  a.spec.image = "lattice/" + prefix_ + "does-not-exist:dev";
  StartReconciler();
  rec_->SetAssignments({a});
  auto failed = statuses_.WaitState(id, 1, WorkloadStatus::kFailed, seconds(30));
  ASSERT_TRUE(failed);
  EXPECT_NE(failed->reason.find("does-not-exist"), std::string::npos) << failed->reason;
  EXPECT_EQ(CountContainers(*rt_, id), 0);
}

TEST_F(ReconcilerTest, ExitedContainerIsReportedAndRestartedWithBackoff) {
  const std::string id = prefix_ + "crash";
  StartReconciler();
  rec_->SetAssignments({ShellWorkload(id, 1, "echo bye; exit 3")});
  auto failed = statuses_.WaitState(id, 1, WorkloadStatus::kFailed, seconds(20));
  ASSERT_TRUE(failed);
  EXPECT_NE(failed->reason.find("exited with code 3"), std::string::npos) << failed->reason;
  EXPECT_NE(failed->reason.find("restarting in"), std::string::npos) << failed->reason;
  auto restarted = statuses_.WaitFor(
      id, [](const auto& s) { return s.reason.find("(restart 2)") != std::string::npos; },
      seconds(20));
  EXPECT_TRUE(restarted) << "restarted after the backoff, then failed again";
  EXPECT_EQ(CountContainers(*rt_, id), 1);
}

TEST_F(ReconcilerTest, NeverReadyFailsAfterTheDeadline) {
  const std::string id = prefix_ + "deaf";
  link::Assignment a = ShellWorkload(id, 1, "exec sleep 600");
  a.spec.ports = {{"port-9999", 9999, "tcp", "tcp"}};
  a.spec.readiness.kind = templates::Readiness::Kind::kTcp;
  a.spec.readiness.container_port = 9999;
  ReconcilerOptions o = Options();
  o.ready_timeout = seconds(2);
  StartReconciler(o);
  rec_->SetAssignments({a});
  auto failed = statuses_.WaitState(id, 1, WorkloadStatus::kFailed, seconds(20));
  ASSERT_TRUE(failed);
  EXPECT_NE(failed->reason.find("did not become ready within 2 s"), std::string::npos)
      << failed->reason;
}

TEST_F(ReconcilerTest, UnassignedContainerIsStoppedButKept) {
  const std::string id = prefix_ + "orphan";
  StartReconciler();
  rec_->SetAssignments({ShellWorkload(id, 1, "exec sleep 600")});
  ASSERT_TRUE(statuses_.WaitState(id, 1, WorkloadStatus::kRunning, seconds(20)));
  rec_->Remove(id);
  for (int i = 0; i < 100; ++i) {
    auto info = rt_->Inspect(ContainerName(id));
    ASSERT_TRUE(info.ok()) << "kept, not removed";
    if (!info->running) break;
    std::this_thread::sleep_for(milliseconds(100));
  }
  EXPECT_FALSE(rt_->Inspect(ContainerName(id))->running);
  EXPECT_TRUE(rec_->Statuses().empty());
}

TEST_F(ReconcilerTest, PostgresIsRunningOnlyOnceAnAuthenticatedConnectionWorks) {
  if (!HasImage(*rt_, kPostgres)) LATTICE_SKIP_UNLESS_REQUIRED() << kPostgres << " is missing";
  const std::string id = prefix_ + "pg";
  volumes_ = {VolumeName(id, "data"), VolumeName(id, "secrets")};
  link::Assignment a;
  a.workload_id = id;
  a.generation = 1;
  a.desired_state = DesiredState::kRunning;
  a.spec.image = kPostgres;
  // As the template renders it: the password as a file, the container confined.
  a.spec.env = {"POSTGRES_USER=u1", "POSTGRES_PASSWORD_FILE=/run/secrets/postgres_password",
                "POSTGRES_DB=db1"};
  a.spec.secret_files = {{"postgres_password", "pw-123"}};
  a.spec.confinement = templates::DefaultConfinement("postgres");
  a.spec.ports = {{"postgres", 5432, "tcp", "postgres"}};
  a.spec.volumes = {{"data", "/var/lib/postgresql/data"}};
  a.spec.readiness = {templates::Readiness::Kind::kPostgres, 5432, "", "u1", "pw-123", "db1"};
  StartReconciler();
  rec_->SetAssignments({a});
  auto running = statuses_.WaitState(id, 1, WorkloadStatus::kRunning, seconds(60));
  ASSERT_TRUE(running) << ::testing::PrintToString(statuses_.States(id));
  EXPECT_EQ(statuses_.States(id),
            (std::vector<WorkloadStatus>{WorkloadStatus::kCreating, WorkloadStatus::kStarting,
                                         WorkloadStatus::kRunning}));
  const auto target = rec_->TargetOf(id, 5432);
  ASSERT_TRUE(target);
  const std::string port = std::to_string(target->port);
  auto connect = [&](const char* password) {
    const char* keys[] = {"host", "port", "user", "password", "dbname", "connect_timeout", nullptr};
    const char* vals[] = {target->host.c_str(), port.c_str(), "u1", password, "db1", "3", nullptr};
    PGconn* c = PQconnectdbParams(keys, vals, 0);
    const bool ok = PQstatus(c) == CONNECTION_OK;
    PQfinish(c);
    return ok;
  };
  EXPECT_TRUE(connect("pw-123"));
  EXPECT_FALSE(connect("wrong")) << "authentication is on";
}

TEST_F(ReconcilerTest, TenantsGetTheirOwnNetworksWhichGoWithTheirLastWorkload) {
  ReconcilerOptions o = Options();
  o.networks.pool = "10.215.0.0/24";  // not the default pool: a running `lattice dev` keeps it
  o.networks.prefix = 28;
  StartReconciler(o);
  auto for_tenant = [&](const std::string& suffix, const std::string& tenant) {
    link::Assignment a = ShellWorkload(prefix_ + suffix, 1, "exec sleep 60");
    a.tenant = prefix_ + tenant;
    a.name = suffix;
    return a;
  };
  const auto a1 = for_tenant("a1", "ta"), a2 = for_tenant("a2", "ta"), b1 = for_tenant("b1", "tb");
  rec_->SetAssignments({a1, a2, b1});
  for (const auto& a : {a1, a2, b1})
    ASSERT_TRUE(statuses_.WaitState(a.workload_id, 1, WorkloadStatus::kRunning, seconds(60)))
        << a.workload_id;
  auto net_of = [&](const link::Assignment& a) {
    auto i = rt_->Inspect(ContainerName(a.workload_id));
    return i.ok() ? i->network_mode : std::string("?");
  };
  EXPECT_EQ(net_of(a1), TenantNetworkName(prefix_ + "ta"));
  EXPECT_EQ(net_of(a2), TenantNetworkName(prefix_ + "ta"));
  EXPECT_EQ(net_of(b1), TenantNetworkName(prefix_ + "tb"));
  auto networks = [&] {
    std::set<std::string> out;
    if (auto l = rt_->ListNetworks(); l.ok())
      for (const auto& n : *l)
        if (n.name.find(prefix_) != std::string::npos) out.insert(n.name);
    return out;
  };
  EXPECT_EQ(networks().size(), 2u);
  // Tenant b's last workload goes: its network goes too; tenant a keeps one of two.
  link::Assignment del_b = b1, del_a = a1;
  del_b.generation = del_a.generation = 2;
  del_b.desired_state = del_a.desired_state = DesiredState::kDeleted;
  rec_->Upsert(del_b);
  rec_->Upsert(del_a);
  ASSERT_TRUE(statuses_.WaitState(b1.workload_id, 2, WorkloadStatus::kDeleted, seconds(30)));
  ASSERT_TRUE(statuses_.WaitState(a1.workload_id, 2, WorkloadStatus::kDeleted, seconds(30)));
  EXPECT_EQ(networks(), std::set<std::string>{TenantNetworkName(prefix_ + "ta")});
  link::Assignment del_a2 = a2;
  del_a2.generation = 2;
  del_a2.desired_state = DesiredState::kDeleted;
  rec_->Upsert(del_a2);
  ASSERT_TRUE(statuses_.WaitState(a2.workload_id, 2, WorkloadStatus::kDeleted, seconds(30)));
  EXPECT_TRUE(networks().empty());
}

TEST_F(ReconcilerTest, ARegistryOnTheNodeItselfIsRefusedBeforeAnyPull) {
  const std::string id = prefix_ + "local";
  link::Assignment a = ShellWorkload(id, 1, "true");
  a.spec.image = "127.0.0.1:1/x:1";
  StartReconciler();
  rec_->SetAssignments({a});
  auto failed = statuses_.WaitState(id, 1, WorkloadStatus::kFailed, seconds(30));
  ASSERT_TRUE(failed);
  EXPECT_NE(failed->reason.find("is not allowed on this node"), std::string::npos)
      << failed->reason;
  EXPECT_EQ(CountContainers(*rt_, id), 0);
}

}  // namespace
}  // namespace lattice::agent
