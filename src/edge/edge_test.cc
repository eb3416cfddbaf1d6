// The edge with a real agent-side TunnelClient on loopback: a client of a public port reaches
// the target through the TLS data connection; stopped routes refuse; a silent or failing agent
// closes the client; and bad data-connection handshakes (garbage, wrong secret, replayed
// secret, too slow) are turned away without disturbing a stream that is relaying.
// Fairness: one client address (127.0.0.2; all of 127/8 is loopback on Linux) holding its cap
// of idle streams does not lock out another (127.0.0.1), per workload and server-wide; slots
// come back from refused and finished streams; a port's own idle timeout closes its relays.
#include "edge/edge.h"

#include <gtest/gtest.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/asio/write.hpp>

#include <future>
#include <mutex>
#include <thread>

#include "agent/tunnel_client.h"
#include "common/random.h"
#include "tunnel/handshake.h"
#include "tunnel/test_certs.h"

namespace lattice::edge {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;

int FreePort() {
  asio::io_context ioc;
  tcp::acceptor a(ioc, {asio::ip::make_address("127.0.0.1"), 0});
  return a.local_endpoint().port();
}

class EdgeTest : public ::testing::Test {
 protected:
  virtual EdgeOptions Options() {
    EdgeOptions o;
    o.open_timeout = std::chrono::milliseconds(800);
    o.handshake_timeout = std::chrono::milliseconds(500);
    o.idle_timeout = std::chrono::seconds(20);
    o.max_streams_per_workload = 3;
    o.relay_threads = 2;  // as the server runs it
    return o;
  }

