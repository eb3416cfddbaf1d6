// DockerRuntime against the real Docker engine at ResolveDockerHost("") (scripts/ensure-docker.sh
// starts one). Skips, saying why, when no engine answers. Uses lattice/busybox:dev when present;
// otherwise imports a throw-away image from a static busybox on this machine
// ($LATTICE_TEST_BUSYBOX, or /bin/busybox from Debian's busybox-static) through the Engine API.
// Everything a test creates carries the label lattice-test.run=<this process's run id> and is
// removed in TearDown.
#include "runtime/docker/docker_runtime.h"
#include "common/test_env.h"

#include <arpa/inet.h>
#include <elf.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <optional>
#include <random>
#include <sstream>
#include <thread>

#include "runtime/docker/engine_json.h"

namespace lattice::runtime::docker {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using boost::beast::http::verb;

constexpr char kRunLabel[] = "lattice-test.run";
constexpr char kPreferredImage[] = "lattice/busybox:dev";

double SecondsSince(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

EngineRequest Req(verb method, std::string target) {
  EngineRequest r;
  r.method = method;
  r.target = std::move(target);
  return r;
}

bool WaitFor(const std::function<bool()>& pred, std::chrono::milliseconds limit) {
  auto deadline = Clock::now() + limit;
  while (Clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(100ms);
  }
  return pred();
}

// --- A throw-away busybox image, for machines without lattice/busybox:dev -------------------

bool IsStaticElf(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  Elf64_Ehdr eh{};
  if (!f.read(reinterpret_cast<char*>(&eh), sizeof eh)) return false;
  if (std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64) {
    return false;
  }
  for (int i = 0; i < eh.e_phnum; ++i) {
    Elf64_Phdr ph{};
    f.seekg(static_cast<std::streamoff>(eh.e_phoff + i * eh.e_phentsize));
    if (!f.read(reinterpret_cast<char*>(&ph), sizeof ph)) return false;
    if (ph.p_type == PT_INTERP) return false;
  }
  return true;
}

void TarEntry(std::string& tar, const std::string& name, char type, int mode,
              const std::string& data, const std::string& link = {}) {
  char h[512] = {};
  auto octal = [&h](std::size_t off, std::size_t len, std::uint64_t v) {
    std::snprintf(h + off, len, "%0*llo", static_cast<int>(len - 1),
                  static_cast<unsigned long long>(v));
  };
  std::memcpy(h, name.data(), std::min<std::size_t>(name.size(), 99));
  octal(100, 8, static_cast<std::uint64_t>(mode));
  octal(108, 8, 0);
  octal(116, 8, 0);
  octal(124, 12, data.size());
  octal(136, 12, 1700000000);
  std::memset(h + 148, ' ', 8);
  h[156] = type;
  std::memcpy(h + 157, link.data(), std::min<std::size_t>(link.size(), 99));
  std::memcpy(h + 257, "ustar", 6);
  std::memcpy(h + 263, "00", 2);
  unsigned sum = 0;
  for (unsigned char c : h) sum += c;
  std::snprintf(h + 148, 8, "%06o", sum);
  tar.append(h, sizeof h);
  tar.append(data);
  tar.append((512 - data.size() % 512) % 512, '\0');
}

std::string BusyboxRootfsTar(const std::string& busybox) {
  std::ifstream f(busybox, std::ios::binary);
  std::stringstream bin;
  bin << f.rdbuf();
  std::string tar;
  for (const char* d : {"bin/", "www/", "data/", "etc/"}) TarEntry(tar, d, '5', 0755, "");
  TarEntry(tar, "tmp/", '5', 01777, "");
  TarEntry(tar, "bin/busybox", '0', 0755, bin.str());
  for (const char* applet : {"sh", "echo", "sleep", "cat", "mkdir", "httpd", "printf", "ls"}) {
    TarEntry(tar, std::string("bin/") + applet, '2', 0777, "", "busybox");
  }
  TarEntry(tar, "etc/passwd", '0', 0644, "root:x:0:0:root:/:/bin/sh\n");
  tar.append(1024, '\0');
  return tar;
}

// Imports `tar` as image `name:tag` via POST /images/create?fromSrc=-.
Status ImportImage(const EngineClient& client, const std::string& name, const std::string& tag,
                   std::string tar) {
  EngineRequest req;
  req.method = verb::post;
  req.target = "/images/create?fromSrc=-&repo=" + UrlEncode(name) + "&tag=" + UrlEncode(tag);
  req.body = std::move(tar);
  req.content_type = "application/x-tar";
  ProgressScanner progress;
  StreamOptions opts;
  opts.body_timeout = 60s;
  opts.on_data = [&](std::string_view piece) {
    progress.Feed(piece);
    return true;
  };
  auto res = client.Stream(req, opts, 60s);
  if (!res.ok()) return std::move(res).error();
  if (res->status != 200) return ErrorFromResponse(*res, "import test image");
  progress.Finish();
  if (progress.error()) return Error::Internal("import test image: " + *progress.error());
  return Status::Ok();
}

// --- Process-wide set-up ----------------------------------------------------------------------

struct Suite {
  std::unique_ptr<DockerRuntime> rt;
  std::string skip;   // non-empty: why the engine tests skip
  std::string run;    // unique per process
  std::string image;  // the busybox image the tests run
  bool imported = false;
};

Suite& S() {
  static Suite s;
  return s;
}

class DockerRuntimeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    Suite& s = S();
    std::random_device rd;
    char run[16];
    std::snprintf(run, sizeof run, "%08x", rd());
    s.run = run;
    std::string host = ResolveDockerHost("");
    auto rt = DockerRuntime::Open(host, {.timeout = 30s, .pull_timeout = 60s});
    if (!rt.ok()) {
      s.skip = "bad Docker engine address: " + rt.error().message;
      return;
    }
    s.rt = std::move(rt).value();
    if (Status ping = s.rt->Ping(); !ping.ok()) {
      s.skip = "no Docker engine answers at " + host + " (" + ping.error().message +
               "); start one with scripts/ensure-docker.sh and export its DOCKER_HOST";
      return;
    }
    const char* forced = std::getenv("LATTICE_TEST_BUSYBOX");
    auto preferred =
        s.rt->client().Call(Req(verb::get, std::string("/images/") + kPreferredImage + "/json"));
    if (forced == nullptr && preferred.ok() && preferred->status == 200) {
      s.image = kPreferredImage;
      return;
    }
    std::string busybox = forced != nullptr ? forced : "/bin/busybox";
    if (!IsStaticElf(busybox)) {
      s.skip = std::string("neither ") + kPreferredImage +
               " (scripts/build-images.sh busybox) nor a static busybox (" + busybox +
               ", Debian's busybox-static; or set LATTICE_TEST_BUSYBOX) is available";
      return;
    }
    std::string name = "lattice-test/busybox";
    Status imported = ImportImage(s.rt->client(), name, s.run, BusyboxRootfsTar(busybox));
    if (!imported.ok()) {
      s.skip = "could not import a test image from " + busybox + ": " + imported.error().message;
      return;
    }
    s.image = name + ":" + s.run;
    s.imported = true;
  }

