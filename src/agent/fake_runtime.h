// FakeRuntime: an in-memory runtime::Runtime for the agent's hermetic tests (the supervisor and
// the diff loop), where a real engine cannot be made to hang or fail on cue. Images, containers
// and networks live in maps; containers "run" when started and exit only when told (Exit). Tests
// can hold one image's pull until they release it (HoldPull/ReleasePull), make the next creates
// fail (FailCreates), and count calls. Test-only; thread-safe.
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "common/clock.h"
#include "runtime/runtime.h"

namespace lattice::agent::testing {

class FakeRuntime final : public runtime::Runtime {
 public:
  ~FakeRuntime() override { ReleasePull(); }

  // EnsureImage(image) blocks until ReleasePull() (or the fake's destruction).
  void HoldPull(const std::string& image) {
    std::lock_guard lock(mu_);
    held_ = image;
  }
  void ReleasePull() {
    {
      std::lock_guard lock(mu_);
      held_.clear();
    }
    cv_.notify_all();
  }
  // Whether a pull of `image` is blocked in EnsureImage right now.
  bool PullBlocked(const std::string& image) const {
    std::lock_guard lock(mu_);
    return blocked_.count(image) > 0;
  }
  // The next `n` creates fail with kUnavailable.
  void FailCreates(int n) {
    std::lock_guard lock(mu_);
    failing_creates_ = n;
  }

  int pulls(const std::string& image) const {
    std::lock_guard lock(mu_);
    auto it = pulls_.find(image);
    return it == pulls_.end() ? 0 : it->second;
  }
  int creates() const { return creates_; }
  // The spec the container named `name` was created with (empty if none was).
  runtime::ContainerSpec SpecOf(const std::string& name) const {
    std::lock_guard lock(mu_);
    auto it = specs_.find(name);
    return it == specs_.end() ? runtime::ContainerSpec{} : it->second;
  }
  // The container named `name` exits with `code`, having printed `logs` (what Logs returns).
  void Exit(const std::string& name, int code, std::string logs) {
    std::lock_guard lock(mu_);
    if (auto* c = Find(name)) {
      c->running = false;
      c->state = "exited";
      c->exit_code = code;
      logs_[c->id] = std::move(logs);
    }
  }

  // The counters Stats() reports for the container named `name` while it runs.
  void SetStats(const std::string& name, runtime::ContainerStats stats) {
    std::lock_guard lock(mu_);
    stats_[name] = stats;
  }
  int stats_calls() const { return stats_calls_; }

  // The container named `name` prints `line` at `time_ns` (0: 1 ms after the fake's last line).
  // StreamLogs reads these (with timestamps, since, and follow while it runs).
  void Print(const std::string& name, const std::string& line, std::int64_t time_ns = 0) {
    std::lock_guard lock(mu_);
    if (auto* c = Find(name)) {
      clock_ns_ = time_ns != 0 ? time_ns : clock_ns_ + 1'000'000;
      printed_[c->id].push_back({clock_ns_, line});
    }
  }
  // How many StreamLogs reads were opened with follow, and without.
  int follows() const { return follows_; }
  int reads() const { return reads_; }

  using runtime::Runtime::StreamLogs;
  std::unique_ptr<runtime::LogReader> StreamLogs(boost::asio::any_io_executor ex,
                                                 const std::string& id,
                                                 const runtime::LogStreamOptions& o) override {
    (o.follow ? follows_ : reads_)++;
    return std::make_unique<Reader>(this, ex, id, o);
  }

  Status Ping() override { return Status::Ok(); }
  Result<runtime::NodeInfo> Info() override {
    return runtime::NodeInfo{4, 8LL << 30, 0, "fake", "linux"};
  }

  Status EnsureImage(const std::string& image) override {
    std::unique_lock lock(mu_);
    ++pulls_[image];
    blocked_.insert(image);
    cv_.wait(lock, [&] { return held_ != image; });
    blocked_.erase(blocked_.find(image));
    images_.insert(image);
    return Status::Ok();
  }
  Result<bool> HasImage(const std::string& image) override {
    std::lock_guard lock(mu_);
    return images_.count(image) > 0;
  }

  Result<std::string> Create(const runtime::ContainerSpec& spec) override {
    std::lock_guard lock(mu_);
    ++creates_;
    if (failing_creates_ > 0) {
      --failing_creates_;
      return Error::Unavailable("the fake engine refuses this create");
    }
    for (const auto& [id, c] : containers_)
      if (c.name == spec.name) return Error::Conflict("name " + spec.name + " is taken");
    runtime::ContainerInfo c;
    c.id = "c" + std::to_string(++next_id_);
    c.name = spec.name;
    c.image = spec.image;
    c.state = "created";
    c.labels = spec.labels;
    c.network_mode = spec.network.empty() ? "bridge" : spec.network;
    for (runtime::PortBinding p : spec.ports) {
      p.host_port = 40000 + next_id_;
      c.ports.push_back(p);
    }
    containers_[c.id] = c;
    specs_[spec.name] = spec;
    return c.id;
  }
  Status Start(const std::string& id) override { return SetRunning(id, true); }
  Status Stop(const std::string& id, std::chrono::seconds) override {
    return SetRunning(id, false);
  }
  Status Remove(const std::string& id) override {
    std::lock_guard lock(mu_);
    if (auto* c = Find(id)) containers_.erase(c->id);
    return Status::Ok();
  }
  Status RemoveVolume(const std::string& name) override {
    std::lock_guard lock(mu_);
    removed_volumes_.push_back(name);
    return Status::Ok();
  }
  // Every RemoveVolume call's name, in order.
  std::vector<std::string> removed_volumes() const {
    std::lock_guard lock(mu_);
    return removed_volumes_;
  }