  void SetUp() override {
    InitCrypto();
    pki_ = tunnel::testing::MakeTestPki();
    // The target: an echo server standing in for the container, on a thread of its own (as the
    // container is a process of its own).
    target_ = std::make_unique<tcp::acceptor>(
        echo_ioc_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    asio::co_spawn(echo_ioc_, Echo(), asio::detached);
    echo_thread_ = std::thread([this] { echo_ioc_.run(); });
    // The server's TLS front, reduced to what the edge needs: handshake, then hand over.
    front_ = std::make_unique<tcp::acceptor>(ioc_,
                                             tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    asio::co_spawn(ioc_, Front(), asio::detached);

    edge_ = std::make_unique<Edge>(ioc_, Options(),
                                   [this](const std::string& node, const link::StreamOpen& m) {
                                     if (node != "node_1" || !agent_connected_) return false;
                                     {
                                       std::lock_guard lock(open_mu_);
                                       last_open_ = m;
                                     }
                                     if (agent_answers_) agent_->Open(m);
                                     return true;
                                   });
    agent::TunnelClientOptions ao;
    ao.edge_host = "127.0.0.1";
    ao.edge_port = std::to_string(front_->local_endpoint().port());
    const int target_port = target_->local_endpoint().port();
    agent_ = std::make_unique<agent::TunnelClient>(
        ao, pki_.client.get(),
        [target_port](const std::string& wl, int cport) -> std::optional<agent::ContainerTarget> {
          // wl_1 has two ports, wl_3 one; all reach the echo server.
          if ((wl == "wl_1" && (cport == 5432 || cport == 5433)) || (wl == "wl_3" && cport == 5432))
            return agent::ContainerTarget{"127.0.0.1", target_port};
          return std::nullopt;
        },
        [this](link::StreamFail f) { edge_->OnStreamFail("node_1", f); });
    agent_->Start();
    public_port_ = FreePort();
    edge_->SetRoutes({{public_port_, "wl_1", 5432, "node_1", true},
                      {public_port_ + 1000 > 65000 ? public_port_ - 1000 : public_port_ + 1000,
                       "wl_2", 80, "node_1", true}});
    thread_ = std::thread([this] { ioc_.run(); });
  }
  void TearDown() override {
    agent_->Stop();
    edge_->Stop();
    work_.reset();
    ioc_.stop();
    thread_.join();
    echo_ioc_.stop();
    echo_thread_.join();
    target_.reset();
    front_.reset();
    ioc_owner_.reset();  // ends the coroutines still parked in it while the edge is alive
  }

  asio::awaitable<void> Echo() {
    for (;;) {
      auto [ec, s] = co_await target_->async_accept(asio::as_tuple(asio::use_awaitable));
      if (ec) co_return;
      asio::co_spawn(
          echo_ioc_,
          [s = std::move(s)]() mutable -> asio::awaitable<void> {
            char buf[4096];
            for (;;) {
              auto [rec, n] = co_await s.async_read_some(asio::buffer(buf),
                                                         asio::as_tuple(asio::use_awaitable));
              if (rec) co_return;
              co_await asio::async_write(s, asio::buffer(buf, n),
                                         asio::as_tuple(asio::use_awaitable));
            }
          },
          asio::detached);
    }
  }

  asio::awaitable<void> Front() {
    for (;;) {
      auto [ec, s] = co_await front_->async_accept(asio::as_tuple(asio::use_awaitable));
      if (ec) co_return;
      asio::co_spawn(
          asio::make_strand(ioc_),
          [this, s = std::move(s)]() mutable -> asio::awaitable<void> {
            auto tls = tunnel::TlsSocket::Create(std::move(s), pki_.server.get(),
                                                 tunnel::TlsSocket::Role::kServer);
            if (!(co_await (*tls)->Handshake()).ok()) co_return;
            co_await edge_->AcceptDataConnection(std::move(*tls), "");
          },
          asio::detached);
    }
  }

  // A raw data connection as an attacker would make one: TLS to the front, then `line`.
  std::unique_ptr<tunnel::TlsSocket> RawDataConnection(const std::string& line) {
    auto f = asio::co_spawn(
        ioc_,
        [this, line]() -> asio::awaitable<std::unique_ptr<tunnel::TlsSocket>> {
          tcp::socket s(ioc_);
          co_await s.async_connect(front_->local_endpoint(), asio::use_awaitable);
          auto tls = tunnel::TlsSocket::Create(std::move(s), pki_.client.get(),
                                               tunnel::TlsSocket::Role::kClient, "127.0.0.1");
          co_await (*tls)->Handshake();
          if (!line.empty()) co_await (*tls)->WriteAll(line.data(), line.size());
          co_return std::move(*tls);
        },
        asio::use_future);
    return f.get();
  }

  // True if the edge closed the raw data connection within `within`.
  bool ClosedByEdge(tunnel::TlsSocket& t, std::chrono::milliseconds within) {
    auto f = asio::co_spawn(
        ioc_,
        [&t]() -> asio::awaitable<bool> {
          for (;;) {
            co_await t.WaitReadable();
            char c;
            error_code ec;
            t.TryRead(&c, 1, ec);
            if (ec && ec != asio::error::would_block) co_return true;
            if (!ec) co_return false;  // the edge relayed something: not closed
          }
        },
        asio::use_future);
    return f.wait_for(within) == std::future_status::ready && f.get();
  }

  std::unique_ptr<tcp::socket> Client() { return ClientFrom("127.0.0.1", public_port_); }
  // A client whose address is `source` (any of 127/8), to a public port.
  std::unique_ptr<tcp::socket> ClientFrom(const std::string& source, int port) {
    auto s = std::make_unique<tcp::socket>(sync_);
    s->open(tcp::v4());
    s->bind({asio::ip::make_address(source), 0});
    s->connect({asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)});
    return s;
  }
  link::StreamOpen LastOpen() {
    std::lock_guard lock(open_mu_);
    return last_open_;
  }
  // Waits up to 2 s for `pred` (the edge's counters settle on its own thread).
  template <typename Pred>
  static bool Eventually(Pred pred) {
    for (int i = 0; i < 200; ++i) {
      if (pred()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return pred();
  }
  static std::string RoundTrip(tcp::socket& s, const std::string& msg) {
    asio::write(s, asio::buffer(msg));
    std::string back(msg.size(), '\0');
    error_code ec;
    asio::read(s, asio::buffer(back), ec);
    return ec ? "error: " + ec.message() : back;
  }
  static bool ClosedWithin(tcp::socket& s, std::chrono::milliseconds within) {
    s.non_blocking(false);
    timeval tv{0, static_cast<suseconds_t>(within.count() * 1000)};
    ::setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char c;
    error_code ec;
    s.read_some(asio::buffer(&c, 1), ec);
    return ec == asio::error::eof || ec == asio::error::connection_reset;
  }

  std::unique_ptr<Edge> edge_;  // outlives the io_context's coroutines (declared first)
  std::unique_ptr<asio::io_context> ioc_owner_ = std::make_unique<asio::io_context>();
  asio::io_context& ioc_ = *ioc_owner_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_{
      ioc_.get_executor()};
  asio::io_context sync_;
  std::thread thread_;
  asio::io_context echo_ioc_;
  std::thread echo_thread_;
  tunnel::testing::TestPki pki_;
  std::unique_ptr<tcp::acceptor> target_, front_;
  std::unique_ptr<agent::TunnelClient> agent_;
  std::atomic<bool> agent_connected_{true};
  std::atomic<bool> agent_answers_{true};
  std::mutex open_mu_;
  link::StreamOpen last_open_;  // guarded by open_mu_
  int public_port_ = 0;
};

// The basic behaviours both ways streams can run: on the edge's relay threads (the server's
// way) and on strands of the shared io_context (relay_threads = 0).
class EdgeRelayTest : public EdgeTest, public ::testing::WithParamInterface<int> {
 protected:
  EdgeOptions Options() override {
    EdgeOptions o = EdgeTest::Options();
    o.relay_threads = GetParam();
    return o;
  }
};
INSTANTIATE_TEST_SUITE_P(Threads, EdgeRelayTest, ::testing::Values(2, 0), [](const auto& info) {
  return "relay_threads_" + std::to_string(info.param);
});

TEST_P(EdgeRelayTest, AClientReachesTheTargetThroughTheTunnel) {
  ASSERT_TRUE(edge_->Listening(public_port_));
  auto c = Client();
  EXPECT_EQ(RoundTrip(*c, "hello through the edge"), "hello through the edge");
  const std::string big(1 << 20, 'q');
  EXPECT_EQ(RoundTrip(*c, big), big);
  EXPECT_EQ(edge_->Stats().streams_opened, 1);
}

TEST_P(EdgeRelayTest, AStoppedWorkloadRefusesAndAStartedOneAcceptsAgain) {
  edge_->UpdateWorkload("wl_1", {{public_port_, "wl_1", 5432, "node_1", false}});
  tcp::socket s(sync_);
  error_code ec;
  for (int i = 0; i < 50 && ec != asio::error::connection_refused; ++i) {
    // The listener closes on the edge's strand, very soon.
    s.close();
    s.connect({asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(public_port_)}, ec);
    if (ec != asio::error::connection_refused)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(ec, asio::error::connection_refused);
  edge_->UpdateWorkload("wl_1", {{public_port_, "wl_1", 5432, "node_1", true}});
  auto c = Client();
  EXPECT_EQ(RoundTrip(*c, "back"), "back");
}

TEST_F(EdgeTest, AStreamOnARelayThreadGoesOnWhileTheSharedIoThreadIsBusy) {
  auto c = Client();
  ASSERT_EQ(RoundTrip(*c, "before"), "before");
  // The shared io_context's only thread is stuck (as the server's would be under a burst of
  // requests): a stream already relaying does not wait for it.
  std::promise<void> release;
  asio::post(ioc_, [stuck = release.get_future().share()] { stuck.wait(); });
  const std::string msg = "while the I/O thread is busy";
  auto trip = std::async(std::launch::async, [&] { return RoundTrip(*c, msg); });
  const bool in_time = trip.wait_for(std::chrono::seconds(1)) == std::future_status::ready;
  release.set_value();  // the stuck thread goes on either way (and a late round trip ends)
  EXPECT_TRUE(in_time) << "the stream waited for the shared I/O thread";
  EXPECT_EQ(trip.get(), msg);
}

TEST_F(EdgeTest, ASilentAgentClosesTheClientAfterTheOpenTimeout) {
  agent_answers_ = false;
  auto c = Client();
  EXPECT_TRUE(ClosedWithin(*c, std::chrono::seconds(3)));
  EXPECT_GE(edge_->Stats().streams_refused, 1);
}

TEST_F(EdgeTest, ADisconnectedNodeClosesTheClientAtOnce) {
  agent_connected_ = false;
  auto c = Client();
  EXPECT_TRUE(ClosedWithin(*c, std::chrono::milliseconds(500)));
}

TEST_P(EdgeRelayTest, StreamFailClosesTheClientBeforeTheTimeout) {
  // wl_2's container port is not published on the node: the agent reports stream.fail.
  edge_->UpdateWorkload("wl_1", {{public_port_, "wl_1", 9999, "node_1", true}});
  auto c = Client();
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(ClosedWithin(*c, std::chrono::seconds(3)));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(700));
}

TEST_F(EdgeTest, TheStreamCapRefusesTheExtraClient) {
  std::vector<std::unique_ptr<tcp::socket>> held;
  for (int i = 0; i < 3; ++i) {
    held.push_back(Client());
    ASSERT_EQ(RoundTrip(*held.back(), "x"), "x");
  }
  auto extra = Client();
  EXPECT_TRUE(ClosedWithin(*extra, std::chrono::seconds(2)));
  held.pop_back();  // a slot frees up
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  auto again = Client();
  EXPECT_EQ(RoundTrip(*again, "y"), "y");
}

TEST_P(EdgeRelayTest, BadHandshakesAreRejectedWithoutTouchingLiveStreams) {
  auto live = Client();
  ASSERT_EQ(RoundTrip(*live, "before"), "before");
  const link::StreamOpen used = LastOpen();  // its secret was consumed by the live stream

  auto garbage = RawDataConnection("GARBAGE GARBAGE GARBAGE\n");
  EXPECT_TRUE(ClosedByEdge(*garbage, std::chrono::seconds(2)));
  auto replay = RawDataConnection(tunnel::EncodeHandshake({used.stream_id, used.secret}));
  EXPECT_TRUE(ClosedByEdge(*replay, std::chrono::seconds(2)));
  auto unknown =
      RawDataConnection(tunnel::EncodeHandshake({"st_nosuchstream", "AAAAAAAAAAAAAAAAAAAAAAAA"}));
  EXPECT_TRUE(ClosedByEdge(*unknown, std::chrono::seconds(2)));
  // A wrong secret for a stream that is really waiting: refused, and the waiting stream is
  // still served by the right one.
  agent_answers_ = false;
  auto waiting = Client();
  for (int i = 0; i < 100 && LastOpen().stream_id == used.stream_id; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  const link::StreamOpen pending = LastOpen();
  ASSERT_NE(pending.stream_id, used.stream_id);
  auto wrong =
      RawDataConnection(tunnel::EncodeHandshake({pending.stream_id, "WRONGWRONGWRONGWRONGWRONG"}));
  EXPECT_TRUE(ClosedByEdge(*wrong, std::chrono::seconds(2)));
  agent_->Open(pending);
  EXPECT_EQ(RoundTrip(*waiting, "late but right"), "late but right");
  // Slow: TLS done, then nothing — cut off at the handshake timeout.
  auto slow = RawDataConnection("");
  EXPECT_TRUE(ClosedByEdge(*slow, std::chrono::seconds(2)));

  EXPECT_GE(edge_->Stats().handshakes_rejected, 5);
  EXPECT_EQ(RoundTrip(*live, "after"), "after");
}

// Per-source caps small enough to reach: 2 streams per address and workload, 3 per address in
// all, 4 per workload.
class EdgeFairnessTest : public EdgeTest {
 protected:
  EdgeOptions Options() override {
    EdgeOptions o = EdgeTest::Options();
    o.max_streams_per_workload = 4;
    o.max_streams_per_source_per_workload = 2;
    o.max_streams_per_source = 3;
    return o;
  }
  // Opens a relaying stream from `source` to `port`, or fails the test.
  std::unique_ptr<tcp::socket> Held(const std::string& source, int port) {
    auto c = ClientFrom(source, port);
    EXPECT_EQ(RoundTrip(*c, "held"), "held") << source << " -> " << port;
    return c;
  }
};

TEST_F(EdgeFairnessTest, OneAddressAtItsCapDoesNotLockOutAnother) {
  // The flood: 127.0.0.2 tries to take every stream the workload has (4) and keep them idle.
  std::vector<std::unique_ptr<tcp::socket>> flood;
  flood.push_back(Held("127.0.0.2", public_port_));
  flood.push_back(Held("127.0.0.2", public_port_));
  for (int i = 0; i < 2; ++i) {
    auto extra = ClientFrom("127.0.0.2", public_port_);
    EXPECT_TRUE(ClosedWithin(*extra, std::chrono::seconds(2)));
  }
  EXPECT_EQ(edge_->Stats().refused_source_workload_cap, 2);
  // Everyone else still gets in, up to the workload's own cap.
  auto other = ClientFrom("127.0.0.1", public_port_);
  EXPECT_EQ(RoundTrip(*other, "not locked out"), "not locked out");
  auto third = ClientFrom("127.0.0.3", public_port_);
  EXPECT_EQ(RoundTrip(*third, "me too"), "me too");
  auto over = ClientFrom("127.0.0.4", public_port_);
  EXPECT_TRUE(ClosedWithin(*over, std::chrono::seconds(2)));
  const EdgeStats st = edge_->Stats();
  EXPECT_EQ(st.refused_workload_cap, 1);
  EXPECT_EQ(st.streams_refused, 3);
  EXPECT_EQ(st.sources, 3);
  EXPECT_EQ(st.active_streams, 4);
}

TEST_F(EdgeFairnessTest, TheServerWideCapCountsEveryPortOfAnAddress) {
  const int port_b = FreePort();  // wl_1's second port
  const int port_c = FreePort();  // another workload
  edge_->UpdateWorkload("wl_1", {{public_port_, "wl_1", 5432, "node_1", true},
                                 {port_b, "wl_1", 5433, "node_1", true}});
  edge_->UpdateWorkload("wl_3", {{port_c, "wl_3", 5432, "node_1", true}});
  ASSERT_TRUE(Eventually([&] { return edge_->Listening(port_b) && edge_->Listening(port_c); }));
  std::vector<std::unique_ptr<tcp::socket>> held;
  held.push_back(Held("127.0.0.2", public_port_));
  // Both of wl_1's ports count toward one per-workload cap.
  held.push_back(Held("127.0.0.2", port_b));
  EXPECT_TRUE(ClosedWithin(*ClientFrom("127.0.0.2", public_port_), std::chrono::seconds(2)));
  held.push_back(Held("127.0.0.2", port_c));
  EXPECT_EQ(edge_->Stats().refused_source_workload_cap, 1);
  // Three in all: a fourth stream from the address is refused on any port.
  auto fourth = ClientFrom("127.0.0.2", port_c);
  EXPECT_TRUE(ClosedWithin(*fourth, std::chrono::seconds(2)));
  EXPECT_EQ(edge_->Stats().refused_source_cap, 1);
  // Another address is not affected.
  auto other = ClientFrom("127.0.0.1", port_c);
  EXPECT_EQ(RoundTrip(*other, "fine"), "fine");
  // One of the address's streams ends: it may open one again.
  held.erase(held.begin());
  std::unique_ptr<tcp::socket> again;
  ASSERT_TRUE(Eventually([&] {
    again = ClientFrom("127.0.0.2", port_c);
    return RoundTrip(*again, "again") == "again";
  }));
}

TEST_F(EdgeFairnessTest, RefusedAndFinishedStreamsGiveTheirSlotsBack) {
  // Streams the agent never opens hold their slots while they wait, then give them back.
  agent_answers_ = false;
  auto w1 = ClientFrom("127.0.0.2", public_port_);
  auto w2 = ClientFrom("127.0.0.2", public_port_);
  ASSERT_TRUE(Eventually([&] { return edge_->Stats().held_streams == 2; }));
  EXPECT_EQ(edge_->Stats().sources, 1);
  auto w3 = ClientFrom("127.0.0.2", public_port_);
  EXPECT_TRUE(ClosedWithin(*w3, std::chrono::milliseconds(500)));  // at once: the cap
  EXPECT_EQ(edge_->Stats().refused_source_workload_cap, 1);
  EXPECT_TRUE(ClosedWithin(*w1, std::chrono::seconds(3)));  // the open timeout
  EXPECT_TRUE(ClosedWithin(*w2, std::chrono::seconds(3)));
  ASSERT_TRUE(Eventually([&] { return edge_->Stats().sources == 0; }));
  // A stream the agent reports failed gives its slot back too.
  agent_answers_ = true;
  edge_->UpdateWorkload("wl_1", {{public_port_, "wl_1", 9999, "node_1", true}});
  auto failed = ClientFrom("127.0.0.2", public_port_);
  EXPECT_TRUE(ClosedWithin(*failed, std::chrono::seconds(3)));
  ASSERT_TRUE(Eventually([&] { return edge_->Stats().sources == 0; }));
  // Exactly the cap again: nothing leaked and nothing was given back twice.
  edge_->UpdateWorkload("wl_1", {{public_port_, "wl_1", 5432, "node_1", true}});
  {
    auto a = Held("127.0.0.2", public_port_);
    auto b = Held("127.0.0.2", public_port_);
    EXPECT_TRUE(ClosedWithin(*ClientFrom("127.0.0.2", public_port_), std::chrono::seconds(2)));
    EXPECT_EQ(edge_->Stats().refused_source_workload_cap, 2);
  }  // both relays end: their `done` releases the slots
  ASSERT_TRUE(Eventually([&] { return edge_->Stats().sources == 0; }));
  EXPECT_TRUE(Eventually([&] { return edge_->Stats().active_streams == 0; }));
  auto a = Held("127.0.0.2", public_port_);
  auto b = Held("127.0.0.2", public_port_);
  EXPECT_TRUE(ClosedWithin(*ClientFrom("127.0.0.2", public_port_), std::chrono::seconds(2)));
}

TEST_P(EdgeRelayTest, APortsOwnIdleTimeoutClosesItsIdleRelays) {
  // The edge's default here is 20 s; wl_1's first port asks for 400 ms, its second for nothing.
  const int port_b = FreePort();
  control::PublicRoute quick{public_port_, "wl_1", 5432, "node_1", true};
  quick.idle_timeout = std::chrono::milliseconds(400);
  edge_->UpdateWorkload("wl_1", {quick, {port_b, "wl_1", 5433, "node_1", true}});
  ASSERT_TRUE(Eventually([&] { return edge_->Listening(port_b); }));

  auto patient = ClientFrom("127.0.0.1", port_b);
  ASSERT_EQ(RoundTrip(*patient, "stay"), "stay");
  EXPECT_EQ(LastOpen().idle_timeout_ms, 20'000);  // the agent is told the default
  auto idle = Client();
  ASSERT_EQ(RoundTrip(*idle, "then silence"), "then silence");
  EXPECT_EQ(LastOpen().idle_timeout_ms, 400);  // and this port's own
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(ClosedWithin(*idle, std::chrono::seconds(3)));
  const auto waited = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(waited, std::chrono::milliseconds(300));
  EXPECT_LT(waited, std::chrono::milliseconds(2500));
  // The other port's relay, idle as long, is still there.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(RoundTrip(*patient, "still here"), "still here");
}

}  // namespace
}  // namespace lattice::edge
