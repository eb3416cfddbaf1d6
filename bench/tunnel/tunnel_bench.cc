// tunnel_bench: the tunnel's data path (edge and agent-side client, the real classes) as two
// processes, as on two machines, plus the small clients and servers bench/tunnel/run.sh
// measures it with.
//
//   tunnel_bench edge PUBLIC_PORT CONTROL_PORT   the edge: public listener on PUBLIC_PORT, a TLS
//                                                front for data connections; waits for the
//                                                agent process on CONTROL_PORT
//   tunnel_bench agent CONTROL_PORT TARGET_PORT  the agent's TunnelClient: dials the edge's front
//                                                over TLS for every stream.open, relays to
//                                                TARGET_PORT. Both print "ready".
//   tunnel_bench plain PUBLIC_PORT TARGET_PORT   the same three hops and the same relay with no
//                                                TLS and no edge (PUBLIC_PORT → relay → relay →
//                                                TARGET_PORT): what the copies alone cost
//   tunnel_bench echo PORT                       an echo server (holds idle connections cheaply)
//   tunnel_bench rtt [HOST:]PORT COUNT SIZE      COUNT ping-pongs of SIZE bytes to HOST (an
//                                                IPv4 or IPv6 address, 127.0.0.1 if left out;
//                                                "[::1]:PORT" for IPv6); prints "p50_us p99_us"
//   tunnel_bench hold PORT N                     opens N connections, checks each echoes a byte,
//                                                prints "held N", holds them until stdin closes
//
// The TLS between edge and agent is real (TLS 1.3, a throw-away CA); the agent link is the
// only thing short-circuited (stream.open travels as a line on a plain TCP connection instead
// of a WebSocket message).
#include <sys/resource.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "agent/tunnel_client.h"
#include "common/logging.h"
#include "common/random.h"
#include "edge/edge.h"
#include "link/protocol.h"
#include "tunnel/relay.h"
#include "tunnel/test_certs.h"

namespace asio = boost::asio;
using asio::ip::tcp;
using namespace lattice;

namespace {

void RaiseFdLimit() {
  rlimit r{200000, 200000};
  if (setrlimit(RLIMIT_NOFILE, &r) != 0) {
    getrlimit(RLIMIT_NOFILE, &r);
    r.rlim_cur = r.rlim_max;
    setrlimit(RLIMIT_NOFILE, &r);
  }
}

const auto kLoopback = asio::ip::make_address("127.0.0.1");

// The edge process: public listener, the TLS front for data connections, and the agent's
// "link", which here is one TCP connection on `control_port` carrying `stream.open` messages
// as lines (link::Encode) instead of a WebSocket.
int EdgeMain(int public_port, int control_port) {
  InitCrypto();
  InitLogging(std::getenv("TB_LOG") ? std::getenv("TB_LOG") : "warn");
  auto pki = tunnel::testing::MakeTestPki();
  asio::io_context ioc;
  tcp::acceptor front(ioc, {kLoopback, 0});
  tcp::acceptor ctrl_acceptor(ioc, {kLoopback, static_cast<unsigned short>(control_port)});
  std::printf("ready\n");
  std::fflush(stdout);
  tcp::socket ctrl = ctrl_acceptor.accept();  // the agent process
  ctrl.set_option(tcp::no_delay(true));
  // First the front's port and the CA the agent is to trust, then stream.open lines.
  asio::write(ctrl,
              asio::buffer(std::to_string(front.local_endpoint().port()) + "\n" + pki.ca_pem));
  std::mutex ctrl_mu;
  // As the server runs it: one I/O thread per core (2 here) and as many relay threads.
  // EDGE_THREADS=N changes both; EDGE_RELAY_THREADS=0 runs streams on strands of the shared
  // io_context instead (the edge before relay threads) — what the hand-offs cost a round trip.
  const char* threads_env = std::getenv("EDGE_THREADS");
  const int threads = threads_env != nullptr ? std::max(1, std::atoi(threads_env)) : 2;
  const char* relay_env = std::getenv("EDGE_RELAY_THREADS");
  edge::EdgeOptions eo;
  eo.relay_threads = relay_env != nullptr ? std::max(0, std::atoi(relay_env)) : threads;
  // Every connection comes from 127.0.0.1: the per-source caps (64 and 256 by default) would
  // refuse `hold`'s thousands.
  eo.max_streams_per_workload = 1000000;
  eo.max_streams_per_source_per_workload = 1000000;
  eo.max_streams_per_source = 1000000;
  edge::Edge edge(ioc, eo, [&](const std::string&, const link::StreamOpen& m) {
    const std::string line = link::Encode(m) + "\n";
    std::lock_guard lock(ctrl_mu);
    boost::system::error_code ec;
    asio::write(ctrl, asio::buffer(line), ec);
    return !ec;
  });
  asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<void> {
        for (;;) {
          auto [ec, s] = co_await front.async_accept(asio::as_tuple(asio::use_awaitable));
          if (ec) co_return;
          asio::co_spawn(
              asio::make_strand(ioc),
              [&, s = std::move(s)]() mutable -> asio::awaitable<void> {
                auto tls = tunnel::TlsSocket::Create(std::move(s), pki.server.get(),
                                                     tunnel::TlsSocket::Role::kServer);
                if (!tls.ok() || !(co_await (*tls)->Handshake()).ok()) co_return;
                co_await edge.AcceptDataConnection(std::move(*tls), "");
              },
              asio::detached);
        }
      },
      asio::detached);
  edge.SetRoutes({{public_port, "wl", 1, "node", true}});
  asio::signal_set stop(ioc, SIGINT, SIGTERM);
  stop.async_wait([&](auto, int) { ioc.stop(); });
  std::vector<std::thread> more;
  for (int i = 1; i < threads; ++i) more.emplace_back([&] { ioc.run(); });
  ioc.run();
  for (auto& t : more) t.join();
  edge.Stop();
  return 0;
}

