#include "server/app.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>

#include <cstdio>
#include <filesystem>
#include <set>
#include <thread>

#include "api/api_context.h"
#include "api/audit_handlers.h"
#include "api/auth_handlers.h"
#include "api/backups_handlers.h"
#include "api/invites_handlers.h"
#include "api/metrics_handlers.h"
#include "api/nodes_handlers.h"
#include "api/notifications_handlers.h"
#include "api/ops_handlers.h"
#include "api/probes_handlers.h"
#include "api/workloads_handlers.h"
#include "audit/audit_log.h"
#include "auth/auth_service.h"
#include "auth/invite_service.h"
#include "backend/backend.h"
#include "common/clock.h"
#include "common/keyring.h"
#include "common/random.h"
#include "console/console.h"
#include "control/agent_hub.h"
#include "control/alerts.h"
#include "control/control_plane.h"
#include "control/event_bus.h"
#include "control/metrics_service.h"
#include "control/prober.h"
#include "edge/edge.h"
#include "http/dispatcher.h"
#include "http/metrics.h"
#include "http/problem.h"
#include "http/server.h"
#include "http/store_executor.h"
#include "notify/curl_transport.h"
#include "notify/notification_service.h"
#include "server/agent_link.h"
#include "server/cluster_relay.h"
#include "server/data_dir.h"
#include "server/settings.h"
#include "server/tls_front.h"
#include "store/store.h"
#include "tls/server_pki.h"

