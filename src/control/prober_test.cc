// Outside-in probes: the runner against real local listeners (a PostgreSQL-answering one, a
// silent one, one that closes at once like the edge does when the container is gone, an HTTP
// one, a closed port), and the prober service on a real SQLite store with a manual clock and a
// recording alert sink: states, reasons, history, timeline events and alerts.
#include "control/prober.h"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>

#include "store/testing/temp_sqlite.h"

namespace lattice::control {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using namespace std::chrono_literals;

// A listener on 127.0.0.1:0 that treats each connection as `behavior` says; switchable.
class FakeListener {
 public:
  enum class Behavior { kPostgres, kBadByte, kSilent, kCloseAtOnce, kHttp503, kHttp200 };

  explicit FakeListener(Behavior b)
      : behavior_(b), acceptor_(ioc_, {asio::ip::make_address("127.0.0.1"), 0}) {
    asio::co_spawn(ioc_, Accept(), asio::detached);
    thread_ = std::thread([this] { ioc_.run(); });
  }
  ~FakeListener() {
    ioc_.stop();
    thread_.join();
  }
  int port() const { return acceptor_.local_endpoint().port(); }
  void Set(Behavior b) { behavior_ = b; }

 private:
  asio::awaitable<void> Accept() {
    for (;;) {
      boost::system::error_code ec;
      tcp::socket s =
          co_await acceptor_.async_accept(asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return;
      asio::co_spawn(ioc_, Serve(std::move(s)), asio::detached);
    }
  }
  asio::awaitable<void> Serve(tcp::socket s) {
    boost::system::error_code ec;
    auto r = asio::redirect_error(asio::use_awaitable, ec);
    switch (behavior_.load()) {
      case Behavior::kCloseAtOnce:
        co_return;
      case Behavior::kPostgres:
      case Behavior::kBadByte: {
        char req[8];
        co_await asio::async_read(s, asio::buffer(req), r);
        const char answer = behavior_ == Behavior::kPostgres ? 'N' : 'E';
        co_await asio::async_write(s, asio::buffer(&answer, 1), r);
        break;
      }
      case Behavior::kHttp503:
      case Behavior::kHttp200: {
        char buf[512];
        co_await s.async_read_some(asio::buffer(buf), r);
        const std::string answer = behavior_ == Behavior::kHttp200
                                       ? "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
                                       : "HTTP/1.1 503 Unavailable\r\nContent-Length: 0\r\n\r\n";
        co_await asio::async_write(s, asio::buffer(answer), r);
        break;
      }
      case Behavior::kSilent:
        break;
    }
    // Hold the connection open (reading what comes, answering nothing) until the client leaves.
    char b[64];
    while (!ec) co_await s.async_read_some(asio::buffer(b), r);
  }

  std::atomic<Behavior> behavior_;
  asio::io_context ioc_;
  tcp::acceptor acceptor_;
  std::thread thread_;
};
using B = FakeListener::Behavior;

ProbeRunnerOptions Fast() {
  ProbeRunnerOptions o;
  o.timeout = 500ms;
  o.tcp_hold = 200ms;
  o.confirm_delay = 50ms;
  return o;
}

std::vector<ProbeOutcome> RunAll(ProbeRunner& r, std::vector<ProbeTarget> targets) {
  std::promise<std::vector<ProbeOutcome>> p;
  auto f = p.get_future();
  r.Run(std::move(targets), [&p](std::vector<ProbeOutcome> o) { p.set_value(std::move(o)); });
  EXPECT_EQ(f.wait_for(10s), std::future_status::ready);
  return f.get();
}

ProbeTarget T(int port, ProbeProtocol protocol, bool require_200 = false) {
  ProbeTarget t;
  t.host = "127.0.0.1";
  t.port = port;
  t.protocol = protocol;
  t.require_200 = require_200;
  return t;
}

int ClosedPort() {
  asio::io_context ioc;
  tcp::acceptor a(ioc, {asio::ip::make_address("127.0.0.1"), 0});
  return a.local_endpoint().port();  // closed when `a` goes
}

TEST(ProbeRunner, ChecksEachProtocolAndNamesWhyAnEndpointDoesNotAnswer) {
  FakeListener pg(B::kPostgres), bad(B::kBadByte), silent(B::kSilent), closing(B::kCloseAtOnce),
      h503(B::kHttp503), h200(B::kHttp200);
  const int closed = ClosedPort();
  ProbeRunner runner(Fast());
  auto got = RunAll(
      runner,
      {T(pg.port(), ProbeProtocol::kPostgres), T(bad.port(), ProbeProtocol::kPostgres),
       T(silent.port(), ProbeProtocol::kPostgres), T(closing.port(), ProbeProtocol::kPostgres),
       T(closed, ProbeProtocol::kPostgres), T(silent.port(), ProbeProtocol::kTcp),
       T(closing.port(), ProbeProtocol::kTcp), T(h503.port(), ProbeProtocol::kHttp),
       T(h503.port(), ProbeProtocol::kHttp, true), T(h200.port(), ProbeProtocol::kHttp, true)});
  ASSERT_EQ(got.size(), 10u);
  EXPECT_TRUE(got[0].ok()) << got[0].message;
  EXPECT_GT(got[0].latency_us, 0);
  EXPECT_EQ(got[1].reason, ProbeReason::kBadAnswer);
  EXPECT_EQ(got[2].reason, ProbeReason::kTimeout);
  EXPECT_EQ(got[3].reason, ProbeReason::kClosed);
  EXPECT_EQ(got[4].reason, ProbeReason::kRefused);
  EXPECT_TRUE(got[5].ok()) << "a TCP port held open answers: " << got[5].message;
  EXPECT_EQ(got[6].reason, ProbeReason::kClosed) << "closed at once: the edge found nobody";
  EXPECT_TRUE(got[7].ok()) << "any HTTP status answers: " << got[7].message;
  EXPECT_EQ(got[8].reason, ProbeReason::kBadAnswer);
  EXPECT_NE(got[8].message.find("503"), std::string::npos) << got[8].message;
  EXPECT_TRUE(got[9].ok()) << got[9].message;
}

TEST(ProbeRunner, ChecksManyEndpointsAtOnceWithinOneTimeout) {
  FakeListener silent(B::kSilent);
  auto o = Fast();
  o.max_in_flight = 64;
  o.confirm_delay = 10ms;
  ProbeRunner runner(o);
  std::vector<ProbeTarget> targets(64, T(silent.port(), ProbeProtocol::kPostgres));
  const auto start = std::chrono::steady_clock::now();
  auto got = RunAll(runner, targets);
  const auto took = std::chrono::steady_clock::now() - start;
  for (const auto& g : got) EXPECT_EQ(g.reason, ProbeReason::kTimeout);
  // Two attempts of 500 ms each, in parallel: far less than 64 × 1 s.
  EXPECT_LT(took, 3s);
}

TEST(ProbeFor, TemplatesAndMarkersPickTheCheck) {
  EXPECT_EQ(ProbeFor("postgres", "postgres", "tcp", "")->protocol, ProbeProtocol::kPostgres);
  auto s3 = ProbeFor("minio", "s3", "tcp", "");
  EXPECT_EQ(s3->protocol, ProbeProtocol::kHttp);
  EXPECT_EQ(s3->http_path, "/minio/health/ready");
  EXPECT_TRUE(s3->require_200);
  EXPECT_EQ(ProbeFor("custom", "port-80", "tcp", "http")->protocol, ProbeProtocol::kHttp);
  EXPECT_EQ(ProbeFor("custom", "port-80", "tcp", "")->protocol, ProbeProtocol::kTcp);
  EXPECT_FALSE(ProbeFor("custom", "port-53-udp", "udp", "").has_value());
}

class RecordingAlerts final : public AlertSink {
 public:
  void Raise(const Alert& a) override {
    std::lock_guard lock(mu);
    raised.push_back(a);
  }
  std::vector<Alert> Take() {
    std::lock_guard lock(mu);
    return std::exchange(raised, {});
  }
  std::mutex mu;
  std::vector<Alert> raised;
};

class ProberTest : public ::testing::Test {
 protected:
  ProberTest() : db_("prober"), clock_(1'800'000'000), pg_(B::kPostgres) {}

  void SetUp() override {
    store::Workload w;
    w.id = "wl_pg";
    w.owner_id = db_.user().id;
    w.name = "db";
    w.template_name = "postgres";
    w.image = "postgres:15";
    w.spec_enc = "s";
    w.ports_json =
        R"([{"name":"postgres","container_port":5432,"protocol":"tcp","scheme":"postgres"}])";
    w.created_at = w.updated_at = 1;
    ASSERT_TRUE(
        db_.store()
            .CreateWorkload({w, {}, {{pg_.port(), "wl_pg", 5432}}, std::nullopt, std::nullopt})
            .ok());
    ASSERT_TRUE(db_.store().SetPlacement("wl_pg", "node_1", WorkloadStatus::kRunning, "", 2).ok());
    ProberOptions o;
    o.interval_seconds = 30;
    o.runner = Fast();
    prober_ = std::make_unique<Prober>(
        db_.store(), clock_, alerts_,
        ProberSeams{
            [] { return true; },
            [this] { return up_ ? std::set<std::string>{"node_1"} : std::set<std::string>{}; },
            [this](int) { return bound_.load(); }},
        o);
  }

  // One pass, waited for and recorded.
  store::ProbeRecord Pass() {
    EXPECT_TRUE(prober_->StartPass());
    for (int i = 0; i < 200 && !prober_->Collect(); ++i) std::this_thread::sleep_for(20ms);
    clock_.Advance(30);
    auto cur = prober_->Current("wl_pg");
    EXPECT_TRUE(cur.ok() && cur->size() == 1u);
    return cur.ok() && !cur->empty() ? (*cur)[0] : store::ProbeRecord{};
  }
  Principal Owner() { return Principal{db_.user().id, db_.user().email, "user", "", 0}; }
  std::vector<std::string> Timeline() {
    std::vector<std::string> out;
    auto ev = db_.store().ListEvents("wl_pg", 100);
    if (ev.ok())
      for (const auto& e : *ev)
        if (e.message.rfind("endpoint", 0) == 0) out.push_back(e.message);
    return out;
  }

  store::testing::TempSqlite db_;
  ManualClock clock_;
  FakeListener pg_;
  RecordingAlerts alerts_;
  std::atomic<bool> up_{true};
  std::atomic<bool> bound_{true};
  std::unique_ptr<Prober> prober_;
};

TEST_F(ProberTest, AnAnsweringEndpointIsReachableWithoutAnnouncement) {
  auto r = Pass();
  EXPECT_EQ(Name(r.state), "reachable");
  EXPECT_EQ(r.public_port, pg_.port());
  EXPECT_GT(r.latency_us, 0);
  EXPECT_TRUE(Timeline().empty());
  EXPECT_TRUE(alerts_.Take().empty());
}

TEST_F(ProberTest, LossAndRecoveryAreEventsAndAlertsWithTheReason) {
  Pass();
  pg_.Set(B::kCloseAtOnce);
  auto r = Pass();
  EXPECT_EQ(Name(r.state), "unreachable");
  EXPECT_EQ(r.reason, "closed");
  auto a = alerts_.Take();
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].kind, AlertKind::kEndpointUnreachable);
  EXPECT_EQ(a[0].workload_id, "wl_pg");
  EXPECT_EQ(a[0].owner_id, db_.user().id);
  // Still down: no second announcement.
  Pass();
  EXPECT_TRUE(alerts_.Take().empty());
  pg_.Set(B::kPostgres);
  EXPECT_EQ(Name(Pass().state), "reachable");
  a = alerts_.Take();
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].kind, AlertKind::kEndpointReachable);
  auto t = Timeline();
  ASSERT_EQ(t.size(), 2u);
  EXPECT_NE(t[0].find("unreachable"), std::string::npos) << t[0];
  EXPECT_NE(t[1].find("reachable again"), std::string::npos) << t[1];
}

