// The Agent end to end over a real WebSocket over TLS against a scripted stand-in for the
// server's link endpoint (the real one lives in src/server; this pins the agent's side of the
// exchange): join and identity, the CA pin, reconnects, refusal, dead-server detection, and —
// with Docker — statuses and logs for an assignment.
#include "agent/agent.h"
#include "common/test_env.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/websocket.hpp>

#include <deque>
#include <filesystem>
#include <fstream>
#include <future>
#include <iterator>

#include "agent/agent_test_util.h"
#include "common/random.h"
#include "link/join_token.h"
#include "tls/server_pki.h"
#include "tls/tls_stream.h"

namespace lattice::agent {
namespace {

using namespace testing;
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);
// The secret half of the join token the fake server accepts.
const std::string kJoinSecret = std::string(42, 'j') + "A";

// A CA of its own in a temporary directory (removed on destruction).
// With `shared` set, the CA of that other TempPki (as replicas share one), which must outlive it.
class TempPki {
 public:
  explicit TempPki(const TempPki* shared = nullptr)
      : dir_(shared ? shared->dir_
                    : std::filesystem::temp_directory_path() / ("agent-pki-" + RandomToken(6))),
        owns_(shared == nullptr) {
    InitCrypto();
    auto pki = tls::ServerPki::LoadOrCreate(dir_.string(), {});
    if (!pki.ok()) throw std::runtime_error(pki.error().message);
    pki_ = std::move(pki).value();
  }
  ~TempPki() {
    if (owns_) std::filesystem::remove_all(dir_);
  }
  tls::ServerPki& operator*() { return *pki_; }
  tls::ServerPki* operator->() { return pki_.get(); }

 private:
  std::filesystem::path dir_;
  bool owns_;
  std::unique_ptr<tls::ServerPki> pki_;
};

// A scripted agent-link server over TLS (its own CA): answers hello with whatever `on_hello`
// returns, records every message the agent sends, and lets the test send, drop a connection, or go
// deaf.
class FakeLinkServer {
 public:
  struct Received {
    int conn;
    link::Message msg;
  };
  using HelloHandler = std::function<std::vector<link::Message>(const link::Hello&)>;

  // `same_ca`: serve with that server's CA (a replica of it); it must outlive this one.
  explicit FakeLinkServer(HelloHandler on_hello, const FakeLinkServer* same_ca = nullptr)
      : on_hello_(std::move(on_hello)),
        pki_(same_ca ? &same_ca->pki_ : nullptr),
        acceptor_(ioc_, {asio::ip::make_address("127.0.0.1"), 0}) {
    asio::co_spawn(ioc_, Accept(), asio::detached);
    thread_ = std::thread([this] { ioc_.run(); });
  }
  ~FakeLinkServer() {
    ioc_.stop();
    thread_.join();
  }

  std::string url() const {
    return "https://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port());
  }
  const std::string& fingerprint() { return pki_->Fingerprint(); }
  // The join token this server's CA and kJoinSecret make.
  std::string join_token() { return link::FormatJoinToken(kJoinSecret, fingerprint()); }
  int connections() const { return conns_; }

  // Takes the first recorded message that satisfies `pred` (waiting up to `timeout`).
  std::optional<Received> Next(const std::function<bool(const Received&)>& pred,
                               milliseconds timeout) {
    std::unique_lock lock(mu_);
    std::optional<Received> found;
    cv_.wait_for(lock, timeout, [&] {
      for (auto it = received_.begin(); it != received_.end(); ++it)
        if (pred(*it)) return found = std::move(*it), received_.erase(it), true;
      return false;
    });
    return found;
  }
  template <typename T>
  std::optional<T> NextOf(milliseconds timeout, int conn = 0,
                          const std::function<bool(const T&)>& pred = nullptr) {
    auto r = Next(
        [&](const Received& r) {
          const T* m = std::get_if<T>(&r.msg);
          return m && (conn == 0 || r.conn == conn) && (!pred || pred(*m));
        },
        timeout);
    if (!r) return std::nullopt;
    return std::get<T>(r->msg);
  }

  void Send(link::Message m) {
    asio::post(ioc_, [this, text = link::Encode(m)] {
      if (current_) current_->Enqueue(text);
    });
  }
  void DropCurrent() {
    asio::post(ioc_, [this] {
      if (current_) beast::get_lowest_layer(current_->ws).close();
    });
  }
  // Connection `conn` stops reading (so it answers no pings either).
  void MakeDeaf(int conn) { deaf_ = conn; }

