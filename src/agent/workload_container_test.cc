// Pure pieces of the agent: container naming and spec mapping, server URL parsing, backoff,
// and the node identity file.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "agent/backoff.h"
#include "agent/link_transport.h"
#include "agent/node_identity.h"
#include "agent/workload_container.h"

namespace lattice::agent {
namespace {

link::Assignment WebAssignment() {
  link::Assignment a;
  a.workload_id = "wl_abc";
  a.generation = 7;
  a.desired_state = DesiredState::kRunning;
  a.spec.image = "lattice/busybox:dev";
  a.spec.env = {"A=1"};
  a.spec.command = {"sh", "-c", "true"};
  a.spec.ports = {{"port-8080", 8080, "tcp", "http"}, {"port-53-udp", 53, "udp", "udp"}};
  a.spec.volumes = {{"data", "/data"}};
  a.spec.memory_mb = 64;
  a.spec.cpus = 0.5;
  return a;
}

TEST(WorkloadContainer, NamesAndIds) {
  EXPECT_EQ(ContainerName("wl_abc"), "lattice-wl_abc");
  EXPECT_EQ(VolumeName("wl_abc", "data"), "lattice-wl_abc-data");
  EXPECT_EQ(VolumeName("wl_abc", "data", 0), "lattice-wl_abc-data");
  EXPECT_EQ(VolumeName("wl_abc", "data", 3), "lattice-wl_abc-data.r3");
  EXPECT_TRUE(IsValidWorkloadId("wl_abc.1-x"));
  EXPECT_FALSE(IsValidWorkloadId(""));
  EXPECT_FALSE(IsValidWorkloadId("-x"));
  EXPECT_FALSE(IsValidWorkloadId("a/b"));
  EXPECT_FALSE(IsValidWorkloadId("a b"));
  EXPECT_FALSE(IsValidWorkloadId(std::string(129, 'a')));
}

TEST(WorkloadContainer, SpecMapsPortsVolumesLimitsAndLabels) {
  const runtime::ContainerSpec c = ToContainerSpec(WebAssignment(), "node_1");
  EXPECT_EQ(c.name, "lattice-wl_abc");
  EXPECT_EQ(c.image, "lattice/busybox:dev");
  // The tcp port is reached on the container's address: not published. The edge carries no
  // udp, so a udp port is published on the node's loopback.
  ASSERT_EQ(c.ports.size(), 1u);
  EXPECT_EQ(c.ports[0].container_port, 53);
  EXPECT_EQ(c.ports[0].protocol, "udp");
  EXPECT_EQ(c.ports[0].host_ip, "127.0.0.1");
  EXPECT_EQ(c.ports[0].host_port, 0);
  ASSERT_EQ(c.volumes.size(), 1u);
  EXPECT_EQ(c.volumes[0].volume, "lattice-wl_abc-data");
  EXPECT_EQ(c.volumes[0].container_path, "/data");
  EXPECT_EQ(c.memory_bytes, 64 * 1024 * 1024);
  EXPECT_DOUBLE_EQ(c.cpus, 0.5);
  EXPECT_EQ(c.labels.at(kLabelWorkload), "wl_abc");
  EXPECT_EQ(c.labels.at(kLabelNode), "node_1");
  EXPECT_EQ(c.labels.at(kLabelGeneration), "7");
  EXPECT_EQ(c.labels.at(kLabelSpec), SpecHash(WebAssignment().spec));
}

TEST(WorkloadContainer, APortIsPublishedOnlyWhenAsked) {
  link::Assignment a = WebAssignment();
  const std::string before = SpecHash(a.spec);
  a.spec.ports[0].publish = true;
  const runtime::ContainerSpec c = ToContainerSpec(a, "node_1");
  ASSERT_EQ(c.ports.size(), 2u);
  EXPECT_EQ(c.ports[0].container_port, 8080);
  EXPECT_EQ(c.ports[0].host_ip, "127.0.0.1");
  EXPECT_EQ(c.ports[0].host_port, 0);
  EXPECT_NE(SpecHash(a.spec), before) << "asking to publish needs a new container";
}

TEST(WorkloadContainer, TheNodeReachesAContainerOnItsOwnAddress) {
  runtime::ContainerInfo c;
  c.network_mode = "lattice-t-abc";
  c.addresses = {{"lattice-t-abc", "10.213.0.5"}};
  c.ports = {{8080, "tcp", "127.0.0.1", 32001}};
  EXPECT_EQ(AddressOf(c), "10.213.0.5");
  const ContainerTarget t = TargetFor(c, 8080);
  EXPECT_EQ(t.host, "10.213.0.5");
  EXPECT_EQ(t.port, 8080) << "the container port, not the published one";
  EXPECT_EQ(ReachOf(c).address, "10.213.0.5");
  ASSERT_EQ(ReachOf(c).bindings.size(), 1u);

  c.network_mode = "default";  // the engine's default bridge
  c.addresses = {{"bridge", "172.17.0.3"}};
  EXPECT_EQ(AddressOf(c), "172.17.0.3");

  c.addresses.clear();  // not running: no address; a published port is the way in
  EXPECT_EQ(TargetFor(c, 8080).ToString(), "127.0.0.1:32001");
  EXPECT_FALSE(TargetFor(c, 9000).ok());
}

TEST(WorkloadContainer, EveryContainerIsConfined) {
  link::Assignment a = WebAssignment();
  a.spec.memory_mb = 0;  // a spec stored before every workload had a limit
  const runtime::ContainerSpec c = ToContainerSpec(a, "node_1");
  EXPECT_EQ(c.memory_bytes, kDefaultMemoryMb * 1024 * 1024);
  EXPECT_EQ(c.confinement.pids_limit, kPidsLimit);
  EXPECT_EQ(c.confinement.cpu_shares, 512);  // 0.5 CPU
  // No confinement in the spec (an older server): custom's, the strictest.
  EXPECT_EQ(c.confinement.cap_add, std::vector<std::string>{"NET_BIND_SERVICE"});
  EXPECT_TRUE(c.network.empty());  // no network asked: the engine's default
}

TEST(WorkloadContainer, TemplateConfinementAndSecretsVolume) {
  link::Assignment a = WebAssignment();
  a.spec.confinement = templates::DefaultConfinement("postgres");
  a.spec.secret_files = {{"postgres_password", "pw"}};
  const runtime::ContainerSpec c = ToContainerSpec(a, "node_1", "lattice-t-usr_1");
  EXPECT_TRUE(c.confinement.read_only_rootfs);
  EXPECT_EQ(c.confinement.tmpfs, (std::vector<std::string>{"/tmp", "/var/run/postgresql"}));
  ASSERT_EQ(c.volumes.size(), 2u);
  EXPECT_EQ(c.volumes[1].volume, "lattice-wl_abc-secrets");
  EXPECT_EQ(c.volumes[1].container_path, "/run/secrets");
  EXPECT_EQ(VolumeNamesOf(a),
            (std::vector<std::string>{"lattice-wl_abc-data", "lattice-wl_abc-secrets"}));
  for (const auto& e : c.env) EXPECT_EQ(e.find("pw"), std::string::npos) << e;
}

TEST(WorkloadContainer, ARestoreInPlaceMountsTheNextEpochsVolumesAndReplacesTheOlder) {
  link::Assignment a = WebAssignment();
  a.spec.secret_files = {{"postgres_password", "pw"}};
  EXPECT_TRUE(ReplacedVolumeNamesOf(a).empty());
  const std::string hash0 = SpecHash(a.spec);
  a.spec.volume_epoch = 2;
  EXPECT_NE(SpecHash(a.spec), hash0) << "a new epoch is a new container";
  const runtime::ContainerSpec c = ToContainerSpec(a, "node_1");
  ASSERT_EQ(c.volumes.size(), 2u);
  EXPECT_EQ(c.volumes[0].volume, "lattice-wl_abc-data.r2");
  EXPECT_EQ(c.volumes[0].container_path, "/data");
  EXPECT_EQ(c.volumes[1].volume, "lattice-wl_abc-secrets") << "secrets are not data: one set";
  EXPECT_EQ(VolumeNamesOf(a),
            (std::vector<std::string>{"lattice-wl_abc-data.r2", "lattice-wl_abc-secrets"}));
  EXPECT_EQ(ReplacedVolumeNamesOf(a),
            (std::vector<std::string>{"lattice-wl_abc-data", "lattice-wl_abc-data.r1"}));
}

TEST(WorkloadContainer, TenantNetworkAndAlias) {
  link::Assignment a = WebAssignment();
  a.tenant = "usr_1";
  a.name = "web";
  const runtime::ContainerSpec c = ToContainerSpec(a, "node_1", "lattice-t-usr_1");
  EXPECT_EQ(c.network, "lattice-t-usr_1");
  EXPECT_EQ(c.aliases, std::vector<std::string>{"web"});
  // Moving to the tenant network is a change that needs a new container.
  EXPECT_NE(c.labels.at(kLabelSpec), SpecHash(a.spec));
  EXPECT_EQ(c.labels.at(kLabelSpec), SpecHash(a.spec, "lattice-t-usr_1"));
}

TEST(WorkloadContainer, SpecHashIgnoresReadinessButNotTheImage) {
  link::Assignment a = WebAssignment(), b = WebAssignment();
  b.spec.readiness.kind = templates::Readiness::Kind::kTcp;
  EXPECT_EQ(SpecHash(a.spec), SpecHash(b.spec));
  EXPECT_EQ(SpecHash(a.spec).size(), 16u);
  b.spec.image = "other:1";
  EXPECT_NE(SpecHash(a.spec), SpecHash(b.spec));
}

TEST(WorkloadContainer, BindingsPreferTcpAndSkipUnpublished) {
  runtime::ContainerInfo c;
  c.ports = {{8080, "tcp", "127.0.0.1", 32001},
             {8080, "tcp", "::1", 32002},
             {53, "udp", "127.0.0.1", 32003},
             {9000, "tcp", "127.0.0.1", 0}};
  auto b = BindingsOf(c);
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(b[0].container_port, 53);
  EXPECT_EQ(b[0].host_port, 32003);
  EXPECT_EQ(b[1].container_port, 8080);
  EXPECT_EQ(b[1].host_port, 32001);
  EXPECT_EQ(HostPortFor(c, 8080), 32001);
  EXPECT_EQ(HostPortFor(c, 53), 0);  // udp is not probed
  EXPECT_EQ(HostPortFor(c, 9000), 0);
}

TEST(WorkloadContainer, ExitReasonAndLabels) {
  runtime::ContainerInfo c;
  c.exit_code = 137;
  c.oom_killed = true;
  EXPECT_EQ(ExitReason(c), "exited with code 137 (out of memory)");
  c.labels[kLabelGeneration] = "12";
  EXPECT_EQ(GenerationOf(c), 12);
  c.labels[kLabelGeneration] = "12x";
  EXPECT_EQ(GenerationOf(c), 0);
  EXPECT_EQ(LabelOf(c, "missing"), "");
}

TEST(ServerUrl, HttpsBecomesTheLinkPath) {
  auto ep = ParseServerUrl("https://127.0.0.1:8080");
  ASSERT_TRUE(ep.ok());
  EXPECT_EQ(ep->host, "127.0.0.1");
  EXPECT_EQ(ep->port, "8080");
  EXPECT_EQ(ep->target, "/api/v1/agent/link");
  EXPECT_EQ(ep->host_header, "127.0.0.1:8080");

  auto prefixed = ParseServerUrl("https://cloud.example/lattice/");
  ASSERT_TRUE(prefixed.ok());
  EXPECT_EQ(prefixed->port, "443");
  EXPECT_EQ(prefixed->target, "/lattice/api/v1/agent/link");

  auto v6 = ParseServerUrl("wss://[::1]:9");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->host, "::1");

