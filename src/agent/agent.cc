#include "agent/agent.h"

#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <cctype>
#include <filesystem>

#include <unistd.h>

#include "agent/backoff.h"
#include "agent/host_firewall.h"
#include "agent/link_transport.h"
#include "agent/tls_dial.h"
#include "agent/tunnel_client.h"
#include "agent/workload_container.h"
#include "link/join_token.h"

namespace lattice::agent {
namespace {

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;
using std::chrono::milliseconds;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t kMaxQueuedBytes = 8 << 20;  // log data waits for room beyond this
// A session that lasted this long counts as healthy: the next drop starts the backoff afresh.
constexpr auto kHealthySession = std::chrono::seconds(10);
// Metrics batches kept while the link is down: at the default 10 s interval, ten minutes.
constexpr std::size_t kMaxPendingMetrics = 60;

std::string HostName() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "node";
  return buf;
}

std::size_t MessageSize(const std::string& s) {
  return s.size();
}

}  // namespace

Agent::Agent(AgentOptions options, std::unique_ptr<runtime::Runtime> runtime)
    : options_(std::move(options)),
      runtime_(std::move(runtime)),
      write_signal_(ioc_),
      room_signal_(ioc_),
      backoff_timer_(ioc_) {
  room_signal_.expires_at(asio::steady_timer::time_point::max());
}

Agent::~Agent() {
  stats_.reset();
  wal_archivers_.reset();
  backup_jobs_.reset();
  tunnel_.reset();
  log_pump_.reset();
  reconciler_.reset();
  log_capture_.reset();
  log_store_.reset();
}

Status Agent::Run() {
  auto stored = LoadNodeIdentity(options_.state_dir);
  if (!stored.ok()) return stored.error();
  identity_ = *stored;
  if (!identity_ && options_.join_token.empty())
    return Error::Invalid("no join token given and no node identity in " + options_.state_dir +
                          "/node.json: pass the join token from the console");
  if (auto ep = ParseServerUrl(options_.server_url); !ep.ok()) return ep.error();
  if (options_.host_firewall) {
    if (Status st = InstallHostFirewall("lt-"); !st.ok())
      spdlog::error(
          "msg=\"host firewall NOT installed: containers on this node can reach its services\" "
          "error=\"{}\"",
          st.error().message);
  }
  servers_ = {options_.server_url};
  if (identity_)  // replicas learned before a restart: the configured one may be the one away
    for (const auto& u : identity_->servers) AddServer(servers_, u);
  // The server CA to pin: the one this node joined (node.json), else the join token's.
  std::string pin = identity_ ? identity_->ca_fingerprint : "";
  if (pin.empty() && !options_.join_token.empty()) {
    auto token = link::ParseJoinToken(options_.join_token);
    if (!token.ok()) return Error::Invalid("--join-token: " + token.error().message);
    pin = token->ca_fingerprint;
  }
  if (pin.empty())
    return Error::Invalid(options_.state_dir +
                          "/node.json names no server CA fingerprint (it was written before "
                          "agents used TLS): pass a new join token, or remove it and join again");
  auto dialer = TlsDialer::Create(pin);
  if (!dialer.ok()) return dialer.error();
  dialer_ = std::move(dialer).value();
  if (!runtime_) return Error::Invalid("the agent needs a container runtime");

  asio::co_spawn(ioc_, Main(), [this](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {  // a bug: end Run() with it rather than hang
      spdlog::error("event=agent_crash error=\"{}\"", ex.what());
      fatal_ = Error::Internal(std::string("the agent's link loop failed: ") + ex.what());
    }
  });
  ioc_.run();
  // Containers keep running (archivers too); the next agent adopts them.
  stats_.reset();
  tunnel_.reset();
  if (wal_archivers_) wal_archivers_->Stop();
  if (reconciler_) reconciler_->Stop();
  if (log_capture_) log_capture_->Stop();  // what was read is kept; the next agent resumes
  log_pump_.reset();
  if (fatal_) return *fatal_;
  return Status::Ok();
}

void Agent::Stop() {
  stopping_ = true;
  asio::post(ioc_, [this] {
    backoff_timer_.cancel();
    write_signal_.cancel();
    room_signal_.cancel();
    if (transport_) transport_->Cancel();
  });
}

