#include "http/store_executor.h"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <atomic>
#include <exception>
#include <memory>
#include <string>

namespace lattice::http {
namespace {

namespace asio = boost::asio;

enum JobState : int { kQueued, kStarted, kAbandoned };

// The caller's completion handler, type-erased (move-only).
class Completion {
 public:
  virtual ~Completion() = default;
  virtual void Invoke(Status s) = 0;
};

template <typename Handler>
class CompletionOf final : public Completion {
 public:
  explicit CompletionOf(Handler h) : h_(std::move(h)) {}
  void Invoke(Status s) override { std::move(h_)(std::move(s)); }

 private:
  Handler h_;
};

// One job between Run() and its completion. The caller's side (the timer, the completion)
// lives on `caller`; the pool's side only flips `state` and posts back.
struct Pending {
  explicit Pending(asio::any_io_executor ex) : caller(ex), timer(ex) {}
  asio::any_io_executor caller;
  asio::steady_timer timer;  // the admission bound; touched on `caller` only
  std::atomic<int> state{kQueued};
  StoreExecutor::Job job;
  std::unique_ptr<Completion> handler;  // invoked exactly once, on `caller`
};

void Complete(const std::shared_ptr<Pending>& p, Status s) {
  asio::dispatch(p->caller, [p, s = std::move(s)]() mutable { p->handler->Invoke(std::move(s)); });
}

std::string What(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    return x.what();
  } catch (...) {
    return "unknown exception";
  }
}

}  // namespace

StoreExecutor::StoreExecutor(int threads, std::chrono::milliseconds wait)
    : threads_(std::max(1, threads)), wait_(wait), pool_(static_cast<std::size_t>(threads_)) {}

StoreExecutor::~StoreExecutor() {
  pool_.join();
}

asio::awaitable<Status> StoreExecutor::Run(Job job) {
  auto initiate = [this, job = std::move(job)](auto handler) mutable {
    auto p = std::make_shared<Pending>(asio::get_associated_executor(handler));
    p->job = std::move(job);
    p->handler = std::make_unique<CompletionOf<decltype(handler)>>(std::move(handler));
    p->timer.expires_after(wait_);
    p->timer.async_wait([p, wait = wait_](boost::system::error_code ec) {
      int queued = kQueued;
      if (ec || !p->state.compare_exchange_strong(queued, kAbandoned)) return;
      Error e =
          Error::Unavailable("The server is busy: the store did not take the request within " +
                             std::to_string(wait.count()) + " ms. Try again shortly.");
      e.type = "store-busy";
      e.retry_after_seconds = static_cast<int>(
          std::max<std::int64_t>(1, std::chrono::ceil<std::chrono::seconds>(wait).count()));
      Complete(p, std::move(e));
    });
    asio::co_spawn(
        pool_,
        [p]() -> asio::awaitable<bool> {
          int queued = kQueued;
          if (!p->state.compare_exchange_strong(queued, kStarted)) co_return false;
          asio::post(p->caller, [p] { p->timer.cancel(); });
          co_await p->job();
          co_return true;
        },
        [p](std::exception_ptr e, bool ran) {
          if (e) {
            Complete(p, Error::Internal("store job failed: " + What(e)));
          } else if (ran) {
            Complete(p, Status::Ok());
          }
        });
  };
  co_return co_await asio::async_initiate<const asio::use_awaitable_t<>, void(Status)>(
      std::move(initiate), asio::use_awaitable);
}

}  // namespace lattice::http
