#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "common/random.h"
#include "templates/admission.h"
#include "templates/template.h"

namespace lattice::templates {
namespace {

using ::testing::ElementsAre;
using ::testing::UnorderedElementsAre;
using Strings = std::vector<std::string>;

WorkloadRequest Custom() {
  WorkloadRequest r;
  r.name = "web";
  r.template_name = "custom";
  r.image = "nginx:1.25";
  return r;
}

WorkloadRequest Managed(const std::string& t) {
  WorkloadRequest r;
  r.name = "my-db";
  r.template_name = t;
  return r;
}

// Field names of the validation error, in report order; empty when valid.
std::vector<std::string> Fields(const WorkloadRequest& r) {
  const Status s = Validate(r);
  if (s.ok()) return {};
  EXPECT_EQ(s.error().code, ErrorCode::kInvalidArgument);
  std::vector<std::string> out;
  for (const auto& f : s.error().fields) out.push_back(f.field);
  return out;
}

std::string FirstMessage(const WorkloadRequest& r) {
  const Status s = Validate(r);
  return s.ok() || s.error().fields.empty() ? "" : s.error().fields.front().message;
}

TEST(Validate, AcceptsMinimalRequests) {
  EXPECT_TRUE(Validate(Custom()).ok());
  EXPECT_TRUE(Validate(Managed("postgres")).ok());
  EXPECT_TRUE(Validate(Managed("minio")).ok());
}

TEST(Validate, NameIsADnsLabel) {
  for (const std::string& good : Strings{"a", "my-db", "a1", "x-1-y", std::string(63, 'a')}) {
    auto r = Custom();
    r.name = good;
    EXPECT_TRUE(Validate(r).ok()) << good;
  }
  for (const std::string& bad :
       Strings{"", "-x", "x-", "UPPER", "1abc", "a_b", "a.b", "a b", std::string(64, 'a')}) {
    auto r = Custom();
    r.name = bad;
    EXPECT_THAT(Fields(r), ElementsAre("name")) << bad;
  }
}

TEST(Validate, TemplateMustBeKnown) {
  for (const std::string& bad : Strings{"", "mysql", "Postgres"}) {
    auto r = Custom();
    r.template_name = bad;
    EXPECT_THAT(Fields(r), ElementsAre("template")) << bad;
  }
}

TEST(Validate, CustomNeedsAnImage) {
  auto r = Custom();
  r.image.reset();
  EXPECT_THAT(Fields(r), ElementsAre("image"));
  EXPECT_EQ(FirstMessage(r), "is required for the custom template");
}

TEST(Validate, ImageReferenceIsWellFormed) {
  for (const std::string& good :
       Strings{"nginx", "nginx:1.25", "registry.example:5000/team/app:v1.2_3",
               "registry.example:5000/x/y@sha256:0123456789abcdef", std::string(255, 'a')}) {
    auto r = Custom();
    r.image = good;
    EXPECT_TRUE(Validate(r).ok()) << good;
  }
  for (const std::string& bad :
       Strings{"", "ng inx", "nginx\n", "nginx:", "-nginx", "a;rm -rf", std::string(256, 'a')}) {
    auto r = Custom();
    r.image = bad;
    EXPECT_THAT(Fields(r), ElementsAre("image")) << bad;
  }
}

TEST(Validate, ManagedTemplatesMayPinTheirImage) {
  auto r = Managed("postgres");
  r.image = "postgres:16.2";
  EXPECT_TRUE(Validate(r).ok());
}

TEST(Validate, EnvKeysValuesAndCount) {
  auto r = Custom();
  r.env = {{"A", "1"}, {"_x9", ""}, {"LONG", std::string(32 * 1024, 'v')}};
  EXPECT_TRUE(Validate(r).ok());

  for (const std::string& bad : Strings{"1X", "A-B", "", "A B", std::string(129, 'K')}) {
    auto b = Custom();
    b.env = {{bad, "v"}};
    EXPECT_THAT(Fields(b), ElementsAre("env." + bad.substr(0, 128))) << bad;
  }
  auto big = Custom();
  big.env = {{"V", std::string(32 * 1024 + 1, 'v')}};
  EXPECT_THAT(Fields(big), ElementsAre("env.V"));

  auto many = Custom();
  for (int i = 0; i < 100; ++i) many.env.push_back({"K" + std::to_string(i), "v"});
  EXPECT_TRUE(Validate(many).ok());
  many.env.push_back({"K100", "v"});
  EXPECT_THAT(Fields(many), ElementsAre("env"));
}

TEST(Validate, DuplicateEnvKeyIsReportedOnce) {
  auto r = Custom();
  r.env = {{"A", "1"}, {"B", "2"}, {"A", "3"}, {"A", "4"}};
  EXPECT_THAT(Fields(r), ElementsAre("env.A"));
  EXPECT_EQ(FirstMessage(r), "is given more than once");
}

TEST(Validate, ManagedTemplatesAllowExtraEnvButNotTheirOwnKeys) {
  auto pg = Managed("postgres");
  pg.env = {{"TZ", "UTC"}, {"POSTGRES_PASSWORD", "hunter2"}};
  EXPECT_THAT(Fields(pg), ElementsAre("env.POSTGRES_PASSWORD"));
  EXPECT_EQ(FirstMessage(pg), "is set by the postgres template");

  auto minio = Managed("minio");
  minio.env = {{"MINIO_ROOT_USER", "me"}, {"MINIO_BROWSER", "off"}};
  EXPECT_THAT(Fields(minio), ElementsAre("env.MINIO_ROOT_USER"));

  auto custom = Custom();
  custom.env = {{"POSTGRES_PASSWORD", "fine-here"}};
  EXPECT_TRUE(Validate(custom).ok());
}

TEST(Validate, ManagedTemplatesRejectPortsAndCommand) {
  auto r = Managed("postgres");
  r.ports = {{5433, "tcp"}};
  r.command = {"postgres", "-c", "fsync=off"};
  EXPECT_THAT(Fields(r), UnorderedElementsAre("ports", "command"));
  EXPECT_EQ(Validate(r).error().fields[0].message, "is not supported for the postgres template");
}

TEST(Validate, Ports) {
  auto r = Custom();
  r.ports = {{1, "tcp"}, {65535, "udp"}, {53, "tcp"}, {53, "udp"}};
  EXPECT_TRUE(Validate(r).ok());

  r.ports = {{0, "tcp"}, {70000, "tcp"}, {80, "sctp"}, {80, "tcp"}, {80, "tcp"}};
  EXPECT_THAT(Fields(r),
              ElementsAre("ports[0].port", "ports[1].port", "ports[2].protocol", "ports[4].port"));

  auto many = Custom();
  for (int i = 1; i <= 20; ++i) many.ports.push_back({i, "tcp"});
  EXPECT_TRUE(Validate(many).ok());
  many.ports.push_back({21, "tcp"});
  EXPECT_THAT(Fields(many), ElementsAre("ports"));
}

TEST(Validate, APortsProbeIsTcpOrHttpAndHttpOnlyOnTcp) {
  auto r = Custom();
  r.ports = {{80, "tcp", std::nullopt, "http"}, {81, "tcp", std::nullopt, "tcp"}, {82, "tcp"}};
  EXPECT_TRUE(Validate(r).ok());
  r.ports = {{80, "tcp", std::nullopt, "grpc"}, {53, "udp", std::nullopt, "http"}};
  EXPECT_THAT(Fields(r), ElementsAre("ports[0].probe", "ports[1].probe"));
}

TEST(Validate, IdleTimeoutPerPortAndTopLevel) {
  auto r = Custom();
  r.ports = {{5432, "tcp", 10}, {8080, "tcp", 86400}, {9000, "tcp"}};
  r.idle_timeout_s = 3600;
  EXPECT_TRUE(Validate(r).ok());

  r.ports = {{5432, "tcp", 9}, {8080, "tcp", 86401}, {9000, "tcp", 0}, {9001, "tcp", -1}};
  r.idle_timeout_s = 5;
  EXPECT_THAT(Fields(r),
              ElementsAre("ports[0].idle_timeout_s", "ports[1].idle_timeout_s",
                          "ports[2].idle_timeout_s", "ports[3].idle_timeout_s", "idle_timeout_s"));
  const Status s = Validate(r);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().fields[0].message, "must be between 10 and 86400 (seconds)");

