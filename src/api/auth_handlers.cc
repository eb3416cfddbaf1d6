#include "api/auth_handlers.h"

#include <boost/json.hpp>

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

Reply SignedInReply(bhttp::status status, const auth::SignedIn& s) {
  return http::JsonReply(status, {{"user", UserJson(s.user)},
                                  {"token", s.token},
                                  {"expires_at", FormatTimestamp(s.expires_at)}});
}

// Reads {email, password} (both required strings).
Result<std::pair<std::string, std::string>> ReadCredentials(const RequestContext& req) {
  auto obj = ParseJsonObject(req.req.body());
  if (!obj.ok()) return std::move(obj).error();
  FieldReader r(*obj);
  std::string email = r.RequiredString("email");
  std::string password = r.RequiredString("password");
  if (!r.ok()) return r.ToError();
  return std::make_pair(std::move(email), std::move(password));
}

}  // namespace

void AddAuthRoutes(http::Router& router, ApiContext& ctx) {
  router.Add(bhttp::verb::post, "/api/v1/auth/register", Access::kPublic,
             [&ctx](RequestContext& req) -> boost::asio::awaitable<Reply> {
               auto creds = ReadCredentials(req);
               if (!creds.ok()) co_return http::ProblemReply(creds.error(), req.path);
               auto r = co_await RunBlocking(ctx.blocking, [&] {
                 return ctx.auth.Register(creds->first, creds->second, req.remote_addr);
               });
               if (!r.ok()) co_return http::ProblemReply(r.error(), req.path);
               co_return SignedInReply(bhttp::status::created, *r);
             });

  router.Add(bhttp::verb::post, "/api/v1/auth/login", Access::kPublic,
             [&ctx](RequestContext& req) -> boost::asio::awaitable<Reply> {
               auto creds = ReadCredentials(req);
               if (!creds.ok()) co_return http::ProblemReply(creds.error(), req.path);
               auto r = co_await RunBlocking(ctx.blocking, [&] {
                 return ctx.auth.Login(creds->first, creds->second, req.remote_addr);
               });
               if (!r.ok()) co_return http::ProblemReply(r.error(), req.path);
               co_return SignedInReply(bhttp::status::ok, *r);
             });

  router.Add(bhttp::verb::post, "/api/v1/auth/logout", Access::kUser,
             [&ctx](RequestContext& req) -> boost::asio::awaitable<Reply> {
               if (Status s = ctx.auth.Logout(*req.principal); !s.ok())
                 co_return http::ProblemReply(s.error(), req.path);
               co_return http::EmptyReply(bhttp::status::no_content);
             });

  router.Add(bhttp::verb::get, "/api/v1/auth/me", Access::kUser,
             [](RequestContext& req) -> boost::asio::awaitable<Reply> {
               co_return http::JsonReply(bhttp::status::ok, UserJson(*req.principal));
             });

  router.Add(bhttp::verb::post, "/api/v1/auth/password", Access::kUser,
             [&ctx](RequestContext& req) -> boost::asio::awaitable<Reply> {
               auto obj = ParseJsonObject(req.req.body());
               if (!obj.ok()) co_return http::ProblemReply(obj.error(), req.path);
               FieldReader f(*obj);
               std::string current = f.RequiredString("current_password");
               std::string next = f.RequiredString("new_password");
               if (!f.ok()) co_return http::ProblemReply(f.ToError(), req.path);
               auto r = co_await RunBlocking(ctx.blocking, [&] {
                 return ctx.auth.ChangePassword(*req.principal, current, next, req.remote_addr);
               });
               if (!r.ok()) co_return http::ProblemReply(r.error(), req.path);
               co_return SignedInReply(bhttp::status::ok, *r);
             });
}

}  // namespace lattice::api