  Result<std::string> CreateNetwork(const runtime::NetworkSpec& spec) override {
    std::lock_guard lock(mu_);
    if (networks_.count(spec.name)) return Error::Conflict("network " + spec.name + " exists");
    networks_[spec.name] = {spec.name, spec.name, {spec.subnet}, spec.labels};
    return spec.name;
  }
  Result<std::vector<runtime::NetworkInfo>> ListNetworks() override {
    std::lock_guard lock(mu_);
    std::vector<runtime::NetworkInfo> out;
    for (const auto& [name, n] : networks_) out.push_back(n);
    return out;
  }
  Status RemoveNetwork(const std::string& id_or_name) override {
    std::lock_guard lock(mu_);
    networks_.erase(id_or_name);
    return Status::Ok();
  }

  Status CopyFiles(const std::string&, const std::string&,
                   const std::vector<runtime::FileEntry>&) override {
    return Status::Ok();
  }
  Result<runtime::ContainerInfo> Inspect(const std::string& id_or_name) override {
    std::lock_guard lock(mu_);
    if (auto* c = Find(id_or_name)) return *c;
    return Error::NotFound("no container " + id_or_name);
  }
  Result<std::vector<runtime::ContainerInfo>> ListByLabel(const std::string& key) override {
    std::lock_guard lock(mu_);
    std::vector<runtime::ContainerInfo> out;
    for (const auto& [id, c] : containers_)
      if (c.labels.count(key)) out.push_back(c);
    return out;
  }
  Result<std::string> Logs(const std::string& id, int) override {
    std::lock_guard lock(mu_);
    auto it = logs_.find(id);
    return it == logs_.end() ? std::string() : it->second;
  }
  Result<runtime::ContainerStats> Stats(const std::string& id_or_name,
                                        std::chrono::milliseconds) override {
    std::lock_guard lock(mu_);
    ++stats_calls_;
    auto* c = Find(id_or_name);
    if (!c) return Error::NotFound("no container " + id_or_name);
    if (!c->running) return Error::Conflict("container " + id_or_name + " is not running");
    auto it = stats_.find(c->name);
    return it == stats_.end() ? runtime::ContainerStats{} : it->second;
  }

 private:
  class Reader final : public runtime::LogReader {
   public:
    Reader(FakeRuntime* rt, boost::asio::any_io_executor ex, std::string id,
           runtime::LogStreamOptions o)
        : rt_(rt), timer_(ex), id_(std::move(id)), o_(o) {}
    boost::asio::awaitable<Result<std::vector<std::string>>> Next() override {
      for (;;) {
        if (closed_) co_return std::vector<std::string>{};
        std::vector<std::string> out;
        bool running = false;
        {
          std::lock_guard lock(rt_->mu_);
          auto* c = rt_->Find(id_);
          if (!c) co_return Error::NotFound("no container " + id_);
          running = c->running;
          const auto& lines = rt_->printed_[c->id];
          for (; at_ < lines.size(); ++at_) {
            if (lines[at_].first < o_.since_ns) continue;
            out.push_back(o_.timestamps
                              ? FormatTimestampNanos(lines[at_].first) + " " + lines[at_].second
                              : lines[at_].second);
          }
        }
        if (!out.empty()) co_return out;
        if (!o_.follow || !running) co_return out;
        timer_.expires_after(std::chrono::milliseconds(5));  // test-only: a fake polls
        co_await timer_.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
      }
    }
    void Close() override {
      closed_ = true;
      timer_.cancel();
    }

   private:
    FakeRuntime* rt_;
    boost::asio::steady_timer timer_;
    const std::string id_;
    const runtime::LogStreamOptions o_;
    std::size_t at_ = 0;
    bool closed_ = false;
  };

  runtime::ContainerInfo* Find(const std::string& id_or_name) {
    for (auto& [id, c] : containers_)
      if (id == id_or_name || c.name == id_or_name) return &c;
    return nullptr;
  }
  Status SetRunning(const std::string& id, bool running) {
    std::lock_guard lock(mu_);
    auto* c = Find(id);
    if (!c) return Error::NotFound("no container " + id);
    c->running = running;
    c->state = running ? "running" : "exited";
    if (running) c->started_at = "run-" + std::to_string(++starts_);
    return Status::Ok();
  }

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::string held_;  // the image whose pull blocks
  std::multiset<std::string> blocked_;
  std::set<std::string> images_;
  std::map<std::string, int> pulls_;
  std::map<std::string, runtime::ContainerInfo> containers_;  // by id
  std::map<std::string, runtime::NetworkInfo> networks_;      // by name
  std::map<std::string, runtime::ContainerSpec> specs_;       // by name, as created
  std::map<std::string, std::string> logs_;                   // by id, after Exit()
  std::vector<std::string> removed_volumes_;
  std::map<std::string, std::vector<std::pair<std::int64_t, std::string>>> printed_;  // by id
  std::int64_t clock_ns_ = 1'700'000'000'000'000'000;
  int starts_ = 0;
  std::atomic<int> follows_{0};
  std::atomic<int> reads_{0};
  std::map<std::string, runtime::ContainerStats> stats_;  // by name
  std::atomic<int> stats_calls_{0};
  int next_id_ = 0;
  std::atomic<int> creates_{0};
  int failing_creates_ = 0;
};

}  // namespace lattice::agent::testing
