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

struct Credentials {
  std::string email;
  std::string password;
  std::string invite;  // sign-up only
};

// Reads {email, password} (both required strings) and, for sign-up, an optional `invite`.
Result<Credentials> ReadCredentials(const RequestContext& req, bool sign_up) {
  auto obj = ParseJsonObject(req.req.body());
  if (!obj.ok()) return std::move(obj).error();
  FieldReader r(*obj);
  if (sign_up)
    r.RefuseUnknown({"email", "password", "invite"});
  else
    r.RefuseUnknown({"email", "password"});
  Credentials c;
  c.email = r.RequiredString("email");
  c.password = r.RequiredString("password");
  if (sign_up) c.invite = r.OptionalString("invite").value_or("");
  if (!r.ok()) return r.ToError();
  return c;
}

std::string_view RegistrationName(store::Registration r) {
  switch (r) {
    case store::Registration::kOpen:
      return "open";
    case store::Registration::kInvite:
      return "invite";
    case store::Registration::kClosed:
      return "closed";
  }
  return "open";
}

}  // namespace

void AddAuthRoutes(http::Router& router, ApiContext& ctx) {
  router.Add(
      bhttp::verb::post, "/api/v1/auth/register", Access::kPublic,
      [&ctx](RequestContext& req) -> boost::asio::awaitable<Reply> {
        auto creds = ReadCredentials(req, true);
        if (!creds.ok()) co_return http::ProblemReply(creds.error(), req.path);
        auto r = co_await RunBlocking(ctx.blocking, [&] {
          return ctx.auth.Register({creds->email, creds->password, creds->invite}, req.remote_addr);
        });
        if (!r.ok()) co_return http::ProblemReply(r.error(), req.path);
        co_return SignedInReply(bhttp::status::created, *r);
      });

  router.Add(bhttp::verb::post, "/api/v1/auth/login", Access::kPublic,
             [&ctx](RequestContext& req) -> boost::asio::awaitable<Reply> {
               auto creds = ReadCredentials(req, false);
               if (!creds.ok()) co_return http::ProblemReply(creds.error(), req.path);
               auto r = co_await RunBlocking(ctx.blocking, [&] {
                 return ctx.auth.Login(creds->email, creds->password, req.remote_addr);
               });
               if (!r.ok()) co_return http::ProblemReply(r.error(), req.path);
               co_return SignedInReply(bhttp::status::ok, *r);
             });

  router.Add(bhttp::verb::post, "/api/v1/auth/logout", Access::kUser,
             [&ctx](RequestContext& req) -> boost::asio::awaitable<Reply> {
               // Off the I/O thread: it writes the store (and tells other replicas).
               Status s = co_await RunBlocking(
                   ctx.blocking, [&] { return ctx.auth.Logout(*req.principal, req.remote_addr); });
               if (!s.ok()) co_return http::ProblemReply(s.error(), req.path);
               co_return http::EmptyReply(bhttp::status::no_content);
             });

  // What a sign-up form needs to know before it is filled in.
  router.Add(bhttp::verb::get, "/api/v1/auth/config", Access::kPublic,
             [&ctx](RequestContext& req) -> boost::asio::awaitable<Reply> {
               auto any = ctx.store.HasUsers();
               if (!any.ok()) co_return http::ProblemReply(any.error(), req.path);
               co_return http::JsonReply(
                   bhttp::status::ok, {{"registration", RegistrationName(ctx.auth.registration())},
                                       {"first_account", !*any}});
             });

  // Answered from the verified principal alone: with its verification cached, the whole
  // request stays on the I/O thread.
  router.Add(
      bhttp::verb::get, "/api/v1/auth/me", Access::kUser,
      [](RequestContext& req) -> boost::asio::awaitable<Reply> {
        co_return http::JsonReply(bhttp::status::ok, UserJson(*req.principal));
      },
      http::UsesStore::kNo);

  router.Add(bhttp::verb::post, "/api/v1/auth/password", Access::kUser,
             [&ctx](RequestContext& req) -> boost::asio::awaitable<Reply> {
               auto obj = ParseJsonObject(req.req.body());
               if (!obj.ok()) co_return http::ProblemReply(obj.error(), req.path);
               FieldReader f(*obj);
               f.RefuseUnknown({"current_password", "new_password"});
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
