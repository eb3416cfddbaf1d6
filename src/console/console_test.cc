#include "console/console.h"

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <optional>

namespace lattice::console {
namespace {

namespace asio = boost::asio;

const Asset kAssets[] = {
    {"index.html", "text/html; charset=utf-8", "<!doctype html><title>Lattice</title>"},
    {"assets/index-abc123.js", "text/javascript; charset=utf-8", "console.log(1)"},
};

http::Response Get(const http::Router& router, std::string_view path) {
  http::Router::Match m = router.Find(http::bhttp::verb::get, path);
  if (m.route == nullptr) {
    http::Response none;
    none.result(http::bhttp::status::not_found);
    return none;
  }
  http::Request req{http::bhttp::verb::get, path, 11};
  http::RequestContext ctx{req, path, {}, std::move(m.params), "127.0.0.1", "t-1", std::nullopt};
  asio::io_context ioc;
  std::optional<http::Reply> reply;
  asio::co_spawn(
      ioc, [&]() -> asio::awaitable<void> { reply = co_await m.route->handler(ctx); },
      asio::detached);
  ioc.run();
  return reply->res;
}

TEST(Console, ContentTypes) {
  EXPECT_EQ(ContentTypeFor("index.html"), "text/html; charset=utf-8");
  EXPECT_EQ(ContentTypeFor("assets/a-1.js"), "text/javascript; charset=utf-8");
  EXPECT_EQ(ContentTypeFor("assets/a-1.css"), "text/css; charset=utf-8");
  EXPECT_EQ(ContentTypeFor("assets/logo.svg"), "image/svg+xml");
  EXPECT_EQ(ContentTypeFor("x.bin"), "application/octet-stream");
}

TEST(Console, PagesServeIndexWithoutCaching) {
  http::Router router;
  AddConsoleRoutes(router, kAssets);
  for (std::string_view page :
       {"/", "/login", "/signup", "/nodes", "/invites", "/audit", "/workloads/w-1",
        "/backup-targets", "/notifications", "/workloads/w-1/backups"}) {
    auto res = Get(router, page);
    EXPECT_EQ(res.result(), http::bhttp::status::ok) << page;
    EXPECT_EQ(res[http::bhttp::field::content_type], "text/html; charset=utf-8");
    EXPECT_EQ(res[http::bhttp::field::cache_control], "no-cache");
    EXPECT_NE(res["Content-Security-Policy"].find("script-src 'self'"), std::string::npos);
    EXPECT_EQ(res.body(), kAssets[0].bytes);
  }
}

TEST(Console, HashedAssetsAreImmutable) {
  http::Router router;
  AddConsoleRoutes(router, kAssets);
  auto res = Get(router, "/assets/index-abc123.js");
  EXPECT_EQ(res.result(), http::bhttp::status::ok);
  EXPECT_EQ(res[http::bhttp::field::content_type], "text/javascript; charset=utf-8");
  EXPECT_EQ(res[http::bhttp::field::cache_control], "public, max-age=31536000, immutable");
  EXPECT_EQ(res.body(), "console.log(1)");
  auto missing = Get(router, "/assets/nope.js");
  EXPECT_EQ(missing.result(), http::bhttp::status::not_found);
  EXPECT_EQ(missing[http::bhttp::field::content_type], "application/problem+json");
}

TEST(Console, WithoutABuiltConsoleExplainsHowToBuildIt) {
  http::Router router;
  AddConsoleRoutes(router, {});
  auto res = Get(router, "/");
  EXPECT_EQ(res.result(), http::bhttp::status::ok);
  EXPECT_NE(res.body().find("npm run build"), std::string::npos);
}

TEST(Console, EmbeddedTableIsConsistent) {
  for (const Asset& a : EmbeddedAssets()) {
    EXPECT_FALSE(a.path.empty());
    EXPECT_EQ(a.content_type, ContentTypeFor(a.path));
  }
  if (!EmbeddedAssets().empty()) {
    const Asset* index = FindAsset(EmbeddedAssets(), "index.html");
    ASSERT_NE(index, nullptr);
    EXPECT_NE(index->bytes.find("<div id=\"root\">"), std::string_view::npos);
  }
}

}  // namespace
}  // namespace lattice::console
