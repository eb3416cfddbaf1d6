#include "console/console.h"

#include <string>

#include "http/problem.h"

namespace lattice::console {
namespace {

// Served when the binary was built without the console (web/dist absent at configure time).
constexpr std::string_view kNotBuiltPage = R"(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Lattice</title></head>
<body style="font-family:sans-serif;max-width:40em;margin:4em auto">
<h1>Lattice</h1>
<p>The API is running under <code>/api/v1</code>, but this binary was built without the web
console.</p>
<p>Build it and rebuild the server: <code>cd web &amp;&amp; npm ci &amp;&amp; npm run build &amp;&amp;
cd .. &amp;&amp; cmake --preset release &amp;&amp; cmake --build build</code>
(<code>scripts/test.sh</code> and <code>scripts/up.sh</code> do this for you).</p>
</body></html>
)";

// The policy the console is written for: everything from this origin, no inline script, no
// framing. Tokens live in sessionStorage, so the script-src is what keeps them safe.
constexpr std::string_view kCsp =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'";

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

http::Reply AssetReply(const Asset& a, bool immutable) {
  http::Reply r;
  r.res.result(http::bhttp::status::ok);
  r.res.set(http::bhttp::field::content_type, a.content_type);
  r.res.set(http::bhttp::field::cache_control,
            immutable ? "public, max-age=31536000, immutable" : "no-cache");
  r.res.set("X-Content-Type-Options", "nosniff");
  r.res.body() = std::string(a.bytes);
  return r;
}

http::Reply PageReply(std::span<const Asset> assets) {
  const Asset* index = FindAsset(assets, "index.html");
  const Asset fallback{"index.html", "text/html; charset=utf-8", kNotBuiltPage};
  http::Reply r = AssetReply(index ? *index : fallback, false);
  r.res.set("Content-Security-Policy", kCsp);
  r.res.set("Referrer-Policy", "no-referrer");
  r.res.set("X-Frame-Options", "DENY");
  return r;
}

}  // namespace

const Asset* FindAsset(std::span<const Asset> assets, std::string_view path) {
  for (const auto& a : assets)
    if (a.path == path) return &a;
  return nullptr;
}

std::string_view ContentTypeFor(std::string_view path) {
  struct Type {
    std::string_view ext, type;
  };
  static constexpr Type kTypes[] = {
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".json", "application/json"},
      {".map", "application/json"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".ico", "image/x-icon"},
      {".webp", "image/webp"},
      {".woff2", "font/woff2"},
      {".txt", "text/plain; charset=utf-8"},
  };
  for (const auto& t : kTypes)
    if (EndsWith(path, t.ext)) return t.type;
  return "application/octet-stream";
}

void AddConsoleRoutes(http::Router& router, std::span<const Asset> assets) {
  for (std::string_view page : kPages) {
    router.Add(
        http::bhttp::verb::get, std::string(page), http::Access::kPublic,
        [assets](http::RequestContext&) -> http::asio::awaitable<http::Reply> {
          co_return PageReply(assets);
        },
        http::UsesStore::kNo);
  }
  router.Add(
      http::bhttp::verb::get, "/assets/{file}", http::Access::kPublic,
      [assets](http::RequestContext& req) -> http::asio::awaitable<http::Reply> {
        const std::string path = "assets/" + std::string(req.Param("file"));
        if (const Asset* a = FindAsset(assets, path)) co_return AssetReply(*a, true);
        co_return http::ProblemReply(http::bhttp::status::not_found, "No such resource.", req.path);
      },
      http::UsesStore::kNo);
}

}  // namespace lattice::console
