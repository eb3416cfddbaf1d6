#include "api/workloads_handlers.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include <cerrno>
#include <cstdlib>
#include <mutex>
#include <optional>

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

// "90s", "15m", "1h30m", "2d": a span of time back from now, in nanoseconds; nullopt if not one.
std::optional<std::int64_t> ParseAgo(std::string_view s) {
  if (s.empty() || s.size() > 32) return std::nullopt;
  std::int64_t total = 0;
  std::size_t at = 0;
  while (at < s.size()) {
    std::int64_t n = 0;
    const std::size_t digits = at;
    while (at < s.size() && s[at] >= '0' && s[at] <= '9') {
      n = n * 10 + (s[at++] - '0');
      if (n > 1'000'000'000) return std::nullopt;
    }
    if (at == digits || at == s.size()) return std::nullopt;
    std::int64_t unit = 0;
    switch (s[at++]) {
      case 's':
        unit = 1;
        break;
      case 'm':
        unit = 60;
        break;
      case 'h':
        unit = 3600;
        break;
      case 'd':
        unit = 86400;
        break;
      default:
        return std::nullopt;
    }
    total += n * unit;
    if (total > 10LL * 366 * 86400) return std::nullopt;
  }
  return total * 1'000'000'000;
}

// What a log read asks for: the link request's bounds, and how to answer.
struct LogParams {
  link::LogsOpen open;
  bool json = false;
};

// Parses ?tail= (0..10000; default 100, or 10000 with since/until), ?follow=, ?since= and
// ?until= (RFC 3339, or a span back from now such as 15m), ?q= (text, ≤ 256 bytes),
// ?generation= and ?before= (positive integers), ?format= (text or json). Every bad one is
// named in the 400.
Result<LogParams> ParseLogParams(const RequestContext& req, std::int64_t now_ns) {
  LogParams p;
  link::LogsOpen& o = p.open;
  o.tail = 100;
  std::vector<FieldError> errors;
  auto positive = [&](const char* name, std::int64_t& out) {
    auto v = req.QueryParam(name);
    if (!v) return;
    char* end = nullptr;
    errno = 0;
    const long long n = std::strtoll(v->c_str(), &end, 10);
    if (v->empty() || *end != '\0' || errno != 0 || n < 1)
      errors.push_back({name, "must be a positive integer"});
    else
      out = n;
  };
  auto when = [&](const char* name, std::int64_t& out) {
    auto v = req.QueryParam(name);
    if (!v) return;
    if (auto t = ParseTimestampNanos(*v)) {
      out = *t;
    } else if (auto ago = ParseAgo(*v)) {
      out = now_ns - *ago;
    } else {
      errors.push_back({name,
                        "must be an RFC 3339 time (2026-01-02T15:04:05Z) or a span back from now "
                        "(90s, 15m, 1h30m, 2d)"});
      return;
    }
    if (out <= 0) errors.push_back({name, "must be after 1970"});
  };
  when("since", o.since_ns);
  when("until", o.until_ns);
  if (o.since_ns > 0 || o.until_ns > 0) o.tail = 10000;
  if (auto t = req.QueryParam("tail")) {
    char* end = nullptr;
    const long v = std::strtol(t->c_str(), &end, 10);
    if (t->empty() || *end != '\0' || v < 0 || v > 10000)
      errors.push_back({"tail", "must be an integer from 0 to 10000"});
    else
      o.tail = static_cast<int>(v);
  }
  if (auto f = req.QueryParam("follow")) {
    if (*f == "true" || *f == "1")
      o.follow = true;
    else if (*f != "false" && *f != "0")
      errors.push_back({"follow", "must be true or false"});
  }
  if (auto q = req.QueryParam("q")) {
    if (q->size() > link::kMaxLogFilterBytes)
      errors.push_back({"q", "must be at most 256 bytes"});
    else if (q->find_first_of("\r\n") != std::string::npos)
      errors.push_back({"q", "must be one line"});
    else
      o.filter = *q;
  }
  positive("generation", o.generation);
  positive("before", o.before_seq);
  if (auto f = req.QueryParam("format")) {
    if (*f == "json")
      p.json = true;
    else if (*f != "text")
      errors.push_back({"format", "must be text or json"});
  }
  if (o.since_ns > 0 && o.until_ns > 0 && o.until_ns <= o.since_ns)
    errors.push_back({"until", "must be later than since"});
  if (o.follow && o.until_ns > 0)
    errors.push_back({"until", "cannot be combined with follow (a follow has no end)"});
  if (o.follow && o.before_seq > 0)
    errors.push_back({"before", "cannot be combined with follow (it pages back)"});
  if (!errors.empty()) return Error::Invalid("Invalid log query.", errors);
  return p;
}

// One line as JSON: {"seq", "generation", "time", "text"}; an agent older than the kept logs
// sends no numbers (seq and generation 0, time null).
json::object LogEntryJson(const link::LogsData& d, std::size_t i) {
  json::object o;
  o["seq"] = i < d.seqs.size() ? d.seqs[i] : 0;
  o["generation"] = i < d.generations.size() ? d.generations[i] : 0;
  if (i < d.times_ns.size() && d.times_ns[i] > 0)
    o["time"] = FormatTimestampNanos(d.times_ns[i]);
  else
    o["time"] = nullptr;
  o["text"] = d.lines[i];
  return o;
}

// Collects a non-following log read: lines until the agent's logs.end.
struct LogCollector {
  explicit LogCollector(asio::any_io_executor ex) : done(ex, 1) {}
  std::mutex mu;
  std::string text;     // guarded by mu (format=text)
  json::array entries;  // guarded by mu (format=json)
  std::string error;    // guarded by mu
  bool more = false;    // guarded by mu
  asio::experimental::concurrent_channel<void(boost::system::error_code)> done;
};

asio::awaitable<Reply> Logs(ApiContext& ctx, RequestContext& req) {
  using namespace asio::experimental::awaitable_operators;
  auto params = ParseLogParams(req, ctx.clock.NowSeconds() * 1'000'000'000);
  if (!params.ok()) co_return http::ProblemReply(params.error(), req.path);
  const bool as_json = params->json;
  const std::string id(req.Param("id"));
  link::LogsOpen open = params->open;
  open.workload_id = id;
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

  if (open.follow) {
    auto queue = std::make_shared<SseQueue>(ex, 4096);
    auto lease =
        ctx.streams.Open(StreamKind::kFollowedLogs, *req.principal, [queue] { queue->Close(); });
    if (!lease.ok()) co_return http::ProblemReply(lease.error(), req.path);
    auto held = std::shared_ptr<StreamRegistry::Lease>(std::move(lease).value());
    const std::string stream_id = ctx.hub.OpenLogs(
        **node, open, [queue, as_json](link::LogsData d, const link::LogsEnd* end) {
          bool ok = true;
          for (std::size_t i = 0; i < d.lines.size() && ok; ++i)
            ok = queue->Push("", as_json ? json::serialize(LogEntryJson(d, i)) : d.lines[i]);
          if (end && !end->error.empty()) queue->Push("error", end->error);
          if (end || !ok) queue->Close();  // finished, or the client is too slow
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
  const std::string stream_id =
      ctx.hub.OpenLogs(**node, open, [col, as_json](link::LogsData d, const link::LogsEnd* end) {
        std::lock_guard lock(col->mu);
        for (std::size_t i = 0; i < d.lines.size(); ++i) {
          if (as_json) {
            col->entries.push_back(LogEntryJson(d, i));
          } else {
            col->text += d.lines[i];
            col->text += '\n';
          }
        }
        if (end) {
          col->error = end->error;
          col->more = end->more;
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
  if (as_json) {
    json::object body{{"entries", std::move(col->entries)}, {"more", col->more}};
    co_return http::JsonReply(bhttp::status::ok, std::move(body));
  }
  Reply r = http::TextReply(bhttp::status::ok, std::move(col->text), "text/plain; charset=utf-8");
  if (col->more) r.res.set("X-Lattice-More", "true");
  co_return r;
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