  // Managed templates take no ports; the top-level value is how they set it.
  for (const char* t : {"postgres", "minio"}) {
    auto m = Managed(t);
    m.idle_timeout_s = 86400;
    EXPECT_TRUE(Validate(m).ok()) << t;
    m.idle_timeout_s = 86401;
    EXPECT_THAT(Fields(m), ElementsAre("idle_timeout_s")) << t;
  }
}

TEST(Validate, CommandLength) {
  auto r = Custom();
  r.command.assign(100, "arg");
  EXPECT_TRUE(Validate(r).ok());
  r.command.push_back("one-too-many");
  EXPECT_THAT(Fields(r), ElementsAre("command"));
}

TEST(Validate, Resources) {
  auto r = Custom();
  r.memory_mb = 16;
  r.cpus = 0.01;
  EXPECT_TRUE(Validate(r).ok());
  r.memory_mb = 1048576;
  r.cpus = 256;
  EXPECT_TRUE(Validate(r).ok());

  for (std::int64_t bad : {1, 15, 1048577, 2000000, -5}) {
    auto m = Custom();
    m.memory_mb = bad;
    EXPECT_THAT(Fields(m), ElementsAre("resources.memory_mb")) << bad;
  }
  for (double bad : {0.0, 0.009, 256.5, 1000.0, -1.0, std::nan("")}) {
    auto c = Custom();
    c.cpus = bad;
    EXPECT_THAT(Fields(c), ElementsAre("resources.cpus")) << bad;
  }
}

TEST(Validate, ReportsEveryBadFieldAtOnce) {
  WorkloadRequest r;
  r.name = "Bad_Name";
  r.template_name = "custom";
  r.env = {{"1X", "v"}, {"OK", "v"}};
  r.ports = {{0, "sctp"}};
  r.memory_mb = 1;
  r.cpus = 1000;
  const Status s = Validate(r);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message, "The workload request is not valid.");
  EXPECT_THAT(Fields(r), ElementsAre("name", "image", "env.1X", "ports[0].port",
                                     "ports[0].protocol", "resources.memory_mb", "resources.cpus"));
}

