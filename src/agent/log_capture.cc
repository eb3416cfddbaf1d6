#include "agent/log_capture.h"

#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>

#include <future>
#include <utility>

#include "common/clock.h"

namespace lattice::agent {
namespace {

namespace asio = boost::asio;

// "2026-11-25T00:17:13.123456789Z text" → (time, text); a line without a time keeps `fallback`.
LogLine SplitTimestamp(std::string_view line, std::int64_t fallback) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  const auto space = line.find(' ');
  if (space != std::string_view::npos) {
    if (auto t = ParseTimestampNanos(line.substr(0, space)))
      return LogLine{*t, std::string(line.substr(space + 1))};
  }
  return LogLine{fallback, std::string(line)};
}

}  // namespace

struct LogCapture::Tail {
  std::string container;  // whose log is captured now (the store's current generation)
  LogResume resume;       // how far `container`'s log is in the store
  std::string next;       // a newer container: taken up when the runner is free
  bool next_running = false;
  std::string next_run;
  bool running = false;  // `container` was last seen running: follow it
  bool unread = false;   // read `container` to its end once more
  std::string read_run;  // the run of `container` seen stopped and read to its end since
  std::vector<Done> drains;
  std::vector<Done> forgets;
  bool busy = false;  // Run() is active for this workload
  bool forgotten = false;
  runtime::LogReader* reader = nullptr;  // the read in progress, if any
  bool reader_follow = false;
};

LogCapture::LogCapture(runtime::Runtime& runtime, LogStore& store, LogCaptureOptions options)
    : runtime_(runtime), store_(store), options_(options), work_(ioc_.get_executor()) {}

LogCapture::~LogCapture() {
  Stop();
}

void LogCapture::Start() {
  thread_ = std::thread([this] {
    try {
      ioc_.run();
    } catch (const std::exception& e) {  // a bug
      spdlog::error("event=log_capture_crash error=\"{}\"", e.what());
    }
  });
}

void LogCapture::Stop() {
  if (stopped_.exchange(true)) return;
  asio::post(ioc_, [this] {
    stopping_ = true;
    for (auto& [id, t] : tails_) {
      if (t->reader) t->reader->Close();
      for (auto& d : t->drains) d();
      for (auto& d : t->forgets) d();
      t->drains.clear();
      t->forgets.clear();
    }
    work_.reset();
  });
  if (thread_.joinable()) {
    thread_.join();
  } else {
    work_.reset();
  }
}

int LogCapture::ActiveReads() const {
  return active_reads_.load();
}

bool LogCapture::RunOnThread(std::function<void(Done)> work) {
  if (stopped_) return false;
  auto promise = std::make_shared<std::promise<void>>();
  auto future = promise->get_future();
  auto fired = std::make_shared<std::atomic<bool>>(false);
  Done done = [promise, fired] {
    if (!fired->exchange(true)) promise->set_value();
  };
  asio::post(ioc_, [this, work = std::move(work), done]() mutable {
    if (stopping_) return done();
    work(std::move(done));
  });
  return future.wait_for(options_.drain_timeout) == std::future_status::ready && !stopped_;
}

void LogCapture::Observe(std::vector<ObservedContainer> containers) {
  if (stopped_) return;
  asio::post(ioc_, [this, containers = std::move(containers)] { OnObserve(containers); });
}

void LogCapture::OnObserve(const std::vector<ObservedContainer>& containers) {
  if (stopping_) return;
  for (const auto& c : containers) {
    if (gone_.count(c.workload_id) || c.container_id.empty()) continue;
    auto& slot = tails_[c.workload_id];
    if (!slot) slot = std::make_unique<Tail>();
    Tail& t = *slot;
    if (t.forgotten) continue;
    if (c.container_id == t.container && t.next.empty()) {
      if (c.running) {
        t.running = true;
      } else if (t.running || c.run != t.read_run) {
        // It stopped: its follow ends by itself; read the rest once more. (A run that started
        // and ended between two listings, as in a crash loop, is caught here too.)
        t.running = false;
        t.unread = true;
        t.read_run = c.run;
      }
    } else if (c.container_id != t.container) {
      t.next = c.container_id;
      t.next_running = c.running;
      t.next_run = c.run;
    }
    Kick(c.workload_id, t);
  }
}

void LogCapture::Kick(const std::string& workload_id, Tail& t) {
  if (t.busy || stopping_) return;
  const bool work = t.forgotten || !t.next.empty() || !t.drains.empty() || t.unread ||
                    (t.running && !t.container.empty());
  if (!work) return;
  t.busy = true;
  asio::co_spawn(ioc_, Run(workload_id), [workload_id](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& x) {  // a bug
      spdlog::error("event=log_capture_crash workload={} error=\"{}\"", workload_id, x.what());
    }
  });
}

bool LogCapture::Drain(const std::string& workload_id, const std::string& container_id) {
  return RunOnThread([this, workload_id, container_id](Done done) {
    if (gone_.count(workload_id) || container_id.empty()) return done();
    auto& slot = tails_[workload_id];
    if (!slot) slot = std::make_unique<Tail>();
    Tail& t = *slot;
    if (t.forgotten) return done();
    if (container_id != t.container) {
      t.next = container_id;
      t.next_running = false;
    }
    t.drains.push_back(std::move(done));
    // A follow in progress ends now; the drain's read starts where it stopped.
    if (t.reader && t.reader_follow) t.reader->Close();
    Kick(workload_id, t);
  });
}

