#include "api/workloads_handlers.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include <mutex>

#include "api/sse.h"
#include "api/workload_json.h"
#include "api/workload_request.h"
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

Reply WorkloadReply(bhttp::status status, const Result<control::WorkloadView>& v,
                    std::string_view path) {
  if (!v.ok()) return http::ProblemReply(v.error(), path);
  return http::JsonReply(status, WorkloadJson(*v));
}

// Parses ?tail= (default 100, 0..10000) and ?follow= (true/false/1/0).
Result<std::pair<int, bool>> LogParams(const RequestContext& req) {
  int tail = 100;
  bool follow = false;
  std::vector<FieldError> errors;
  if (auto t = req.QueryParam("tail")) {
    char* end = nullptr;
    const long v = std::strtol(t->c_str(), &end, 10);
    if (t->empty() || *end != '\0' || v < 0 || v > 10000)
      errors.push_back({"tail", "must be an integer from 0 to 10000"});
    else
      tail = static_cast<int>(v);
  }
  if (auto f = req.QueryParam("follow")) {
    if (*f == "true" || *f == "1")
      follow = true;
    else if (*f != "false" && *f != "0")
      errors.push_back({"follow", "must be true or false"});
  }
  if (!errors.empty()) return Error::Invalid("Invalid log query.", errors);
  return std::make_pair(tail, follow);
}

// Collects a non-following log read: lines until the agent's logs.end.
struct LogCollector {
  explicit LogCollector(asio::any_io_executor ex) : done(ex, 1) {}
  std::mutex mu;
  std::string text;   // guarded by mu
  std::string error;  // guarded by mu
  asio::experimental::concurrent_channel<void(boost::system::error_code)> done;
};

asio::awaitable<Reply> Logs(ApiContext& ctx, RequestContext& req) {
  using namespace asio::experimental::awaitable_operators;
  auto params = LogParams(req);
  if (!params.ok()) co_return http::ProblemReply(params.error(), req.path);
  const auto [tail, follow] = *params;
  const std::string id(req.Param("id"));
  // Runs on the I/O thread (it waits for the agent, or streams): only this lookup is a store
  // call.
  std::optional<Result<std::string>> node;
  if (Status ran = co_await ctx.store_executor.Call(
          [&] { node.emplace(ctx.control.NodeOf(*req.principal, id)); });
      !ran.ok())
    co_return http::ProblemReply(ran.error(), req.path);
  if (!node->ok()) co_return http::ProblemReply(node->error(), req.path);
  auto ex = co_await asio::this_coro::executor;
  const Error offline = Error::Unavailable("The workload's node is not connected right now.");

  if (follow) {
    auto queue = std::make_shared<SseQueue>(ex, 4096);
    auto lease =
        ctx.streams.Open(StreamKind::kFollowedLogs, *req.principal, [queue] { queue->Close(); });
    if (!lease.ok()) co_return http::ProblemReply(lease.error(), req.path);
    auto held = std::shared_ptr<StreamRegistry::Lease>(std::move(lease).value());
    const std::string stream_id =
        ctx.hub.OpenLogs(**node, id, tail, true,
                         [queue](std::vector<std::string> lines, bool done, std::string error) {
                           bool ok = true;
                           for (const auto& l : lines) ok = ok && queue->Push("", l);
                           if (done && !error.empty()) queue->Push("error", error);
                           if (done || !ok) queue->Close();  // finished, or the client is too slow
                         });
    if (stream_id.empty()) co_return http::ProblemReply(offline, req.path);
    Reply r = SseReply();
    auto* hub = &ctx.hub;
    r.stream = [queue, hub, stream_id, held](http::beast::tcp_stream& s) -> asio::awaitable<void> {
      co_await queue->Pump(s);
      hub->CloseLogs(stream_id);  // the client left: stop the agent's follow
    };
    co_return r;
  }

  auto col = std::make_shared<LogCollector>(ex);
  const std::string stream_id = ctx.hub.OpenLogs(
      **node, id, tail, false, [col](std::vector<std::string> lines, bool done, std::string error) {
        std::lock_guard lock(col->mu);
        for (const auto& l : lines) {
          col->text += l;
          col->text += '\n';
        }
        if (done) {
          col->error = std::move(error);
          col->done.try_send(boost::system::error_code{});
        }
      });
  if (stream_id.empty()) co_return http::ProblemReply(offline, req.path);
  asio::steady_timer deadline(ex, std::chrono::seconds(20));
  auto which = co_await (col->done.async_receive(asio::as_tuple(asio::use_awaitable)) ||
                         deadline.async_wait(asio::as_tuple(asio::use_awaitable)));
  if (which.index() == 1) {
    ctx.hub.CloseLogs(stream_id);
    co_return http::ProblemReply(Error::Unavailable("The node did not send the logs in time."),
                                 req.path);
  }
  std::lock_guard lock(col->mu);
  if (!col->error.empty()) co_return http::ProblemReply(Error::Conflict(col->error), req.path);
  co_return http::TextReply(bhttp::status::ok, std::move(col->text), "text/plain; charset=utf-8");
}

}  // namespace