 private:
  struct Conn {
    Conn(asio::ip::tcp::socket s, asio::ssl::context& ctx)
        : ws(std::move(s), ctx), signal(ws.get_executor()) {}
    void Enqueue(std::string text) {
      out.push_back(std::move(text));
      signal.cancel();
    }
    websocket::stream<tls::TlsStream> ws;
    asio::steady_timer signal;
    std::deque<std::string> out;
    bool closed = false;
    int id = 0;
  };

  asio::awaitable<void> Accept() {
    for (;;) {
      auto [ec, sock] = co_await acceptor_.async_accept(kNoThrow);
      if (ec) co_return;
      auto c = std::make_shared<Conn>(std::move(sock), pki_->server_context());
      c->id = ++conns_;
      current_ = c;
      asio::co_spawn(ioc_, Serve(c), asio::detached);
    }
  }

  asio::awaitable<void> Serve(std::shared_ptr<Conn> c) {
    auto [hec] =
        co_await c->ws.next_layer().async_handshake(asio::ssl::stream_base::server, kNoThrow);
    if (hec) co_return;
    auto [aec] = co_await c->ws.async_accept(kNoThrow);
    if (aec) co_return;
    asio::co_spawn(ioc_, Write(c), asio::detached);
    asio::steady_timer nap(ioc_);
    for (;;) {
      while (deaf_ == c->id) {
        nap.expires_after(milliseconds(50));
        co_await nap.async_wait(kNoThrow);
      }
      beast::flat_buffer buf;
      auto [ec, n] = co_await c->ws.async_read(buf, kNoThrow);
      if (ec) break;
      auto msg = link::Decode(beast::buffers_to_string(buf.data()));
      if (!msg.ok()) continue;
      if (auto* h = std::get_if<link::Hello>(&*msg))
        for (const auto& reply : on_hello_(*h)) c->Enqueue(link::Encode(reply));
      {
        std::lock_guard lock(mu_);
        received_.push_back({c->id, std::move(*msg)});
      }
      cv_.notify_all();
    }
    c->closed = true;
    c->signal.cancel();
  }

  asio::awaitable<void> Write(std::shared_ptr<Conn> c) {
    while (!c->closed) {
      if (c->out.empty()) {
        c->signal.expires_at(asio::steady_timer::time_point::max());
        co_await c->signal.async_wait(kNoThrow);
        continue;
      }
      std::string text = std::move(c->out.front());
      c->out.pop_front();
      auto [ec, n] = co_await c->ws.async_write(asio::buffer(text), kNoThrow);
      if (ec) co_return;
    }
  }

  HelloHandler on_hello_;
  TempPki pki_;
  asio::io_context ioc_;
  asio::ip::tcp::acceptor acceptor_;
  std::shared_ptr<Conn> current_;  // ioc thread only
  std::atomic<int> conns_{0};
  std::atomic<int> deaf_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Received> received_;
  std::thread thread_;
};

class AgentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    rt_ = OpenDocker(why);
    if (!rt_) LATTICE_SKIP_UNLESS_REQUIRED() << "no Docker engine answers: " << why;
    prefix_ = RunPrefix();
    node_id_ = prefix_ + "node";
    state_dir_ = (std::filesystem::temp_directory_path() / (prefix_ + "state")).string();
  }
  void TearDown() override {
    StopAgent();
    if (rt_) CleanUp(*rt_, prefix_, {});
    std::filesystem::remove_all(state_dir_);
  }

  // Options for joining `server` with its join token.
  AgentOptions Options(FakeLinkServer& server) const {
    AgentOptions o = Options(server.url());
    o.join_token = server.join_token();
    return o;
  }
  AgentOptions Options(const std::string& url) const {
    AgentOptions o;
    o.server_url = url;
    o.name = "n1";
    o.state_dir = state_dir_;
    o.labels = {{"zone", "a"}};
    o.tuning.backoff_base = milliseconds(50);
    o.tuning.backoff_cap = milliseconds(200);
    o.tuning.reconciler.stop_grace = seconds(1);
    o.tuning.reconciler.fast_tick = milliseconds(200);
    return o;
  }
  void StartAgent(AgentOptions o) {
    std::string why;
    agent_ = std::make_unique<Agent>(std::move(o), OpenDocker(why));
    result_ = std::async(std::launch::async, [this] { return agent_->Run(); });
  }
  std::optional<Status> StopAgent() {
    if (!agent_) return std::nullopt;
    agent_->Stop();
    Status st = result_.get();
    agent_.reset();
    return st;
  }

  // Welcomes the join token (issuing a secret) and the identity it issued.
  FakeLinkServer::HelloHandler Welcoming(std::vector<link::Assignment> items = {}) {
    return [this, items](const link::Hello& h) -> std::vector<link::Message> {
      if (auto t = link::ParseJoinToken(h.join_token); t.ok() && t->secret == kJoinSecret)
        return {link::Welcome{node_id_, "sec-1", 1, {}, {}}, link::Assignments{items}};
      if (h.node_id == node_id_ && h.node_secret == "sec-1")
        return {link::Welcome{node_id_, "", 1, {}, {}}, link::Assignments{items}};
      return {link::LinkError{"Unknown node or wrong node secret.",
                              link::LinkErrorCode::kUnauthenticated}};
    };
  }

  std::unique_ptr<runtime::docker::DockerRuntime> rt_;
  std::unique_ptr<Agent> agent_;
  std::future<Status> result_;
  std::string prefix_, node_id_, state_dir_;
};

