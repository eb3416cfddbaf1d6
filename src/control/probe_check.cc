#include "control/probe_check.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <memory>

namespace lattice::control {

namespace asio = boost::asio;
using asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;
using Clock = std::chrono::steady_clock;

std::string_view ProbeReasonName(ProbeReason r) {
  switch (r) {
    case ProbeReason::kNone:
      return "";
    case ProbeReason::kPortNotBound:
      return "port-not-bound";
    case ProbeReason::kAgentGone:
      return "agent-gone";
    case ProbeReason::kRefused:
      return "refused";
    case ProbeReason::kTimeout:
      return "timeout";
    case ProbeReason::kClosed:
      return "closed";
    case ProbeReason::kBadAnswer:
      return "bad-answer";
  }
  return "";
}

namespace {

asio::awaitable<void> Sleep(std::chrono::milliseconds d) {
  asio::steady_timer t(co_await asio::this_coro::executor);
  t.expires_after(d);
  boost::system::error_code ec;
  co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
}

std::string Seconds(std::chrono::milliseconds d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f s", static_cast<double>(d.count()) / 1000.0);
  return buf;
}

ProbeOutcome Fail(ProbeReason r, std::string message) {
  return ProbeOutcome{r, std::move(message), 0};
}

ProbeOutcome Closed(const char* what) {
  return Fail(ProbeReason::kClosed, std::string("the connection was closed without ") + what +
                                        ": the container does not answer behind the edge");
}

// The protocol exchange on a connected socket; kNone if it answered as it should.
asio::awaitable<ProbeOutcome> Exchange(tcp::socket& s, const ProbeTarget& t,
                                       std::chrono::milliseconds tcp_hold) {
  boost::system::error_code ec;
  switch (t.protocol) {
    case ProbeProtocol::kPostgres: {
      static constexpr unsigned char kSslRequest[8] = {0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f};
      co_await asio::async_write(s, asio::buffer(kSslRequest),
                                 asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return Closed("an answer to the SSL request");
      char answer = 0;
      co_await asio::async_read(s, asio::buffer(&answer, 1),
                                asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return Closed("an answer to the SSL request");
      if (answer != 'S' && answer != 'N') {
        char buf[96];
        std::snprintf(buf, sizeof buf,
                      "answered byte 0x%02x to a PostgreSQL SSL request (expected 'S' or 'N')",
                      static_cast<unsigned char>(answer));
        co_return Fail(ProbeReason::kBadAnswer, buf);
      }
      co_return ProbeOutcome{};
    }
    case ProbeProtocol::kHttp: {
      const std::string request = "GET " + t.http_path + " HTTP/1.1\r\nHost: " + t.host + ":" +
                                  std::to_string(t.port) +
                                  "\r\nUser-Agent: lattice-probe\r\nConnection: close\r\n\r\n";
      co_await asio::async_write(s, asio::buffer(request),
                                 asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return Closed("an HTTP answer");
      std::string line;
      auto buf = asio::dynamic_buffer(line, 1024);
      const std::size_t n = co_await asio::async_read_until(
          s, buf, "\r\n", asio::redirect_error(asio::use_awaitable, ec));
      if (ec && n == 0) {
        if (ec == asio::error::not_found)
          co_return Fail(ProbeReason::kBadAnswer, "answered something that is not HTTP");
        co_return Closed("an HTTP answer");
      }
      line.resize(n);
      if (line.rfind("HTTP/", 0) != 0 || line.size() < 12)
        co_return Fail(ProbeReason::kBadAnswer, "answered something that is not HTTP");
      const std::string status = line.substr(9, 3);
      if (t.require_200 && status != "200")
        co_return Fail(ProbeReason::kBadAnswer,
                       "GET " + t.http_path + " answered HTTP " + status + " (expected 200)");
      co_return ProbeOutcome{};
    }
    case ProbeProtocol::kTcp: {
      char byte = 0;
      auto got = co_await (s.async_read_some(asio::buffer(&byte, 1),
                                             asio::redirect_error(asio::use_awaitable, ec)) ||
                           Sleep(tcp_hold));
      if (got.index() == 1) co_return ProbeOutcome{};  // held open: the container accepted
      if (!ec) co_return ProbeOutcome{};               // it spoke first
      co_return Closed("a byte");
    }
  }
  co_return ProbeOutcome{};
}

asio::awaitable<ProbeOutcome> CheckOnce(const ProbeTarget& t, const ProbeRunnerOptions& o) {
  auto ex = co_await asio::this_coro::executor;
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(t.host, ec);
  if (ec) co_return Fail(ProbeReason::kRefused, "the edge address '" + t.host + "' is not valid");
  tcp::socket s(ex);
  const auto start = Clock::now();
  const auto attempt = [&]() -> asio::awaitable<ProbeOutcome> {
    boost::system::error_code cec;
    co_await s.async_connect(tcp::endpoint(address, static_cast<unsigned short>(t.port)),
                             asio::redirect_error(asio::use_awaitable, cec));
    if (cec)
      co_return Fail(ProbeReason::kRefused,
                     "the public port " + std::to_string(t.port) + " refused the connection");
    const auto connected = Clock::now();
    ProbeOutcome out = co_await Exchange(s, t, o.tcp_hold);
    const auto answered = t.protocol == ProbeProtocol::kTcp ? connected : Clock::now();
    out.latency_us =
        std::chrono::duration_cast<std::chrono::microseconds>(answered - start).count();
    co_return out;
  };
  auto got = co_await (attempt() || Sleep(o.timeout));
  boost::system::error_code ignored;
  s.close(ignored);
  if (got.index() == 1)
    co_return Fail(ProbeReason::kTimeout, "no answer within " + Seconds(o.timeout));
  co_return std::get<0>(std::move(got));
}

asio::awaitable<ProbeOutcome> Check(const ProbeTarget& t, const ProbeRunnerOptions& o) {
  ProbeOutcome first = co_await CheckOnce(t, o);
  if (first.ok()) co_return first;
  co_await Sleep(o.confirm_delay);
  co_return co_await CheckOnce(t, o);
}

// One batch: `workers` coroutines take the next target until none is left; the last one to
// finish calls done.
struct Batch {
  std::vector<ProbeTarget> targets;
  std::vector<ProbeOutcome> outcomes;
  ProbeRunner::Done done;
  std::size_t next = 0;
  int running = 0;
};

asio::awaitable<void> Worker(std::shared_ptr<Batch> b, const ProbeRunnerOptions& o) {
  while (b->next < b->targets.size()) {
    const std::size_t i = b->next++;
    try {
      b->outcomes[i] = co_await Check(b->targets[i], o);
    } catch (const std::exception& e) {
      b->outcomes[i] = Fail(ProbeReason::kRefused, std::string("the check failed: ") + e.what());
    }
  }
  if (--b->running == 0 && b->done) b->done(std::move(b->outcomes));
}

}  // namespace

ProbeRunner::ProbeRunner(ProbeRunnerOptions options) : options_(options) {
  thread_ = std::thread([this] {
    auto guard = asio::make_work_guard(ioc_);
    ioc_.run();
  });
}

ProbeRunner::~ProbeRunner() {
  ioc_.stop();
  if (thread_.joinable()) thread_.join();
}

void ProbeRunner::Run(std::vector<ProbeTarget> targets, Done done) {
  asio::post(ioc_, [this, targets = std::move(targets), done = std::move(done)]() mutable {
    auto b = std::make_shared<Batch>();
    b->outcomes.resize(targets.size());
    b->targets = std::move(targets);
    b->done = std::move(done);
    if (b->targets.empty()) {
      b->done({});
      return;
    }
    const int workers = static_cast<int>(
        std::min<std::size_t>(b->targets.size(), std::max(1, options_.max_in_flight)));
    b->running = workers;
    for (int i = 0; i < workers; ++i) asio::co_spawn(ioc_, Worker(b, options_), asio::detached);
  });
}

}  // namespace lattice::control