// The agent process: the real TunnelClient, fed the edge's stream.open lines.
int AgentMain(int control_port, int target_port) {
  InitCrypto();
  InitLogging(std::getenv("TB_LOG") ? std::getenv("TB_LOG") : "warn");
  asio::io_context ioc;
  tcp::socket ctrl(ioc);
  ctrl.connect({kLoopback, static_cast<unsigned short>(control_port)});
  asio::streambuf in;
  std::string line;
  auto next_line = [&]() -> bool {
    boost::system::error_code ec;
    asio::read_until(ctrl, in, '\n', ec);
    if (ec) return false;
    std::istream is(&in);
    std::getline(is, line);
    return true;
  };
  if (!next_line()) return 1;
  agent::TunnelClientOptions ao;
  ao.edge_host = "127.0.0.1";
  ao.edge_port = line;
  std::string ca_pem;
  while (next_line()) {
    ca_pem += line + "\n";
    if (line.starts_with("-----END")) break;
  }
  auto trust = tunnel::testing::MakeTestClient(ca_pem);
  agent::TunnelClient client(
      ao, trust.get(),
      [target_port](const std::string&, int) -> std::optional<agent::ContainerTarget> {
        return agent::ContainerTarget{"127.0.0.1", target_port};
      },
      [](link::StreamFail f) {
        std::fprintf(stderr, "stream.fail %s: %s\n", f.stream_id.c_str(), f.reason.c_str());
      });
  client.Start();
  std::printf("ready\n");
  std::fflush(stdout);
  while (next_line()) {
    auto m = link::Decode(line);
    if (!m.ok()) return 1;
    if (auto* open = std::get_if<link::StreamOpen>(&*m)) client.Open(std::move(*open));
  }
  client.Stop();  // the edge went away
  return 0;
}