asio::awaitable<void> Agent::Main() {
  Backoff backoff(options_.tuning.backoff_base, options_.tuning.backoff_cap);
  while (!stopping_) {
    const auto started = std::chrono::steady_clock::now();
    bool welcomed = false;
    Status st = co_await Session(welcomed);
    if (fatal_ || stopping_) break;
    if (welcomed && std::chrono::steady_clock::now() - started >= kHealthySession) backoff.Reset();
    const milliseconds delay = backoff.Next();
    const std::string& was = servers_[server_index_];
    // With replicas, the next attempt goes to the next one: this one just failed or let go.
    server_index_ = (server_index_ + 1) % servers_.size();
    spdlog::warn("event=link_down server={} error=\"{}\" retry_in_ms={} next={}", was,
                 st.ok() ? "closed" : st.error().message, delay.count(), servers_[server_index_]);
    backoff_timer_.expires_after(delay);
    co_await backoff_timer_.async_wait(kNoThrow);
  }
  if (fatal_) spdlog::error("event=agent_exit error=\"{}\"", fatal_->message);
}

asio::awaitable<Status> Agent::Session(bool& welcomed) {
  const std::string url = servers_[server_index_];
  auto ep = ParseServerUrl(url);
  if (!ep.ok()) co_return ep.error();
  std::unique_ptr<LinkTransport> t = NewLinkTransport(*ep, ioc_.get_executor(), *dialer_);
  transport_ = t.get();
  struct Clear {
    Agent* a;
    ~Clear() { a->transport_ = nullptr; }
  } clear{this};
  if (stopping_) co_return Status::Ok();  // Stop() ran before there was a transport to cut

  if (Status st = co_await t->Connect(options_.tuning.connect_timeout); !st.ok()) {
    // Not the pinned server: never re-trust silently, and retrying cannot make it so.
    if (st.error().code == ErrorCode::kUnauthenticated) fatal_ = st.error();
    co_return st;
  }
  if (stopping_) co_return Status::Ok();
  if (Status st = co_await t->Write(link::Encode(MakeHello())); !st.ok()) co_return st;
  t->SetIdleTimeout(std::chrono::seconds(3 * heartbeat_seconds_));

  auto first = co_await t->Read();
  if (!first.ok()) co_return first.error();
  auto msg = link::Decode(*first);
  if (!msg.ok()) co_return Error::Invalid("the server's first message: " + msg.error().message);
  if (const auto* e = std::get_if<link::LinkError>(&*msg)) {
    spdlog::error("event=link_refused server={} error=\"{}\"", url, e->message);
    // A refused join cannot succeed by retrying; a node with an identity keeps trying (the
    // server may only have lost its store for a moment).
    if (!identity_ && (e->code == link::LinkErrorCode::kUnauthenticated ||
                       e->code == link::LinkErrorCode::kIncompatible))
      fatal_ = Error::Unauthenticated("the server refused to join this node: " + e->message);
    co_return Error::Unavailable("the server refused the link: " + e->message);
  }
  const auto* w = std::get_if<link::Welcome>(&*msg);
  if (!w) co_return Error::Invalid("the server did not answer hello with welcome");
  if (Status st = OnWelcome(*w); !st.ok()) {
    fatal_ = st.error();
    co_return st;
  }
  t->SetIdleTimeout(std::chrono::seconds(3 * heartbeat_seconds_));
  welcomed = true;
  live_ = true;
  ++epoch_;
  LearnServers(url, w->servers);
  spdlog::info("event=link_up server={} node={} heartbeat_s={}", url, identity_->node_id,
               heartbeat_seconds_);
  for (const auto& s : reconciler_->Statuses()) Enqueue(link::Encode(s));
  FlushMetrics();  // what the sampler measured while the link was down

  co_await (ReadLoop(*t) || WriteLoop(*t) || HeartbeatLoop());

  live_ = false;
  ++epoch_;
  log_pump_->CloseAll();
  for (const auto& m : queue_) queued_bytes_ -= MessageSize(m);
  queue_.clear();
  room_signal_.cancel();  // log senders waiting for room see that their link is gone
  co_return Status::Ok();
}

void Agent::AddServer(std::vector<std::string>& list, const std::string& url) {
  if (!ParseServerUrl(url).ok()) return;  // never dial what does not parse
  if (std::find(list.begin(), list.end(), url) == list.end()) list.push_back(url);
}

void Agent::LearnServers(const std::string& current, const std::vector<std::string>& offered) {
  std::vector<std::string> next = {options_.server_url};
  for (const auto& u : offered) AddServer(next, u);
  AddServer(next, current);
  if (next != servers_) {
    std::string list;
    for (const auto& u : next) list += (list.empty() ? "" : ",") + u;
    spdlog::info("event=servers_learned count={} servers=\"{}\"", next.size(), list);
  }
  // Kept in node.json, so that a restarted agent can fail over too (best effort).
  std::vector<std::string> keep(next.begin() + 1, next.end());
  if (identity_ && !identity_->node_secret.empty() && keep != identity_->servers) {
    identity_->servers = keep;
    if (Status st = SaveNodeIdentity(options_.state_dir, *identity_); !st.ok())
      spdlog::warn("event=servers_not_saved error=\"{}\"", st.error().message);
  }
  servers_ = std::move(next);
  server_index_ = static_cast<std::size_t>(std::find(servers_.begin(), servers_.end(), current) -
                                           servers_.begin());
}

