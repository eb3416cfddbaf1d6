// LogCapture: copies every workload container's output into the LogStore as it is written, so
// that the logs outlive the container (docs/logs.md). One thread for the whole node: each
// container's log is a coroutine on it reading the engine asynchronously (runtime::
// Runtime::StreamLogs with timestamps); nothing polls and no thread is spent per workload.
//
// What it reads, and when:
//   - a running container: its log followed, from where the store left off (the engine's
//     `since` = the time of the newest record kept for this container; the records at exactly
//     that time that are kept already are skipped, so an agent restart duplicates nothing);
//   - a container that stopped (or was found stopped): its log once more to the end, for the
//     lines the follow may have missed (a broken connection, an agent that was down);
//   - Drain(): before the agent removes a container (replacement), its log to the very end,
//     waited for; so nothing is lost when a container is re-created.
// A container id the workload has not had before starts the next container generation
// (LogStore::BeginContainer, persisted). The Reconciler tells the capture which containers
// exist (Observe) after every listing.
//
// Threading: Observe/Drain/Forget may be called from any thread; Drain and Forget block their
// caller (an engine worker) until done or their timeout. Start() once, Stop() (also the
// destructor) ends the reads and joins the thread. The Runtime and LogStore must outlive it.
#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "agent/log_store.h"
#include "runtime/runtime.h"

namespace lattice::agent {

// A workload container as the Reconciler's listing saw it.
struct ObservedContainer {
  std::string workload_id;
  std::string container_id;
  bool running = false;
  std::string run;  // when it was last started (runtime::ContainerInfo::started_at)
};

struct LogCaptureOptions {
  std::chrono::milliseconds drain_timeout{10000};  // Drain()'s bound
};

class LogCapture {
 public:
  LogCapture(runtime::Runtime& runtime, LogStore& store, LogCaptureOptions options = {});
  ~LogCapture();
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;

  void Start();
  // Ends every read (what was read is kept) and joins the thread. Idempotent.
  void Stop();

  // The workload containers on this node now (all of them: a workload missing from the list
  // just has nothing read until it appears).
  void Observe(std::vector<ObservedContainer> containers);
  // Blocks until the log of `container_id` (stopped, about to be removed) is in the store to its
  // end, or the drain timeout passed. False on timeout or when stopping.
  bool Drain(const std::string& workload_id, const std::string& container_id);
  // Stops reading the workload's logs and deletes them (the workload was deleted); containers it
  // had are never read again. Blocks until done (or the drain timeout).
  bool Forget(const std::string& workload_id);

  // For tests: reads in progress (followed or not).
  int ActiveReads() const;

 private:
  struct Tail;
  using Done = std::function<void()>;

  void OnObserve(const std::vector<ObservedContainer>& containers);  // capture thread
  void Kick(const std::string& workload_id, Tail& t);                // starts the runner if idle
  boost::asio::awaitable<void> Run(std::string workload_id);
  // One read of `t.container`: appends what is new; false when the container is gone.
  boost::asio::awaitable<bool> ReadOnce(const std::string& workload_id, Tail& t, bool follow);
  bool RunOnThread(std::function<void(Done)> work);  // posts and waits for `done`

  runtime::Runtime& runtime_;
  LogStore& store_;
  const LogCaptureOptions options_;

  boost::asio::io_context ioc_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::thread thread_;

  // Capture thread only.
  std::map<std::string, std::unique_ptr<Tail>> tails_;  // by workload id
  std::set<std::string> gone_;  // container ids of forgotten workloads: never read again
  bool stopping_ = false;
  std::atomic<int> active_reads_{0};
  std::atomic<bool> stopped_{false};
};

}  // namespace lattice::agent