  static void TearDownTestSuite() {
    Suite& s = S();
    if (s.imported) {
      (void)s.rt->client().Call(
          Req(verb::delete_, "/images/" + UrlEncode(s.image, true) + "?force=1"));
    }
  }

  void SetUp() override {
    if (!S().skip.empty()) LATTICE_SKIP_UNLESS_REQUIRED() << S().skip;
    rt_ = S().rt.get();
  }

  // Removes every container and volume labelled with this run.
  void TearDown() override {
    if (rt_ == nullptr) return;
    auto list = rt_->ListByLabel(kRunLabel);
    ASSERT_TRUE(list.ok()) << list.error().message;
    for (const auto& c : *list) {
      if (c.labels.at(kRunLabel) == S().run) {
        EXPECT_TRUE(rt_->Remove(c.id).ok());
      }
    }
    json::object filters{
        {"label", json::array{json::value(std::string(kRunLabel) + "=" + S().run)}}};
    auto vols = rt_->client().Call(
        Req(verb::get, "/volumes?filters=" + UrlEncode(json::serialize(filters))));
    ASSERT_TRUE(vols.ok());
    json::value v = json::parse(vols->body);
    if (const auto* arr = v.as_object().if_contains("Volumes"); arr && arr->is_array()) {
      for (const auto& vol : arr->as_array()) {
        std::string name(vol.as_object().at("Name").as_string());
        EXPECT_TRUE(rt_->RemoveVolume(name).ok()) << name;
      }
    }
  }