Status Agent::OnWelcome(const link::Welcome& w) {
  if (w.node_id.empty()) return Error::Invalid("the server's welcome has no node id");
  if (!w.node_secret.empty()) {
    NodeIdentity id{w.node_id, w.node_secret, dialer_->ca_fingerprint(), {}};
    if (Status st = SaveNodeIdentity(options_.state_dir, id); !st.ok())
      return Error::Internal("joined as node " + w.node_id +
                             " but could not keep its identity: " + st.error().message);
    spdlog::info("event=node_identity_saved node={} dir={}", w.node_id, options_.state_dir);
    identity_ = std::move(id);
  } else if (!identity_) {
    spdlog::warn("event=welcome_without_secret node={}", w.node_id);
    identity_ = NodeIdentity{w.node_id, "", dialer_->ca_fingerprint(), {}};
  } else if (identity_->node_id != w.node_id) {
    spdlog::warn("event=node_id_mismatch stored={} welcome={}", identity_->node_id, w.node_id);
  } else if (identity_->ca_fingerprint.empty()) {
    // node.json from before TLS links: keep pinning the CA this connection was verified with.
    identity_->ca_fingerprint = dialer_->ca_fingerprint();
    if (Status st = SaveNodeIdentity(options_.state_dir, *identity_); !st.ok())
      return Error::Internal("could not record the server CA in node.json: " + st.error().message);
  }
  heartbeat_seconds_ = std::clamp(w.heartbeat_seconds, 1, 3600);
  const std::vector<std::string> registries = w.registries;
  if (!reconciler_) {
    log_store_ = std::make_unique<LogStore>(
        (std::filesystem::path(options_.state_dir) / "logs").string(), options_.tuning.log_store);
    log_capture_ = std::make_unique<LogCapture>(*runtime_, *log_store_);
    log_capture_->Start();
    ReconcilerOptions ro = options_.tuning.reconciler;
    ro.node_id = identity_->node_id;
    ro.tool_image = options_.tuning.backups.image;  // one tool image for backups and restores
    ro.logs = log_capture_.get();
    reconciler_ = std::make_unique<Reconciler>(
        std::move(ro), *runtime_, [this](const link::StatusReport& s) { PostSend(0, s); });
    reconciler_->Start();
    log_pump_ = std::make_unique<LogPump>(
        ioc_.get_executor(), *log_store_,
        [this](const std::string& workload_id) {
          auto a = reconciler_->AssignmentOf(workload_id);
          return a && a->desired_state != DesiredState::kDeleted;
        },
        options_.tuning.logs);
    // Tunnel streams dial the edge on the server's own port unless stream.open names another.
    auto ep = ParseServerUrl(options_.server_url);
    if (!ep.ok()) return ep.error();
    TunnelClientOptions to;
    to.edge_host = ep->host;
    to.edge_port = ep->port;
    tunnel_ = std::make_unique<TunnelClient>(
        to, dialer_->context().native_handle(),
        [this](const std::string& workload_id, int container_port) {
          return reconciler_->TargetOf(workload_id, container_port);
        },
        [this](link::StreamFail f) { PostSend(0, std::move(f)); });
    tunnel_->Start();
    DatabaseLookup database =
        [this](const std::string& workload_id) -> std::optional<DatabaseAccess> {
      auto a = reconciler_->AssignmentOf(workload_id);
      if (!a || a->desired_state == DesiredState::kDeleted ||
          a->spec.readiness.kind != templates::Readiness::Kind::kPostgres)
        return std::nullopt;
      return DatabaseAccess{ContainerName(workload_id), a->spec.readiness.username,
                            a->spec.readiness.password};
    };
    ContainerLookup container =
        [this](const std::string& workload_id) -> std::optional<std::string> {
      auto a = reconciler_->AssignmentOf(workload_id);
      if (!a || a->desired_state == DesiredState::kDeleted) return std::nullopt;
      return ContainerName(workload_id);
    };
    VolumeLookup volumes =
        [this](const std::string& workload_id) -> std::optional<WorkloadVolumes> {
      auto a = reconciler_->AssignmentOf(workload_id);
      if (!a || a->desired_state == DesiredState::kDeleted) return std::nullopt;
      WorkloadVolumes v;
      // The network the workload's container was created on (WorkloadSupervisor::NetworkFor):
      // it exists while that container does, running or stopped.
      if (options_.tuning.reconciler.tenant_networks && IsValidWorkloadId(a->tenant))
        v.network = TenantNetworkName(a->tenant);
      for (const auto& vol : a->spec.volumes) v.volumes.push_back(vol.name);
      v.epoch = a->spec.volume_epoch;
      return v;
    };
    BackupJobOptions bo = options_.tuning.backups;
    bo.node_id = identity_->node_id;
    backup_jobs_ = std::make_unique<BackupJobs>(
        ioc_.get_executor(), *runtime_, database,
        [this](link::BackupResult r) { PostSend(0, std::move(r)); }, bo, container, volumes);
    backup_jobs_->RemoveLeftovers();
    WalArchiverOptions wo = options_.tuning.archivers;
    wo.image = options_.tuning.backups.image;
    wo.node_id = identity_->node_id;
    wal_archivers_ = std::make_unique<WalArchivers>(
        *runtime_, database, wo, [this](link::ArchiveStatus s) { PostSend(0, std::move(s)); });
    wal_archivers_->Start();
    if (options_.tuning.stats.interval.count() > 0) {
      stats_ = std::make_unique<StatsSampler>(
          *runtime_, [this] { return reconciler_->RunningWorkloads(); },
          [this](link::MetricsBatch b) {
            asio::post(ioc_, [this, b = std::move(b)]() mutable { OnMetrics(std::move(b)); });
          },
          options_.tuning.stats);
      stats_->Start();
    }
  }
  reconciler_->SetAllowedRegistries(registries);
  return Status::Ok();
}

