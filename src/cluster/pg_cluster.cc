#include "cluster/pg_cluster.h"

#include <poll.h>
#include <spdlog/spdlog.h>
#include <boost/json.hpp>

#include <chrono>

namespace lattice::cluster {

namespace json = boost::json;
using store::postgres::Connection;
using store::postgres::ConnectOptions;
using store::postgres::Params;
using Clock = std::chrono::steady_clock;

namespace {

constexpr const char* kChannel = "lattice_cluster";
constexpr std::size_t kMaxPayload = 7900;  // NOTIFY's limit is 8000 bytes
constexpr auto kCampaignEvery = std::chrono::seconds(1);

}  // namespace

Result<std::unique_ptr<PgCluster>> PgCluster::Open(const std::string& url, std::string replica_id) {
  ConnectOptions opts;
  opts.url = url;
  // Cluster round trips are tiny; a frozen database must cost leadership quickly.
  opts.statement_timeout_ms = 3000;
  opts.round_trip_deadline = std::chrono::milliseconds(4000);
  auto c = std::make_unique<PgCluster>(opts, std::move(replica_id));
  auto sender = Connection::Open(opts);
  if (!sender.ok()) return std::move(sender).error();
  c->sender_ = std::move(sender).value();
  return c;
}

PgCluster::PgCluster(ConnectOptions opts, std::string replica_id)
    : opts_(std::move(opts)), id_(std::move(replica_id)) {}

PgCluster::~PgCluster() {
  Stop();
}

void PgCluster::Start() {
  thread_ = std::thread([this] { Run(); });
}

void PgCluster::Stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  leader_ = false;
}

void PgCluster::Broadcast(const std::string& kind, json::object body) {
  const std::string payload =
      json::serialize(json::object{{"o", id_}, {"k", kind}, {"b", std::move(body)}});
  if (payload.size() > kMaxPayload) {
    spdlog::warn("msg=\"cluster message too large; dropped\" kind={} bytes={}", kind,
                 payload.size());
    return;
  }
  std::lock_guard lock(send_mu_);
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (!sender_ || sender_->broken()) {
      auto c = Connection::Open(opts_);
      if (!c.ok()) {
        spdlog::warn("msg=\"cluster message not sent\" kind={} error=\"{}\"", kind,
                     c.error().message);
        return;
      }
      sender_ = std::move(c).value();
    }
    auto r = sender_->Exec("SELECT pg_notify($1, $2)", Params().Add(kChannel).Add(payload));
    if (r.ok()) return;
    if (!sender_->broken()) {
      spdlog::warn("msg=\"cluster message not sent\" kind={} error=\"{}\"", kind,
                   r.error().message);
      return;
    }
  }
}

void PgCluster::Run() {
  bool first = true;
  auto backoff = std::chrono::milliseconds(200);
  while (!stop_) {
    auto conn = Connection::Open(opts_);
    if (!conn.ok()) {
      spdlog::warn("msg=\"cluster: cannot reach the database\" replica={} error=\"{}\"", id_,
                   conn.error().message);
      for (auto waited = std::chrono::milliseconds(0); waited < backoff && !stop_;
           waited += std::chrono::milliseconds(100))
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      backoff = std::min(backoff * 2, std::chrono::milliseconds(5000));
      continue;
    }
    backoff = std::chrono::milliseconds(200);
    if (auto r = (*conn)->Exec(std::string("LISTEN ") + kChannel); !r.ok()) continue;
    if (!first) {
      spdlog::info("msg=\"cluster: reconnected to the database\" replica={}", id_);
      if (handler_) handler_("resync", {});
    }
    first = false;
    Session(**conn);
    if (leader_.exchange(false)) spdlog::warn("msg=\"cluster: leadership lost\" replica={}", id_);
    spdlog::info("msg=\"cluster: database connection lost\" replica={}", id_);
  }
}

void PgCluster::Session(Connection& conn) {
  auto next_campaign = Clock::now();
  while (!stop_ && !conn.broken()) {
    if (Clock::now() >= next_campaign) {
      next_campaign = Clock::now() + kCampaignEvery;
      if (leader_) {
        // Still holding it? Any failed round trip means the session (and the lock) may be gone.
        if (!conn.Exec("SELECT 1").ok()) return;
      } else {
        auto r = conn.Exec("SELECT pg_try_advisory_lock($1)", Params().Add(kLeaderLockKey));
        if (!r.ok()) return;
        if (r->rows() == 1 && r->Text(0, 0) == "t") {
          leader_ = true;
          spdlog::info("msg=\"cluster: this replica is the leader\" replica={}", id_);
        }
      }
      Deliver(conn);  // a round trip may have brought notifications in
    }
    pollfd pfd{PQsocket(conn.raw()), POLLIN, 0};
    const int n = ::poll(&pfd, 1, 200);
    if (n < 0 && errno != EINTR) return;
    if (n > 0) {
      if (PQconsumeInput(conn.raw()) == 0) return;  // the connection failed
      Deliver(conn);
    }
  }
}

void PgCluster::Deliver(Connection& conn) {
  while (PGnotify* n = PQnotifies(conn.raw())) {
    const std::string payload = n->extra ? n->extra : "";
    PQfreemem(n);
    boost::system::error_code ec;
    json::value v = json::parse(payload, ec);
    if (ec || !v.is_object()) continue;
    const auto& o = v.as_object();
    const auto* origin = o.if_contains("o");
    const auto* kind = o.if_contains("k");
    const auto* body = o.if_contains("b");
    if (!origin || !origin->is_string() || !kind || !kind->is_string() || !body ||
        !body->is_object())
      continue;
    if (origin->as_string() == id_) continue;  // our own, echoed back
    if (handler_) handler_(std::string(kind->as_string()), body->as_object());
  }
}

}  // namespace lattice::cluster
