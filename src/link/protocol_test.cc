#include <gtest/gtest.h>

#include <string>
#include <utility>

#include "link/protocol.h"

namespace lattice::link {
namespace {

templates::RenderedWorkload SampleSpec() {
  templates::RenderedWorkload s;
  s.image = "lattice/postgres:15";
  s.env = {"POSTGRES_USER=u", "POSTGRES_PASSWORD=p"};
  s.command = {"postgres", "-c", "fsync=on"};
  s.ports = {{"postgres", 5432, "tcp", "postgres"}};
  s.volumes = {{"data", "/var/lib/postgresql/data"}};
  s.memory_mb = 512;
  s.cpus = 0.5;
  s.readiness.kind = templates::Readiness::Kind::kPostgres;
  s.readiness.container_port = 5432;
  s.readiness.username = "u";
  s.readiness.password = "p";
  s.readiness.database = "d";
  return s;
}

TEST(Protocol, RoundTripsEveryMessage) {
  Hello h;
  h.name = "n1";
  h.join_token = "jt";
  h.cpus = 2;
  h.memory_mb = 2048;
  h.labels = {{"zone", "home"}};
  h.running = {{"wl_1", 3, WorkloadStatus::kRunning}, {"wl_2", 1, WorkloadStatus::kStopped}};
  Assignment a{"wl_1", 3, DesiredState::kRunning, SampleSpec(), "usr_1", "db"};
  Assignment restored = a;  // a workload restored from a backup carries where from
  restored.spec.restore = templates::RestoreSource{
      {"", "b", "", "p/wl_0", "AK", "SK", "files", 9000}, "bk_1", "2026-12-07 08:00:00.000000+00"};
  restored.spec.restore->verified = true;  // and, restored in place, its volume epoch
  restored.spec.volume_epoch = 2;
  const std::vector<Message> all = {
      Upsert{restored},
      h,
      Welcome{"node_1", "secret", 5, {"https://a:1", "https://b:2"}, {"registry.example:5000"}},
      LinkError{"nope", LinkErrorCode::kUnspecified},
      LinkError{"bad token", LinkErrorCode::kUnauthenticated},
      Assignments{{a}},
      Upsert{a},
      Remove{"wl_1"},
      StatusReport{"wl_1", 3, WorkloadStatus::kRunning, "", {{5432, 40000}}, ""},
      Heartbeat{2},
      LogsOpen{"s1", "wl_1", 50, true},
      LogsOpen{"s2", "wl_1", 0, false, 1, 2, 3, 4, "x"},
      LogsData{"s1", {"a", "b"}},
      LogsData{"s1", {"a"}, {7}, {2}, {1'767'323'045'000'000'001}},
      LogsEnd{"s1", ""},
      LogsEnd{"s1", "", true},
      LogsClose{"s1"},
      StreamOpen{"st_1", "sec", "wl_1", 5432, "", 0},
      StreamOpen{"st_2", "sec", "wl_1", 5432, "", 3'600'000},
      StreamFail{"st_1", "no such port"},
      BackupRun{"job_1",
                BackupOp::kBackup,
                "wl_1",
                "bk_1",
                {"https://s3.example:9000", "b", "eu", "p/", "AK", "SK", "", 0}},
      BackupRun{
          "job_2", BackupOp::kVerify, "wl_1", "bk_1", {"", "b", "", "", "AK", "SK", "s3", 9000}},
      BackupResult{"job_1", BackupOp::kBackup, "wl_1", "bk_1", true, "", "", 4096, 1200,
                   "0/2000028", "0/2000100", 0, 0},
      BackupResult{"job_2", BackupOp::kVerify, "wl_1", "bk_1", false, "verify-failed",
                   "the base is damaged", 0, 900, "", "", 3, 120},
      ArchiveSet{"wl_1",
                 BackupTargetSpec{"https://s3.example:9000", "b", "eu", "p", "AK", "SK", "", 0}},
      ArchiveSet{"wl_1", std::nullopt},
      ArchiveStatus{"wl_1", true, "", ""},
      ArchiveStatus{"wl_1", false, "target-auth", "the keys were refused"},
      MetricsBatch{1700000010,
                   10,
                   {{1700000010, 150.5, 1e9, 8e9, 100, 200, 0, 4096}},
                   {{"wl_1", {1700000010, 99.5, 64e6, 128e6, 10, 20, 30, 40}}}},
      MetricsBatch{1700000010, 10, {}, {}}};
  for (const Message& m : all) {
    const std::string text = Encode(m);
    auto back = Decode(text);
    ASSERT_TRUE(back.ok()) << text << ": " << back.error().message;
    EXPECT_EQ(back->index(), m.index());
    EXPECT_EQ(Encode(*back), text);
  }
}

TEST(Protocol, AMetricsBatchCarriesNodeAndWorkloadSamples) {
  MetricsBatch b{1700000020, 10, {}, {}};
  b.node.push_back({1700000015, 250, 3e9, 16e9, 1000, 2000, 3000, 4000});
  b.workloads.push_back({"wl_1", {1700000016, 12.5, 5e6, 1e8, 1, 2, 3, 4}});
  b.workloads.push_back({"wl_2", {1700000017, 0, 0, 0, 0, 0, 0, 0}});
  auto back = Decode(Encode(b));
  ASSERT_TRUE(back.ok()) << back.error().message;
  const auto& got = std::get<MetricsBatch>(*back);
  EXPECT_EQ(got.sent_at, 1700000020);
  EXPECT_EQ(got.interval_seconds, 10);
  ASSERT_EQ(got.node.size(), 1u);
  EXPECT_EQ(got.node[0].at, 1700000015);
  EXPECT_DOUBLE_EQ(got.node[0].cpu_percent, 250);
  EXPECT_DOUBLE_EQ(got.node[0].memory_limit_bytes, 16e9);
  EXPECT_DOUBLE_EQ(got.node[0].disk_write_bps, 4000);
  ASSERT_EQ(got.workloads.size(), 2u);
  EXPECT_EQ(got.workloads[0].workload_id, "wl_1");
  EXPECT_DOUBLE_EQ(got.workloads[0].usage.cpu_percent, 12.5);
  EXPECT_DOUBLE_EQ(got.workloads[0].usage.net_tx_bps, 2);
  EXPECT_EQ(got.workloads[1].usage.at, 1700000017);
}

TEST(Protocol, AMetricsBatchRefusesNegativeOrMissingValuesAndTooManySamples) {
  for (
      const char* bad : {
          R"({"type":"metrics","sent_at":5,"workloads":[{"workload_id":"w","at":1,"cpu_percent":-1}]})",
          R"({"type":"metrics","sent_at":5,"workloads":[{"at":1}]})",
          R"({"type":"metrics","sent_at":5,"workloads":[{"workload_id":"w"}]})",
          R"({"type":"metrics","sent_at":5,"node":[{"at":1,"memory_bytes":"x"}]})",
          R"({"type":"metrics","sent_at":5,"node":[7]})",
          R"({"type":"metrics","workloads":[]})",
          R"({"type":"metrics","sent_at":5,"interval_seconds":-1})",
          R"({"type":"metrics","sent_at":5,"node":[{"at":1,"memory_bytes":3.0008888888888886E108}]})",
          R"({"type":"metrics","sent_at":5,"node":[{"at":1,"cpu_percent":1e7}]})",
      }) {
    EXPECT_FALSE(Decode(bad).ok()) << bad;
  }
  std::string many = R"({"type":"metrics","sent_at":5,"workloads":[)";
  for (std::size_t i = 0; i <= kMaxUsageSamples; ++i)
    many += std::string(i ? "," : "") + R"({"workload_id":"w","at":1})";
  many += "]}";
  auto r = Decode(many);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("samples"), std::string::npos);
}

// Values are rounded to whole bytes and thousandths of a percent, so a decoded sample encodes
// to exactly what decodes to it again (the fuzzer's round-trip property).
TEST(Protocol, AMetricsSampleIsQuantizedSoItReencodesTheSame) {
  const std::string in =
      R"({"type":"metrics","sent_at":5,"node":[{"at":1,"cpu_percent":12.34567891234567,)"
      R"("memory_bytes":1234567890123.4567,"net_rx_bps":0.6,"disk_read_bps":9007199254740991}]})";
  auto once = Decode(in);
  ASSERT_TRUE(once.ok()) << once.error().message;
  const auto& u = std::get<MetricsBatch>(*once).node.at(0);
  EXPECT_DOUBLE_EQ(u.cpu_percent, 12.346);
  EXPECT_DOUBLE_EQ(u.memory_bytes, 1234567890123);
  EXPECT_DOUBLE_EQ(u.net_rx_bps, 1);
  const std::string again = Encode(*once);
  auto twice = Decode(again);
  ASSERT_TRUE(twice.ok()) << twice.error().message;
  EXPECT_EQ(Encode(*twice), again);
}

TEST(Protocol, LogStreamsCarryTheirBoundsAndEachLinesNumbers) {
  LogsOpen open{"s1", "wl_1", 500,    true, 1'767'323'045'500'000'000, 1'767'400'000'000'000'000,
                77,   3,      "ERROR"};
  auto back = Decode(Encode(open));
  ASSERT_TRUE(back.ok()) << back.error().message;
  const auto& o = std::get<LogsOpen>(*back);
  EXPECT_EQ(o.since_ns, open.since_ns);
  EXPECT_EQ(o.until_ns, open.until_ns);
  EXPECT_EQ(o.before_seq, 77);
  EXPECT_EQ(o.generation, 3);
  EXPECT_EQ(o.filter, "ERROR");
  // A server from before kept logs sends no bounds: none apply.
  auto old =
      Decode(R"({"type":"logs.open","stream_id":"s","workload_id":"w","tail":5,"follow":false})");
  ASSERT_TRUE(old.ok());
  EXPECT_EQ(std::get<LogsOpen>(*old).since_ns, 0);
  EXPECT_EQ(std::get<LogsOpen>(*old).filter, "");
  EXPECT_FALSE(Decode(R"({"type":"logs.open","stream_id":"s","workload_id":"w","filter":")" +
                      std::string(300, 'x') + R"("})")
                   .ok());

  LogsData data{"s1", {"a", "b"}, {4, 5}, {1, 2}, {1'767'323'045'000'000'001, 2}};
  auto d = Decode(Encode(data));
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ(std::get<LogsData>(*d).seqs, (std::vector<std::int64_t>{4, 5}));
  EXPECT_EQ(std::get<LogsData>(*d).generations, (std::vector<std::int64_t>{1, 2}));
  EXPECT_EQ(std::get<LogsData>(*d).times_ns[0], 1'767'323'045'000'000'001);
  // An agent from before kept logs sends lines only; arrays of another length are refused.
  auto plain = Decode(R"({"type":"logs.data","stream_id":"s","lines":["x"]})");
  ASSERT_TRUE(plain.ok());
  EXPECT_TRUE(std::get<LogsData>(*plain).seqs.empty());
  EXPECT_FALSE(Decode(R"({"type":"logs.data","stream_id":"s","lines":["x"],"seqs":[1,2]})").ok());

  auto end = Decode(Encode(LogsEnd{"s1", "", true}));
  ASSERT_TRUE(end.ok());
  EXPECT_TRUE(std::get<LogsEnd>(*end).more);
}