namespace lattice::server {

namespace asio = boost::asio;
namespace fs = std::filesystem;

struct App::Impl {
  ServerConfig config;
  SystemClock clock;
  Keyring keys;
  std::unique_ptr<tls::ServerPki> pki;
  std::unique_ptr<TlsFront> tls_front;
  std::unique_ptr<store::Store> store;
  // Where every store call of a request or an agent link runs: never on the I/O threads.
  // Joined first in ~App (its jobs may still await the blocking pool, or post to the ioc).
  std::unique_ptr<http::StoreExecutor> store_executor;
  std::unique_ptr<audit::AuditLog> audit;
  std::unique_ptr<auth::AuthService> auth;
  std::unique_ptr<auth::InviteService> invites;
  std::unique_ptr<api::StreamRegistry> streams;
  http::HttpMetrics metrics;
  asio::thread_pool blocking{2};  // CPU-heavy request work: argon2id
  // The control plane's duties get a thread of their own: a burst of sign-ins filling the
  // blocking pool must not delay noticing lost nodes or placing pending workloads.
  asio::thread_pool duties{1};
  control::EventBus events;
  // How notifications leave the server (webhooks, SMTP), and the service that sends them: the
  // sink services raise alerts into (alerts.h). Its dispatcher thread stops before the store
  // closes (declared after it).
  notify::CurlTransport transport;
  std::unique_ptr<notify::NotificationService> notifications;
  control::AlertSink* alerts = nullptr;  // = notifications
  control::AgentHub hub;
  // Other replicas on the same PostgreSQL (or none); stopped first in ~App, before the
  // control plane and edge its handler calls into.
  std::unique_ptr<control::Cluster> cluster;
  // Routes stream.open / stream.fail between the edge, the hub and the other replicas.
  std::unique_ptr<ClusterRelay> relay;
  std::unique_ptr<control::ControlPlane> control;
  std::unique_ptr<control::Backups> backups;
  std::unique_ptr<control::MetricsService> metrics_service;
  // Outside-in endpoint probes (leader only), dialling on a thread of its own.
  std::unique_ptr<control::Prober> prober;
  std::unique_ptr<api::ApiContext> api;
  http::Router router;
  std::unique_ptr<http::Dispatcher> dispatcher;
  // Declared before the io_context so it outlives the coroutines still parked in it.
  std::unique_ptr<edge::Edge> edge;
  asio::io_context ioc;
};

namespace {

// Cluster messages that are not the relay's: sessions revoked elsewhere, the control plane's.
void OnOtherClusterMessage(App::Impl& m, const std::string& kind, const boost::json::object& body) {
  if (kind == "session.revoked") {  // logout or password change on another replica
    const auto text = [&body](const char* key) {
      const auto* v = body.if_contains(key);
      return v && v->is_string() ? std::string(v->as_string()) : std::string();
    };
    const auth::Revocation r{text("user_id"), text("session_id")};
    if (r.user_id.empty()) return;
    m.auth->RevokedElsewhere(r);
    m.streams->Revoke(r);
    return;
  }
  m.control->OnClusterMessage(kind, body);
  if (kind == "resync") m.edge->SetRoutes(m.control->Routes());
}

}  // namespace

App::App(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

App::~App() {
  if (impl_->cluster) impl_->cluster->Stop();
  impl_->store_executor.reset();
  impl_->blocking.join();
  impl_->duties.join();
}

const http::Router& App::router() const {
  return impl_->router;
}

namespace {

std::chrono::milliseconds Millis(double seconds) {
  return std::chrono::milliseconds(static_cast<std::int64_t>(seconds * 1000));
}

// Construction, part 1: what lives on disk or in the database — the data dir, the keyring,
// the CA (issuing this run's certificate), the store and the cluster of replicas.
Status OpenStorage(const ServerConfig& config, const Settings& s, App::Impl& impl) {
  if (Status st = PrepareDataDir(config.data_dir); !st.ok()) return st;
  auto keys = Keyring::LoadOrCreate((fs::path(config.data_dir) / "master.key").string());
  if (!keys.ok()) return std::move(keys).error();
  impl.keys = std::move(keys).value();
  auto pki = tls::ServerPki::LoadOrCreate((fs::path(config.data_dir) / "tls").string(), s.pki);
  if (!pki.ok()) return std::move(pki).error();
  impl.pki = std::move(pki).value();

  store::StoreOptions store_options;
  store_options.round_trip_deadline = Millis(config.store_timeout_seconds);
  // The store, and the coordination of the replicas that may share it (none on SQLite).
  auto opened =
      backend::OpenBackend(config.database, (fs::path(config.data_dir) / "lattice.db").string(),
                           NewId("rep"), store_options);
  if (!opened.ok()) return std::move(opened).error();
  impl.store = std::move(opened->store);
  impl.cluster = std::move(opened->cluster);
  impl.store_executor = std::make_unique<http::StoreExecutor>(impl.store->Concurrency(),
                                                              Millis(config.store_wait_seconds));
  spdlog::info("msg=\"store open\" database=\"{}\"", DatabaseForLogs(config));
  return Status::Ok();
}

// Construction, part 2: the services, each given what it depends on. The relay's targets and
// the edge's port probe reach services built later, but are only called once wired.
void BuildServices(Settings& s, App::Impl& impl) {
  App::Impl* mp = &impl;
  impl.audit = std::make_unique<audit::AuditLog>(*impl.store, impl.clock);
  impl.auth =
      std::make_unique<auth::AuthService>(*impl.store, impl.clock, impl.keys, *impl.audit, s.auth);
  impl.streams = std::make_unique<api::StreamRegistry>(s.streams);
  impl.invites = std::make_unique<auth::InviteService>(*impl.store, impl.clock, *impl.audit);
  impl.relay = std::make_unique<ClusterRelay>(
      *impl.cluster, impl.hub,
      ClusterRelay::Targets{[mp](const std::string& node_id, const link::StreamFail& f) {
                              mp->edge->OnStreamFail(node_id, f);
                            },
                            [mp] { return mp->control->AdvertiseUrl(); },
                            [mp](const std::string& kind, const boost::json::object& body) {
                              OnOtherClusterMessage(*mp, kind, body);
                            }});
  impl.edge = std::make_unique<edge::Edge>(
      impl.ioc, s.edge,
      [r = impl.relay.get()](const std::string& node_id, const link::StreamOpen& m) {
        return r->Open(node_id, m);
      });
  notify::NotifyOptions notify_options;
  notify_options.smtp = {impl.config.smtp_url, impl.config.smtp_from, impl.config.smtp_user,
                         impl.config.smtp_password};
  notify_options.max_attempts = impl.config.notify_max_attempts;
  notify_options.retry_base_seconds = impl.config.notify_retry_base_seconds;
  impl.notifications = std::make_unique<notify::NotificationService>(
      *impl.store, impl.clock, impl.keys, impl.transport, notify_options);
  impl.alerts = impl.notifications.get();
  s.control.ca_fingerprint = impl.pki->Fingerprint();
  s.control.public_port_usable = [mp](int port) { return mp->edge->PortBindable(port); };
  impl.control =
      std::make_unique<control::ControlPlane>(*impl.store, impl.clock, impl.keys, impl.events,
                                              impl.hub, *impl.cluster, *impl.alerts, s.control);
  impl.control->RecoverAfterRestart();
  impl.backups = std::make_unique<control::Backups>(*impl.store, impl.clock, impl.keys, impl.hub,
                                                    *impl.alerts);
  impl.metrics_service = std::make_unique<control::MetricsService>(*impl.store, impl.clock);
  impl.prober = std::make_unique<control::Prober>(
      *impl.store, impl.clock, *impl.alerts,
      control::ProberSeams{[mp] { return mp->cluster->IsLeader(); },
                           [mp] {
                             std::set<std::string> up;
                             if (auto nodes = mp->control->ListNodes(); nodes.ok())
                               for (const auto& n : *nodes)
                                 if (n.connected) up.insert(n.node.id);
                             return up;
                           },
                           [mp](int port) { return mp->edge->Listening(port); }},
      s.probes);
  impl.api = std::make_unique<api::ApiContext>(api::ApiContext{
      *impl.store, *impl.auth, impl.metrics, impl.blocking, *impl.store_executor, *impl.control,
      *impl.backups, *impl.metrics_service, *impl.prober, impl.events, impl.hub, *impl.invites,
      *impl.audit, impl.clock, *impl.streams, impl.config.heartbeat_seconds});
}

Result<std::unique_ptr<App::Impl>> Construct(const ServerConfig& config, Settings& s) {
  auto impl = std::make_unique<App::Impl>();
  impl->config = config;
  if (Status st = OpenStorage(config, s, *impl); !st.ok()) return std::move(st).error();
  BuildServices(s, *impl);
  return impl;
}

// Wiring, part 1: who hears of what — revoked sessions, agents' failed streams, route changes,
// other replicas' messages (through the relay) — then the cluster starts delivering.
void WireEvents(App::Impl& impl) {
  App::Impl* mp = &impl;
  // A revoked session's event streams and followed logs end at once, on every replica.
  impl.auth->SetRevocationListener([mp](const auth::Revocation& r) {
    mp->streams->Revoke(r);
    mp->cluster->Broadcast("session.revoked",
                           {{"user_id", r.user_id}, {"session_id", r.session_id}});
  });
  impl.hub.SetStreamFailHandler(
      [r = impl.relay.get()](const std::string& node_id, const link::StreamFail& f) {
        r->OnStreamFail(node_id, f);
      });
  impl.control->SetRouteObserver(
      [mp](const std::string& workload_id, std::vector<control::PublicRoute> routes) {
        mp->edge->UpdateWorkload(workload_id, std::move(routes));
      });
  impl.edge->SetRoutes(impl.control->Routes());
  impl.cluster->SetHandler(
      [r = impl.relay.get()](const std::string& kind, const boost::json::object& body) {
        r->OnClusterMessage(kind, body);
      });
  impl.cluster->Start();
}

// Wiring, part 2: the router, the TLS front (agent links and tunnel data connections) and the
// dispatcher in front of them.
void WireHttp(App::Impl& impl, http::DispatchOptions dispatch) {
  api::AddAuthRoutes(impl.router, *impl.api);
  api::AddWorkloadRoutes(impl.router, *impl.api);
  api::AddNodeRoutes(impl.router, *impl.api);
  api::AddInviteRoutes(impl.router, *impl.api);
  api::AddAuditRoutes(impl.router, *impl.api);
  api::AddBackupRoutes(impl.router, *impl.api);
  api::AddMetricsRoutes(impl.router, *impl.api);
  api::AddProbeRoutes(impl.router, *impl.api);
  api::AddNotificationRoutes(impl.router, *impl.api, *impl.notifications);
  api::AddOpsRoutes(impl.router, *impl.api);
  console::AddConsoleRoutes(impl.router);
  // The agent link is served only over TLS (TlsFront, same port). Over plain HTTP the route
  // exists to tell a misconfigured agent what to do.
  impl.router.Add(
      http::bhttp::verb::get, "/api/v1/agent/link", http::Access::kPublic,
      [](http::RequestContext& req) -> asio::awaitable<http::Reply> {
        co_return http::ProblemReply(
            Error::Invalid("Agents connect over TLS only: use the https:// URL of "
                           "this server (as in the join command), not http:// or "
                           "ws://."),
            req.path);
      },
      http::UsesStore::kNo);
  App::Impl* m = &impl;
  impl.tls_front = std::make_unique<TlsFront>(
      impl.pki->server_context(), [m](std::unique_ptr<tunnel::TlsSocket> s, http::Request rq) {
        // Agents dial the server itself (their TLS is pinned to its CA): the peer is the agent.
        // Not a coroutine itself: the link's only long-lived frame is RunAgentLink's.
        boost::system::error_code ec;
        const auto peer = s->socket().remote_endpoint(ec);
        std::string client = ec ? "unknown" : peer.address().to_string();
        return RunAgentLink(
            std::move(s), std::move(rq),
            AgentLinkServices{*m->control, *m->backups, m->hub, *m->metrics_service, *m->audit,
                              *m->store_executor, m->config.heartbeat_seconds},
            std::move(client));
      });
  // Tunnel data connections arrive on the same port and go to the edge.
  impl.tls_front->SetDataConnectionHandler(
      [m](std::unique_ptr<tunnel::TlsSocket> s, std::string prefix) {
        return m->edge->AcceptDataConnection(std::move(s), std::move(prefix));
      });
  dispatch.store_executor = impl.store_executor.get();
  dispatch.cached_auth = [auth = impl.auth.get()](std::string_view token) {
    return auth->CachedPrincipal(token);
  };
  impl.dispatcher = std::make_unique<http::Dispatcher>(
      impl.router, impl.metrics,
      [auth = impl.auth.get()](std::string_view token) { return auth->Authenticate(token); },
      std::move(dispatch));
}

void Wire(App::Impl& impl, http::DispatchOptions dispatch) {
  WireEvents(impl);
  WireHttp(impl, std::move(dispatch));
}

}  // namespace

// Configuration, then construction, then wiring.
Result<std::unique_ptr<App>> App::Create(const ServerConfig& config) {
  auto settings = ResolveSettings(config);
  if (!settings.ok()) return std::move(settings).error();
  auto impl = Construct(config, *settings);
  if (!impl.ok()) return std::move(impl).error();
  Wire(**impl, std::move(settings->dispatch));
  return std::make_unique<App>(std::move(impl).value());
}

namespace {

// Deletes expired sessions once an hour (on the store executor: a store call).
asio::awaitable<void> Housekeeping(store::Store& store, const Clock& clock,
                                   http::StoreExecutor& executor) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  for (;;) {
    std::int64_t swept = 0;
    (void)co_await executor.Call([&] {
      if (auto n = store.DeleteExpiredSessions(clock.NowSeconds()); n.ok()) swept = *n;
    });
    if (swept > 0) spdlog::info("msg=\"swept expired sessions\" count={}", swept);
    timer.expires_after(std::chrono::hours(1));
    co_await timer.async_wait(asio::use_awaitable);
  }
}

// The control plane's periodic duties (placement retries, lost nodes, due backups, metrics
// retention), every 2 s, and the placement passes a burst of requests left owed, within 250 ms:
// off the I/O threads because they touch the store, on a pool of their own. The prober looks
// every 250 ms (its interval may be 1 s; a pass's results are recorded soon after it ends).
asio::awaitable<void> Duties(control::ControlPlane& cp, control::Backups& backups,
                             control::MetricsService& metrics, control::Prober& prober,
                             notify::NotificationService& notifications, asio::thread_pool& pool) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  for (int beat = 1;; ++beat) {
    timer.expires_after(std::chrono::milliseconds(250));
    co_await timer.async_wait(asio::use_awaitable);
    co_await api::RunBlocking(
        pool, [&cp, &backups, &metrics, &prober, &notifications, tick = beat % 8 == 0] {
          if (tick) {
            cp.Tick();
            backups.Tick();
            metrics.Tick();
            notifications.Tick();
          }
          cp.ScheduleIfOwed();
          prober.Tick();
          return 0;
        });
  }
}

}  // namespace

