// Shared helpers for the agent's tests against the real Docker engine: a runtime (or a skip
// reason), names unique to this test run, a thread-safe status recorder, clean-up of
// everything a test created, and a tiny HTTP GET. Test-only.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "agent/workload_container.h"
#include "link/protocol.h"
#include "runtime/docker/docker_runtime.h"

namespace lattice {
// gtest prints a status by its name.
inline void PrintTo(WorkloadStatus s, std::ostream* os) {
  *os << Name(s);
}
}  // namespace lattice

namespace lattice::agent::testing {

using std::chrono::milliseconds;
using std::chrono::seconds;

inline constexpr char kBusybox[] = "lattice/busybox:dev";
inline constexpr char kPostgres[] = "lattice/postgres:15";

// The engine, or nullptr with `why` set when no engine answers.
inline std::unique_ptr<runtime::docker::DockerRuntime> OpenDocker(std::string& why) {
  auto rt = runtime::docker::DockerRuntime::Open(runtime::ResolveDockerHost(""));
  if (!rt.ok()) return why = rt.error().message, nullptr;
  if (Status st = (*rt)->Ping(); !st.ok()) return why = st.error().message, nullptr;
  return std::move(*rt);
}

// True when `image` is present locally (never pulls).
inline bool HasImage(runtime::docker::DockerRuntime& rt, const std::string& image) {
  auto res =
      rt.client().Call({boost::beast::http::verb::get, "/images/" + image + "/json", "", ""});
  return res.ok() && res->status == 200;
}

inline bool VolumeExists(runtime::docker::DockerRuntime& rt, const std::string& name) {
  auto res = rt.client().Call({boost::beast::http::verb::get, "/volumes/" + name, "", ""});
  return res.ok() && res->status == 200;
}

// "agt<pid><random>-": a prefix for workload ids no other run shares.
inline std::string RunPrefix() {
  std::random_device rd;
  return "agt" + std::to_string(::getpid()) + std::to_string(rd() % 100000) + "-";
}

// Removes every container whose workload id starts with `prefix`, and the named volumes.
inline void CleanUp(runtime::docker::DockerRuntime& rt, const std::string& prefix,
                    const std::vector<std::string>& volumes) {
  if (auto all = rt.ListByLabel(kLabelWorkload); all.ok())
    for (const auto& c : *all)
      if (LabelOf(c, kLabelWorkload).rfind(prefix, 0) == 0) (void)rt.Remove(c.id);
  for (const auto& v : volumes) (void)rt.RemoveVolume(v);
}

// How many containers carry lattice.workload=<id>.
inline int CountContainers(runtime::Runtime& rt, const std::string& workload_id) {
  int n = 0;
  if (auto all = rt.ListByLabel(kLabelWorkload); all.ok())
    for (const auto& c : *all) n += LabelOf(c, kLabelWorkload) == workload_id ? 1 : 0;
  return n;
}

// Collects status reports from any thread; tests wait for the one they expect.
class StatusRecorder {
 public:
  void Add(const link::StatusReport& s) {
    {
      std::lock_guard lock(mu_);
      all_.push_back(s);
    }
    cv_.notify_all();
  }
  std::function<void(const link::StatusReport&)> Sink() {
    return [this](const link::StatusReport& s) { Add(s); };
  }
  // The first report for `id` (from report index `from` on) that satisfies `pred`.
  std::optional<link::StatusReport> WaitFor(
      const std::string& id, const std::function<bool(const link::StatusReport&)>& pred,
      milliseconds timeout, std::size_t from = 0) {
    std::unique_lock lock(mu_);
    std::optional<link::StatusReport> found;
    cv_.wait_for(lock, timeout, [&] {
      for (std::size_t i = from; i < all_.size(); ++i)
        if (all_[i].workload_id == id && pred(all_[i])) return found = all_[i], true;
      return false;
    });
    return found;
  }
  std::optional<link::StatusReport> WaitState(const std::string& id, std::int64_t generation,
                                              WorkloadStatus state, milliseconds timeout) {
    return WaitFor(
        id, [&](const auto& s) { return s.generation == generation && s.state == state; }, timeout);
  }
  std::vector<WorkloadStatus> States(const std::string& id) const {
    std::lock_guard lock(mu_);
    std::vector<WorkloadStatus> out;
    for (const auto& s : all_)
      if (s.workload_id == id) out.push_back(s.state);
    return out;
  }
  std::size_t size() const {
    std::lock_guard lock(mu_);
    return all_.size();
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<link::StatusReport> all_;
};

// GET http://127.0.0.1:<port><path>: the status and body, or nullopt if nothing answers.
inline std::optional<std::pair<int, std::string>> HttpGet(const std::string& host, int port,
                                                          const std::string& path) {
  namespace beast = boost::beast;
  namespace http = beast::http;
  try {
    boost::asio::io_context ioc;
    beast::tcp_stream s(ioc);
    s.connect(boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address(host),
                                             static_cast<unsigned short>(port)));
    http::request<http::empty_body> req(http::verb::get, path, 11);
    req.set(http::field::host, host);
    http::write(s, req);
    beast::flat_buffer buf;
    http::response<http::string_body> res;
    http::read(s, buf, res);
    return std::make_pair(static_cast<int>(res.result_int()), res.body());
  } catch (const std::exception&) {
    return std::nullopt;
  }
}
inline std::optional<std::pair<int, std::string>> HttpGet(int port, const std::string& path) {
  return HttpGet("127.0.0.1", port, path);
}

// A busybox workload running `script` under sh -c.
inline link::Assignment ShellWorkload(const std::string& id, std::int64_t generation,
                                      const std::string& script) {
  link::Assignment a;
  a.workload_id = id;
  a.generation = generation;
  a.desired_state = DesiredState::kRunning;
  a.spec.image = kBusybox;
  a.spec.command = {"sh", "-c", script};
  return a;
}

}  // namespace lattice::agent::testing
