// Readiness probes against real loopback sockets (no containers needed).
#include "agent/readiness.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>

#include <thread>

namespace lattice::agent {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using Kind = templates::Readiness::Kind;
using std::chrono::milliseconds;

// Accepts one connection on 127.0.0.1 and does `serve` with it on a thread.
class OneShotServer {
 public:
  explicit OneShotServer(std::function<void(tcp::socket&)> serve)
      : acceptor_(ioc_, {asio::ip::make_address("127.0.0.1"), 0}) {
    thread_ = std::thread([this, serve = std::move(serve)] {
      boost::system::error_code ec;
      tcp::socket s(ioc_);
      acceptor_.accept(s, ec);
      if (!ec) serve(s);
    });
  }
  ~OneShotServer() {
    boost::system::error_code ec;
    acceptor_.close(ec);
    thread_.join();
  }
  int port() const { return acceptor_.local_endpoint().port(); }

 private:
  asio::io_context ioc_;
  tcp::acceptor acceptor_;
  std::thread thread_;
};

// Answers one HTTP request with `status_line`.
std::function<void(tcp::socket&)> Http(std::string status_line) {
  return [status_line](tcp::socket& s) {
    asio::streambuf buf;
    boost::system::error_code ec;
    asio::read_until(s, buf, "\r\n\r\n", ec);
    asio::write(s, asio::buffer("HTTP/1.1 " + status_line + "\r\nContent-Length: 0\r\n\r\n"), ec);
  };
}

templates::Readiness Probe(Kind kind, std::string path = "") {
  templates::Readiness r;
  r.kind = kind;
  r.container_port = 80;
  r.http_path = std::move(path);
  return r;
}

ContainerTarget Local(int port) {
  return {"127.0.0.1", port};
}

int UnusedPort() {
  asio::io_context ioc;
  tcp::acceptor a(ioc, {asio::ip::make_address("127.0.0.1"), 0});
  return a.local_endpoint().port();  // closed on return: nothing listens there
}

TEST(Readiness, RunningNeedsNoPort) {
  EXPECT_TRUE(ProbeReadiness(Probe(Kind::kRunning), {}, milliseconds(100)).ok());
  EXPECT_FALSE(ProbeReadiness(Probe(Kind::kTcp), {}, milliseconds(100)).ok());
}

TEST(Readiness, TcpWantsAConnectionThatStaysOpen) {
  OneShotServer holds([](tcp::socket&) { std::this_thread::sleep_for(milliseconds(600)); });
  EXPECT_TRUE(ProbeReadiness(Probe(Kind::kTcp), Local(holds.port()), milliseconds(1000)).ok());

  OneShotServer closes([](tcp::socket& s) { s.close(); });  // like docker-proxy with no backend
  Status st = ProbeReadiness(Probe(Kind::kTcp), Local(closes.port()), milliseconds(1000));
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("closed at once"), std::string::npos);

  EXPECT_FALSE(ProbeReadiness(Probe(Kind::kTcp), Local(UnusedPort()), milliseconds(500)).ok());
}

TEST(Readiness, HttpWants2xx) {
  OneShotServer ok(Http("204 No Content"));
  EXPECT_TRUE(
      ProbeReadiness(Probe(Kind::kHttp, "/health"), Local(ok.port()), milliseconds(1000)).ok());
  OneShotServer bad(Http("503 Service Unavailable"));
  Status st = ProbeReadiness(Probe(Kind::kHttp, "/health"), Local(bad.port()), milliseconds(1000));
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("503"), std::string::npos) << st.error().message;
}

TEST(Readiness, ATargetThatIsNotAnAddressFails) {
  Status st = ProbeReadiness(Probe(Kind::kTcp), {"not-an-address", 80}, milliseconds(500));
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("not an address"), std::string::npos) << st.error().message;
}

TEST(Readiness, PostgresWithNothingListeningFails) {
  templates::Readiness r{Kind::kPostgres, 5432, "", "u", "p", "d"};
  Status st = ProbeReadiness(r, Local(UnusedPort()), milliseconds(2000));
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("postgres on 127.0.0.1"), std::string::npos);
}

}  // namespace
}  // namespace lattice::agent
