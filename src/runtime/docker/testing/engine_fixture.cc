#include "runtime/docker/testing/engine_fixture.h"

#include <elf.h>

#include <boost/json.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <random>
#include <sstream>
#include <thread>

#include "common/test_env.h"
#include "runtime/docker/engine_json.h"

namespace lattice::runtime::docker::testing {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using boost::beast::http::verb;

constexpr char kPreferredImage[] = "lattice/busybox:dev";

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

}  // namespace

double SecondsSince(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

EngineRequest Req(verb method, std::string target) {
  EngineRequest r;
  r.method = method;
  r.target = std::move(target);
  return r;
}

bool WaitFor(const std::function<bool()>& pred, std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(100ms);
  }
  return pred();
}

void EngineTest::SetUpTestSuite() {
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

void EngineTest::TearDownTestSuite() {
  Suite& s = S();
  if (s.imported) {
    (void)s.rt->client().Call(
        Req(verb::delete_, "/images/" + UrlEncode(s.image, true) + "?force=1"));
  }
}

void EngineTest::SetUp() {
  if (!S().skip.empty()) LATTICE_SKIP_UNLESS_REQUIRED() << S().skip;
  rt_ = S().rt.get();
}

void EngineTest::TearDown() {
  if (rt_ == nullptr) return;
  auto list = rt_->ListByLabel(kRunLabel);
  ASSERT_TRUE(list.ok()) << list.error().message;
  for (const auto& c : *list) {
    if (c.labels.at(kRunLabel) == S().run) {
      EXPECT_TRUE(rt_->Remove(c.id).ok());
    }
  }
  json::object filters{{"label", json::array{json::value(std::string(kRunLabel) + "=" + S().run)}}};
  auto vols =
      rt_->client().Call(Req(verb::get, "/volumes?filters=" + UrlEncode(json::serialize(filters))));
  ASSERT_TRUE(vols.ok());
  json::value v = json::parse(vols->body);
  if (const auto* arr = v.as_object().if_contains("Volumes"); arr && arr->is_array()) {
    for (const auto& vol : arr->as_array()) {
      std::string name(vol.as_object().at("Name").as_string());
      EXPECT_TRUE(rt_->RemoveVolume(name).ok()) << name;
    }
  }
}

const std::string& EngineTest::Run() {
  return S().run;
}
const std::string& EngineTest::Image() {
  return S().image;
}

ContainerSpec EngineTest::Spec(const std::string& suffix, std::vector<std::string> command) {
  ContainerSpec spec;
  spec.name = "lattice-test-" + S().run + "-" + suffix;
  spec.image = S().image;
  spec.command = std::move(command);
  spec.labels = {{kRunLabel, S().run}, {"lattice-test.case", suffix}};
  return spec;
}

std::string EngineTest::CreateAndStart(const ContainerSpec& spec) {
  auto id = rt_->Create(spec);
  EXPECT_TRUE(id.ok()) << id.error().message;
  if (!id.ok()) return {};
  Status st = rt_->Start(*id);
  EXPECT_TRUE(st.ok()) << st.error().message;
  return *id;
}

std::string EngineTest::LogsOf(const std::string& id) {
  auto logs = rt_->Logs(id, 0);
  return logs.ok() ? *logs : "<" + logs.error().message + ">";
}

}  // namespace lattice::runtime::docker::testing
