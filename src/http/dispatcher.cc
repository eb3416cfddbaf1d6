#include "http/dispatcher.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <exception>

#include "common/random.h"
#include "http/problem.h"

namespace lattice::http {
namespace {

bool IsSafeRequestId(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
  });
}

bool IsJsonContentType(std::string_view ct) {
  const auto semi = ct.find(';');
  std::string_view base = ct.substr(0, semi);
  while (!base.empty() && base.back() == ' ') base.remove_suffix(1);
  constexpr std::string_view kJson = "application/json";
  if (base.size() != kJson.size()) return false;
  for (std::size_t i = 0; i < base.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(base[i])) != kJson[i]) return false;
  return true;
}

std::string AllowHeader(const std::vector<bhttp::verb>& verbs) {
  std::string out;
  for (auto v : verbs) {
    if (!out.empty()) out += ", ";
    out += std::string(bhttp::to_string(v));
  }
  return out;
}

}  // namespace

Dispatcher::Dispatcher(const Router& router, HttpMetrics& metrics, Authenticator auth,
                       DispatchOptions opts)
    : router_(router),
      metrics_(metrics),
      auth_(std::move(auth)),
      opts_(std::move(opts)),
      id_prefix_(RandomToken(6)) {}

std::string Dispatcher::NextRequestId(const Request& req) {
  if (auto it = req.find("X-Request-Id"); it != req.end() && IsSafeRequestId(it->value()))
    return std::string(it->value());
  return id_prefix_ + "-" + std::to_string(counter_.fetch_add(1, std::memory_order_relaxed));
}

bool Dispatcher::OriginAllowed(std::string_view origin) const {
  for (const auto& o : opts_.cors_origins)
    if (o == "*" || o == origin) return true;
  return false;
}

std::optional<Reply> Dispatcher::Authorize(const Route& route, RequestContext& ctx) const {
  if (route.access == Access::kPublic) return std::nullopt;
  Result<Principal> p = ctx.BearerToken().empty()
                            ? Result<Principal>(Error::Unauthenticated(
                                  "Sign in first: send Authorization: Bearer <token>."))
                            : auth_(ctx.BearerToken());
  if (!p.ok()) {
    Reply reply = ProblemReply(p.error(), ctx.path);
    if (p.error().code == ErrorCode::kUnauthenticated)
      reply.res.set(bhttp::field::www_authenticate, "Bearer");
    return reply;
  }
  if (route.access == Access::kAdmin && !p->is_admin())
    return ProblemReply(Error::Forbidden("Only an administrator may do this."), ctx.path);
  ctx.principal = std::move(p).value();
  return std::nullopt;
}

asio::awaitable<Reply> Dispatcher::Handle(const Route& route, RequestContext& ctx) const {
  try {
    co_return co_await route.handler(ctx);
  } catch (const std::exception& e) {
    spdlog::error("msg=\"handler failed\" id={} route={} error=\"{}\"", ctx.request_id,
                  route.pattern, e.what());
  }
  co_return ProblemReply(Error::Internal("handler failed"), ctx.path);
}

asio::awaitable<Reply> Dispatcher::Run(const Route& route, RequestContext& ctx) const {
  StoreExecutor* ex = opts_.store_executor;
  const bool on_executor = route.store == UsesStore::kYes;
  if (ex == nullptr || (!on_executor && route.access == Access::kPublic)) {
    if (auto refused = Authorize(route, ctx)) co_return std::move(*refused);
    co_return co_await Handle(route, ctx);
  }
  // Nothing of this request needs the store when its caller's verification is in memory.
  if (!on_executor && opts_.cached_auth && !ctx.BearerToken().empty()) {
    if (auto p = opts_.cached_auth(ctx.BearerToken())) {
      if (route.access == Access::kAdmin && !p->is_admin())
        co_return ProblemReply(Error::Forbidden("Only an administrator may do this."), ctx.path);
      ctx.principal = std::move(*p);
      co_return co_await Handle(route, ctx);
    }
  }
  // The job references `ctx` and `reply`: Run awaits a job that started to its end.
  std::optional<Reply> reply;
  Status ran = co_await ex->Run([&]() -> asio::awaitable<void> {
    reply = Authorize(route, ctx);
    if (!reply && on_executor) reply = co_await Handle(route, ctx);
  });
  if (!ran.ok()) co_return ProblemReply(ran.error(), ctx.path);
  if (reply) co_return std::move(*reply);
  co_return co_await Handle(route, ctx);  // authorized; the handler does not block
}