bool AllIn(const std::string& s, const std::string& alphabet) {
  return std::all_of(s.begin(), s.end(),
                     [&](char c) { return alphabet.find(c) != std::string::npos; });
}

const std::string kLower = "abcdefghijklmnopqrstuvwxyz0123456789";
const std::string kUpper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const std::string kAlnum = kUpper + "abcdefghijklmnopqrstuvwxyz";

TEST(Credentials, PostgresShapeAndRandomness) {
  InitCrypto();
  const Credentials a = GenerateCredentials("postgres");
  const Credentials b = GenerateCredentials("postgres");
  ASSERT_EQ(a.size(), 3u);
  EXPECT_EQ(a.at("username").size(), 11u);
  EXPECT_EQ(a.at("username")[0], 'u');
  EXPECT_TRUE(AllIn(a.at("username"), kLower));
  EXPECT_EQ(a.at("database").size(), 12u);
  EXPECT_EQ(a.at("database").rfind("db", 0), 0u);
  EXPECT_TRUE(AllIn(a.at("database"), kLower));
  EXPECT_EQ(a.at("password").size(), 32u);
  EXPECT_TRUE(AllIn(a.at("password"), kAlnum));
  EXPECT_NE(a.at("username"), b.at("username"));
  EXPECT_NE(a.at("password"), b.at("password"));
  EXPECT_NE(a.at("database"), b.at("database"));
}

TEST(Credentials, MinioShapeAndRandomness) {
  InitCrypto();
  const Credentials a = GenerateCredentials("minio");
  const Credentials b = GenerateCredentials("minio");
  ASSERT_EQ(a.size(), 2u);
  EXPECT_EQ(a.at("access_key").size(), 20u);
  EXPECT_TRUE(AllIn(a.at("access_key"), kUpper));
  EXPECT_EQ(a.at("secret_key").size(), 40u);
  EXPECT_TRUE(AllIn(a.at("secret_key"), kAlnum));
  EXPECT_NE(a.at("access_key"), b.at("access_key"));
  EXPECT_NE(a.at("secret_key"), b.at("secret_key"));
}

