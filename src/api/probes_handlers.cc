#include "api/probes_handlers.h"

#include <boost/json.hpp>

#include <charconv>

#include "api/workload_json.h"
#include "common/clock.h"
#include "control/metrics_query.h"
#include "http/problem.h"

namespace lattice::api {

using http::Access;
using http::Reply;
using http::RequestContext;
namespace bhttp = http::bhttp;
namespace json = boost::json;
namespace asio = boost::asio;

namespace {

constexpr std::int64_t kDefaultSince = 24 * 3600;
constexpr int kMaxLimit = 1000;

std::optional<std::int64_t> Integer(std::string_view s) {
  std::int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

}  // namespace

Result<ProbeQuery> ParseProbeQuery(const std::optional<std::string>& since,
                                   const std::optional<std::string>& limit, std::int64_t now) {
  ProbeQuery q;
  q.since = now - kDefaultSince;
  std::vector<FieldError> bad;
  if (since && !since->empty()) {
    if (auto secs = Integer(*since); secs && *secs >= 0) {
      q.since = *secs;
    } else if (auto micros = ParseTimestampMicros(*since)) {
      q.since = *micros / 1'000'000;
    } else if (auto d = control::ParseMetricsDuration(
                   std::string_view(*since).substr((*since)[0] == '-' ? 1 : 0))) {
      q.since = now - *d;
    } else {
      bad.push_back(
          {"since", "must be unix seconds, an RFC 3339 time or a duration such as 6h or 7d"});
    }
  }
  if (limit && !limit->empty()) {
    auto n = Integer(*limit);
    if (!n || *n < 1 || *n > kMaxLimit)
      bad.push_back({"limit", "must be an integer from 1 to " + std::to_string(kMaxLimit)});
    else
      q.limit = static_cast<int>(*n);
  }
  if (!bad.empty()) return Error::Invalid("Invalid query parameters.", std::move(bad));
  return q;
}

json::object ProbesJson(const std::string& workload_id,
                        const std::vector<control::EndpointProbes>& endpoints) {
  json::array out;
  for (const auto& e : endpoints) {
    json::array history;
    for (const auto& h : e.history) {
      json::object row = ProbeJson(h);
      row.erase("checked_at");
      row.erase("changed_at");
      row["at"] = FormatTimestamp(h.at);
      history.push_back(std::move(row));
    }
    out.push_back({{"name", e.name},
                   {"container_port", e.current.container_port},
                   {"public_port", e.current.public_port},
                   {"probe", ProbeJson(e.current)},
                   {"history", std::move(history)}});
  }
  return {{"workload_id", workload_id}, {"endpoints", std::move(out)}};
}

void AddProbeRoutes(http::Router& router, ApiContext& ctx) {
  router.Add(bhttp::verb::get, "/api/v1/workloads/{id}/probes", Access::kUser,
             [&ctx](RequestContext& req) -> asio::awaitable<Reply> {
               auto q = ParseProbeQuery(req.QueryParam("since"), req.QueryParam("limit"),
                                        ctx.clock.NowSeconds());
               if (!q.ok()) co_return http::ProblemReply(q.error(), req.path);
               const std::string id(req.Param("id"));
               auto h = ctx.prober.History(*req.principal, id, q->since, q->limit);
               if (!h.ok()) co_return http::ProblemReply(h.error(), req.path);
               co_return http::JsonReply(bhttp::status::ok, ProbesJson(id, *h));
             });
}

}  // namespace lattice::api
