#include "cli/wait.h"

#include <boost/json.hpp>

#include <cstdio>
#include <thread>

#include "cli/terminal.h"
#include "cli/views.h"

namespace lattice::cli {
namespace json = boost::json;

namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kTick = std::chrono::milliseconds(100);
constexpr int kTicksPerPoll = 5;

// Progress on stderr for one workload.
class Progress {
 public:
  Progress(std::string name, bool tty) : name_(std::move(name)), tty_(tty) {}

  void Update(const std::string& status, std::chrono::seconds elapsed) {
    if (tty_) {
      static constexpr const char* kSpinner[] = {"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"};
      std::fprintf(stderr, "\r\033[K%s %s: %s (%llds)", kSpinner[frame_++ % 10], name_.c_str(),
                   status.c_str(), static_cast<long long>(elapsed.count()));
    } else if (status != last_) {
      std::fprintf(stderr, "%s: %s (%llds)\n", name_.c_str(), status.c_str(),
                   static_cast<long long>(elapsed.count()));
    }
    last_ = status;
    std::fflush(stderr);
  }

  void Finish(const std::string& status, std::chrono::seconds elapsed) {
    if (tty_) {
      std::fprintf(stderr, "\r\033[K%s: %s (%llds)\n", name_.c_str(), status.c_str(),
                   static_cast<long long>(elapsed.count()));
    } else if (status != last_) {
      Update(status, elapsed);
    }
    std::fflush(stderr);
  }

 private:
  const std::string name_;
  const bool tty_;
  std::string last_;
  unsigned frame_ = 0;
};

bool Reached(Goal goal, const std::string& status) {
  return (goal == Goal::kRunning && status == "running") ||
         (goal == Goal::kStopped && status == "stopped");
}

bool Failed(Goal goal, const std::string& status) {
  if (goal == Goal::kGone) return false;  // whatever state it was in, it is going away
  return status == "lost" || (goal == Goal::kRunning && status == "failed");
}

}  // namespace

Result<json::object> WaitFor(ApiClient& api, const json::object& workload, Goal goal,
                             std::chrono::seconds timeout) {
  const std::string id = Text(workload, "id");
  const std::string name = Text(workload, "name");
  Progress progress(name, StderrIsTerminal());
  const auto start = Clock::now();
  json::object current = workload;
  for (int tick = 0;; ++tick) {
    const auto elapsed = std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - start);
    const std::string status = Text(current, "status");
    if (Reached(goal, status)) {
      progress.Finish(status, elapsed);
      return current;
    }
    if (Failed(goal, status)) {
      progress.Finish(status, elapsed);
      const std::string reason = Text(current, "status_reason");
      const std::string what = status == "lost" ? " was lost" : " failed";
      return Error::Conflict(name + what + (reason == "-" ? "" : ": " + reason) +
                             " — `lattice logs " + name + "` and `lattice inspect " + name +
                             "` tell more");
    }
    if (elapsed >= timeout) {
      progress.Finish(status, elapsed);
      return Error::Unavailable(name + " is still " + status + " after " +
                                std::to_string(timeout.count()) + "s — `lattice inspect " + name +
                                "` shows its progress");
    }
    progress.Update(status, elapsed);
    std::this_thread::sleep_for(kTick);
    if (tick % kTicksPerPoll != kTicksPerPoll - 1) continue;
    auto fresh = api.Get("/api/v1/workloads/" + id);
    if (!fresh.ok() && fresh.error().code == ErrorCode::kNotFound) {
      progress.Finish("removed", elapsed);
      if (goal == Goal::kGone) return json::object{};
      return Error::NotFound(name + " was removed while waiting for it");
    }
    if (!fresh.ok()) {
      progress.Finish(status, elapsed);
      return std::move(fresh).error();
    }
    if (fresh->is_object()) current = fresh->as_object();
  }
}

}  // namespace lattice::cli