TEST(Credentials, AlphabetIsFullyUsed) {
  InitCrypto();
  std::string seen;
  for (int i = 0; i < 200; ++i) seen += GenerateCredentials("postgres").at("password");
  for (char c : kAlnum) EXPECT_NE(seen.find(c), std::string::npos) << c;
}

TEST(Credentials, CustomHasNone) {
  InitCrypto();
  EXPECT_TRUE(GenerateCredentials("custom").empty());
  EXPECT_TRUE(GenerateCredentials("nope").empty());
}

const Credentials kPg = {{"username", "uabc"}, {"password", "Secret123"}, {"database", "dbx"}};
const Credentials kMinio = {{"access_key", "AK"}, {"secret_key", "sk"}};

TEST(Render, Postgres) {
  auto req = Managed("postgres");
  req.env = {{"TZ", "UTC"}};
  const RenderedWorkload w = Render(req, kPg, ImageConfig{"local/postgres:15", "local/minio"});
  EXPECT_EQ(w.image, "local/postgres:15");
  // The password reaches the container as a file, never in its environment.
  EXPECT_THAT(w.env, ElementsAre("POSTGRES_USER=uabc",
                                 "POSTGRES_PASSWORD_FILE=/run/secrets/postgres_password",
                                 "POSTGRES_DB=dbx", "TZ=UTC"));
  ASSERT_EQ(w.secret_files.size(), 1u);
  EXPECT_EQ(w.secret_files[0].name, "postgres_password");
  EXPECT_EQ(w.secret_files[0].content, "Secret123");
  ASSERT_TRUE(w.confinement.has_value());
  EXPECT_THAT(w.confinement->capabilities,
              ElementsAre("CHOWN", "DAC_OVERRIDE", "FOWNER", "SETGID", "SETUID"));
  EXPECT_TRUE(w.confinement->read_only_rootfs);
  EXPECT_THAT(w.confinement->tmpfs, ElementsAre("/tmp", "/var/run/postgresql"));
  EXPECT_TRUE(w.command.empty());
  ASSERT_EQ(w.ports.size(), 1u);
  EXPECT_EQ(w.ports[0].name, "postgres");
  EXPECT_EQ(w.ports[0].container_port, 5432);
  EXPECT_EQ(w.ports[0].protocol, "tcp");
  EXPECT_EQ(w.ports[0].scheme, "postgres");
  ASSERT_EQ(w.volumes.size(), 1u);
  EXPECT_EQ(w.volumes[0].name, "data");
  EXPECT_EQ(w.volumes[0].container_path, "/var/lib/postgresql/data");
  EXPECT_EQ(w.memory_mb, 512);
  EXPECT_EQ(w.cpus, 0);
  EXPECT_EQ(w.readiness.kind, Readiness::Kind::kPostgres);
  EXPECT_EQ(w.readiness.container_port, 5432);
  EXPECT_EQ(w.readiness.username, "uabc");
  EXPECT_EQ(w.readiness.password, "Secret123");
  EXPECT_EQ(w.readiness.database, "dbx");
}

TEST(Render, ManagedImageOverrideAndResources) {
  auto req = Managed("postgres");
  req.image = "postgres:16";
  req.memory_mb = 2048;
  req.cpus = 1.5;
  const RenderedWorkload w = Render(req, kPg, ImageConfig{});
  EXPECT_EQ(w.image, "postgres:16");
  EXPECT_EQ(w.memory_mb, 2048);
  EXPECT_EQ(w.cpus, 1.5);
}

