#include "cli/deploy_request.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace lattice::cli {
namespace {

namespace json = boost::json;

DeployArgs Args(std::string template_name, std::string name) {
  DeployArgs a;
  a.template_name = std::move(template_name);
  a.name = std::move(name);
  return a;
}

TEST(cli_deploy_request, ManagedTemplateIsJustNameAndTemplate) {
  auto body = BuildDeployRequest(Args("postgres", "db"));
  ASSERT_TRUE(body.ok());
  EXPECT_EQ(json::serialize(*body), R"({"name":"db","template":"postgres"})");
}

TEST(cli_deploy_request, CustomCarriesEverything) {
  DeployArgs a;
  a.template_name = "custom";
  a.name = "web";
  a.image = "busybox:1";
  a.env = {"GREETING=hello = world", "EMPTY="};
  a.ports = {"8080", "53/udp", "9000/tcp"};
  a.memory_mb = 64;
  a.cpus = 0.5;
  a.command = {"sh", "-c", "echo hi"};
  auto body = BuildDeployRequest(a);
  ASSERT_TRUE(body.ok()) << body.error().message;
  EXPECT_EQ(*body, json::parse(R"({
    "name": "web", "template": "custom", "image": "busybox:1",
    "env": {"GREETING": "hello = world", "EMPTY": ""},
    "ports": [{"port": 8080, "protocol": "tcp"}, {"port": 53, "protocol": "udp"},
              {"port": 9000, "protocol": "tcp"}],
    "command": ["sh", "-c", "echo hi"],
    "resources": {"memory_mb": 64, "cpus": 0.5}})"));
}

TEST(cli_deploy_request, OnlyTheGivenResourceIsSent) {
  DeployArgs a = Args("minio", "f");
  a.cpus = 2.0;
  auto body = BuildDeployRequest(a);
  ASSERT_TRUE(body.ok());
  EXPECT_EQ(body->at("resources"), json::parse(R"({"cpus": 2.0})"));
}

TEST(cli_deploy_request, IdleTimeoutIsSentTopLevelOnlyWhenGiven) {
  DeployArgs a = Args("postgres", "db");
  a.idle_timeout_s = 7200;
  auto body = BuildDeployRequest(a);
  ASSERT_TRUE(body.ok());
  EXPECT_EQ(body->at("idle_timeout_s"), json::value(7200));
  auto plain = BuildDeployRequest(Args("postgres", "db"));
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(plain->contains("idle_timeout_s"));
}

TEST(cli_deploy_request, PublishIsSentOnlyWhenAsked) {
  DeployArgs a = Args("postgres", "db");
  a.publish = true;
  auto body = BuildDeployRequest(a);
  ASSERT_TRUE(body.ok());
  EXPECT_EQ(body->at("publish"), json::value(true));
  auto plain = BuildDeployRequest(Args("postgres", "db"));
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(plain->contains("publish"));
}

TEST(cli_deploy_request, SecurityCarriesTheUserAndCapabilitiesSpelledAsTheApiWants) {
  DeployArgs a = Args("custom", "web");
  a.image = "nginx:1.27";
  a.user = "1000:1000";
  a.capabilities = {"cap_net_admin", "CHOWN"};
  auto body = BuildDeployRequest(a);
  ASSERT_TRUE(body.ok());
  EXPECT_EQ(body->at("security"),
            json::parse(R"({"user": "1000:1000", "capabilities": ["NET_ADMIN", "CHOWN"]})"));
  auto plain = BuildDeployRequest(Args("postgres", "db"));
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(plain->contains("security"));
}

TEST(cli_deploy_request, BadEnvIsAUsageErrorNamingTheFlag) {
  for (const char* bad : {"NOEQUALS", "=value"}) {
    DeployArgs a = Args("custom", "w");
    a.env = {bad};
    auto body = BuildDeployRequest(a);
    ASSERT_FALSE(body.ok()) << bad;
    EXPECT_EQ(body.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(body.error().message.find("--env '" + std::string(bad) + "'"), std::string::npos)
        << body.error().message;
    EXPECT_NE(body.error().message.find("KEY=VALUE"), std::string::npos);
  }
  DeployArgs a = Args("custom", "w");
  a.env = {"A=1", "A=2"};
  auto twice = BuildDeployRequest(a);
  ASSERT_FALSE(twice.ok());
  EXPECT_NE(twice.error().message.find("more than once"), std::string::npos);
}

TEST(cli_deploy_request, VolumesAreNamePathPairs) {
  DeployArgs a;
  a.template_name = "custom";
  a.name = "app";
  a.image = "busybox";
  a.volumes = {"data:/srv/data", "cache:/var/cache"};
  auto body = BuildDeployRequest(a);
  ASSERT_TRUE(body.ok());
  EXPECT_EQ(boost::json::serialize(body->at("volumes")),
            R"([{"name":"data","path":"/srv/data"},{"name":"cache","path":"/var/cache"}])");
  for (const char* bad : {"data", ":/x", "data:", "data:relative"}) {
    a.volumes = {bad};
    auto refused = BuildDeployRequest(a);
    ASSERT_FALSE(refused.ok()) << bad;
    EXPECT_NE(refused.error().message.find("--volume"), std::string::npos);
  }
}

TEST(cli_deploy_request, BadPortIsAUsageErrorNamingTheFlag) {
  for (const char* bad : {"0", "65536", "http", "80x", "", "-1", "80/sctp", "80/"}) {
    DeployArgs a = Args("custom", "w");
    a.ports = {bad};
    auto body = BuildDeployRequest(a);
    ASSERT_FALSE(body.ok()) << bad;
    EXPECT_NE(body.error().message.find("--port '" + std::string(bad) + "'"), std::string::npos)
        << body.error().message;
  }
  DeployArgs a = Args("custom", "w");
  a.ports = {"80", "80/tcp"};
  EXPECT_FALSE(BuildDeployRequest(a).ok());
  a.ports = {"53", "53/udp"};
  EXPECT_TRUE(BuildDeployRequest(a).ok());
}

}  // namespace
}  // namespace lattice::cli