TEST(Protocol, ABackupRunCarriesItsKindAndAResultItsFileCount) {
  BackupRun run{"j", BackupOp::kBackup, "w", "bk_1", {}, BackupKind::kVolume};
  run.target.bucket = "b";
  run.target.access_key = "a";
  run.target.secret_key = "s";
  auto back = Decode(Encode(run));
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(std::get<BackupRun>(*back).kind, BackupKind::kVolume);
  // A server from before snapshots sends no kind: a PostgreSQL job.
  auto old =
      Decode(R"({"type":"backup.run","job_id":"j","op":"backup","workload_id":"w",)"
             R"("backup_id":"b","target":{"bucket":"b","access_key":"a","secret_key":"s"}})");
  ASSERT_TRUE(old.ok()) << old.error().message;
  EXPECT_EQ(std::get<BackupRun>(*old).kind, BackupKind::kPostgres);
  EXPECT_FALSE(Decode(R"({"type":"backup.run","job_id":"j","op":"backup","workload_id":"w",)"
                      R"("backup_id":"b","kind":"disk",)"
                      R"("target":{"bucket":"b","access_key":"a","secret_key":"s"}})")
                   .ok());
  BackupResult result;
  result.job_id = "j";
  result.op = BackupOp::kVerify;
  result.ok = true;
  result.files = 42;
  auto r = Decode(Encode(result));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(std::get<BackupResult>(*r).files, 42);
}