asio::awaitable<void> Agent::ReadLoop(LinkTransport& t) {
  for (;;) {
    auto text = co_await t.Read();
    if (!text.ok()) {
      if (!stopping_) spdlog::warn("event=link_read_failed error=\"{}\"", text.error().message);
      t.Cancel();
      co_return;
    }
    auto msg = link::Decode(*text);
    if (!msg.ok()) {  // a newer server may send what this agent does not know: skip it
      spdlog::warn("event=link_message_skipped error=\"{}\"", msg.error().message);
      continue;
    }
    Dispatch(std::move(*msg));
  }
}

void Agent::Dispatch(link::Message m) {
  if (auto* a = std::get_if<link::Assignments>(&m)) {
    spdlog::info("event=assignments count={}", a->items.size());
    reconciler_->SetAssignments(std::move(a->items));
  } else if (auto* u = std::get_if<link::Upsert>(&m)) {
    reconciler_->Upsert(std::move(u->assignment));
  } else if (auto* r = std::get_if<link::Remove>(&m)) {
    reconciler_->Remove(r->workload_id);
  } else if (auto* o = std::get_if<link::LogsOpen>(&m)) {
    const std::uint64_t epoch = epoch_;
    log_pump_->Open(*o,
                    [this, epoch](link::Message out) { return SendLog(epoch, std::move(out)); });
  } else if (auto* c = std::get_if<link::LogsClose>(&m)) {
    log_pump_->Close(c->stream_id);
  } else if (auto* so = std::get_if<link::StreamOpen>(&m)) {
    tunnel_->Open(std::move(*so));
  } else if (auto* b = std::get_if<link::BackupRun>(&m)) {
    backup_jobs_->Run(std::move(*b));
  } else if (auto* as = std::get_if<link::ArchiveSet>(&m)) {
    wal_archivers_->Set(std::move(*as));
  } else if (auto* e = std::get_if<link::LinkError>(&m)) {
    spdlog::error("event=server_error error=\"{}\"", e->message);
  } else {
    spdlog::warn("event=link_message_unexpected index={}", m.index());
  }
}

asio::awaitable<void> Agent::WriteLoop(LinkTransport& t) {
  for (;;) {
    while (queue_.empty()) {
      write_signal_.expires_at(asio::steady_timer::time_point::max());
      co_await write_signal_.async_wait(kNoThrow);
      auto cs = co_await asio::this_coro::cancellation_state;
      if (stopping_ || cs.cancelled() != asio::cancellation_type::none) co_return;
    }
    std::string text = std::move(queue_.front());
    queue_.pop_front();
    Status st = co_await t.Write(text);
    queued_bytes_ -= MessageSize(text);
    if (queued_bytes_ <= kMaxQueuedBytes) room_signal_.cancel();  // wakes waiting log senders
    if (!st.ok()) {
      spdlog::warn("event=link_write_failed error=\"{}\"", st.error().message);
      t.Cancel();
      co_return;
    }
  }
}

