// ApiContext: the services handlers use, held by reference (owned by server::App, which
// outlives the router), and RunBlocking for work that must stay off the I/O threads.
#pragma once

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <optional>

#include "api/stream_registry.h"
#include "audit/audit_log.h"
#include "auth/auth_service.h"
#include "auth/invite_service.h"
#include "common/clock.h"
#include "control/agent_hub.h"
#include "control/backups.h"
#include "control/control_plane.h"
#include "control/event_bus.h"
#include "control/metrics_service.h"
#include "control/prober.h"
#include "http/metrics.h"
#include "http/store_executor.h"
#include "store/store.h"

namespace lattice::api {

struct ApiContext {
  store::Store& store;
  auth::AuthService& auth;
  http::HttpMetrics& metrics;
  boost::asio::thread_pool& blocking;  // argon2id and other CPU-heavy or blocking calls
  // Store calls of handlers that run on the I/O thread (routes with UsesStore::kNo).
  http::StoreExecutor& store_executor;
  control::ControlPlane& control;
  control::Backups& backups;
  control::MetricsService& metrics_service;  // workload and node metrics (docs/metrics.md)
  control::Prober& prober;                   // endpoint probe history (docs/probes.md)
  control::EventBus& events;
  control::AgentHub& hub;
  auth::InviteService& invites;
  audit::AuditLog& audit;
  const Clock& clock;
  StreamRegistry& streams;  // open event streams and followed logs, capped per user
  int heartbeat_seconds = 5;
  // How long creating or checking a backup target waits for the node's probe before it
  // answers with the probe still pending.
  std::chrono::milliseconds target_probe_wait{30000};
};

// Runs `fn` on the blocking pool and resumes the caller on its own executor with the result.
template <typename F>
auto RunBlocking(boost::asio::thread_pool& pool, F fn) -> boost::asio::awaitable<decltype(fn())> {
  using R = decltype(fn());
  // co_spawn needs a default-constructible result; Result<T> deliberately is not.
  std::optional<R> out = co_await boost::asio::co_spawn(
      pool, [&]() -> boost::asio::awaitable<std::optional<R>> { co_return fn(); },
      boost::asio::use_awaitable);
  co_return std::move(*out);
}

}  // namespace lattice::api
