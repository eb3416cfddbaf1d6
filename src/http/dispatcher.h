// Dispatcher: turns one parsed request into a Reply. It owns the cross-cutting policy every
// route shares, in this order: request id, CORS (incl. preflight), routing (404/405), content
// type (415), authentication and role (401/403), the handler, the catch-all that turns an
// unexpected exception into a logged 500, `Cache-Control: no-store` on API responses, metrics
// and the access log.
// Network threads never block: with a StoreExecutor, authentication (token checks can read the
// store) and the handlers of routes that use the store run on it, and Dispatch awaits them; a
// request the executor could not start within its bound is answered 503 + Retry-After.
// Holds references to the router, metrics and executor, which must outlive it. Thread-safe.
#pragma once

#include <atomic>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "http/client_address.h"
#include "http/metrics.h"
#include "http/router.h"
#include "http/store_executor.h"
#include "http/types.h"

namespace lattice::http {

// Verifies a bearer token and returns who it belongs to (kUnauthenticated on any failure).
using Authenticator = std::function<Result<Principal>(std::string_view token)>;

struct DispatchOptions {
  std::vector<std::string> cors_origins;  // exact origins allowed; "*" allows any
  bool access_log = true;
  // Peers whose X-Forwarded-For is believed (see client_address.h); empty: none.
  TrustedProxies trusted_proxies;
  // Where authentication and store-using handlers run; null: inline on the calling thread
  // (only for tests whose handlers do not block).
  StoreExecutor* store_executor = nullptr;
  // A verification the authenticator holds in memory, without touching the store (nullopt:
  // none, or unset). Lets a route that does not use the store run entirely on the I/O thread
  // when its caller was verified recently.
  std::function<std::optional<Principal>(std::string_view token)> cached_auth = nullptr;
};

class Dispatcher {
 public:
  Dispatcher(const Router& router, HttpMetrics& metrics, Authenticator auth, DispatchOptions opts);
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  // `peer` is the socket's remote address; handlers see the client's (RequestContext::
  // remote_addr), which differs only behind a trusted proxy.
  asio::awaitable<Reply> Dispatch(const Request& req, std::string peer);

 private:
  std::string NextRequestId(const Request& req);
  bool OriginAllowed(std::string_view origin) const;
  // Authentication and role for `route`: sets ctx.principal, or returns the 401/403 reply.
  std::optional<Reply> Authorize(const Route& route, RequestContext& ctx) const;
  // The handler, with the catch-all that turns an exception into a logged 500.
  asio::awaitable<Reply> Handle(const Route& route, RequestContext& ctx) const;
  // Authorize + Handle, each on the executor or the I/O thread as the route says.
  asio::awaitable<Reply> Run(const Route& route, RequestContext& ctx) const;

  const Router& router_;
  HttpMetrics& metrics_;
  const Authenticator auth_;
  const DispatchOptions opts_;
  const std::string id_prefix_;
  std::atomic<std::uint64_t> counter_{0};
};

}  // namespace lattice::http
