// Dispatcher: turns one parsed request into a Reply. It owns the cross-cutting policy every
// route shares, in this order: request id, CORS (incl. preflight), routing (404/405), content
// type (415), authentication and role (401/403), the handler, the catch-all that turns an
// unexpected exception into a logged 500, `Cache-Control: no-store` on API responses, metrics
// and the access log.
// Holds references to the router and metrics, which must outlive it. Thread-safe.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include "common/result.h"
#include "http/client_address.h"
#include "http/metrics.h"
#include "http/router.h"
#include "http/types.h"

namespace lattice::http {

// Verifies a bearer token and returns who it belongs to (kUnauthenticated on any failure).
using Authenticator = std::function<Result<Principal>(std::string_view token)>;

struct DispatchOptions {
  std::vector<std::string> cors_origins;  // exact origins allowed; "*" allows any
  bool access_log = true;
  // Peers whose X-Forwarded-For is believed (see client_address.h); empty: none.
  TrustedProxies trusted_proxies;
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

  const Router& router_;
  HttpMetrics& metrics_;
  const Authenticator auth_;
  const DispatchOptions opts_;
  const std::string id_prefix_;
  std::atomic<std::uint64_t> counter_{0};
};

}  // namespace lattice::http