TEST(Protocol, ABackupRunNeedsAKnownOpAndItsTargetsKeys) {
  EXPECT_FALSE(
      Decode(R"({"type":"backup.run","job_id":"j","op":"restore","workload_id":"w",)"
             R"("backup_id":"b","target":{"bucket":"b","access_key":"a","secret_key":"s"}})")
          .ok());
  EXPECT_FALSE(Decode(R"({"type":"backup.run","job_id":"j","op":"backup","workload_id":"w",)"
                      R"("backup_id":"b","target":{"bucket":"b","access_key":"a"}})")
                   .ok());
  auto ok = Decode(R"({"type":"backup.run","job_id":"j","op":"delete","workload_id":"w",)"
                   R"("backup_id":"b","target":{"bucket":"b","access_key":"a","secret_key":"s"}})");
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(std::get<BackupRun>(*ok).op, BackupOp::kDelete);
  EXPECT_EQ(std::get<BackupRun>(*ok).target.secret_key, "s");
  BackupRun run{"j", BackupOp::kProbe, "w", "bt_1", {}};
  run.target.bucket = "b";
  run.target.access_key = "a";
  run.target.secret_key = "s";
  auto probe = Decode(Encode(run));
  ASSERT_TRUE(probe.ok()) << probe.error().message;
  EXPECT_EQ(std::get<BackupRun>(*probe).op, BackupOp::kProbe);
}