  // A spec named and labelled for this run and test.
  ContainerSpec Spec(const std::string& suffix, std::vector<std::string> command) {
    ContainerSpec spec;
    spec.name = "lattice-test-" + S().run + "-" + suffix;
    spec.image = S().image;
    spec.command = std::move(command);
    spec.labels = {{kRunLabel, S().run}, {"lattice-test.case", suffix}};
    return spec;
  }

  std::string CreateAndStart(const ContainerSpec& spec) {
    auto id = rt_->Create(spec);
    EXPECT_TRUE(id.ok()) << id.error().message;
    if (!id.ok()) return {};
    Status st = rt_->Start(*id);
    EXPECT_TRUE(st.ok()) << st.error().message;
    return *id;
  }

  std::string LogsOf(const std::string& id) {
    auto logs = rt_->Logs(id, 0);
    return logs.ok() ? *logs : "<" + logs.error().message + ">";
  }

  DockerRuntime* rt_ = nullptr;
};

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
  std::string volume = "lattice-test-" + S().run + "-data";
  spec.volumes = {{volume, "/data"}};
  spec.memory_bytes = 64 << 20;
  spec.cpus = 0.5;

  ASSERT_TRUE(rt_->EnsureImage(S().image).ok());
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
  EXPECT_EQ(info->labels[kRunLabel], S().run);
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
  auto present = rt_->HasImage(S().image);
  ASSERT_TRUE(present.ok()) << present.error().message;
  EXPECT_TRUE(*present);
  auto absent = rt_->HasImage("lattice-test/no-such-image:" + S().run);
  ASSERT_TRUE(absent.ok()) << absent.error().message;
  EXPECT_FALSE(*absent);
}