asio::awaitable<Reply> Dispatcher::Dispatch(const Request& req, std::string peer) {
  const auto start = std::chrono::steady_clock::now();
  std::string remote_addr = std::move(peer);
  if (!opts_.trusted_proxies.empty()) {
    std::vector<std::string_view> forwarded;
    for (auto [it, end] = req.equal_range("X-Forwarded-For"); it != end; ++it)
      forwarded.push_back(it->value());
    remote_addr = ClientAddress(remote_addr, forwarded, opts_.trusted_proxies);
  }
  std::string_view target = req.target();
  const auto qpos = target.find('?');
  RequestContext ctx{req,
                     target.substr(0, qpos),
                     qpos == std::string_view::npos ? std::string_view{} : target.substr(qpos + 1),
                     {},
                     std::move(remote_addr),
                     NextRequestId(req),
                     std::nullopt};

  std::string route_name = "unmatched";
  std::string_view origin;
  if (auto it = req.find(bhttp::field::origin); it != req.end()) origin = it->value();
  const bool cors = !origin.empty() && OriginAllowed(origin);

  Reply reply;
  const bool preflight = req.method() == bhttp::verb::options && cors &&
                         req.find(bhttp::field::access_control_request_method) != req.end();
  if (preflight) {
    reply = EmptyReply(bhttp::status::no_content);
    reply.res.set(bhttp::field::access_control_allow_methods, "GET, POST, PUT, PATCH, DELETE");
    reply.res.set(bhttp::field::access_control_allow_headers,
                  "Authorization, Content-Type, X-Request-Id");
    reply.res.set(bhttp::field::access_control_max_age, "600");
  } else {
    Router::Match m = router_.Find(req.method(), ctx.path);
    if (m.route == nullptr) {
      if (m.allowed.empty()) {
        reply = ProblemReply(bhttp::status::not_found, "No such resource.", ctx.path);
      } else {
        reply = ProblemReply(
            bhttp::status::method_not_allowed,
            "This resource does not support " + std::string(req.method_string()) + ".", ctx.path);
        reply.res.set(bhttp::field::allow, AllowHeader(m.allowed));
      }
    } else {
      route_name = m.route->pattern;
      ctx.params = std::move(m.params);
      const auto ct = req.find(bhttp::field::content_type);
      bool ok = true;
      if (!req.body().empty() && (ct == req.end() || !IsJsonContentType(ct->value()))) {
        reply = ProblemReply(bhttp::status::unsupported_media_type,
                             "Request bodies must be sent as Content-Type: application/json.",
                             ctx.path);
        ok = false;
      }
      if (ok) reply = co_await Run(*m.route, ctx);
    }
  }

  reply.res.set("X-Request-Id", ctx.request_id);
  // API responses are per caller and many carry secrets (tokens, invite codes, workload
  // credentials, join tokens): no cache, shared or private, may keep them. A handler that
  // says otherwise (an event stream's no-cache) is left alone.
  if ((ctx.path.starts_with("/api/") || ctx.path == "/metrics") &&
      reply.res.find(bhttp::field::cache_control) == reply.res.end())
    reply.res.set(bhttp::field::cache_control, "no-store");
  if (cors) {
    reply.res.set(bhttp::field::access_control_allow_origin, origin);
    reply.res.set(bhttp::field::vary, "Origin");
    reply.res.set(bhttp::field::access_control_expose_headers, "X-Request-Id, Retry-After");
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const int status = reply.res.result_int();
  // Unknown methods are arbitrary client-chosen tokens: fold them into one label value so a
  // client cannot grow the metric series (and /metrics) without bound.
  metrics_.Record(route_name,
                  req.method() == bhttp::verb::unknown ? std::string_view("OTHER")
                                                       : std::string_view(req.method_string()),
                  status, seconds);
  if (opts_.access_log) {
    spdlog::info(
        "msg=request id={} remote={} method={} path=\"{}\" route=\"{}\" status={} ms={:.3f}",
        ctx.request_id, ctx.remote_addr, req.method_string(), ctx.path, route_name, status,
        seconds * 1000);
  }
  co_return reply;
}

}  // namespace lattice::http