TEST(Protocol, LinkErrorsCarryACodeAndUnknownCodesReadAsUnspecified) {
  auto m = Decode(R"({"type":"error","message":"x","code":"incompatible"})");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(std::get<LinkError>(*m).code, LinkErrorCode::kIncompatible);
  m = Decode(R"({"type":"error","message":"x","code":"from-the-future"})");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(std::get<LinkError>(*m).code, LinkErrorCode::kUnspecified);
  m = Decode(R"({"type":"error","message":"an older server says no code"})");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(std::get<LinkError>(*m).code, LinkErrorCode::kUnspecified);
}

TEST(Protocol, SpecCarriesConfinementAndSecretFiles) {
  templates::RenderedWorkload s = SampleSpec();
  s.confinement = templates::Confinement{{"CHOWN", "SETUID"}, "999:999", true, {"/tmp"}};
  s.secret_files = {{"postgres_password", "pw"}};
  auto back = DecodeSpec(EncodeSpec(s));
  ASSERT_TRUE(back.ok()) << back.error().message;
  ASSERT_TRUE(back->confinement.has_value());
  EXPECT_EQ(back->confinement->capabilities, (std::vector<std::string>{"CHOWN", "SETUID"}));
  EXPECT_EQ(back->confinement->user, "999:999");
  EXPECT_TRUE(back->confinement->read_only_rootfs);
  EXPECT_EQ(back->confinement->tmpfs, std::vector<std::string>{"/tmp"});
  ASSERT_EQ(back->secret_files.size(), 1u);
  EXPECT_EQ(back->secret_files[0].name, "postgres_password");
  EXPECT_EQ(back->secret_files[0].content, "pw");
}

TEST(Protocol, SpecStoredBeforeConfinementDecodesWithoutIt) {
  auto back = DecodeSpec(R"({"image":"x","env":[],"command":[],"ports":[],"volumes":[]})");
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_FALSE(back->confinement.has_value());
  EXPECT_TRUE(back->secret_files.empty());
}

TEST(Protocol, AssignmentCarriesTenantAndName) {
  Assignment a{"wl_1", 3, DesiredState::kRunning, SampleSpec(), "usr_1", "db"};
  auto back = Decode(Encode(Upsert{a}));
  ASSERT_TRUE(back.ok()) << back.error().message;
  const auto& u = std::get<Upsert>(*back);
  EXPECT_EQ(u.assignment.tenant, "usr_1");
  EXPECT_EQ(u.assignment.name, "db");
}