asio::awaitable<void> Agent::HeartbeatLoop() {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  for (;;) {
    timer.expires_after(std::chrono::seconds(heartbeat_seconds_));
    auto [ec] = co_await timer.async_wait(kNoThrow);
    if (ec || stopping_) co_return;
    Enqueue(link::Encode(link::Heartbeat{reconciler_->RunningCount()}));
  }
}

link::Hello Agent::MakeHello() {
  link::Hello h;
  if (identity_ && !identity_->node_secret.empty()) {
    h.node_id = identity_->node_id;
    h.node_secret = identity_->node_secret;
  } else {
    h.join_token = options_.join_token;
  }
  h.name = options_.name.empty() ? HostName() : options_.name;
  if (auto info = runtime_->Info(); info.ok()) {
    h.cpus = info->cpus;
    h.memory_mb = info->memory_bytes / (1024 * 1024);
    h.disk_mb = info->disk_bytes / (1024 * 1024);
  } else {
    // The engine may be down only for now: advertise the machine's own capacity so work is
    // still placed here and fails with the engine's reason, instead of the node looking empty.
    spdlog::warn("event=engine_info_failed error=\"{}\"", info.error().message);
    const long cpus = ::sysconf(_SC_NPROCESSORS_ONLN);
    const long pages = ::sysconf(_SC_PHYS_PAGES);
    const long page = ::sysconf(_SC_PAGESIZE);
    h.cpus = cpus > 0 ? static_cast<int>(cpus) : 0;
    h.memory_mb =
        pages > 0 && page > 0 ? static_cast<std::int64_t>(pages) * page / (1024 * 1024) : 0;
  }
  h.labels = options_.labels;
  h.agent_version = LATTICE_VERSION;
  h.address = options_.address;
  if (identity_) {
    if (auto found = runtime_->ListByLabel(kLabelWorkload); found.ok()) {
      for (const auto& c : *found) {
        const std::string id = LabelOf(c, kLabelWorkload);
        if (LabelOf(c, kLabelNode) != identity_->node_id || c.name != ContainerName(id)) continue;
        h.running.push_back(
            {id, GenerationOf(c), c.running ? WorkloadStatus::kRunning : WorkloadStatus::kStopped});
      }
    } else {
      spdlog::warn("event=engine_list_failed error=\"{}\"", found.error().message);
    }
  }
  return h;
}

void Agent::Enqueue(std::string text) {
  queued_bytes_ += MessageSize(text);
  queue_.push_back(std::move(text));
  write_signal_.cancel();
}

void Agent::PostSend(std::uint64_t epoch, link::Message m) {
  std::string text = link::Encode(m);
  const std::size_t size = MessageSize(text);
  queued_bytes_ += size;  // counted from now, so SendLog's back-pressure sees it at once
  asio::post(ioc_, [this, epoch, size, text = std::move(text)]() mutable {
    queued_bytes_ -= size;
    if (live_ && (epoch == 0 || epoch == epoch_)) Enqueue(std::move(text));
  });
}

void Agent::OnMetrics(link::MetricsBatch batch) {
  pending_metrics_.push_back(std::move(batch));
  while (pending_metrics_.size() > kMaxPendingMetrics) pending_metrics_.pop_front();
  FlushMetrics();
}

void Agent::FlushMetrics() {
  while (live_ && !stopping_ && !pending_metrics_.empty() && queued_bytes_ <= kMaxQueuedBytes) {
    link::MetricsBatch& b = pending_metrics_.front();
    // Stamped when it goes out: the server measures the clocks' skew against this.
    b.sent_at = std::chrono::duration_cast<std::chrono::seconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
    Enqueue(link::Encode(b));
    pending_metrics_.pop_front();
  }
}

asio::awaitable<void> Agent::SendLog(std::uint64_t epoch, link::Message m) {
  // Back-pressure: a slow link holds the log streams (and so their engine reads) rather than
  // growing the queue unbounded. WriteLoop wakes the waiters whenever the queue has room again,
  // the session's end and Stop() when the link is gone.
  if (std::holds_alternative<link::LogsData>(m)) {
    while (queued_bytes_ > kMaxQueuedBytes && epoch_ == epoch && !stopping_)
      co_await room_signal_.async_wait(kNoThrow);
  }
  if (epoch_ != epoch || stopping_ || !live_) co_return;  // the link this stream was for is gone
  Enqueue(link::Encode(m));
}

}  // namespace lattice::agent
