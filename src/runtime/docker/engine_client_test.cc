// Hermetic tests of the transport: address parsing, error mapping, and the time bounds,
// against a fake engine on a private unix socket that answers (or stalls) as told.
#include "runtime/docker/engine_client.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace lattice::runtime::docker {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// Accepts connections on a fresh unix socket; for each, reads the request header, writes
// `answer`, then holds the connection open until destroyed.
class FakeEngine {
 public:
  explicit FakeEngine(std::string answer) : answer_(std::move(answer)) {
    static std::atomic<int> counter{0};
    path_ = "/tmp/lattice-fake-engine-" + std::to_string(getpid()) + "-" +
            std::to_string(counter++) + ".sock";
    ::unlink(path_.c_str());
    listener_ = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path_.c_str(), sizeof(addr.sun_path) - 1);
    if (::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(listener_, 8) != 0) {
      ADD_FAILURE() << "fake engine: bind/listen failed: " << std::strerror(errno);
    }
    thread_ = std::thread([this] { Serve(); });
  }
  ~FakeEngine() {
    stop_ = true;
    thread_.join();
    for (int fd : clients_) ::close(fd);
    ::close(listener_);
    ::unlink(path_.c_str());
  }
  std::string url() const { return "unix://" + path_; }
  std::string last_request() {
    std::lock_guard lock(mu_);
    return last_request_;
  }

 private:
  void Serve() {
    while (!stop_) {
      pollfd p{listener_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      int fd = ::accept(listener_, nullptr, nullptr);
      if (fd < 0) continue;
      clients_.push_back(fd);
      std::string req;
      char buf[4096];
      while (req.find("\r\n\r\n") == std::string::npos && !stop_) {
        pollfd c{fd, POLLIN, 0};
        if (::poll(&c, 1, 50) <= 0) continue;
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n <= 0) break;
        req.append(buf, static_cast<std::size_t>(n));
      }
      {
        std::lock_guard lock(mu_);
        last_request_ = req;
      }
      if (!answer_.empty()) (void)!::write(fd, answer_.data(), answer_.size());
    }
  }

  std::string answer_;
  std::string path_;
  int listener_ = -1;
  std::vector<int> clients_;  // only touched by the serving thread until it is joined
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mu_;
  std::string last_request_;
};

EngineClient ClientFor(const std::string& url, std::chrono::milliseconds timeout = 2s) {
  auto a = ParseEngineAddress(url);
  EXPECT_TRUE(a.ok());
  return EngineClient(std::move(a).value(), timeout);
}

double SecondsSince(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

TEST(EngineAddressTest, Parses) {
  auto u = ParseEngineAddress("unix:///var/run/docker.sock");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->unix_path, "/var/run/docker.sock");
  auto t = ParseEngineAddress("tcp://127.0.0.1:2376");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->host, "127.0.0.1");
  EXPECT_EQ(t->port, "2376");
  auto d = ParseEngineAddress("tcp://docker");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->port, "2375");
  auto v6 = ParseEngineAddress("tcp://[::1]:2375");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->host, "::1");
  for (const char* bad : {"", "http://x", "unix://", "unix://relative", "tcp://", "tcp://h:99999",
                          "tcp://h:x", "ssh://me@host", "npipe:////./pipe/docker_engine"}) {
    auto r = ParseEngineAddress(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument) << bad;
  }
}

TEST(EngineErrorTest, MapsStatusAndMessage) {
  auto e = ErrorFromResponse({404, R"({"message":"No such container: x"})", false}, "inspect x");
  EXPECT_EQ(e.code, ErrorCode::kNotFound);
  EXPECT_EQ(e.message, "inspect x: No such container: x");
  EXPECT_EQ(ErrorFromResponse({409, "{}", false}, "w").code, ErrorCode::kConflict);
  EXPECT_EQ(ErrorFromResponse({400, "{}", false}, "w").code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(ErrorFromResponse({503, "{}", false}, "w").code, ErrorCode::kUnavailable);
  auto internal = ErrorFromResponse({500, "plain text\n", false}, "w");
  EXPECT_EQ(internal.code, ErrorCode::kInternal);
  EXPECT_EQ(internal.message, "w: plain text (HTTP 500)");
}

TEST(EngineErrorTest, UrlEncode) {
  EXPECT_EQ(UrlEncode(R"({"label":["a=b"]})"), "%7B%22label%22%3A%5B%22a%3Db%22%5D%7D");
  EXPECT_EQ(UrlEncode("lattice/busybox:dev", true), "lattice/busybox%3Adev");
}

TEST(EngineClientTest, MissingSocketIsUnavailableAtOnce) {
  auto start = Clock::now();
  auto r = ClientFor("unix:///nonexistent/lattice/docker.sock").Call({});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(r.error().message.find("is not answering"), std::string::npos) << r.error().message;
  EXPECT_LT(SecondsSince(start), 0.5);
}

TEST(EngineClientTest, RefusedTcpIsUnavailable) {
  auto r = ClientFor("tcp://127.0.0.1:1").Call({});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
}

TEST(EngineClientTest, ReadsAnAnswerAndSendsTheVersionPrefix) {
  FakeEngine fake(
      "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 27\r\n\r\n"
      R"({"message":"no such thing"})");
  EngineRequest req;
  req.method = boost::beast::http::verb::post;
  req.target = "/containers/create?name=x";
  req.body = "{}";
  auto r = ClientFor(fake.url()).Call(req);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(EngineMessage(r->body), "no such thing");
  EXPECT_TRUE(fake.last_request().starts_with("POST /v1.41/containers/create?name=x HTTP/1.1"))
      << fake.last_request();
}

TEST(EngineClientTest, AnEngineThatNeverAnswersTimesOut) {
  FakeEngine fake("");
  auto start = Clock::now();
  EngineRequest req;
  req.target = "/info";
  auto r = ClientFor(fake.url(), 300ms).Call(req);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(r.error().message.find("did not answer GET /info within 300 ms"), std::string::npos)
      << r.error().message;
  EXPECT_LT(SecondsSince(start), 1.0);
}

const char kChunkedHello[] =
    "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
    "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n";

TEST(EngineClientTest, StreamBodyTimeout) {
  FakeEngine fake(kChunkedHello);
  StreamOptions opts;
  opts.body_timeout = 300ms;
  opts.on_data = [](std::string_view) { return true; };
  auto start = Clock::now();
  auto r = ClientFor(fake.url()).Stream({}, opts);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(r.error().message.find("streaming"), std::string::npos) << r.error().message;
  EXPECT_LT(SecondsSince(start), 1.0);
}

TEST(EngineClientTest, StreamDeliversDataAndStopsWhenTheCallbackDeclines) {
  FakeEngine fake(kChunkedHello);  // sends one chunk, then holds the connection open
  std::string got;
  StreamOptions opts;
  opts.on_data = [&](std::string_view piece) {
    got.append(piece);
    return false;
  };
  auto start = Clock::now();
  auto r = ClientFor(fake.url()).Stream({}, opts);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->stopped);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(got, "hello");
  EXPECT_LT(SecondsSince(start), 1.0);
}

}  // namespace
}  // namespace lattice::runtime::docker
