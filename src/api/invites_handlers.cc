#include "api/invites_handlers.h"

#include <boost/json.hpp>

#include <limits>

#include "api/wire.h"
#include "common/clock.h"
#include "common/json_util.h"
#include "http/problem.h"

namespace lattice::api {
namespace {

using http::Access;
using http::Reply;
using http::RequestContext;
namespace bhttp = http::bhttp;
namespace json = boost::json;
namespace asio = boost::asio;

struct InviteRequest {
  std::string note;
  std::int64_t ttl_seconds = auth::InviteService::kDefaultTtlSeconds;
};

// An empty body or {} takes the defaults; otherwise {note?, ttl_seconds?}.
Result<InviteRequest> ReadInviteRequest(const RequestContext& req) {
  InviteRequest out;
  if (req.req.body().empty()) return out;
  auto obj = ParseJsonObject(req.req.body());
  if (!obj.ok()) return std::move(obj).error();
  FieldReader r(*obj);
  for (const auto& [k, v] : *obj)
    if (k != "note" && k != "ttl_seconds") r.AddError(std::string(k), "is not a known field");
  out.note = r.OptionalString("note").value_or("");
  if (const json::value* ttl = obj->if_contains("ttl_seconds"); ttl && !ttl->is_null()) {
    if (ttl->is_int64())
      out.ttl_seconds = ttl->as_int64();
    else if (ttl->is_uint64())
      out.ttl_seconds = std::numeric_limits<std::int64_t>::max();  // refused as too large
    else
      r.AddError("ttl_seconds", "must be an integer");
  }
  if (!r.ok()) return r.ToError();
  return out;
}

}  // namespace

void AddInviteRoutes(http::Router& router, ApiContext& ctx) {
  router.Add(bhttp::verb::post, "/api/v1/invites", Access::kAdmin,
             [&ctx](RequestContext& req) -> asio::awaitable<Reply> {
               auto in = ReadInviteRequest(req);
               if (!in.ok()) co_return http::ProblemReply(in.error(), req.path);
               auto issued = ctx.invites.Create(*req.principal, std::move(in->note),
                                                in->ttl_seconds, req.remote_addr);
               if (!issued.ok()) co_return http::ProblemReply(issued.error(), req.path);
               json::object body = InviteJson(issued->invite, issued->invite.created_at);
               body["code"] = issued->code;
               co_return http::JsonReply(bhttp::status::created, body);
             });
  router.Add(bhttp::verb::get, "/api/v1/invites", Access::kAdmin,
             [&ctx](RequestContext& req) -> asio::awaitable<Reply> {
               auto list = ctx.invites.List();
               if (!list.ok()) co_return http::ProblemReply(list.error(), req.path);
               const std::int64_t now = ctx.clock.NowSeconds();
               json::array items;
               for (const auto& i : *list) items.push_back(InviteJson(i, now));
               co_return http::JsonReply(bhttp::status::ok, {{"items", std::move(items)}});
             });
  router.Add(bhttp::verb::delete_, "/api/v1/invites/{id}", Access::kAdmin,
             [&ctx](RequestContext& req) -> asio::awaitable<Reply> {
               Status s = ctx.invites.Delete(*req.principal, std::string(req.Param("id")),
                                             req.remote_addr);
               if (!s.ok()) co_return http::ProblemReply(s.error(), req.path);
               co_return http::EmptyReply(bhttp::status::no_content);
             });
}

}  // namespace lattice::api