void AddWorkloadRoutes(http::Router& router, ApiContext& ctx) {
  router.Add(bhttp::verb::post, "/api/v1/workloads", Access::kUser,
             [&ctx](RequestContext& req) -> asio::awaitable<Reply> {
               auto obj = ParseJsonObject(req.req.body());
               if (!obj.ok()) co_return http::ProblemReply(obj.error(), req.path);
               auto wr = ParseWorkloadRequest(*obj);
               if (!wr.ok()) co_return http::ProblemReply(wr.error(), req.path);
               const audit::Actor who = audit::Actor::Of(*req.principal);
               // Written with the workload, in its transaction; a refusal writes nothing else.
               auto created = ctx.control.CreateWorkload(
                   *req.principal, *wr,
                   ctx.audit.Event(who, "workload.create", "", req.remote_addr, true,
                                   wr->template_name + " '" + wr->name + "'"));
               if (!created.ok())
                 ctx.audit.Failure(who, "workload.create", "", req.remote_addr, created.error());
               co_return WorkloadReply(bhttp::status::created, created, req.path);
             });
  router.Add(bhttp::verb::get, "/api/v1/workloads", Access::kUser,
             [&ctx](RequestContext& req) -> asio::awaitable<Reply> {
               auto list = ctx.control.ListWorkloads(*req.principal);
               if (!list.ok()) co_return http::ProblemReply(list.error(), req.path);
               json::array items;
               for (const auto& v : *list) items.push_back(WorkloadJson(v));
               co_return http::JsonReply(bhttp::status::ok, {{"items", std::move(items)}});
             });
  router.Add(bhttp::verb::get, "/api/v1/workloads/{id}", Access::kUser,
             [&ctx](RequestContext& req) -> asio::awaitable<Reply> {
               co_return WorkloadReply(
                   bhttp::status::ok,
                   ctx.control.GetWorkload(*req.principal, std::string(req.Param("id"))), req.path);
             });
  for (const auto& [verb, suffix, desired, action] :
       {std::tuple{bhttp::verb::post, "/stop", DesiredState::kStopped, "workload.stop"},
        std::tuple{bhttp::verb::post, "/start", DesiredState::kRunning, "workload.start"},
        std::tuple{bhttp::verb::delete_, "", DesiredState::kDeleted, "workload.delete"}}) {
    const DesiredState want = desired;
    const std::string name = action;
    router.Add(verb, std::string("/api/v1/workloads/{id}") + suffix, Access::kUser,
               [&ctx, want, name](RequestContext& req) -> asio::awaitable<Reply> {
                 const std::string id(req.Param("id"));
                 auto changed = ctx.control.SetDesired(*req.principal, id, want);
                 ctx.audit.Outcome(audit::Actor::Of(*req.principal), name, id, req.remote_addr,
                                   changed);
                 co_return WorkloadReply(bhttp::status::accepted, changed, req.path);
               });
  }
  router.Add(
      bhttp::verb::get, "/api/v1/workloads/{id}/events", Access::kUser,
      [&ctx](RequestContext& req) -> asio::awaitable<Reply> {
        auto ev = ctx.control.Timeline(*req.principal, std::string(req.Param("id")));
        if (!ev.ok()) co_return http::ProblemReply(ev.error(), req.path);
        json::array items;
        for (const auto& e : *ev)
          items.push_back(
              {{"at", FormatTimestamp(e.at)}, {"status", Name(e.status)}, {"message", e.message}});
        co_return http::JsonReply(bhttp::status::ok, {{"items", std::move(items)}});
      });
  router.Add(
      bhttp::verb::get, "/api/v1/workloads/{id}/logs", Access::kUser,
      [&ctx](RequestContext& req) -> asio::awaitable<Reply> { return Logs(ctx, req); },
      http::UsesStore::kNo);
}

}  // namespace lattice::api