TEST(Protocol, WelcomeFromAServerWithoutReplicasHasNoServers) {
  auto m = Decode(R"({"type":"welcome","node_id":"n","heartbeat_seconds":5})");
  ASSERT_TRUE(m.ok()) << m.error().message;
  const auto* w = std::get_if<Welcome>(&*m);
  ASSERT_NE(w, nullptr);
  EXPECT_TRUE(w->servers.empty());
}

TEST(Protocol, SpecSurvivesEncoding) {
  auto s = DecodeSpec(EncodeSpec(SampleSpec()));
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->image, "lattice/postgres:15");
  EXPECT_EQ(s->env.size(), 2u);
  EXPECT_EQ(s->readiness.kind, templates::Readiness::Kind::kPostgres);
  EXPECT_EQ(s->readiness.password, "p");
  EXPECT_EQ(s->volumes[0].container_path, "/var/lib/postgresql/data");
  EXPECT_DOUBLE_EQ(s->cpus, 0.5);
}

TEST(Protocol, APortsIdleTimeoutTravelsInTheSpecAndIsOptional) {
  templates::RenderedWorkload spec = SampleSpec();
  spec.ports.push_back({"console", 9001, "tcp", "http", 7200});
  const std::string text = EncodeSpec(spec);
  EXPECT_EQ(text.find("\"idle_timeout_s\":0"), std::string::npos);  // unset: not written
  auto s = DecodeSpec(text);
  ASSERT_TRUE(s.ok()) << s.error().message;
  ASSERT_EQ(s->ports.size(), 2u);
  EXPECT_EQ(s->ports[0].idle_timeout_s, 0);
  EXPECT_EQ(s->ports[1].idle_timeout_s, 7200);
  // A spec stored before ports had idle timeouts still decodes, with the default.
  auto old = DecodeSpec(
      R"({"image":"x","ports":[{"name":"port-80","container_port":80,"protocol":"tcp","scheme":"tcp"}]})");
  ASSERT_TRUE(old.ok()) << old.error().message;
  EXPECT_EQ(old->ports[0].idle_timeout_s, 0);
  EXPECT_FALSE(DecodeSpec(R"({"image":"x","ports":[{"name":"p","container_port":80,)"
                          R"("protocol":"tcp","scheme":"tcp","idle_timeout_s":-5}]})")
                   .ok());
}

TEST(Protocol, APortsPublishMarkerTravelsInTheSpecOnlyWhenSet) {
  templates::RenderedWorkload spec = SampleSpec();
  const std::string unpublished = EncodeSpec(spec);
  EXPECT_EQ(unpublished.find("publish"), std::string::npos);  // older agents' hashes unchanged
  spec.ports[0].publish = true;
  auto s = DecodeSpec(EncodeSpec(spec));
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_TRUE(s->ports[0].publish);
  auto d = DecodeSpec(unpublished);
  ASSERT_TRUE(d.ok());
  EXPECT_FALSE(d->ports[0].publish);
  EXPECT_FALSE(DecodeSpec(R"({"image":"x","ports":[{"name":"p","container_port":80,)"
                          R"("protocol":"tcp","scheme":"tcp","publish":"yes"}]})")
                   .ok());
}