TEST_F(DockerRuntimeTest, MissingImageIsNotFoundQuickly) {
  std::string image = "lattice-test/no-such-image:" + S().run;
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
  std::string volume = "lattice-test-" + S().run + "-inuse";
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
  auto info = rt_->Inspect("lattice-test-" + S().run + "-nobody");
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(info.error().code, ErrorCode::kNotFound);
  auto logs = rt_->Logs("lattice-test-" + S().run + "-nobody", 10);
  ASSERT_FALSE(logs.ok());
  EXPECT_EQ(logs.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(rt_->Start("lattice-test-" + S().run + "-nobody").error().code, ErrorCode::kNotFound);
}

TEST_F(DockerRuntimeTest, ConcurrentCallsShareOneRuntime) {
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 3; ++i) {
        if (!rt_->Ping().ok() || !rt_->Info().ok()) ++failures;
        auto missing = rt_->Inspect("lattice-test-" + S().run + "-nobody");
        if (missing.ok() || missing.error().code != ErrorCode::kNotFound) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
}

// --- Without an engine ------------------------------------------------------------------------

// Reads `reader` to its end on `ioc`, on this thread: every line, or the first error.
Result<std::vector<std::string>> ReadToEnd(boost::asio::io_context& ioc, LogReader& reader) {
  std::optional<Result<std::vector<std::string>>> out;
  auto read = [&]() -> boost::asio::awaitable<void> {
    std::vector<std::string> all;
    for (;;) {
      auto lines = co_await reader.Next();
      if (!lines.ok()) {
        out = lines.error();
        co_return;
      }
      if (lines->empty()) break;
      all.insert(all.end(), lines->begin(), lines->end());
    }
    out = std::move(all);
  };
  boost::asio::co_spawn(ioc, read(), boost::asio::detached);
  ioc.restart();
  ioc.run_for(10s);
  if (!out) return Error::Internal("the reader did not end within 10 s");
  return std::move(*out);
}

TEST_F(DockerRuntimeTest, StreamLogsReadsAndFollowsWithoutAThread) {
  std::string id = CreateAndStart(
      Spec("streamed", {"sh", "-c", "echo one; sleep 1; echo two >&2; sleep 0.2; echo three"}));
  ASSERT_FALSE(id.empty());
  boost::asio::io_context ioc;
  // Followed: the lines as they come, and the end when the container stops.
  auto followed = rt_->StreamLogs(ioc.get_executor(), id, 0, true);
  auto lines = ReadToEnd(ioc, *followed);
  ASSERT_TRUE(lines.ok()) << lines.error().message;
  EXPECT_EQ(*lines, (std::vector<std::string>{"one", "two", "three"}));
  // Not followed: the last lines, then the end.
  auto tail = rt_->StreamLogs(ioc.get_executor(), id, 2, false);
  lines = ReadToEnd(ioc, *tail);
  ASSERT_TRUE(lines.ok()) << lines.error().message;
  EXPECT_EQ(*lines, (std::vector<std::string>{"two", "three"}));
  // No such container: kNotFound.
  auto none = rt_->StreamLogs(ioc.get_executor(), "lattice-test-no-such-container", 0, true);
  lines = ReadToEnd(ioc, *none);
  ASSERT_FALSE(lines.ok());
  EXPECT_EQ(lines.error().code, ErrorCode::kNotFound) << lines.error().message;
}

TEST_F(DockerRuntimeTest, StreamLogsEndsAtOnceWhenClosed) {
  std::string id = CreateAndStart(Spec("quiet", {"sh", "-c", "echo hello; exec sleep 600"}));
  ASSERT_FALSE(id.empty());
  boost::asio::io_context ioc;
  auto reader = rt_->StreamLogs(ioc.get_executor(), id, 0, true);
  std::vector<std::string> got;
  bool ended = false;
  auto read = [&]() -> boost::asio::awaitable<void> {
    for (;;) {
      auto lines = co_await reader->Next();
      if (!lines.ok() || lines->empty()) break;
      got.insert(got.end(), lines->begin(), lines->end());
    }
    ended = true;
  };
  boost::asio::co_spawn(ioc, read(), boost::asio::detached);
  const auto deadline = Clock::now() + 5s;
  while (got.empty() && Clock::now() < deadline) ioc.run_for(20ms);
  ASSERT_EQ(got, (std::vector<std::string>{"hello"}));
  const auto closed_at = Clock::now();
  reader->Close();
  while (!ended && Clock::now() < deadline) ioc.run_for(20ms);
  EXPECT_TRUE(ended);
  EXPECT_LT(SecondsSince(closed_at), 0.2);
}

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
  boost::asio::io_context ioc;
  auto reader = (*rt)->StreamLogs(ioc.get_executor(), "x", 1, true);
  auto lines = ReadToEnd(ioc, *reader);
  ASSERT_FALSE(lines.ok());
  EXPECT_EQ(lines.error().code, ErrorCode::kUnavailable);
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
  n.name = "lattice-test-net-" + S().run;
  n.subnet = "10.214.77.0/28";
  n.gateway = "10.214.77.1";
  n.bridge_name = "ltt-" + S().run.substr(0, 8);
  n.labels = {{kRunLabel, S().run}};
  auto id = rt_->CreateNetwork(n);
  ASSERT_TRUE(id.ok()) << id.error().message;
  auto again = rt_->CreateNetwork(n);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, ErrorCode::kConflict);  // the name exists
  NetworkSpec overlap = n;
  overlap.name += "-b";
  overlap.bridge_name = "ltu-" + S().run.substr(0, 8);
  auto clash = rt_->CreateNetwork(overlap);
  ASSERT_FALSE(clash.ok());
  EXPECT_EQ(clash.error().code, ErrorCode::kConflict) << clash.error().message;  // same subnet

  auto list = rt_->ListNetworks();
  ASSERT_TRUE(list.ok()) << list.error().message;
  auto it =
      std::find_if(list->begin(), list->end(), [&](const NetworkInfo& i) { return i.id == *id; });
  ASSERT_NE(it, list->end());
  EXPECT_EQ(it->subnets, std::vector<std::string>{"10.214.77.0/28"});
  EXPECT_EQ(it->labels.at(kRunLabel), S().run);

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
  spec.volumes = {{"lattice-test-" + S().run + "-secrets", "/run/secrets"}};
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
