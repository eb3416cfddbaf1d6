#include "http/store_executor.h"

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json.hpp>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <thread>

#include "http/dispatcher.h"
#include "http/metrics.h"

namespace lattice::http {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// Occupies every thread of `ex` until `release` is set: a store that froze.
class Saturation {
 public:
  Saturation(asio::io_context& ioc, StoreExecutor& ex) {
    for (int i = 0; i < ex.threads(); ++i) {
      asio::co_spawn(
          ioc,
          [&ex, this]() -> asio::awaitable<void> {
            const Status s = co_await ex.Call([this] {
              ++started_;
              release_.wait();
            });
            if (s.ok()) ++finished_;
          },
          asio::detached);
    }
  }
  void Release() { gate_.set_value(); }
  int started() const { return started_.load(); }
  // Resumes once a job holds a store thread.
  asio::awaitable<void> Busy() const {
    while (started() < 1) {
      asio::steady_timer t(co_await asio::this_coro::executor, 5ms);
      co_await t.async_wait(asio::use_awaitable);
    }
  }
  int finished() const { return finished_.load(); }

 private:
  std::promise<void> gate_;
  std::shared_future<void> release_ = gate_.get_future().share();
  std::atomic<int> started_{0};
  std::atomic<int> finished_{0};
};

TEST(StoreExecutor, ASaturatedExecutorRefusesANewJobWithinTheBound) {
  asio::io_context ioc;
  auto owned = std::make_unique<StoreExecutor>(2, 200ms);
  StoreExecutor& ex = *owned;
  Saturation busy(ioc, ex);

  std::atomic<bool> ran{false};
  Status refused;
  Clock::duration took{};
  Clock::duration tick_late{};
  asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<void> {
        while (busy.started() < 2) {  // both threads are held before the new job arrives
          asio::steady_timer t(ioc, 5ms);
          co_await t.async_wait(asio::use_awaitable);
        }
        const auto start = Clock::now();
        refused = co_await ex.Call([&] { ran = true; });
        took = Clock::now() - start;
        busy.Release();
      },
      asio::detached);
  // The I/O thread is never held: a timer due meanwhile fires on time.
  asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<void> {
        const auto due = Clock::now() + 100ms;
        asio::steady_timer t(ioc, due);
        co_await t.async_wait(asio::use_awaitable);
        tick_late = Clock::now() - due;
      },
      asio::detached);
  ioc.run();

  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(refused.error().type, "store-busy");
  EXPECT_GE(refused.error().retry_after_seconds, 1);
  EXPECT_GE(took, 200ms);
  EXPECT_LT(took, 1500ms);
  EXPECT_LT(tick_late, 50ms);
  EXPECT_EQ(busy.finished(), 2);  // the jobs that started were awaited to their end
  owned.reset();                  // joins: a refused job never runs, not even later
  EXPECT_FALSE(ran.load());
}

TEST(StoreExecutor, AStartedJobIsAwaitedPastTheBound) {
  asio::io_context ioc;
  StoreExecutor ex(1, 50ms);
  int result = 0;  // in the caller's frame: the job writes it
  auto f = asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<Status> {
        co_return co_await ex.Call([&result] {
          std::this_thread::sleep_for(300ms);  // a slow store call, far past the bound
          result = 42;
        });
      },
      asio::use_future);
  ioc.run();
  const Status s = f.get();
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(result, 42);
}

TEST(StoreExecutor, AJobThatThrowsIsAnInternalError) {
  asio::io_context ioc;
  StoreExecutor ex(1, 1s);
  auto f = asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<Status> {
        co_return co_await ex.Call([] { throw std::runtime_error("boom"); });
      },
      asio::use_future);
  ioc.run();
  const Status s = f.get();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kInternal);
}

TEST(StoreExecutor, JobsRunOffTheCallersThreadAndResumeOnIt) {
  asio::io_context ioc;
  StoreExecutor ex(2, 1s);
  std::thread::id job_thread;
  std::thread::id resumed;
  asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<void> {
        const Status s = co_await ex.Call([&] { job_thread = std::this_thread::get_id(); });
        EXPECT_TRUE(s.ok());
        resumed = std::this_thread::get_id();
      },
      asio::detached);
  ioc.run();
  EXPECT_NE(job_thread, std::this_thread::get_id());
  EXPECT_EQ(resumed, std::this_thread::get_id());
}