TEST(Render, Minio) {
  const RenderedWorkload w = Render(Managed("minio"), kMinio, ImageConfig{});
  EXPECT_EQ(w.image, "minio/minio:latest");
  EXPECT_THAT(w.env, ElementsAre("MINIO_ROOT_USER_FILE=/run/secrets/minio_root_user",
                                 "MINIO_ROOT_PASSWORD_FILE=/run/secrets/minio_root_password"));
  ASSERT_EQ(w.secret_files.size(), 2u);
  EXPECT_EQ(w.secret_files[0].content, "AK");
  EXPECT_EQ(w.secret_files[1].content, "sk");
  ASSERT_TRUE(w.confinement.has_value());
  EXPECT_TRUE(w.confinement->capabilities.empty());
  EXPECT_TRUE(w.confinement->read_only_rootfs);
  EXPECT_THAT(w.confinement->tmpfs, ElementsAre("/tmp", "/root/.minio"));
  EXPECT_THAT(w.command, ElementsAre("server", "/data", "--console-address", ":9001"));
  ASSERT_EQ(w.ports.size(), 2u);
  EXPECT_EQ(w.ports[0].name, "s3");
  EXPECT_EQ(w.ports[0].container_port, 9000);
  EXPECT_EQ(w.ports[0].scheme, "http");
  EXPECT_EQ(w.ports[1].name, "console");
  EXPECT_EQ(w.ports[1].container_port, 9001);
  EXPECT_EQ(w.ports[1].scheme, "http");
  ASSERT_EQ(w.volumes.size(), 1u);
  EXPECT_EQ(w.volumes[0].name, "data");
  EXPECT_EQ(w.volumes[0].container_path, "/data");
  EXPECT_EQ(w.memory_mb, 512);
  EXPECT_EQ(w.readiness.kind, Readiness::Kind::kHttp);
  EXPECT_EQ(w.readiness.container_port, 9000);
  EXPECT_EQ(w.readiness.http_path, "/minio/health/ready");
}

TEST(Render, Custom) {
  auto req = Custom();
  req.env = {{"B", "2"}, {"A", "x=y"}};
  req.command = {"nginx", "-g", "daemon off;"};
  req.ports = {{80, "tcp"}, {53, "udp"}, {53, "tcp"}, {5000, "udp"}};
  req.memory_mb = 128;
  req.cpus = 0.5;
  const RenderedWorkload w = Render(req, {}, ImageConfig{});
  EXPECT_EQ(w.image, "nginx:1.25");
  EXPECT_THAT(w.env, ElementsAre("B=2", "A=x=y"));
  EXPECT_THAT(w.command, ElementsAre("nginx", "-g", "daemon off;"));
  ASSERT_EQ(w.ports.size(), 4u);
  EXPECT_EQ(w.ports[0].name, "port-80");
  EXPECT_EQ(w.ports[0].scheme, "tcp");
  EXPECT_EQ(w.ports[1].name, "port-53-udp");  // 53/tcp is also exposed
  EXPECT_EQ(w.ports[1].protocol, "udp");
  EXPECT_EQ(w.ports[1].scheme, "udp");
  EXPECT_EQ(w.ports[2].name, "port-53");
  EXPECT_EQ(w.ports[3].name, "port-5000");
  EXPECT_EQ(w.ports[3].scheme, "udp");
  EXPECT_TRUE(w.volumes.empty());
  EXPECT_EQ(w.memory_mb, 128);
  EXPECT_EQ(w.cpus, 0.5);
  EXPECT_EQ(w.readiness.kind, Readiness::Kind::kRunning);
}

TEST(Render, IdleTimeoutsReachEveryPort) {
  // Unset: 0, which the edge reads as its default.
  for (const auto& p : Render(Managed("minio"), kMinio, ImageConfig{}).ports)
    EXPECT_EQ(p.idle_timeout_s, 0) << p.name;
  // Managed: the top-level value applies to all their ports.
  auto minio = Managed("minio");
  minio.idle_timeout_s = 7200;
  const RenderedWorkload m = Render(minio, kMinio, ImageConfig{});
  ASSERT_EQ(m.ports.size(), 2u);
  EXPECT_EQ(m.ports[0].idle_timeout_s, 7200);
  EXPECT_EQ(m.ports[1].idle_timeout_s, 7200);
  auto pg = Managed("postgres");
  pg.idle_timeout_s = 86400;
  EXPECT_EQ(Render(pg, kPg, ImageConfig{}).ports.at(0).idle_timeout_s, 86400);
  // Custom: a port's own value, else the top-level one, else 0.
  auto c = Custom();
  c.ports = {{5432, "tcp", 28800}, {80, "tcp"}};
  EXPECT_EQ(Render(c, {}, ImageConfig{}).ports[0].idle_timeout_s, 28800);
  EXPECT_EQ(Render(c, {}, ImageConfig{}).ports[1].idle_timeout_s, 0);
  c.idle_timeout_s = 60;
  const RenderedWorkload w = Render(c, {}, ImageConfig{});
  EXPECT_EQ(w.ports[0].idle_timeout_s, 28800);
  EXPECT_EQ(w.ports[1].idle_timeout_s, 60);
}