  EXPECT_FALSE(ParseServerUrl("ftp://x").ok());
  EXPECT_FALSE(ParseServerUrl("not a url").ok());
  EXPECT_FALSE(ParseServerUrl("https://user:pw@host").ok());
}

TEST(ServerUrl, PlainUrlsAreRefusedBecauseAgentsSpeakTlsOnly) {
  for (const char* plain : {"http://127.0.0.1:8080", "ws://[::1]:9"}) {
    auto ep = ParseServerUrl(plain);
    ASSERT_FALSE(ep.ok()) << plain;
    EXPECT_EQ(ep.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(ep.error().message.find("agents connect over TLS only"), std::string::npos)
        << ep.error().message;
    EXPECT_NE(ep.error().message.find("https://"), std::string::npos);
  }
}

TEST(Backoff, FullJitterUnderAGrowingCappedCeiling) {
  Backoff b(std::chrono::milliseconds(500), std::chrono::milliseconds(30000), 42);
  EXPECT_EQ(b.Ceiling(0).count(), 500);
  EXPECT_EQ(b.Ceiling(1).count(), 1000);
  EXPECT_EQ(b.Ceiling(5).count(), 16000);
  EXPECT_EQ(b.Ceiling(6).count(), 30000);
  EXPECT_EQ(b.Ceiling(100).count(), 30000);
  for (int i = 0; i < 50; ++i) {
    const int n = b.attempts();
    const auto d = b.Next();
    EXPECT_GE(d.count(), 0);
    EXPECT_LE(d.count(), b.Ceiling(n).count());
  }
  b.Reset();
  EXPECT_EQ(b.attempts(), 0);
  EXPECT_LE(b.Next().count(), 500);
}

TEST(NodeIdentity, MissingThenSavedWithMode0600ThenCorrupt) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("agent-id-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  auto none = LoadNodeIdentity((dir / "state").string());
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());

  ASSERT_TRUE(SaveNodeIdentity((dir / "state").string(), {"node_1", "s3cret", "pin", {}}).ok());
  struct stat st {};
  ASSERT_EQ(::stat((dir / "state" / "node.json").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_FALSE(fs::exists(dir / "state" / "node.json.tmp"));
  auto loaded = LoadNodeIdentity((dir / "state").string());
  ASSERT_TRUE(loaded.ok());
  ASSERT_TRUE(loaded->has_value());
  EXPECT_EQ((*loaded)->node_id, "node_1");
  EXPECT_EQ((*loaded)->node_secret, "s3cret");
  EXPECT_EQ((*loaded)->ca_fingerprint, "pin");

  ASSERT_TRUE(
      SaveNodeIdentity((dir / "state").string(), {"node_1", "rotated", "", {"https://b:2"}}).ok());
  EXPECT_EQ((*LoadNodeIdentity((dir / "state").string()))->node_secret, "rotated");
  EXPECT_EQ((*LoadNodeIdentity((dir / "state").string()))->ca_fingerprint, "")
      << "files from before TLS links have no fingerprint";
  EXPECT_EQ((*LoadNodeIdentity((dir / "state").string()))->servers,
            std::vector<std::string>{"https://b:2"});
  EXPECT_TRUE((*loaded)->servers.empty());

  std::ofstream((dir / "state" / "node.json").string()) << "{\"node_id\": 3}";
  auto bad = LoadNodeIdentity((dir / "state").string());
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("node.json"), std::string::npos);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace lattice::agent