// The dispatcher: a route that uses the store answers 503 + Retry-After when the executor is
// saturated; a route that does not (a health check) answers at once.
TEST(StoreExecutor, TheDispatcherAnswers503WhenTheStoreCannotTakeTheRequest) {
  asio::io_context ioc;
  StoreExecutor ex(1, 150ms);
  Router router;
  router.Add(bhttp::verb::get, "/api/v1/things", Access::kPublic,
             [](RequestContext&) -> asio::awaitable<Reply> {
               co_return TextReply(bhttp::status::ok, "things", "text/plain");
             });
  router.Add(
      bhttp::verb::get, "/healthz", Access::kPublic,
      [](RequestContext&) -> asio::awaitable<Reply> {
        co_return TextReply(bhttp::status::ok, "ok", "text/plain");
      },
      UsesStore::kNo);
  HttpMetrics metrics;
  DispatchOptions opts;
  opts.access_log = false;
  opts.store_executor = &ex;
  Dispatcher d(
      router, metrics,
      [](std::string_view) -> Result<Principal> { return Error::Unauthenticated("no"); }, opts);
  Saturation busy(ioc, ex);

  Reply health, refused, things;
  Clock::duration health_took{}, things_took{};
  asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<void> {
        co_await busy.Busy();
        auto start = Clock::now();
        health = co_await d.Dispatch(Request{bhttp::verb::get, "/healthz", 11}, "127.0.0.1");
        health_took = Clock::now() - start;
        start = Clock::now();
        refused = co_await d.Dispatch(Request{bhttp::verb::get, "/api/v1/things", 11}, "127.0.0.1");
        things_took = Clock::now() - start;
        busy.Release();
        // Once the store is free again the same route answers.
        things = co_await d.Dispatch(Request{bhttp::verb::get, "/api/v1/things", 11}, "127.0.0.1");
      },
      asio::detached);
  ioc.run();
  EXPECT_EQ(health.res.result(), bhttp::status::ok);
  EXPECT_EQ(refused.res.result(), bhttp::status::service_unavailable);
  EXPECT_LT(health_took, 50ms);
  EXPECT_GE(things_took, 150ms);
  EXPECT_LT(things_took, 1s);
  EXPECT_EQ(things.res.result(), bhttp::status::ok);
}

TEST(StoreExecutor, TheRefusalIsProblemJsonWithRetryAfter) {
  asio::io_context ioc;
  StoreExecutor ex(1, 100ms);
  Router router;
  router.Add(bhttp::verb::get, "/api/v1/things", Access::kPublic,
             [](RequestContext&) -> asio::awaitable<Reply> {
               co_return TextReply(bhttp::status::ok, "things", "text/plain");
             });
  HttpMetrics metrics;
  DispatchOptions opts;
  opts.access_log = false;
  opts.store_executor = &ex;
  Dispatcher d(
      router, metrics,
      [](std::string_view) -> Result<Principal> { return Error::Unauthenticated("no"); }, opts);
  Saturation busy(ioc, ex);
  Reply r;
  asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<void> {
        co_await busy.Busy();
        r = co_await d.Dispatch(Request{bhttp::verb::get, "/api/v1/things", 11}, "127.0.0.1");
        busy.Release();
      },
      asio::detached);
  ioc.run();
  EXPECT_EQ(r.res.result(), bhttp::status::service_unavailable);
  EXPECT_EQ(r.res[bhttp::field::content_type], "application/problem+json");
  EXPECT_EQ(r.res[bhttp::field::retry_after], "1");
  auto body = boost::json::parse(r.res.body()).as_object();
  EXPECT_EQ(body["type"].as_string(), "urn:lattice:problem:store-busy");
  EXPECT_EQ(body["status"].as_int64(), 503);
}

// A signed-in route that does not use the store runs on the I/O thread when its caller's
// verification is cached, even with the store saturated; without a cached verification the
// sign-in check needs the store and waits for it like any other request.
TEST(StoreExecutor, ACachedSignInKeepsAStorelessRouteOffTheExecutor) {
  asio::io_context ioc;
  StoreExecutor ex(1, 150ms);
  Router router;
  router.Add(
      bhttp::verb::get, "/api/v1/auth/me", Access::kUser,
      [](RequestContext& req) -> asio::awaitable<Reply> {
        co_return TextReply(bhttp::status::ok, req.principal->email, "text/plain");
      },
      UsesStore::kNo);
  router.Add(
      bhttp::verb::get, "/api/v1/admin", Access::kAdmin,
      [](RequestContext&) -> asio::awaitable<Reply> {
        co_return TextReply(bhttp::status::ok, "admin", "text/plain");
      },
      UsesStore::kNo);
  HttpMetrics metrics;
  DispatchOptions opts;
  opts.access_log = false;
  opts.store_executor = &ex;
  opts.cached_auth = [](std::string_view token) -> std::optional<Principal> {
    if (token != "cached") return std::nullopt;
    return Principal{"usr_1", "a@x.io", "user", "ses_1", 1};
  };
  int uncached_checks = 0;
  Dispatcher d(
      router, metrics,
      [&](std::string_view) -> Result<Principal> {
        ++uncached_checks;
        return Principal{"usr_2", "b@x.io", "user", "ses_2", 1};
      },
      opts);
  Saturation busy(ioc, ex);
  auto get = [](const char* path, const char* token) {
    Request r{bhttp::verb::get, path, 11};
    r.set(bhttp::field::authorization, std::string("Bearer ") + token);
    return r;
  };
  Reply me, forbidden, uncached;
  Clock::duration me_took{};
  asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<void> {
        co_await busy.Busy();
        auto start = Clock::now();
        me = co_await d.Dispatch(get("/api/v1/auth/me", "cached"), "127.0.0.1");
        me_took = Clock::now() - start;
        forbidden = co_await d.Dispatch(get("/api/v1/admin", "cached"), "127.0.0.1");
        uncached = co_await d.Dispatch(get("/api/v1/auth/me", "fresh"), "127.0.0.1");
        busy.Release();
      },
      asio::detached);
  ioc.run();
  EXPECT_EQ(me.res.result(), bhttp::status::ok);
  EXPECT_EQ(me.res.body(), "a@x.io");
  EXPECT_LT(me_took, 50ms);
  EXPECT_EQ(forbidden.res.result(), bhttp::status::forbidden);  // roles still apply
  EXPECT_EQ(uncached.res.result(), bhttp::status::service_unavailable);
  EXPECT_EQ(uncached_checks, 0);
}

}  // namespace
}  // namespace lattice::http
