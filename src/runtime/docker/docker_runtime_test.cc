// DockerRuntime against the real Docker engine (testing/engine_fixture.h: which engine, which
// image, skipping when none answers, cleaning up), and the few things that need no engine.
// Its log readers (StreamLogs) are tested in log_reader_test.cc.
#include "runtime/docker/docker_runtime.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "runtime/docker/testing/engine_fixture.h"

namespace lattice::runtime::docker {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using boost::beast::http::verb;
using testing::kRunLabel;
using testing::Req;
using testing::SecondsSince;
using testing::WaitFor;

class DockerRuntimeTest : public testing::EngineTest {};

// One HTTP/1.0 GET of / on 127.0.0.1:port; empty on any failure.
std::string HttpGet(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  timeval tv{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string out;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    std::string req = "GET / HTTP/1.0\r\nHost: localhost\r\n\r\n";
    if (::write(fd, req.data(), req.size()) == static_cast<ssize_t>(req.size())) {
      char buf[4096];
      ssize_t n;
      while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
    }
  }
  ::close(fd);
  return out;
}

TEST_F(DockerRuntimeTest, Lifecycle) {
  ContainerSpec spec =
      Spec("web", {"sh", "-c",
                   "mkdir -p /www && echo \"$GREETING\" > /www/index.html && "
                   "if [ -f /data/marker ]; then echo \"marker: $(cat /data/marker)\"; "
                   "else echo first-boot > /data/marker; fi; echo started; "
                   "exec httpd -f -p 8080 -h /www"});
  spec.env = {"GREETING=hello-lattice"};
  spec.ports = {{8080, "tcp", "127.0.0.1", 0}};
  std::string volume = "lattice-test-" + Run() + "-data";
  spec.volumes = {{volume, "/data"}};
  spec.memory_bytes = 64 << 20;
  spec.cpus = 0.5;

  ASSERT_TRUE(rt_->EnsureImage(Image()).ok());
  auto created = rt_->Create(spec);
  ASSERT_TRUE(created.ok()) << created.error().message;
  const std::string id = *created;

  // The limits and the restart policy reached the engine.
  auto raw = rt_->client().Call(Req(verb::get, "/containers/" + id + "/json"));
  ASSERT_TRUE(raw.ok());
  json::object host = json::parse(raw->body).at("HostConfig").as_object();
  EXPECT_EQ(host.at("Memory").to_number<std::int64_t>(), 64 << 20);
  EXPECT_EQ(host.at("NanoCpus").to_number<std::int64_t>(), 500000000);
  EXPECT_EQ(host.at("RestartPolicy").at("Name").as_string(), "no");

  ASSERT_TRUE(rt_->Start(id).ok());
  auto info = rt_->Inspect(id);
  ASSERT_TRUE(info.ok()) << info.error().message;
  EXPECT_TRUE(info->running);
  EXPECT_EQ(info->state, "running");
  EXPECT_EQ(info->name, spec.name);
  EXPECT_EQ(info->labels[kRunLabel], Run());
  ASSERT_EQ(info->ports.size(), 1u);
  EXPECT_EQ(info->ports[0].container_port, 8080);
  EXPECT_EQ(info->ports[0].host_ip, "127.0.0.1");
  const int port = info->ports[0].host_port;
  ASSERT_GT(port, 0);

  std::string page;
  EXPECT_TRUE(WaitFor(
      [&] {
        page = HttpGet(port);
        return page.find("hello-lattice") != std::string::npos;
      },
      10s))
      << "answer on port " << port << ": " << page;

  auto listed = rt_->ListByLabel(kRunLabel);
  ASSERT_TRUE(listed.ok()) << listed.error().message;
  EXPECT_TRUE(std::any_of(listed->begin(), listed->end(),
                          [&](const ContainerInfo& c) { return c.id == id && c.running; }));

  EXPECT_TRUE(WaitFor([&] { return LogsOf(id).find("started\n") != std::string::npos; }, 5s))
      << LogsOf(id);
  EXPECT_EQ(LogsOf(id).find("marker:"), std::string::npos);
  auto tail = rt_->Logs(id, 1);
  ASSERT_TRUE(tail.ok());
  EXPECT_EQ(*tail, "started\n");

  auto stop_start = Clock::now();
  ASSERT_TRUE(rt_->Stop(id, 1s).ok());
  EXPECT_LT(SecondsSince(stop_start), 10);
  info = rt_->Inspect(id);
  ASSERT_TRUE(info.ok());
  EXPECT_FALSE(info->running);
  EXPECT_EQ(info->state, "exited");
  EXPECT_TRUE(rt_->Stop(id, 1s).ok()) << "stopping a stopped container is ok";

  // The volume's data survives a restart.
  ASSERT_TRUE(rt_->Start(id).ok());
  EXPECT_TRUE(
      WaitFor([&] { return LogsOf(id).find("marker: first-boot") != std::string::npos; }, 5s))
      << LogsOf(id);

  ASSERT_TRUE(rt_->Remove(id).ok());
  auto gone = rt_->Inspect(id);
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.error().code, ErrorCode::kNotFound);
  EXPECT_TRUE(rt_->Remove(id).ok()) << "removing a missing container is ok";
  ASSERT_TRUE(rt_->RemoveVolume(volume).ok());
  auto vol = rt_->client().Call(Req(verb::get, "/volumes/" + volume));
  ASSERT_TRUE(vol.ok());
  EXPECT_EQ(vol->status, 404);
  EXPECT_TRUE(rt_->RemoveVolume(volume).ok()) << "removing a missing volume is ok";
}