TEST(Render, PublishIsPerPortOrForEveryPort) {
  for (const auto& p : Render(Managed("minio"), kMinio, ImageConfig{}).ports)
    EXPECT_FALSE(p.publish) << p.name << ": not unless asked";
  auto minio = Managed("minio");
  minio.publish = true;
  for (const auto& p : Render(minio, kMinio, ImageConfig{}).ports) EXPECT_TRUE(p.publish);
  EXPECT_TRUE(RequestOf("minio", Render(minio, kMinio, ImageConfig{})).publish);
  auto c = Custom();
  c.ports = {{5432, "tcp"}, {80, "tcp"}};
  c.ports[1].publish = true;
  const RenderedWorkload w = Render(c, {}, ImageConfig{});
  EXPECT_FALSE(w.ports[0].publish);
  EXPECT_TRUE(w.ports[1].publish);
  const WorkloadRequest again = RequestOf("custom", w);
  EXPECT_FALSE(again.ports[0].publish);
  EXPECT_TRUE(again.ports[1].publish);
}

TEST(Render, CustomWithoutLimitsGetsTheDefaultMemoryLimit) {
  const RenderedWorkload w = Render(Custom(), {}, ImageConfig{});
  EXPECT_EQ(w.memory_mb, 256);  // what the quota and the scheduler count for it
  EXPECT_EQ(w.cpus, 0);
  EXPECT_TRUE(w.env.empty());
  EXPECT_TRUE(w.ports.empty());
  ASSERT_TRUE(w.confinement.has_value());
  EXPECT_THAT(w.confinement->capabilities, ElementsAre("NET_BIND_SERVICE"));
  EXPECT_FALSE(w.confinement->read_only_rootfs);
  EXPECT_TRUE(w.confinement->user.empty());
}

TEST(Render, CustomSecurityAddsCapabilitiesAndUser) {
  auto req = Custom();
  req.user = "1000:1000";
  req.capabilities = {"CHOWN", "NET_BIND_SERVICE"};
  const RenderedWorkload w = Render(req, {}, ImageConfig{});
  ASSERT_TRUE(w.confinement.has_value());
  EXPECT_THAT(w.confinement->capabilities, ElementsAre("NET_BIND_SERVICE", "CHOWN"));
  EXPECT_EQ(w.confinement->user, "1000:1000");
}

TEST(Render, CustomVolumesAreNamedVolumesOfTheContainer) {
  auto req = Custom();
  req.volumes = {{"data", "/srv/data"}, {"cache", "/var/cache/app"}};
  const RenderedWorkload w = Render(req, {}, ImageConfig{});
  ASSERT_EQ(w.volumes.size(), 2u);
  EXPECT_EQ(w.volumes[0].name, "data");
  EXPECT_EQ(w.volumes[0].container_path, "/srv/data");
  EXPECT_EQ(w.volumes[1].name, "cache");
}

TEST(Validate, Volumes) {
  auto req = Custom();
  req.volumes = {{"data", "/data"}};
  EXPECT_TRUE(Validate(req).ok());
  req.volumes = {{"Data", "/d0"}, {"ok", "data"},    {"secrets", "/s"}, {"x", "/run/secrets"},
                 {"y", "/run"},   {"ok", "/a/../b"}, {"z", "/data"},    {"w", "/data"}};
  EXPECT_THAT(Fields(req), ElementsAre("volumes[0].name", "volumes[1].path", "volumes[2].name",
                                       "volumes[3].path", "volumes[4].path", "volumes[5].name",
                                       "volumes[5].path", "volumes[7].path"));
  auto managed = Managed("minio");
  managed.volumes = {{"data", "/data"}};
  EXPECT_THAT(Fields(managed), ElementsAre("volumes"));
}