TEST_F(AgentTest, JoinsKeepsItsIdentityAndReconnectsWithIt) {
  FakeLinkServer server(Welcoming());
  StartAgent(Options(server));
  auto hello = server.NextOf<link::Hello>(seconds(5), 1);
  ASSERT_TRUE(hello);
  EXPECT_EQ(hello->protocol, link::kProtocolVersion);
  EXPECT_EQ(hello->join_token, server.join_token());
  EXPECT_EQ(hello->node_id, "");
  EXPECT_EQ(hello->name, "n1");
  EXPECT_EQ(hello->labels, (std::map<std::string, std::string>{{"zone", "a"}}));
  EXPECT_EQ(hello->agent_version, LATTICE_VERSION);
  EXPECT_EQ(hello->address, "127.0.0.1");
  EXPECT_GT(hello->cpus, 0);
  EXPECT_GT(hello->memory_mb, 0);
  EXPECT_TRUE(hello->running.empty());

  ASSERT_TRUE(server.NextOf<link::Heartbeat>(seconds(3), 1)) << "heartbeat every second";
  const std::string file = state_dir_ + "/node.json";
  struct stat st {};
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto stored = LoadNodeIdentity(state_dir_);
  ASSERT_TRUE(stored.ok() && stored->has_value());
  EXPECT_EQ((*stored)->node_id, node_id_);
  EXPECT_EQ((*stored)->node_secret, "sec-1");
  EXPECT_EQ((*stored)->ca_fingerprint, server.fingerprint()) << "the pin outlives the token";

  server.DropCurrent();
  auto again = server.NextOf<link::Hello>(seconds(5), 2);
  ASSERT_TRUE(again) << "reconnected";
  EXPECT_EQ(again->join_token, "");
  EXPECT_EQ(again->node_id, node_id_);
  EXPECT_EQ(again->node_secret, "sec-1");
  ASSERT_TRUE(server.NextOf<link::Heartbeat>(seconds(3), 2));

  const auto stop_at = std::chrono::steady_clock::now();
  auto result = StopAgent();
  ASSERT_TRUE(result);
  EXPECT_TRUE(result->ok());
  EXPECT_LT(std::chrono::steady_clock::now() - stop_at, seconds(2));

  // A restart without the join token still pins the server's CA (from node.json).
  AgentOptions o = Options(server.url());
  o.join_token.clear();
  StartAgent(std::move(o));
  auto restarted = server.NextOf<link::Hello>(seconds(5), 3);
  ASSERT_TRUE(restarted);
  EXPECT_EQ(restarted->node_id, node_id_);
}

TEST_F(AgentTest, FollowsTheReplicasItWasToldOfAndRemembersThem) {
  FakeLinkServer b(Welcoming());
  std::vector<std::string> replicas;  // set before the agent starts
  FakeLinkServer a(
      [&, welcome = Welcoming()](const link::Hello& h) {
        auto out = welcome(h);
        if (auto* w = std::get_if<link::Welcome>(&out.front())) w->servers = replicas;
        return out;
      },
      &b);
  replicas = {a.url(), b.url()};
  StartAgent(Options(a));
  ASSERT_TRUE(a.NextOf<link::Heartbeat>(seconds(5), 1)) << "linked to the first replica";
  EXPECT_EQ((*LoadNodeIdentity(state_dir_))->servers, std::vector<std::string>{b.url()});

  // The first replica lets go: the next attempt goes to the other one, as the same node.
  a.DropCurrent();
  auto moved = b.NextOf<link::Hello>(seconds(5), 1);
  ASSERT_TRUE(moved) << "the agent must dial the replica it was told of";
  EXPECT_EQ(moved->node_id, node_id_);
  ASSERT_TRUE(b.NextOf<link::Heartbeat>(seconds(5), 1));

  // Restarted with a --server that is gone for good, it still finds the replica it learned.
  ASSERT_TRUE(StopAgent()->ok());
  StartAgent(Options("https://127.0.0.1:1"));
  auto again = b.NextOf<link::Hello>(seconds(5), 2);
  ASSERT_TRUE(again) << "node.json's servers must survive a restart";
  EXPECT_EQ(again->node_id, node_id_);
}