bool LogCapture::Forget(const std::string& workload_id) {
  return RunOnThread([this, workload_id](Done done) {
    gone_.insert(workload_id);
    auto it = tails_.find(workload_id);
    if (it == tails_.end() || !it->second->busy) {
      if (it != tails_.end()) tails_.erase(it);
      if (Status st = store_.Remove(workload_id); !st.ok())
        spdlog::warn("event=logs_remove_failed workload={} error=\"{}\"", workload_id,
                     st.error().message);
      return done();
    }
    Tail& t = *it->second;
    t.forgotten = true;
    t.forgets.push_back(std::move(done));
    if (t.reader) t.reader->Close();
  });
}

asio::awaitable<void> LogCapture::Run(std::string workload_id) {
  for (;;) {
    auto it = tails_.find(workload_id);
    if (it == tails_.end()) co_return;
    Tail& t = *it->second;
    if (t.forgotten) {
      if (Status st = store_.Remove(workload_id); !st.ok())
        spdlog::warn("event=logs_remove_failed workload={} error=\"{}\"", workload_id,
                     st.error().message);
      auto forgets = std::move(t.forgets);
      auto drains = std::move(t.drains);
      tails_.erase(it);
      for (auto& d : drains) d();
      for (auto& d : forgets) d();
      co_return;
    }
    if (stopping_) {
      t.busy = false;
      co_return;
    }
    if (!t.next.empty()) {
      auto begun = store_.BeginContainer(workload_id, t.next);
      if (!begun.ok()) {
        spdlog::warn("event=logs_begin_failed workload={} container={} error=\"{}\"", workload_id,
                     t.next, begun.error().message);
        t.next.clear();
        for (auto& d : t.drains) d();
        t.drains.clear();
        t.busy = false;
        co_return;
      }
      if (begun->generation != t.resume.generation || t.container != t.next)
        spdlog::info("event=logs_container workload={} container={} generation={}", workload_id,
                     t.next.substr(0, 12), begun->generation);
      t.container = std::move(t.next);
      t.next.clear();
      t.resume = *begun;
      t.running = t.next_running;
      t.unread = !t.running;  // found stopped: what it printed may not be kept yet
      t.read_run = t.running ? std::string() : t.next_run;
    }
    bool follow = false;
    std::vector<Done> drains;
    if (!t.drains.empty() || t.unread) {
      drains = std::move(t.drains);
      t.drains.clear();
      t.unread = false;
    } else if (t.running && !t.container.empty()) {
      follow = true;
    } else {
      t.busy = false;
      co_return;
    }
    const bool exists = co_await ReadOnce(workload_id, t, follow);
    for (auto& d : drains) d();
    if (follow) {
      // The follow ended: the container stopped (or the connection broke). Read what is left
      // once more; the next Observe() follows it again if it runs.
      t.running = false;
      t.unread = exists && !t.forgotten && !stopping_;
    }
    if (!exists) t.running = t.unread = false;
  }
}

asio::awaitable<bool> LogCapture::ReadOnce(const std::string& workload_id, Tail& t, bool follow) {
  runtime::LogStreamOptions o;
  o.follow = follow;
  o.timestamps = true;
  o.since_ns = t.resume.last_time_ns;
  auto reader = runtime_.StreamLogs(ioc_.get_executor(), t.container, o);
  t.reader = reader.get();
  t.reader_follow = follow;
  ++active_reads_;
  struct Release {
    Tail& t;
    std::atomic<int>& reads;
    ~Release() {
      t.reader = nullptr;
      --reads;
    }
  } release{t, active_reads_};

  int skip = t.resume.at_last_time;  // records at exactly `since` that are kept already
  const std::int64_t since = t.resume.last_time_ns;
  bool exists = true;
  for (;;) {
    auto lines = co_await reader->Next();
    if (!lines.ok()) {
      // Gone, or going (the engine refuses a container marked for removal with a conflict).
      exists =
          lines.error().code != ErrorCode::kNotFound && lines.error().code != ErrorCode::kConflict;
      if (exists && !stopping_ && !t.forgotten)
        spdlog::warn("event=logs_capture_failed workload={} follow={} error=\"{}\"", workload_id,
                     follow, lines.error().message);
      break;
    }
    if (lines->empty() || t.forgotten || stopping_) break;
    std::vector<LogLine> batch;
    batch.reserve(lines->size());
    for (const auto& raw : *lines) {
      LogLine line = SplitTimestamp(raw, t.resume.last_time_ns);
      if (line.time_ns < since) continue;  // the engine's since is inclusive: older is not new
      if (line.time_ns == since && skip > 0) {
        --skip;
        continue;
      }
      // Where the next read resumes: the newest time, and how many records have it. (stdout and
      // stderr may interleave a few microseconds out of order: an older one leaves it be.)
      if (line.time_ns > t.resume.last_time_ns) {
        t.resume.last_time_ns = line.time_ns;
        t.resume.at_last_time = 0;
        skip = 0;
      }
      if (line.time_ns == t.resume.last_time_ns) ++t.resume.at_last_time;
      batch.push_back(std::move(line));
    }
    if (Status st = store_.Append(workload_id, t.resume.generation, batch); !st.ok())
      spdlog::warn("event=logs_store_failed workload={} error=\"{}\"", workload_id,
                   st.error().message);
  }
  co_return exists;
}

}  // namespace lattice::agent
