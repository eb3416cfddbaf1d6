#include "api/audit_handlers.h"

#include <boost/json.hpp>

#include <cstdlib>
#include <limits>
#include <optional>

#include "api/wire.h"
#include "http/problem.h"

namespace lattice::api {
namespace {

using http::Access;
using http::Reply;
using http::RequestContext;
namespace bhttp = http::bhttp;
namespace json = boost::json;
namespace asio = boost::asio;

constexpr int kDefaultLimit = 50;
constexpr int kMaxLimit = 500;

// A decimal integer in [min, max]; nullopt if the text is anything else.
std::optional<std::int64_t> ParseInt(const std::string& text, std::int64_t min, std::int64_t max) {
  if (text.empty() || text.size() > 19 || text.find_first_not_of("0123456789") != text.npos)
    return std::nullopt;
  const long long v = std::strtoll(text.c_str(), nullptr, 10);
  if (v < min || v > max) return std::nullopt;
  return v;
}

struct Page {
  int limit = kDefaultLimit;
  std::int64_t before = 0;  // 0: from the newest
};

Result<Page> PageParams(const RequestContext& req) {
  Page p;
  std::vector<FieldError> errors;
  if (auto l = req.QueryParam("limit")) {
    if (auto v = ParseInt(*l, 1, kMaxLimit))
      p.limit = static_cast<int>(*v);
    else
      errors.push_back({"limit", "must be an integer from 1 to " + std::to_string(kMaxLimit)});
  }
  if (auto b = req.QueryParam("before")) {
    if (auto v = ParseInt(*b, 1, std::numeric_limits<std::int64_t>::max()))
      p.before = *v;
    else
      errors.push_back({"before", "must be a positive integer (an event id)"});
  }
  if (!errors.empty()) return Error::Invalid("Invalid audit query.", errors);
  return p;
}

}  // namespace

void AddAuditRoutes(http::Router& router, ApiContext& ctx) {
  router.Add(bhttp::verb::get, "/api/v1/audit", Access::kAdmin,
             [&ctx](RequestContext& req) -> asio::awaitable<Reply> {
               auto page = PageParams(req);
               if (!page.ok()) co_return http::ProblemReply(page.error(), req.path);
               auto events = ctx.store.ListAudit(page->before, page->limit);
               if (!events.ok()) co_return http::ProblemReply(events.error(), req.path);
               json::array items;
               for (const auto& e : *events) items.push_back(AuditEventJson(e));
               // A full page may have more behind it: say where the next one starts.
               const bool full = static_cast<int>(events->size()) == page->limit;
               co_return http::JsonReply(
                   bhttp::status::ok,
                   {{"items", std::move(items)},
                    {"next_before", full ? json::value(events->back().id) : json::value(nullptr)}});
             });
}

}  // namespace lattice::api