// Accepts on `port`, dials `target`, relays; for every connection, on its own strand.
asio::awaitable<void> PlainHop(tcp::acceptor& a, int target) {
  for (;;) {
    auto [ec, in] = co_await a.async_accept(asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;
    auto strand = asio::make_strand(a.get_executor());
    tcp::socket out(strand);
    auto [cec] = co_await out.async_connect({kLoopback, static_cast<unsigned short>(target)},
                                            asio::as_tuple(asio::use_awaitable));
    if (cec) continue;
    in.set_option(tcp::no_delay(true));
    out.set_option(tcp::no_delay(true));
    tunnel::StartRelay(strand, tunnel::RelayEnd(std::move(in)), tunnel::RelayEnd(std::move(out)),
                       {}, [](const tunnel::RelayStats&) {});
  }
}

int Plain(int public_port, int target_port) {
  asio::io_context ioc;
  tcp::acceptor first(ioc, {kLoopback, static_cast<unsigned short>(public_port)});
  tcp::acceptor second(ioc, {kLoopback, 0});
  asio::co_spawn(ioc, PlainHop(first, second.local_endpoint().port()), asio::detached);
  asio::co_spawn(ioc, PlainHop(second, target_port), asio::detached);
  std::printf("ready\n");
  std::fflush(stdout);
  std::thread other([&] { ioc.run(); });  // two I/O threads, as in serve
  ioc.run();
  other.join();
  return 0;
}

int Echo(int port) {
  asio::io_context ioc;
  tcp::acceptor a(ioc, {kLoopback, static_cast<unsigned short>(port)});
  asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<void> {
        for (;;) {
          auto s = co_await a.async_accept(asio::use_awaitable);
          asio::co_spawn(
              ioc,
              [s = std::move(s)]() mutable -> asio::awaitable<void> {
                s.set_option(tcp::no_delay(true));
                std::vector<char> buf;
                for (;;) {
                  co_await s.async_wait(tcp::socket::wait_read,
                                        asio::as_tuple(asio::use_awaitable));
                  buf.resize(65536);
                  auto [ec, n] = co_await s.async_read_some(asio::buffer(buf),
                                                            asio::as_tuple(asio::use_awaitable));
                  if (ec) co_return;
                  co_await asio::async_write(s, asio::buffer(buf.data(), n),
                                             asio::as_tuple(asio::use_awaitable));
                  buf.clear();
                  buf.shrink_to_fit();
                }
              },
              asio::detached);
        }
      },
      asio::detached);
  std::printf("ready\n");
  std::fflush(stdout);
  ioc.run();
  return 0;
}

// "PORT", "HOST:PORT" or "[V6HOST]:PORT" → an endpoint; throws on a malformed one.
tcp::endpoint ParseTarget(const std::string& target) {
  const auto colon = target.rfind(':');
  if (colon == std::string::npos)
    return {kLoopback, static_cast<unsigned short>(std::stoi(target))};
  std::string host = target.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  return {asio::ip::make_address(host),
          static_cast<unsigned short>(std::stoi(target.substr(colon + 1)))};
}

int Rtt(const tcp::endpoint& target, int count, int size) {
  asio::io_context ioc;
  tcp::socket s(ioc);
  s.connect(target);
  s.set_option(tcp::no_delay(true));
  std::string msg(size, 'p'), back(size, '\0');
  std::vector<double> us;
  for (int i = 0; i < count + 100; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    asio::write(s, asio::buffer(msg));
    asio::read(s, asio::buffer(back));
    const double d =
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
    if (i >= 100) us.push_back(d);  // the first ones warm up
  }
  std::sort(us.begin(), us.end());
  std::printf("%.1f %.1f\n", us[us.size() / 2], us[us.size() * 99 / 100]);
  return 0;
}

int Hold(int port, int n) {
  asio::io_context ioc;
  std::vector<tcp::socket> held;
  held.reserve(n);
  for (int i = 0; i < n; ++i) {
    tcp::socket s(ioc);
    s.connect({kLoopback, static_cast<unsigned short>(port)});
    char c = 'x';
    asio::write(s, asio::buffer(&c, 1));
    asio::read(s, asio::buffer(&c, 1));  // the stream is relaying end to end
    held.push_back(std::move(s));
  }
  std::printf("held %d\n", n);
  std::fflush(stdout);
  std::string line;
  while (std::getline(std::cin, line)) {
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  RaiseFdLimit();
  const std::vector<std::string> a(argv + 1, argv + argc);
  try {
    if (a.size() == 3 && a[0] == "edge") return EdgeMain(std::stoi(a[1]), std::stoi(a[2]));
    if (a.size() == 3 && a[0] == "agent") return AgentMain(std::stoi(a[1]), std::stoi(a[2]));
    if (a.size() == 3 && a[0] == "plain") return Plain(std::stoi(a[1]), std::stoi(a[2]));
    if (a.size() == 2 && a[0] == "echo") return Echo(std::stoi(a[1]));
    if (a.size() == 4 && a[0] == "rtt")
      return Rtt(ParseTarget(a[1]), std::stoi(a[2]), std::stoi(a[3]));
    if (a.size() == 3 && a[0] == "hold") return Hold(std::stoi(a[1]), std::stoi(a[2]));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tunnel_bench: %s\n", e.what());
    return 1;
  }
  std::fprintf(stderr, "usage: see the header of bench/tunnel/tunnel_bench.cc\n");
  return 2;
}