TEST_F(AgentTest, WrongPinEndsRunWithAClearError) {
  FakeLinkServer server(Welcoming());
  AgentOptions o = Options(server.url());
  o.join_token = link::FormatJoinToken(kJoinSecret, Base64UrlEncode(RandomBytes(32)));
  StartAgent(std::move(o));
  ASSERT_EQ(result_.wait_for(seconds(5)), std::future_status::ready);
  Status st = result_.get();
  agent_.reset();
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, ErrorCode::kUnauthenticated);
  EXPECT_NE(st.error().message.find("is not the server this node trusts"), std::string::npos)
      << st.error().message;
  EXPECT_FALSE(server.NextOf<link::Hello>(milliseconds(100))) << "nothing sent to it";
  EXPECT_FALSE(std::filesystem::exists(state_dir_ + "/node.json"));
}

TEST_F(AgentTest, AServerWithAnotherCaIsRefusedAfterJoining) {
  TempPki joined;  // the CA this node joined; the server below has another one
  ASSERT_TRUE(SaveNodeIdentity(state_dir_, {node_id_, "sec-1", joined->Fingerprint(), {}}).ok());
  FakeLinkServer server(Welcoming());
  AgentOptions o = Options(server.url());
  o.join_token = server.join_token();  // a token for the new CA does not override node.json
  StartAgent(std::move(o));
  ASSERT_EQ(result_.wait_for(seconds(5)), std::future_status::ready);
  Status st = result_.get();
  agent_.reset();
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, ErrorCode::kUnauthenticated);
  EXPECT_NE(st.error().message.find(joined->Fingerprint()), std::string::npos)
      << st.error().message;
  EXPECT_EQ((*LoadNodeIdentity(state_dir_))->ca_fingerprint, joined->Fingerprint());
}

TEST_F(AgentTest, PlainUrlsAndPinlessTokensAreErrors) {
  AgentOptions plain = Options("http://127.0.0.1:1");
  plain.join_token = link::FormatJoinToken(kJoinSecret, Base64UrlEncode(RandomBytes(32)));
  Status st = Agent(std::move(plain), nullptr).Run();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("TLS only"), std::string::npos) << st.error().message;

  AgentOptions old = Options("https://127.0.0.1:1");
  old.join_token = "ljt_" + kJoinSecret;
  st = Agent(std::move(old), nullptr).Run();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("carries no CA fingerprint"), std::string::npos)
      << st.error().message;

  ASSERT_TRUE(SaveNodeIdentity(state_dir_, {node_id_, "sec-1", "", {}}).ok());
  st = Agent(Options("https://127.0.0.1:1"), nullptr).Run();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("names no server CA fingerprint"), std::string::npos)
      << st.error().message;
}

TEST_F(AgentTest, RefusedJoinEndsRunWithAClearError) {
  FakeLinkServer server([](const link::Hello&) -> std::vector<link::Message> {
    return {link::LinkError{"The join token is unknown, expired or already used.",
                            link::LinkErrorCode::kUnauthenticated}};
  });
  StartAgent(Options(server));
  ASSERT_EQ(result_.wait_for(seconds(5)), std::future_status::ready);
  Status st = result_.get();
  agent_.reset();
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, ErrorCode::kUnauthenticated);
  EXPECT_NE(st.error().message.find("join token is unknown"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(state_dir_ + "/node.json"));
}

TEST_F(AgentTest, NoTokenAndNoIdentityIsAnError) {
  AgentOptions o = Options("https://127.0.0.1:1");
  o.join_token.clear();
  Agent agent(std::move(o), nullptr);
  Status st = agent.Run();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("join token"), std::string::npos);
}