TEST_F(DockerRuntimeTest, HasImageSaysWhetherAnImageIsPresentWithoutPulling) {
  auto present = rt_->HasImage(Image());
  ASSERT_TRUE(present.ok()) << present.error().message;
  EXPECT_TRUE(*present);
  auto absent = rt_->HasImage("lattice-test/no-such-image:" + Run());
  ASSERT_TRUE(absent.ok()) << absent.error().message;
  EXPECT_FALSE(*absent);
}

TEST_F(DockerRuntimeTest, MissingImageIsNotFoundQuickly) {
  std::string image = "lattice-test/no-such-image:" + Run();
  auto start = Clock::now();
  Status st = rt_->EnsureImage(image);
  double took = SecondsSince(start);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, ErrorCode::kNotFound);
  // One classified sentence naming the image; the engine's own words only as a member.
  EXPECT_EQ(st.error().message.rfind("image \"" + image + "\"", 0), 0u) << st.error().message;
  for (const char* engine_word : {"dial tcp", "lookup", "Error response", "docker login"})
    EXPECT_EQ(st.error().message.find(engine_word), std::string::npos) << st.error().message;
  EXPECT_FALSE(st.error().type.empty());
  ASSERT_FALSE(st.error().members.empty());
  EXPECT_EQ(st.error().members[0].name, "engine_detail");
  EXPECT_LT(took, 60);
  std::printf("EnsureImage(missing) took %.3f s: %s\n", took, st.error().message.c_str());

  ContainerSpec spec = Spec("noimage", {});
  spec.image = image;
  auto created = rt_->Create(spec);
  ASSERT_FALSE(created.ok());
  EXPECT_EQ(created.error().code, ErrorCode::kNotFound);
}

TEST_F(DockerRuntimeTest, PortAlreadyTakenIsConflict) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(fd, 1), 0);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  int taken = ntohs(addr.sin_port);

  ContainerSpec spec = Spec("porttaken", {"httpd", "-f", "-p", "8080"});
  spec.ports = {{8080, "tcp", "127.0.0.1", taken}};
  auto id = rt_->Create(spec);
  ASSERT_TRUE(id.ok()) << id.error().message;
  Status st = rt_->Start(*id);
  ::close(fd);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, ErrorCode::kConflict) << st.error().message;
  EXPECT_NE(st.error().message.find(std::to_string(taken)), std::string::npos)
      << st.error().message;
  std::printf("port %d taken: %s\n", taken, st.error().message.c_str());
}

TEST_F(DockerRuntimeTest, NameTakenIsConflict) {
  ContainerSpec spec = Spec("twice", {"true"});
  ASSERT_TRUE(rt_->Create(spec).ok());
  auto again = rt_->Create(spec);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, ErrorCode::kConflict) << again.error().message;
}

TEST_F(DockerRuntimeTest, VolumeInUseIsConflict) {
  ContainerSpec spec = Spec("voluser", {"true"});
  std::string volume = "lattice-test-" + Run() + "-inuse";
  spec.volumes = {{volume, "/data"}};
  auto id = rt_->Create(spec);
  ASSERT_TRUE(id.ok()) << id.error().message;
  Status st = rt_->RemoveVolume(volume);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, ErrorCode::kConflict) << st.error().message;
  ASSERT_TRUE(rt_->Remove(*id).ok());
  EXPECT_TRUE(rt_->RemoveVolume(volume).ok());
}

