// The transport against a real loopback socket: a one-connection server scripted per test.
#include "cli/http_transport.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>
#include <vector>

namespace lattice::cli {
namespace {

using namespace std::chrono_literals;

// Accepts one connection, reads the request head, then sends each of `replies` in turn
// (sleeping `gap` between them) and closes. `request` holds what the client sent.
class OneShotServer {
 public:
  explicit OneShotServer(std::vector<std::string> replies, std::chrono::milliseconds gap = 0ms) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(::listen(fd_, 1), 0);
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this, replies = std::move(replies), gap] {
      const int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      char buf[4096];
      while (request_.find("\r\n\r\n") == std::string::npos) {
        const ssize_t n = ::read(c, buf, sizeof buf);
        if (n <= 0) break;
        request_.append(buf, static_cast<std::size_t>(n));
      }
      for (const auto& r : replies) {
        if (::write(c, r.data(), r.size()) < 0) break;
        std::this_thread::sleep_for(gap);
      }
      ::close(c);
    });
  }
  ~OneShotServer() {
    ::shutdown(fd_, SHUT_RDWR);
    thread_.join();
    ::close(fd_);
  }
  ServerUrl url() const { return *ParseServerUrl("http://127.0.0.1:" + std::to_string(port_)); }
  const std::string& request() const { return request_; }

 private:
  int fd_ = -1;
  int port_ = 0;
  std::thread thread_;
  std::string request_;
};

TEST(cli_http_transport, RoundTripSendsTheRequestAndReadsTheResponse) {
  OneShotServer srv(
      {"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n"
       "Content-Length: 11\r\n\r\n{\"ok\":true}"});
  auto t = NewHttpTransport(srv.url());
  ASSERT_TRUE(t.ok());
  HttpRequest req{"POST", "/api/v1/workloads", R"({"name":"db"})", "tok", "application/json"};
  auto r = (*t)->RoundTrip(req, Deadlines{});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->status, 201);
  EXPECT_EQ(r->content_type, "application/json");
  EXPECT_EQ(r->body, "{\"ok\":true}");
  EXPECT_NE(srv.request().find("POST /api/v1/workloads HTTP/1.1"), std::string::npos);
  EXPECT_NE(srv.request().find("Authorization: Bearer tok"), std::string::npos);
  EXPECT_NE(srv.request().find("Content-Type: application/json"), std::string::npos);
}

TEST(cli_http_transport, PutIsSentAsPut) {
  OneShotServer srv(
      {"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
       "Content-Length: 2\r\n\r\n{}"});
  auto t = NewHttpTransport(srv.url());
  ASSERT_TRUE(t.ok());
  HttpRequest req{"PUT", "/api/v1/workloads/w/backup-policy", "{}", "tok", "application/json"};
  auto r = (*t)->RoundTrip(req, Deadlines{});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_NE(srv.request().find("PUT /api/v1/workloads/w/backup-policy HTTP/1.1"),
            std::string::npos);
}

// A port that was just free: bound, never listened on, closed.
int UnusedPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

TEST(cli_http_transport, RefusedConnectionSaysWhatToCheck) {
  const int port = UnusedPort();
  auto url = *ParseServerUrl("http://127.0.0.1:" + std::to_string(port));
  auto r = (*NewHttpTransport(url))->RoundTrip({}, Deadlines{});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(r.error().message, "cannot reach " + url.ToString() +
                                   ": connection refused — is the server running? check "
                                   "--server or LATTICE_SERVER");
}

TEST(cli_http_transport, SilentServerTimesOut) {
  OneShotServer srv({"HTTP/1.1 200 OK\r\n"}, 1500ms);  // a header that never finishes
  auto t = NewHttpTransport(srv.url());
  const auto start = std::chrono::steady_clock::now();
  auto r = (*t)->RoundTrip({}, Deadlines{1000ms, 300ms, 300ms});
  ASSERT_FALSE(r.ok());
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1200ms);
  EXPECT_NE(r.error().message.find("did not answer within"), std::string::npos)
      << r.error().message;
}

TEST(cli_http_transport, StreamDeliversChunksAsTheyArriveUntilClose) {
  // Like the server's SSE replies: no length, no chunking, the body ends when the socket closes.
  OneShotServer srv(
      {"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n", "data: 1\n\n", "data: 2\n\n"},
      50ms);
  std::vector<std::string> chunks;
  auto r = (*NewHttpTransport(srv.url()))->Stream({}, Deadlines{}, [&](std::string_view c) {
    chunks.emplace_back(c);
    return true;
  });
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->status, 200);
  std::string all;
  for (const auto& c : chunks) all += c;
  EXPECT_EQ(all, "data: 1\n\ndata: 2\n\n");
  EXPECT_GE(chunks.size(), 2u);  // delivered as they came, not at the end
}

TEST(cli_http_transport, StreamReturnsAnErrorResponseWhole) {
  OneShotServer srv(
      {"HTTP/1.1 404 Not Found\r\nContent-Type: application/problem+json\r\n"
       "Content-Length: 15\r\n\r\n{\"detail\":\"no\"}"});
  bool called = false;
  auto r = (*NewHttpTransport(srv.url()))->Stream({}, Deadlines{}, [&](std::string_view) {
    called = true;
    return true;
  });
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(r->body, "{\"detail\":\"no\"}");
  EXPECT_FALSE(called);
}

TEST(cli_http_transport, StreamIdleTimeoutIsReported) {
  OneShotServer srv({"HTTP/1.1 200 OK\r\n\r\n", "data: 1\n\n"}, 1500ms);
  auto r =
      (*NewHttpTransport(srv.url()))
          ->Stream({}, Deadlines{1000ms, 1000ms, 300ms}, [](std::string_view) { return true; });
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("went silent"), std::string::npos) << r.error().message;
}

}  // namespace
}  // namespace lattice::cli
