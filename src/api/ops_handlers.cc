#include "api/ops_handlers.h"

#include <boost/json.hpp>

#include "http/problem.h"

namespace lattice::api {

using http::Access;
using http::Reply;
using http::RequestContext;
namespace bhttp = http::bhttp;

void AddOpsRoutes(http::Router& router, ApiContext& ctx) {
  router.Add(
      bhttp::verb::get, "/healthz", Access::kPublic,
      [](RequestContext&) -> boost::asio::awaitable<Reply> {
        co_return http::JsonReply(bhttp::status::ok, {{"status", "ok"}});
      },
      http::UsesStore::kNo);
  router.Add(bhttp::verb::get, "/readyz", Access::kPublic,
             [&ctx](RequestContext& req) -> boost::asio::awaitable<Reply> {
               if (Status s = ctx.store.Ping(); !s.ok()) {
                 co_return http::ProblemReply(
                     Error::Unavailable("The store is not reachable: " + s.error().message),
                     req.path);
               }
               co_return http::JsonReply(bhttp::status::ok, {{"status", "ready"}});
             });
  // Request counts and latencies by route say what the server is used for: administrators
  // only (a scraper signs in with an admin's token).
  router.Add(
      bhttp::verb::get, "/metrics", Access::kAdmin,
      [&ctx](RequestContext&) -> boost::asio::awaitable<Reply> {
        co_return http::TextReply(bhttp::status::ok, ctx.metrics.Render(),
                                  "text/plain; version=0.0.4; charset=utf-8");
      },
      http::UsesStore::kNo);
}

}  // namespace lattice::api