TEST_F(ProberTest, AGoneAgentOrAnUnboundPortIsUnreachableWithoutDialling) {
  Pass();
  up_ = false;
  auto r = Pass();
  EXPECT_EQ(Name(r.state), "unreachable");
  EXPECT_EQ(r.reason, "agent-gone");
  up_ = true;
  bound_ = false;
  r = Pass();
  EXPECT_EQ(r.reason, "port-not-bound");
  EXPECT_NE(r.message.find(std::to_string(pg_.port())), std::string::npos) << r.message;
}

TEST_F(ProberTest, HistoryKeepsChangesAndPeriodicSamplesOnly) {
  for (int i = 0; i < 4; ++i) Pass();  // 30 s apart: one change, then samples every 300 s
  pg_.Set(B::kCloseAtOnce);
  Pass();
  auto h = prober_->History(Owner(), "wl_pg", 0, 100);
  ASSERT_TRUE(h.ok()) << h.error().message;
  ASSERT_EQ(h->size(), 1u);
  EXPECT_EQ((*h)[0].name, "postgres");
  EXPECT_EQ(Name((*h)[0].current.state), "unreachable");
  ASSERT_EQ((*h)[0].history.size(), 2u);
  EXPECT_EQ(Name((*h)[0].history[0].state), "reachable");
  EXPECT_EQ(Name((*h)[0].history[1].state), "unreachable");
  // Another user's workload does not exist for them.
  auto other = prober_->History(Principal{"usr_other", "b@x.io", "user", "", 0}, "wl_pg", 0, 100);
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.error().code, ErrorCode::kNotFound);
}

TEST_F(ProberTest, AStoppedWorkloadIsUnknownNotUnreachable) {
  Pass();
  ASSERT_TRUE(db_.store()
                  .SetDesiredState("wl_pg", DesiredState::kStopped, WorkloadStatus::kStopped,
                                   clock_.NowSeconds())
                  .ok());
  pg_.Set(B::kCloseAtOnce);
  auto r = Pass();
  EXPECT_EQ(Name(r.state), "unknown");
  EXPECT_TRUE(alerts_.Take().empty());
  EXPECT_TRUE(Timeline().empty());
}

TEST_F(ProberTest, AStartingWorkloadsFirstFailureIsNotAnnounced) {
  ASSERT_TRUE(db_.store().SetPlacement("wl_pg", "node_1", WorkloadStatus::kStarting, "", 3).ok());
  pg_.Set(B::kCloseAtOnce);
  EXPECT_EQ(Name(Pass().state), "unreachable");
  pg_.Set(B::kPostgres);
  EXPECT_EQ(Name(Pass().state), "reachable");
  EXPECT_TRUE(alerts_.Take().empty());
  EXPECT_TRUE(Timeline().empty());
}

}  // namespace
}  // namespace lattice::control
