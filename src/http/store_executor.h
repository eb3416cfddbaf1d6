// StoreExecutor: where work that may block on the store runs, so that the I/O threads never
// do. A fixed pool of threads, sized to the store's connection pool (more threads would only
// wait for a connection), with an admission bound:
//  - Run() queues a job and completes on the caller's executor once the job has finished.
//  - A job that no thread could START within `wait` (every thread is busy: the store is
//    saturated or frozen) is never run; Run() then yields kUnavailable with a Retry-After hint,
//    which the API answers as 503. The caller's I/O thread is free the whole time.
//  - A job that started is always awaited to its end, because it may reference the caller's
//    frame (the request context). Run() is therefore not cancellable. How long a started job
//    runs is bounded by the store's own deadlines (PostgreSQL's round-trip deadline), not here.
// Jobs may be coroutines: one that awaits something else (the argon2 pool) frees its thread
// meanwhile and resumes on the pool.
// Thread-safe. The destructor waits for every queued and running job.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>

#include <chrono>
#include <functional>

#include "common/result.h"

namespace lattice::http {

class StoreExecutor {
 public:
  using Job = std::function<boost::asio::awaitable<void>()>;

  // `threads` >= 1; `wait` is the admission bound.
  StoreExecutor(int threads, std::chrono::milliseconds wait);
  ~StoreExecutor();
  StoreExecutor(const StoreExecutor&) = delete;
  StoreExecutor& operator=(const StoreExecutor&) = delete;

  // Runs `job` on the pool. Ok once it ran to completion; kInternal if it threw; kUnavailable
  // (retry_after_seconds set, type "store-busy") if it could not start within the wait.
  boost::asio::awaitable<Status> Run(Job job);

  // Run() for a plain blocking function: `fn()` runs on a pool thread.
  template <typename F>
  boost::asio::awaitable<Status> Call(F fn) {
    return Run([fn = std::move(fn)]() { return Invoke(fn); });
  }

  int threads() const { return threads_; }
  std::chrono::milliseconds wait() const { return wait_; }

 private:
  // `fn` is a parameter, so it lives in the coroutine's frame, not in a lambda's captures.
  template <typename F>
  static boost::asio::awaitable<void> Invoke(F fn) {
    fn();
    co_return;
  }

  const int threads_;
  const std::chrono::milliseconds wait_;
  boost::asio::thread_pool pool_;
};

}  // namespace lattice::http