TEST_F(AgentTest, StoredIdentityKeepsRetryingWhenRefused) {
  FakeLinkServer server(Welcoming());
  ASSERT_TRUE(SaveNodeIdentity(state_dir_, {node_id_, "stale", server.fingerprint(), {}}).ok());
  StartAgent(Options(server));
  for (int i = 0; i < 100 && server.connections() < 3; ++i)
    std::this_thread::sleep_for(milliseconds(50));
  EXPECT_GE(server.connections(), 3) << "retries with backoff instead of giving up";
  EXPECT_EQ(result_.wait_for(milliseconds(0)), std::future_status::timeout);
  auto result = StopAgent();
  ASSERT_TRUE(result);
  EXPECT_TRUE(result->ok());
}

TEST_F(AgentTest, ASilentServerIsNoticedAndRedialled) {
  FakeLinkServer server(Welcoming());
  StartAgent(Options(server));
  ASSERT_TRUE(server.NextOf<link::Heartbeat>(seconds(5), 1));
  // A quiet server that still answers pings keeps the link past 3 × heartbeat.
  std::this_thread::sleep_for(milliseconds(3500));
  EXPECT_EQ(server.connections(), 1);
  server.MakeDeaf(1);  // no more reads, so no pongs: 3 × 1 s later the agent gives up on it
  EXPECT_TRUE(server.NextOf<link::Hello>(seconds(8), 2));
}

TEST_F(AgentTest, AssignmentsBecomeStatusesAndLogsAndSurviveAReconnect) {
  if (!HasImage(*rt_, kBusybox)) LATTICE_SKIP_UNLESS_REQUIRED() << kBusybox << " is missing";
  const std::string id = prefix_ + "hi";
  FakeLinkServer server(Welcoming({ShellWorkload(id, 1, "echo hi; exec sleep 600")}));
  StartAgent(Options(server));
  auto running = server.NextOf<link::StatusReport>(seconds(20), 1, [&](const auto& s) {
    return s.workload_id == id && s.state == WorkloadStatus::kRunning;
  });
  ASSERT_TRUE(running);
  EXPECT_EQ(running->generation, 1);

  // The node keeps the container's output under its state directory (docs/logs.md).
  const std::filesystem::path kept = std::filesystem::path(state_dir_) / "logs" / id;
  auto kept_hi = [&] {
    std::error_code ec;
    for (const auto& f : std::filesystem::directory_iterator(kept, ec)) {
      std::ifstream in(f.path());
      std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      if (text.find("\thi\n") != std::string::npos) return true;
    }
    return false;
  };
  for (int i = 0; i < 100 && !kept_hi(); ++i) std::this_thread::sleep_for(milliseconds(100));
  ASSERT_TRUE(kept_hi());
  server.Send(link::LogsOpen{"ls1", id, 10, false});
  auto data = server.NextOf<link::LogsData>(seconds(5));
  ASSERT_TRUE(data);
  EXPECT_EQ(data->stream_id, "ls1");
  EXPECT_EQ(data->lines, std::vector<std::string>{"hi"});
  EXPECT_EQ(data->generations, std::vector<std::int64_t>{1});
  auto end = server.NextOf<link::LogsEnd>(seconds(5));
  ASSERT_TRUE(end);
  EXPECT_EQ(end->error, "");

  server.DropCurrent();
  auto hello = server.NextOf<link::Hello>(seconds(5), 2);
  ASSERT_TRUE(hello);
  ASSERT_EQ(hello->running.size(), 1u);
  EXPECT_EQ(hello->running[0].workload_id, id);
  EXPECT_EQ(hello->running[0].generation, 1);
  EXPECT_EQ(hello->running[0].state, WorkloadStatus::kRunning);
  EXPECT_TRUE(server.NextOf<link::StatusReport>(seconds(5), 2, [&](const auto& s) {
    return s.workload_id == id && s.state == WorkloadStatus::kRunning;
  })) << "statuses are re-sent after a reconnect";

  link::Assignment del = ShellWorkload(id, 2, "echo hi; exec sleep 600");
  del.desired_state = DesiredState::kDeleted;
  server.Send(link::Upsert{del});
  EXPECT_TRUE(server.NextOf<link::StatusReport>(seconds(15), 2, [&](const auto& s) {
    return s.workload_id == id && s.state == WorkloadStatus::kDeleted;
  }));
  EXPECT_EQ(CountContainers(*rt_, id), 0);
  EXPECT_FALSE(std::filesystem::exists(kept)) << "the kept logs go with the workload";
}

}  // namespace
}  // namespace lattice::agent
