// The prober's cost at N endpoints (docs/BENCHMARKS.md "Endpoint probes"). A child process holds
// N loopback listeners that answer a PostgreSQL SSLRequest with 'N' (as the edge relaying to a
// PostgreSQL container would); this process runs PASSES passes of control::ProbeRunner over all
// of them with the server's default options (5 s timeout, 256 in flight) and reports, per pass,
// the wall time and the CPU time this process spent, and its resident memory before and after.
// It then times what the prober writes per pass (store::ProbeStore::RecordProbes of N records in
// one transaction, current rows only and with history rows) on a SQLite store in a temp dir.
// Usage: probe_bench [N=1000] [PASSES=10]; prints one JSON object.
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <string>
#include <vector>

#include "control/probe_check.h"
#include "store/sqlite/sqlite_store.h"

namespace asio = boost::asio;
using asio::ip::tcp;
using namespace lattice;

namespace {

asio::awaitable<void> Answer(tcp::socket s) {
  boost::system::error_code ec;
  char req[8];
  co_await asio::async_read(s, asio::buffer(req), asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return;
  const char n = 'N';
  co_await asio::async_write(s, asio::buffer(&n, 1), asio::redirect_error(asio::use_awaitable, ec));
}

asio::awaitable<void> Serve(tcp::acceptor& a) {
  for (;;) {
    boost::system::error_code ec;
    tcp::socket s = co_await a.async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;
    asio::co_spawn(a.get_executor(), Answer(std::move(s)), asio::detached);
  }
}

// The child: N listeners; their ports go to `fd`, one per line, then it serves until killed.
[[noreturn]] void Listeners(int n, int fd) {
  asio::io_context ioc;
  std::vector<std::unique_ptr<tcp::acceptor>> acceptors;
  std::string ports;
  for (int i = 0; i < n; ++i) {
    acceptors.push_back(std::make_unique<tcp::acceptor>(
        ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)));
    acceptors.back()->listen(1024);
    ports += std::to_string(acceptors.back()->local_endpoint().port()) + "\n";
    asio::co_spawn(ioc, Serve(*acceptors.back()), asio::detached);
  }
  if (write(fd, ports.data(), ports.size()) < 0) _exit(1);
  close(fd);
  ioc.run();
  _exit(0);
}

double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

long StatusKb(const char* key) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(key, 0) == 0) return std::stol(line.substr(std::strlen(key)));
  return 0;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::atoi(argv[1]) : 1000;
  const int passes = argc > 2 ? std::atoi(argv[2]) : 10;
  int fds[2];
  if (pipe(fds) != 0) return 1;
  const pid_t child = fork();
  if (child == 0) {
    close(fds[0]);
    Listeners(n, fds[1]);
  }
  close(fds[1]);
  std::string text;
  char buf[4096];
  for (ssize_t got; (got = read(fds[0], buf, sizeof buf)) > 0;) text.append(buf, got);
  close(fds[0]);
  std::vector<control::ProbeTarget> targets;
  for (std::size_t pos = 0, nl; (nl = text.find('\n', pos)) != std::string::npos; pos = nl + 1) {
    control::ProbeTarget t;
    t.host = "127.0.0.1";
    t.port = std::stoi(text.substr(pos, nl - pos));
    t.protocol = control::ProbeProtocol::kPostgres;
    targets.push_back(t);
  }

  const long rss_start_kb = StatusKb("VmRSS:");
  std::vector<double> wall, cpu;
  int failed = 0;
  {
    control::ProbeRunner runner({});
    for (int p = 0; p < passes; ++p) {
      std::promise<std::vector<control::ProbeOutcome>> done;
      auto f = done.get_future();
      const double c0 = CpuSeconds();
      const auto t0 = std::chrono::steady_clock::now();
      runner.Run(targets,
                 [&done](std::vector<control::ProbeOutcome> o) { done.set_value(std::move(o)); });
      const auto outcomes = f.get();
      wall.push_back(
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
      cpu.push_back((CpuSeconds() - c0) * 1000);
      for (const auto& o : outcomes) failed += o.ok() ? 0 : 1;
    }
  }
  const long rss_end_kb = StatusKb("VmRSS:");
  const long hwm_kb = StatusKb("VmHWM:");
  kill(child, SIGTERM);
  waitpid(child, nullptr, 0);

  // What a pass writes: N current rows (and, once in a while, N history rows) in one transaction.
  const auto dir =
      std::filesystem::temp_directory_path() / ("probe-bench-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  double write_current_ms = 0, write_history_ms = 0;
  long current_rows = 0;
  {
    auto st = store::sqlite::SqliteStore::Open((dir / "lattice.db").string());
    if (!st.ok()) return 1;
    auto& s = **st;
    auto u = s.CreateUser({"usr_b", "b@x.io", "hash", "user", 1, 1}, {});
    std::vector<store::ProbeRecord> records;
    for (int i = 0; i < n; ++i) {
      store::Workload w;
      w.id = "wl_" + std::to_string(i);
      w.owner_id = "usr_b";
      w.name = "w" + std::to_string(i);
      w.template_name = "postgres";
      w.image = "img";
      w.spec_enc = "s";
      (void)s.CreateWorkload(w, {});
      store::ProbeRecord r;
      r.workload_id = w.id;
      r.container_port = 5432;
      r.public_port = 20000 + i;
      r.state = EndpointState::kReachable;
      r.latency_us = 400;
      records.push_back(r);
    }
    std::vector<double> cur, hist;
    for (int p = 0; p < 5; ++p) {
      for (auto& r : records) r.at = r.changed_at = 1'800'000'000 + p * 30, r.keep = false;
      auto t0 = std::chrono::steady_clock::now();
      (void)s.Probes().RecordProbes(records);
      cur.push_back(
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
      for (auto& r : records) r.keep = true;
      t0 = std::chrono::steady_clock::now();
      (void)s.Probes().RecordProbes(records);
      hist.push_back(
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
    auto rows = s.Probes().ProbeEndpoints("");
    current_rows = rows.ok() ? static_cast<long>(rows->size()) : -1;
    write_current_ms = Median(cur);
    write_history_ms = Median(hist);
  }
  std::filesystem::remove_all(dir);

  std::printf(
      "{\"endpoints\": %d, \"passes\": %d, \"failed_checks\": %d, \"pass_wall_ms_median\": %.1f, "
      "\"pass_wall_ms_max\": %.1f, \"pass_cpu_ms_median\": %.1f, \"rss_start_kb\": %ld, "
      "\"rss_end_kb\": %ld, \"rss_peak_kb\": %ld, \"sqlite_write_current_ms\": %.1f, "
      "\"sqlite_write_with_history_ms\": %.1f, \"sqlite_current_rows\": %ld}\n",
      n, passes, failed, Median(wall), *std::max_element(wall.begin(), wall.end()), Median(cpu),
      rss_start_kb, rss_end_kb, hwm_kb, write_current_ms, write_history_ms, current_rows);
  return 0;
}
