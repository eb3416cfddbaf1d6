#include "api/nodes_handlers.h"

#include <boost/json.hpp>

#include "api/sse.h"
#include "api/workload_json.h"
#include "common/clock.h"
#include "http/problem.h"

namespace lattice::api {

using http::Access;
using http::Reply;
using http::RequestContext;
namespace bhttp = http::bhttp;
namespace json = boost::json;
namespace asio = boost::asio;

void AddNodeRoutes(http::Router& router, ApiContext& ctx) {
  router.Add(bhttp::verb::get, "/api/v1/nodes", Access::kUser,
             [&ctx](RequestContext& req) -> asio::awaitable<Reply> {
               auto nodes = ctx.control.ListNodes();
               if (!nodes.ok()) co_return http::ProblemReply(nodes.error(), req.path);
               json::array items;
               for (const auto& n : *nodes) items.push_back(NodeJson(n));
               co_return http::JsonReply(bhttp::status::ok, {{"items", std::move(items)}});
             });
  router.Add(bhttp::verb::post, "/api/v1/nodes/join-tokens", Access::kAdmin,
             [&ctx](RequestContext& req) -> asio::awaitable<Reply> {
               auto t = ctx.control.CreateJoinToken(req.principal->user_id);
               ctx.audit.Outcome(audit::Actor::Of(*req.principal), "join_token.create",
                                 t.ok() ? t->id : "", req.remote_addr, t);
               if (!t.ok()) co_return http::ProblemReply(t.error(), req.path);
               co_return http::JsonReply(bhttp::status::created,
                                         {{"token", t->token},
                                          {"command", t->command},
                                          {"expires_at", FormatTimestamp(t->expires_at)}});
             });
  router.Add(
      bhttp::verb::get, "/api/v1/events", Access::kUser,
      [&ctx](RequestContext& req) -> asio::awaitable<Reply> {
        auto queue = std::make_shared<SseQueue>(co_await asio::this_coro::executor);
        auto lease =
            ctx.streams.Open(StreamKind::kEvents, *req.principal, [queue] { queue->Close(); });
        if (!lease.ok()) co_return http::ProblemReply(lease.error(), req.path);
        auto held = std::shared_ptr<StreamRegistry::Lease>(std::move(lease).value());
        auto sub = std::shared_ptr<control::EventBus::Subscription>(
            ctx.events.Subscribe(req.principal->user_id, [queue](const control::Event& e) {
              const EventMessage m = EventJson(e);
              if (queue->Push(m.type, m.data)) return true;
              queue->Close();
              return false;
            }));
        Reply r = SseReply();
        r.stream = [queue, sub, held](http::beast::tcp_stream& s) -> asio::awaitable<void> {
          co_await queue->Pump(s);
        };
        co_return r;
      },
      // Events come from the in-memory bus: the stream keeps flowing while the store is
      // frozen. Only the sign-in check (in the dispatcher) reads the store.
      http::UsesStore::kNo);
}

}  // namespace lattice::api