TEST(RequestOf, RendersLikeTheSpecItWasTakenFrom) {
  auto req = Custom();
  req.env = {{"B", "2"}, {"A", "x=y"}};
  req.command = {"sh", "-c", "sleep 1000"};
  req.ports = {{80, "tcp", 120}, {53, "udp"}};
  req.memory_mb = 128;
  req.user = "1000:1000";
  req.capabilities = {"CHOWN"};
  req.volumes = {{"data", "/srv/data"}};
  const RenderedWorkload w = Render(req, {}, ImageConfig{});
  WorkloadRequest again = RequestOf("custom", w);
  again.name = req.name;
  EXPECT_TRUE(Validate(again).ok());
  const RenderedWorkload w2 = Render(again, {}, ImageConfig{});
  EXPECT_EQ(w2.env, w.env);
  EXPECT_EQ(w2.command, w.command);
  ASSERT_EQ(w2.ports.size(), 2u);
  EXPECT_EQ(w2.ports[0].idle_timeout_s, 120);
  EXPECT_EQ(w2.ports[1].protocol, "udp");
  ASSERT_EQ(w2.volumes.size(), 1u);
  EXPECT_EQ(w2.volumes[0].container_path, "/srv/data");
  EXPECT_EQ(w2.memory_mb, 128);
  EXPECT_EQ(w2.confinement->user, "1000:1000");
  EXPECT_EQ(w2.confinement->capabilities, w.confinement->capabilities);

  // A managed template's own env and secrets are not part of the request: the new workload
  // generates its own credentials.
  auto minio = Managed("minio");
  minio.env = {{"MINIO_BROWSER", "off"}};
  const RenderedWorkload m = Render(minio, {{"access_key", "AK"}, {"secret_key", "SK"}}, {});
  const WorkloadRequest m2 = RequestOf("minio", m);
  EXPECT_EQ(m2.env, (std::vector<std::pair<std::string, std::string>>{{"MINIO_BROWSER", "off"}}));
  EXPECT_TRUE(m2.ports.empty());
  EXPECT_TRUE(m2.volumes.empty());
}

TEST(Validate, Security) {
  auto r = Custom();
  r.user = "1000:1000";
  r.capabilities = {"NET_ADMIN"};
  EXPECT_TRUE(Fields(r).empty());
  r.user = "root";
  r.capabilities = {"CAP_NET_ADMIN", "NET_ADMIN", "NET_ADMIN"};
  EXPECT_THAT(Fields(r),
              ElementsAre("security.user", "security.capabilities[0]", "security.capabilities[2]"));
  auto m = Managed("postgres");
  m.capabilities = {"CHOWN"};
  EXPECT_THAT(Fields(m), ElementsAre("security"));
  auto many = Custom();
  many.capabilities.assign(17, "CHOWN");
  EXPECT_THAT(Fields(many), ElementsAre("security.capabilities"));
}

std::vector<std::string> Refused(const WorkloadRequest& r, const AdmissionPolicy& p = {}) {
  const Status s = Admit(r, p);
  if (s.ok()) return {};
  EXPECT_EQ(s.error().code, ErrorCode::kPermissionDenied);
  std::vector<std::string> out;
  for (const auto& f : s.error().fields) out.push_back(f.field);
  return out;
}

TEST(Admission, ImagesComeOnlyFromAllowedRegistries) {
  auto r = Custom();
  for (const std::string ok : {"nginx:1.25", "lattice/busybox:dev", "library/x:1"}) {
    r.image = ok;
    EXPECT_TRUE(Refused(r).empty()) << ok;
  }
  for (const std::string bad :
       {"127.0.0.1:5000/x:1", "localhost:5000/x", "localhost/x", "169.254.169.254/x",
        "[::1]:5000/x", "0.0.0.0:80/x", "images.example/team/app:1", "registry.example:443/x"}) {
    r.image = bad;
    EXPECT_THAT(Refused(r), ElementsAre("image")) << bad;
  }
  AdmissionPolicy p;
  p.registries = {kDefaultRegistry, "127.0.0.1:5000"};  // an administrator's own local registry
  r.image = "127.0.0.1:5000/x:1";
  EXPECT_TRUE(Refused(r, p).empty());
  p.image_prefixes = {"default/library/"};
  r.image = "postgres:16";
  EXPECT_TRUE(Refused(r, p).empty());
  r.image = "someone/postgres:16";
  EXPECT_THAT(Refused(r, p), ElementsAre("image"));
}

TEST(Admission, LocalRegistryRefusalSaysWhy) {
  auto r = Custom();
  r.image = "127.0.0.1:5000/x:1";
  const Status s = Admit(r, {});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().fields[0].message.find("node itself"), std::string::npos);
  EXPECT_EQ(s.error().type, "not-allowed");
}