Result<std::string> App::CreateLocalJoinToken() {
  auto t = impl_->control->CreateJoinToken("");
  if (!t.ok()) return std::move(t).error();
  return t->token;
}

const std::string& App::CaFingerprint() const {
  return impl_->pki->Fingerprint();
}

void App::Shutdown() {
  asio::post(impl_->ioc, [this] { impl_->ioc.stop(); });
}

int App::Run(const std::function<void(const std::string& agent_url)>& on_listening) {
  Impl& m = *impl_;
  std::string host;
  std::uint16_t port = 0;
  if (!ParseListen(m.config.listen, host, port)) {
    spdlog::error("msg=\"invalid --listen\" value=\"{}\" expected=HOST:PORT", m.config.listen);
    return 2;
  }
  http::ServerOptions opts;
  opts.body_limit = m.config.body_limit;
  opts.header_timeout = std::chrono::seconds(m.config.header_timeout_seconds);
  opts.body_timeout = std::chrono::seconds(m.config.body_timeout_seconds);
  opts.idle_timeout = std::chrono::seconds(m.config.idle_timeout_seconds);
  http::HttpServer server(m.ioc, *m.dispatcher, opts);
  auto ep = server.Listen(host, port);
  if (!ep.ok()) {
    spdlog::error("msg=\"cannot listen\" error=\"{}\"", ep.error().message);
    return 1;
  }
  server.SetTlsHandler(
      [front = m.tls_front.get()](boost::beast::tcp_stream s) { front->Accept(std::move(s)); });
  server.Start();
  asio::co_spawn(m.ioc, Housekeeping(*m.store, m.clock, *m.store_executor), asio::detached);
  asio::co_spawn(
      m.ioc,
      Duties(*m.control, *m.backups, *m.metrics_service, *m.prober, *m.notifications, m.duties),
      asio::detached);
  m.notifications->Start();

  const std::string shown_host =
      ep->address().is_v6() ? "[" + ep->address().to_string() + "]" : ep->address().to_string();
  const std::string agent_url = "https://" + shown_host + ":" + std::to_string(ep->port());
  m.control->SetDefaultAdvertiseUrl(agent_url);
  std::printf("Lattice listening on http://%s:%u\n", shown_host.c_str(), ep->port());
  std::fflush(stdout);
  spdlog::info("msg=\"listening\" address={}:{} data_dir=\"{}\"", shown_host, ep->port(),
               m.config.data_dir);
  std::printf("Agents connect to %s (TLS; CA fingerprint %s)\n", agent_url.c_str(),
              m.pki->Fingerprint().c_str());
  std::fflush(stdout);
  if (on_listening) on_listening(agent_url);

  asio::signal_set signals(m.ioc, SIGINT, SIGTERM);
  asio::steady_timer drain(m.ioc);
  signals.async_wait([&](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    spdlog::info("msg=\"shutting down\" signal={}", sig);
    server.Stop();
    m.edge->Stop();
    // In-flight requests get a moment to finish; idle keep-alive connections are dropped.
    drain.expires_after(std::chrono::seconds(2));
    drain.async_wait([&](const boost::system::error_code&) { m.ioc.stop(); });
  });

  int threads = m.config.io_threads > 0 ? m.config.io_threads
                                        : static_cast<int>(std::thread::hardware_concurrency());
  if (threads < 1) threads = 1;
  std::vector<std::thread> pool;
  for (int i = 1; i < threads; ++i) pool.emplace_back([&] { m.ioc.run(); });
  m.ioc.run();
  for (auto& t : pool) t.join();
  m.hub.CloseAll();  // while the io_context (which the links' sockets belong to) still exists
  spdlog::info("msg=\"stopped\"");
  return 0;
}

}  // namespace lattice::server
