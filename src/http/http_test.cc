#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json.hpp>

#include "common/random.h"
#include "http/dispatcher.h"
#include "http/metrics.h"
#include "http/problem.h"
#include "http/router.h"

namespace lattice::http {
namespace {

Handler Fixed(std::string body) {
  return [body](RequestContext& ctx) -> asio::awaitable<Reply> {
    co_return TextReply(bhttp::status::ok, body + ":" + std::string(ctx.Param("id")), "text/plain");
  };
}

TEST(Router, MatchesLiteralsAndParams) {
  Router r;
  r.Add(bhttp::verb::get, "/api/v1/workloads", Access::kUser, Fixed("list"));
  r.Add(bhttp::verb::get, "/api/v1/workloads/{id}", Access::kUser, Fixed("get"));
  r.Add(bhttp::verb::post, "/api/v1/workloads/{id}/stop", Access::kUser, Fixed("stop"));

  auto m = r.Find(bhttp::verb::get, "/api/v1/workloads/wl_1");
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.route->pattern, "/api/v1/workloads/{id}");
  ASSERT_EQ(m.params.size(), 1u);
  EXPECT_EQ(m.params[0].second, "wl_1");

  EXPECT_EQ(r.Find(bhttp::verb::get, "/api/v1/nothing").route, nullptr);
  EXPECT_TRUE(r.Find(bhttp::verb::get, "/api/v1/nothing").allowed.empty());
  EXPECT_EQ(r.Find(bhttp::verb::get, "/api/v1/workloads/").route, nullptr);  // empty param

  auto wrong = r.Find(bhttp::verb::delete_, "/api/v1/workloads/x/stop");
  EXPECT_EQ(wrong.route, nullptr);
  ASSERT_EQ(wrong.allowed.size(), 1u);
  EXPECT_EQ(wrong.allowed[0], bhttp::verb::post);
}

class DispatcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    InitCrypto();
    router_.Add(bhttp::verb::get, "/open", Access::kPublic, Fixed("open"));
    router_.Add(bhttp::verb::post, "/open", Access::kPublic, Fixed("posted"));
    router_.Add(bhttp::verb::get, "/me", Access::kUser, Fixed("me"));
    router_.Add(bhttp::verb::get, "/admin", Access::kAdmin, Fixed("admin"));
    router_.Add(bhttp::verb::get, "/boom", Access::kPublic,
                [](RequestContext&) -> asio::awaitable<Reply> {
                  throw std::runtime_error("secret internal detail");
                  co_return EmptyReply(bhttp::status::ok);
                });
    auth_ = [](std::string_view token) -> Result<Principal> {
      if (token == "user-token") return Principal{"u1", "a@b.c", "user", "s1", 0};
      if (token == "admin-token") return Principal{"u2", "x@b.c", "admin", "s2", 0};
      return Error::Unauthenticated("bad token");
    };
    d_ = std::make_unique<Dispatcher>(router_, metrics_, auth_,
                                      DispatchOptions{{"http://console.test"}, false, {}});
  }

  Reply Run(Request req) {
    asio::io_context ioc;
    auto f = asio::co_spawn(ioc, d_->Dispatch(req, "127.0.0.1"), asio::use_future);
    ioc.run();
    return f.get();
  }

  static Request Make(bhttp::verb v, std::string target) {
    Request req{v, target, 11};
    return req;
  }

  Router router_;
  HttpMetrics metrics_;
  Authenticator auth_;
  std::unique_ptr<Dispatcher> d_;
};

TEST_F(DispatcherTest, NotFoundIsProblemJson) {
  Reply r = Run(Make(bhttp::verb::get, "/missing"));
  EXPECT_EQ(r.res.result(), bhttp::status::not_found);
  EXPECT_EQ(r.res[bhttp::field::content_type], "application/problem+json");
  auto body = boost::json::parse(r.res.body()).as_object();
  EXPECT_EQ(body["status"].as_int64(), 404);
  EXPECT_EQ(body["instance"].as_string(), "/missing");
}

TEST_F(DispatcherTest, WrongMethodIs405WithAllow) {
  Reply r = Run(Make(bhttp::verb::delete_, "/open"));
  EXPECT_EQ(r.res.result(), bhttp::status::method_not_allowed);
  EXPECT_EQ(r.res[bhttp::field::allow], "GET, POST");
}

TEST_F(DispatcherTest, NonJsonBodyIs415) {
  Request req = Make(bhttp::verb::post, "/open");
  req.set(bhttp::field::content_type, "text/plain");
  req.body() = "hi";
  EXPECT_EQ(Run(req).res.result(), bhttp::status::unsupported_media_type);
  req.set(bhttp::field::content_type, "Application/JSON; charset=utf-8");
  EXPECT_EQ(Run(req).res.result(), bhttp::status::ok);
}

TEST_F(DispatcherTest, AuthAndRoles) {
  EXPECT_EQ(Run(Make(bhttp::verb::get, "/me")).res.result(), bhttp::status::unauthorized);
  Request req = Make(bhttp::verb::get, "/me");
  req.set(bhttp::field::authorization, "Bearer nope");
  EXPECT_EQ(Run(req).res.result(), bhttp::status::unauthorized);
  req.set(bhttp::field::authorization, "bearer user-token");
  EXPECT_EQ(Run(req).res.result(), bhttp::status::ok);
  Request admin = Make(bhttp::verb::get, "/admin");
  admin.set(bhttp::field::authorization, "Bearer user-token");
  EXPECT_EQ(Run(admin).res.result(), bhttp::status::forbidden);
  admin.set(bhttp::field::authorization, "Bearer admin-token");
  EXPECT_EQ(Run(admin).res.result(), bhttp::status::ok);
}