TEST_F(DockerRuntimeTest, InfoDescribesTheNode) {
  auto info = rt_->Info();
  ASSERT_TRUE(info.ok()) << info.error().message;
  EXPECT_GT(info->cpus, 0);
  EXPECT_GT(info->memory_bytes, 0);
  EXPECT_FALSE(info->engine_version.empty());
  EXPECT_FALSE(info->os.empty());
  EXPECT_GE(info->disk_bytes, 0);
  std::printf("engine %s on %s: %d CPUs, %lld MiB memory, %lld MiB free disk\n",
              info->engine_version.c_str(), info->os.c_str(), info->cpus,
              static_cast<long long>(info->memory_bytes >> 20),
              static_cast<long long>(info->disk_bytes >> 20));
}

TEST_F(DockerRuntimeTest, InspectAndLogsOfAMissingContainerAreNotFound) {
  auto info = rt_->Inspect("lattice-test-" + Run() + "-nobody");
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(info.error().code, ErrorCode::kNotFound);
  auto logs = rt_->Logs("lattice-test-" + Run() + "-nobody", 10);
  ASSERT_FALSE(logs.ok());
  EXPECT_EQ(logs.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(rt_->Start("lattice-test-" + Run() + "-nobody").error().code, ErrorCode::kNotFound);
}

TEST_F(DockerRuntimeTest, ConcurrentCallsShareOneRuntime) {
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 3; ++i) {
        if (!rt_->Ping().ok() || !rt_->Info().ok()) ++failures;
        auto missing = rt_->Inspect("lattice-test-" + Run() + "-nobody");
        if (missing.ok() || missing.error().code != ErrorCode::kNotFound) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
}

// --- Without an engine ------------------------------------------------------------------------

TEST(DockerRuntimeNoEngineTest, EngineDownIsUnavailableWithoutHanging) {
  auto rt = NewDockerRuntime("unix:///nonexistent/lattice/docker.sock");
  ASSERT_TRUE(rt.ok());
  auto start = Clock::now();
  Status ping = (*rt)->Ping();
  ASSERT_FALSE(ping.ok());
  EXPECT_EQ(ping.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(ping.error().message.find(
                "the Docker engine at unix:///nonexistent/lattice/docker.sock is not answering"),
            std::string::npos)
      << ping.error().message;
  EXPECT_EQ((*rt)->Info().error().code, ErrorCode::kUnavailable);
  EXPECT_EQ((*rt)->EnsureImage("x").error().code, ErrorCode::kUnavailable);
  EXPECT_EQ((*rt)->Inspect("x").error().code, ErrorCode::kUnavailable);
  EXPECT_EQ((*rt)->Logs("x", 1).error().code, ErrorCode::kUnavailable);
  ContainerSpec spec;
  spec.name = "x";
  spec.image = "y";
  EXPECT_EQ((*rt)->Create(spec).error().code, ErrorCode::kUnavailable);
  EXPECT_LT(SecondsSince(start), 2.0);
}

TEST(DockerRuntimeNoEngineTest, UnsupportedAddressIsInvalid) {
  auto rt = NewDockerRuntime("ssh://me@host");
  ASSERT_FALSE(rt.ok());
  EXPECT_EQ(rt.error().code, ErrorCode::kInvalidArgument);
}

TEST(DockerRuntimeNoEngineTest, ResolveDockerHost) {
  const char* saved = std::getenv("DOCKER_HOST");
  std::string keep = saved != nullptr ? saved : "";
  ::setenv("DOCKER_HOST", "unix:///from/env.sock", 1);
  EXPECT_EQ(ResolveDockerHost("tcp://flag:2375"), "tcp://flag:2375");
  EXPECT_EQ(ResolveDockerHost(""), "unix:///from/env.sock");
  ::unsetenv("DOCKER_HOST");
  EXPECT_EQ(ResolveDockerHost(""), "unix:///var/run/docker.sock");
  if (saved != nullptr) ::setenv("DOCKER_HOST", keep.c_str(), 1);
}

TEST_F(DockerRuntimeTest, NetworksCarryTheirSubnetAndAliasesAndGoAwayWhenAsked) {
  NetworkSpec n;
  n.name = "lattice-test-net-" + Run();
  n.subnet = "10.214.77.0/28";
  n.gateway = "10.214.77.1";
  n.bridge_name = "ltt-" + Run().substr(0, 8);
  n.labels = {{kRunLabel, Run()}};
  auto id = rt_->CreateNetwork(n);
  ASSERT_TRUE(id.ok()) << id.error().message;
  auto again = rt_->CreateNetwork(n);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, ErrorCode::kConflict);  // the name exists
  NetworkSpec overlap = n;
  overlap.name += "-b";
  overlap.bridge_name = "ltu-" + Run().substr(0, 8);
  auto clash = rt_->CreateNetwork(overlap);
  ASSERT_FALSE(clash.ok());
  EXPECT_EQ(clash.error().code, ErrorCode::kConflict) << clash.error().message;  // same subnet

  auto list = rt_->ListNetworks();
  ASSERT_TRUE(list.ok()) << list.error().message;
  auto it =
      std::find_if(list->begin(), list->end(), [&](const NetworkInfo& i) { return i.id == *id; });
  ASSERT_NE(it, list->end());
  EXPECT_EQ(it->subnets, std::vector<std::string>{"10.214.77.0/28"});
  EXPECT_EQ(it->labels.at(kRunLabel), Run());

  ContainerSpec spec = Spec("net", {"sleep", "30"});
  spec.network = n.name;
  spec.aliases = {"db"};
  const std::string cid = CreateAndStart(spec);
  auto info = rt_->Inspect(cid);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->network_mode, n.name);
  ASSERT_EQ(info->addresses.count(n.name), 1u);
  EXPECT_EQ(info->addresses.at(n.name).rfind("10.214.77.", 0), 0u) << info->addresses.at(n.name);
  auto busy = rt_->RemoveNetwork(n.name);
  ASSERT_FALSE(busy.ok());
  EXPECT_EQ(busy.error().code, ErrorCode::kConflict);  // a running container is attached
  ASSERT_TRUE(rt_->Remove(cid).ok());
  EXPECT_TRUE(rt_->RemoveNetwork(n.name).ok());
  EXPECT_TRUE(rt_->RemoveNetwork(n.name).ok());  // missing is fine
}