TEST(Protocol, StreamOpenCarriesTheIdleTimeoutWhenSet) {
  auto m = Decode(
      R"({"type":"stream.open","stream_id":"s","secret":"x","workload_id":"w","container_port":80})");
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(std::get<StreamOpen>(*m).idle_timeout_ms, 0);  // an older server: the agent's own
  auto n = Decode(Encode(StreamOpen{"s", "x", "w", 80, "", 90'000}));
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(std::get<StreamOpen>(*n).idle_timeout_ms, 90'000);
}

// The states are enums in code and the same names on the wire as before they were typed, so
// agents and servers of either kind still understand each other.
TEST(Protocol, StatesTravelAsTheirNames) {
  const std::string status =
      R"({"type":"status","workload_id":"wl_1","generation":3,"state":"running","reason":"",)"
      R"("bindings":[{"container_port":5432,"host_port":40000}]})";
  auto m = Decode(status);
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(std::get<StatusReport>(*m).state, WorkloadStatus::kRunning);
  EXPECT_EQ(Encode(*m), status);

  const std::pair<const char*, WorkloadStatus> reported[] = {
      {"creating", WorkloadStatus::kCreating}, {"starting", WorkloadStatus::kStarting},
      {"running", WorkloadStatus::kRunning},   {"stopped", WorkloadStatus::kStopped},
      {"failed", WorkloadStatus::kFailed},     {"deleted", WorkloadStatus::kDeleted}};
  for (const auto& [name, state] : reported) {
    const std::string text = Encode(StatusReport{"w", 1, state, "", {}, ""});
    EXPECT_NE(text.find(std::string(R"("state":")") + name + '"'), std::string::npos) << text;
    auto back = Decode(text);
    ASSERT_TRUE(back.ok()) << back.error().message;
    EXPECT_EQ(std::get<StatusReport>(*back).state, state) << name;
  }

  const std::pair<const char*, DesiredState> desired[] = {{"running", DesiredState::kRunning},
                                                          {"stopped", DesiredState::kStopped},
                                                          {"deleted", DesiredState::kDeleted}};
  for (const auto& [name, state] : desired) {
    auto u = Decode(std::string(R"({"type":"upsert","assignment":{"workload_id":"w",)") +
                    R"("generation":1,"desired_state":")" + name + R"(","spec":{"image":"x"}}})");
    ASSERT_TRUE(u.ok()) << u.error().message;
    EXPECT_EQ(std::get<Upsert>(*u).assignment.desired_state, state) << name;
    EXPECT_NE(Encode(*u).find(std::string(R"("desired_state":")") + name + '"'), std::string::npos);
  }

  Hello h;
  h.name = "n";
  h.running = {{"wl_1", 3, WorkloadStatus::kStopped}};
  const std::string hello = Encode(h);
  EXPECT_NE(hello.find(R"("running":[{"workload_id":"wl_1","generation":3,"state":"stopped"}])"),
            std::string::npos)
      << hello;
}

TEST(Protocol, AnUnknownStateNameMakesTheMessageUndecodable) {
  auto status = Decode(R"({"type":"status","workload_id":"w","generation":1,"state":"exploded"})");
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.error().message.find("state 'exploded' is unknown"), std::string::npos)
      << status.error().message;
  EXPECT_FALSE(Decode(R"({"type":"status","workload_id":"w","generation":1,"state":""})").ok());
  EXPECT_FALSE(
      Decode(R"({"type":"status","workload_id":"w","generation":1,"state":"Running"})").ok());
  EXPECT_FALSE(Decode(R"({"type":"assignments","items":[{"workload_id":"w","generation":1,)"
                      R"("desired_state":"paused","spec":{"image":"x"}}]})")
                   .ok());
  EXPECT_FALSE(Decode(R"({"type":"hello","protocol":2,"name":"n",)"
                      R"("running":[{"workload_id":"w","generation":1,"state":"hibernating"}]})")
                   .ok());
}

TEST(Protocol, RejectsMalformedInput) {
  for (
      const char* bad :
      {"", "{", "[]", "3", R"({"type":"nope"})", R"({"type":5})",
       R"({"type":"status","workload_id":"w","generation":"x","state":"s"})",
       R"({"type":"status","workload_id":"w","state":"s"})",
       R"({"type":"upsert","assignment":{"workload_id":"w","generation":1,"desired_state":"exploded","spec":{"image":"x"}}})",
       R"({"type":"welcome","node_id":"n","heartbeat_seconds":0})",
       R"({"type":"welcome","node_id":"n","heartbeat_seconds":5,"servers":[1]})",
       R"({"type":"logs.data","stream_id":"s","lines":[1]})",
       R"({"type":"stream.open","stream_id":"s","secret":"x","workload_id":"w","container_port":0})",
       R"({"type":"stream.open","stream_id":"s","workload_id":"w","container_port":80})",
       R"({"type":"stream.open","stream_id":"s","secret":"x","workload_id":"w","container_port":80,"idle_timeout_ms":-1})"}) {
    EXPECT_FALSE(Decode(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace lattice::link