TEST(Admission, UserIdsAndCapabilitiesComeFromTheAllowLists) {
  auto r = Custom();
  r.user = "1000:1000";
  r.capabilities = {"CHOWN", "NET_ADMIN", "SYS_ADMIN"};
  EXPECT_THAT(Refused(r), ElementsAre("security.capabilities[1]", "security.capabilities[2]"));
  r.user = "0";
  r.capabilities = {};
  EXPECT_THAT(Refused(r), ElementsAre("security.user"));  // root only if an admin adds 0
  AdmissionPolicy p;
  p.uids = {{0, 0}, {1000, 1000}};
  p.capabilities = {"NET_ADMIN", "SYS_ADMIN"};
  EXPECT_TRUE(Refused(r, p).empty());
  r.capabilities = {"NET_ADMIN", "SYS_ADMIN"};
  // SYS_ADMIN is as good as privileged mode: refused even when an allow-list names it.
  EXPECT_THAT(Refused(r, p), ElementsAre("security.capabilities[1]"));
}

TEST(Admission, Helpers) {
  EXPECT_EQ(RegistryOf("postgres"), kDefaultRegistry);
  EXPECT_EQ(RegistryOf("Registry.Example:5000/a/b:1"), "registry.example:5000");
  EXPECT_EQ(NormalizedImage("postgres"), "default/library/postgres:latest");
  EXPECT_EQ(NormalizedImage("team/app@sha256:ab"), "default/team/app@sha256:ab");
  EXPECT_EQ(NormalizedImage("localhost:5000/app:1"), "localhost:5000/app:1");
  EXPECT_TRUE(IsLocalRegistryHost("127.1.2.3:80"));
  EXPECT_TRUE(IsLocalRegistryHost("[fe80::1]:5000"));
  EXPECT_TRUE(IsLocalRegistryHost("[::ffff:127.0.0.1]"));
  EXPECT_FALSE(IsLocalRegistryHost("registry.example"));
  EXPECT_FALSE(IsLocalRegistryHost("10.1.2.3:5000"));
  auto ranges = ParseUidRanges("1000-65534,70000");
  ASSERT_TRUE(ranges.ok());
  ASSERT_EQ(ranges->size(), 2u);
  EXPECT_EQ((*ranges)[1].first, 70000);
  EXPECT_FALSE(ParseUidRanges("5-1").ok());
  EXPECT_FALSE(ParseUidRanges("x").ok());
}

TEST(ConnectionDetails, Postgres) {
  EXPECT_EQ(ConnectionDetails("postgres", kPg, "db.example.com", 31000),
            (std::map<std::string, std::string>{
                {"connection_string", "postgres://uabc:Secret123@db.example.com:31000/dbx"}}));
  EXPECT_EQ(ConnectionDetails("postgres", kPg, "::1", 5432).at("connection_string"),
            "postgres://uabc:Secret123@[::1]:5432/dbx");
  EXPECT_EQ(ConnectionDetails("postgres", kPg, "[::1]", 5432).at("connection_string"),
            "postgres://uabc:Secret123@[::1]:5432/dbx");
}

TEST(ConnectionDetails, PostgresEscapesNonUrlSafeCredentials) {
  const Credentials odd = {{"username", "a@b"}, {"password", "p:/ %"}, {"database", "d/b"}};
  EXPECT_EQ(ConnectionDetails("postgres", odd, "h", 1).at("connection_string"),
            "postgres://a%40b:p%3A%2F%20%25@h:1/d%2Fb");
}

TEST(ConnectionDetails, Minio) {
  EXPECT_EQ(ConnectionDetails("minio", kMinio, "127.0.0.1", 9000),
            (std::map<std::string, std::string>{{"endpoint", "http://127.0.0.1:9000"}}));
  EXPECT_EQ(ConnectionDetails("minio", kMinio, "fd00::5", 40001).at("endpoint"),
            "http://[fd00::5]:40001");
}

TEST(ConnectionDetails, CustomIsEmpty) {
  EXPECT_TRUE(ConnectionDetails("custom", {}, "h", 80).empty());
}

}  // namespace
}  // namespace lattice::templates