TEST_F(DockerRuntimeTest, ConfinedContainerAndSecretFilesOnAReadOnlyRoot) {
  ContainerSpec spec =
      Spec("confined", {"sh", "-c",
                        "cat /run/secrets/pw; echo; grep -E '^(NoNewPrivs|CapEff)' "
                        "/proc/self/status; touch /x 2>&1; touch /tmp/y && echo tmp-ok"});
  spec.volumes = {{"lattice-test-" + Run() + "-secrets", "/run/secrets"}};
  spec.confinement.read_only_rootfs = true;
  spec.confinement.tmpfs = {"/tmp"};
  spec.confinement.cap_add = {"CHOWN"};
  spec.memory_bytes = 32 << 20;
  auto id = rt_->Create(spec);
  ASSERT_TRUE(id.ok()) << id.error().message;
  Status copied = rt_->CopyFiles(*id, "/run/secrets", {{"pw", "hunter2", 0400}});
  ASSERT_TRUE(copied.ok()) << copied.error().message;
  ASSERT_TRUE(rt_->Start(*id).ok());
  ASSERT_TRUE(WaitFor(
      [&] {
        auto i = rt_->Inspect(*id);
        return i.ok() && !i->running;
      },
      20s));
  auto logs = rt_->Logs(*id, 0);
  ASSERT_TRUE(logs.ok()) << logs.error().message;
  EXPECT_NE(logs->find("hunter2"), std::string::npos) << *logs;
  EXPECT_NE(logs->find("NoNewPrivs:\t1"), std::string::npos) << *logs;
  EXPECT_NE(logs->find("CapEff:\t0000000000000001"), std::string::npos) << *logs;  // CHOWN only
  EXPECT_NE(logs->find("Read-only file system"), std::string::npos) << *logs;
  EXPECT_NE(logs->find("tmp-ok"), std::string::npos) << *logs;
  auto raw = rt_->client().Call(Req(verb::get, "/containers/" + *id + "/json"));
  ASSERT_TRUE(raw.ok());
  EXPECT_EQ(raw->body.find("hunter2"), std::string::npos) << "a secret in docker inspect";
}

}  // namespace
}  // namespace lattice::runtime::docker
