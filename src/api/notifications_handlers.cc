#include "api/notifications_handlers.h"

#include <boost/json.hpp>

#include <charconv>

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

json::object ChannelJson(const store::NotificationChannel& c) {
  json::array events;
  for (const auto& e : c.events) events.emplace_back(e);
  json::object o{{"id", c.id},
                 {"kind", store::ChannelKindName(c.kind)},
                 {"events", std::move(events)},
                 {"created_at", FormatTimestamp(c.created_at)}};
  o["url"] = c.kind == store::ChannelKind::kWebhook ? json::value(c.target) : json::value(nullptr);
  o["email"] = c.kind == store::ChannelKind::kEmail ? json::value(c.target) : json::value(nullptr);
  return o;
}

json::object DeliveryJson(const store::Delivery& d) {
  return {
      {"id", d.id},
      {"channel_id", d.channel_id},
      {"kind", d.kind},
      {"workload_id", d.workload_id.empty() ? json::value(nullptr) : json::value(d.workload_id)},
      {"status", store::DeliveryStatusName(d.status)},
      {"attempts", d.attempts},
      {"last_code", d.last_code},
      {"last_result", d.last_result},
      {"next_attempt_at", d.status == store::DeliveryStatus::kPending
                              ? json::value(FormatTimestamp(d.next_attempt_at))
                              : json::value(nullptr)},
      {"created_at", FormatTimestamp(d.created_at)},
      {"updated_at", FormatTimestamp(d.updated_at)}};
}

Result<notify::ChannelRequest> ReadChannel(const RequestContext& req) {
  auto obj = ParseJsonObject(req.req.body());
  if (!obj.ok()) return std::move(obj).error();
  FieldReader r(*obj);
  r.RefuseUnknown({"kind", "url", "email", "events"});
  notify::ChannelRequest c;
  c.kind = r.RequiredString("kind");
  c.url = r.OptionalString("url").value_or("");
  c.email = r.OptionalString("email").value_or("");
  if (const json::value* ev = obj->if_contains("events"); ev && !ev->is_null()) {
    if (!ev->is_array()) {
      r.AddError("events", "must be an array of alert kinds");
    } else {
      for (const json::value& e : ev->as_array()) {
        if (!e.is_string()) {
          r.AddError("events", "must be an array of alert kinds");
          break;
        }
        c.events.emplace_back(e.as_string());
      }
      if (c.events.empty() && r.ok()) r.AddError("events", "must not be empty; omit it for all");
    }
  }
  if (!r.ok()) return r.ToError();
  if (c.kind == "webhook" && c.url.empty())
    return Error::Invalid("A webhook needs a url.", {{"url", "is required for a webhook"}});
  if (c.kind == "email" && c.email.empty())
    return Error::Invalid("An e-mail channel needs an address.",
                          {{"email", "is required for an e-mail channel"}});
  return c;
}

}  // namespace

void AddNotificationRoutes(http::Router& router, ApiContext& ctx,
                           notify::NotificationService& notifications) {
  router.Add(bhttp::verb::get, "/api/v1/notification-channels", Access::kUser,
             [&notifications](RequestContext& req) -> asio::awaitable<Reply> {
               auto list = notifications.ListChannels(*req.principal);
               if (!list.ok()) co_return http::ProblemReply(list.error(), req.path);
               json::array items;
               for (const auto& c : *list) items.push_back(ChannelJson(c));
               co_return http::JsonReply(bhttp::status::ok,
                                         {{"items", std::move(items)},
                                          {"email_available", notifications.EmailConfigured()}});
             });
  router.Add(
      bhttp::verb::post, "/api/v1/notification-channels", Access::kUser,
      [&ctx, &notifications](RequestContext& req) -> asio::awaitable<Reply> {
        const audit::Actor who = audit::Actor::Of(*req.principal);
        auto in = ReadChannel(req);
        if (!in.ok()) co_return http::ProblemReply(in.error(), req.path);
        auto made = notifications.CreateChannel(*req.principal, *in);
        if (!made.ok()) {
          ctx.audit.Failure(who, "notification-channel.create", "", req.remote_addr, made.error());
          co_return http::ProblemReply(made.error(), req.path);
        }
        ctx.audit.Success(who, "notification-channel.create", made->channel.id, req.remote_addr,
                          store::ChannelKindName(made->channel.kind));
        json::object body = ChannelJson(made->channel);
        body["secret"] = made->secret.empty() ? json::value(nullptr) : json::value(made->secret);
        co_return http::JsonReply(bhttp::status::created, std::move(body));
      });
  router.Add(bhttp::verb::get, "/api/v1/notification-channels/{id}", Access::kUser,
             [&notifications](RequestContext& req) -> asio::awaitable<Reply> {
               auto c = notifications.GetChannel(*req.principal, std::string(req.Param("id")));
               if (!c.ok()) co_return http::ProblemReply(c.error(), req.path);
               co_return http::JsonReply(bhttp::status::ok, ChannelJson(*c));
             });
  router.Add(bhttp::verb::delete_, "/api/v1/notification-channels/{id}", Access::kUser,
             [&ctx, &notifications](RequestContext& req) -> asio::awaitable<Reply> {
               const std::string id(req.Param("id"));
               Status s = notifications.DeleteChannel(*req.principal, id);
               const audit::Actor who = audit::Actor::Of(*req.principal);
               if (!s.ok()) {
                 ctx.audit.Failure(who, "notification-channel.delete", id, req.remote_addr,
                                   s.error());
                 co_return http::ProblemReply(s.error(), req.path);
               }
               ctx.audit.Success(who, "notification-channel.delete", id, req.remote_addr);
               co_return http::EmptyReply(bhttp::status::no_content);
             });
  router.Add(bhttp::verb::post, "/api/v1/notification-channels/{id}/test", Access::kUser,
             [&notifications](RequestContext& req) -> asio::awaitable<Reply> {
               auto d = notifications.SendTest(*req.principal, std::string(req.Param("id")));
               if (!d.ok()) co_return http::ProblemReply(d.error(), req.path);
               co_return http::JsonReply(bhttp::status::accepted, DeliveryJson(*d));
             });
  router.Add(bhttp::verb::get, "/api/v1/notification-channels/{id}/deliveries", Access::kUser,
             [&notifications](RequestContext& req) -> asio::awaitable<Reply> {
               int limit = 50;
               if (auto q = req.QueryParam("limit"); q && !q->empty()) {
                 auto [p, ec] = std::from_chars(q->data(), q->data() + q->size(), limit);
                 if (ec != std::errc() || p != q->data() + q->size() || limit < 1 || limit > 200) {
                   co_return http::ProblemReply(
                       Error::Invalid("limit must be an integer from 1 to 200.",
                                      {{"limit", "must be an integer from 1 to 200"}}),
                       req.path);
                 }
               }
               auto list =
                   notifications.Deliveries(*req.principal, std::string(req.Param("id")), limit);
               if (!list.ok()) co_return http::ProblemReply(list.error(), req.path);
               json::array items;
               for (const auto& d : *list) items.push_back(DeliveryJson(d));
               co_return http::JsonReply(bhttp::status::ok, {{"items", std::move(items)}});
             });
}

}  // namespace lattice::api