TEST_F(DispatcherTest, HandlerExceptionIs500WithoutLeakingDetail) {
  Reply r = Run(Make(bhttp::verb::get, "/boom"));
  EXPECT_EQ(r.res.result(), bhttp::status::internal_server_error);
  EXPECT_EQ(r.res.body().find("secret internal detail"), std::string::npos);
}

TEST_F(DispatcherTest, CorsOnlyForAllowedOrigins) {
  Request req = Make(bhttp::verb::get, "/open");
  req.set(bhttp::field::origin, "http://evil.test");
  EXPECT_EQ(Run(req).res.count(bhttp::field::access_control_allow_origin), 0u);
  req.set(bhttp::field::origin, "http://console.test");
  EXPECT_EQ(Run(req).res[bhttp::field::access_control_allow_origin], "http://console.test");

  Request pre = Make(bhttp::verb::options, "/me");
  pre.set(bhttp::field::origin, "http://console.test");
  pre.set(bhttp::field::access_control_request_method, "GET");
  Reply r = Run(pre);
  EXPECT_EQ(r.res.result(), bhttp::status::no_content);
  EXPECT_NE(r.res[bhttp::field::access_control_allow_headers].find("Authorization"),
            std::string::npos);
}

TEST_F(DispatcherTest, RequestIdEchoedWhenSafeElseGenerated) {
  Request req = Make(bhttp::verb::get, "/open");
  req.set("X-Request-Id", "abc-123");
  EXPECT_EQ(Run(req).res["X-Request-Id"], "abc-123");
  req.set("X-Request-Id", "bad id\"with quotes");
  EXPECT_NE(Run(req).res["X-Request-Id"], "bad id\"with quotes");
}

TEST_F(DispatcherTest, MetricsCountByRouteAndStatus) {
  Run(Make(bhttp::verb::get, "/open"));
  Run(Make(bhttp::verb::get, "/missing"));
  const std::string text = metrics_.Render();
  EXPECT_NE(text.find(R"(lattice_http_requests_total{route="/open",method="GET",status="200"} 1)"),
            std::string::npos);
  EXPECT_NE(text.find(R"(route="unmatched",method="GET",status="404")"), std::string::npos);
  EXPECT_NE(text.find("lattice_http_request_duration_seconds_bucket"), std::string::npos);
}

TEST(Problem, CarriesASpecificTypeAndExtensionMembers) {
  Error e = Error::Forbidden("Quota exceeded.");
  e.type = "quota-exceeded";
  e.members = {{"quota", std::string("memory_mb")},
               {"limit", std::int64_t{1024}},
               {"used", 0.5},
               {"status", std::int64_t{999}}};  // never overrides a standard member
  Reply r = ProblemReply(e, "/x");
  EXPECT_EQ(r.res.result(), bhttp::status::forbidden);
  auto body = boost::json::parse(r.res.body()).as_object();
  EXPECT_EQ(body["type"].as_string(), "urn:lattice:problem:quota-exceeded");
  EXPECT_EQ(body["quota"].as_string(), "memory_mb");
  EXPECT_EQ(body["limit"].as_int64(), 1024);
  EXPECT_EQ(body["used"].as_double(), 0.5);
  EXPECT_EQ(body["status"].as_int64(), 403);
  // A 400 with field errors stays a validation error whatever the type says.
  Error v = Error::Invalid("bad", {{"f", "m"}});
  v.type = "other";
  EXPECT_EQ(boost::json::parse(ProblemReply(v, "/x").res.body()).at("type").as_string(),
            "urn:lattice:problem:validation-error");
}

TEST(DispatcherClientAddress, ForwardedForOnlyFromTrustedProxies) {
  InitCrypto();
  Router router;
  router.Add(bhttp::verb::get, "/who", Access::kPublic,
             [](RequestContext& ctx) -> asio::awaitable<Reply> {
               co_return TextReply(bhttp::status::ok, ctx.remote_addr, "text/plain");
             });
  HttpMetrics metrics;
  auto run = [&](Dispatcher& d, std::string peer, std::string xff) {
    Request req{bhttp::verb::get, "/who", 11};
    if (!xff.empty()) req.set("X-Forwarded-For", xff);
    asio::io_context ioc;
    auto f = asio::co_spawn(ioc, d.Dispatch(req, peer), asio::use_future);
    ioc.run();
    return f.get().res.body();
  };
  auto none = [](std::string_view) -> Result<Principal> { return Error::Unauthenticated("x"); };
  Dispatcher plain(router, metrics, none, DispatchOptions{{}, false, {}});
  EXPECT_EQ(run(plain, "127.0.0.1", "203.0.113.9"), "127.0.0.1");
  Dispatcher proxied(router, metrics, none,
                     DispatchOptions{{}, false, *TrustedProxies::Parse({"127.0.0.0/8"})});
  EXPECT_EQ(run(proxied, "127.0.0.1", "203.0.113.9"), "203.0.113.9");
  EXPECT_EQ(run(proxied, "192.0.2.1", "203.0.113.9"), "192.0.2.1");
}

}  // namespace
}  // namespace lattice::http
