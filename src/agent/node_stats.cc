#include "agent/node_stats.h"

#include <charconv>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

namespace lattice::agent {
namespace {

// The whitespace-separated words of `line`.
std::vector<std::string_view> Words(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    const std::size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

std::uint64_t Number(std::string_view s) {
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() ? v : 0;
}

template <typename F>
void ForEachLine(std::string_view text, F f) {
  while (!text.empty()) {
    const std::size_t nl = text.find('\n');
    f(text.substr(0, nl));
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
}

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

void ParseProcStat(std::string_view text, NodeCounters& out) {
  ForEachLine(text, [&](std::string_view line) {
    if (!StartsWith(line, "cpu")) return;
    const auto w = Words(line);
    if (w.empty()) return;
    if (w[0] != "cpu") {
      ++out.cpus;  // cpu0, cpu1, …
      return;
    }
    // user nice system idle iowait irq softirq steal (guest time is inside user already)
    std::uint64_t total = 0;
    for (std::size_t i = 1; i < w.size() && i <= 8; ++i) total += Number(w[i]);
    out.cpu_total_ticks = total;
    out.cpu_idle_ticks = (w.size() > 4 ? Number(w[4]) : 0) + (w.size() > 5 ? Number(w[5]) : 0);
    out.ok = true;
  });
}

void ParseMeminfo(std::string_view text, NodeCounters& out) {
  ForEachLine(text, [&](std::string_view line) {
    const auto w = Words(line);
    if (w.size() < 2) return;
    if (w[0] == "MemTotal:") out.memory_total_bytes = Number(w[1]) * 1024;
    if (w[0] == "MemAvailable:") out.memory_available_bytes = Number(w[1]) * 1024;
  });
}

void ParseNetDev(std::string_view text, NodeCounters& out) {
  ForEachLine(text, [&](std::string_view line) {
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) return;  // the two header lines
    const auto name = Words(line.substr(0, colon));
    if (name.size() != 1 || !CountsInterface(name[0])) return;
    // rx: bytes packets errs drop fifo frame compressed multicast; then tx: bytes …
    const auto w = Words(line.substr(colon + 1));
    if (w.size() < 9) return;
    out.net_rx_bytes += Number(w[0]);
    out.net_tx_bytes += Number(w[8]);
  });
}

void ParseDiskstats(std::string_view text, const std::function<bool(std::string_view)>& is_disk,
                    NodeCounters& out) {
  ForEachLine(text, [&](std::string_view line) {
    // major minor name reads merged sectors_read ms writes merged sectors_written …
    const auto w = Words(line);
    if (w.size() < 10 || !is_disk(w[2]) || !CountsDisk(w[2])) return;
    out.disk_read_bytes += Number(w[5]) * 512;
    out.disk_write_bytes += Number(w[9]) * 512;
  });
}

bool CountsInterface(std::string_view name) {
  if (name == "lo") return false;
  for (std::string_view p : {"veth", "docker", "br-", "lt-", "virbr", "cni", "flannel", "vxlan"})
    if (StartsWith(name, p)) return false;
  return true;
}

bool CountsDisk(std::string_view name) {
  for (std::string_view p : {"loop", "ram", "zram", "sr", "nbd", "dm-", "md", "fd"})
    if (StartsWith(name, p)) return false;
  return !name.empty();
}

NodeCounters ReadNodeCounters(const std::string& proc_root, const std::string& sys_root) {
  NodeCounters c;
  ParseProcStat(ReadFile(proc_root + "/stat"), c);
  ParseMeminfo(ReadFile(proc_root + "/meminfo"), c);
  ParseNetDev(ReadFile(proc_root + "/net/dev"), c);
  const std::filesystem::path block = std::filesystem::path(sys_root) / "block";
  ParseDiskstats(
      ReadFile(proc_root + "/diskstats"),
      [&block](std::string_view name) {
        std::error_code ec;  // whole disks are listed in /sys/block, partitions are not
        return std::filesystem::exists(block / std::string(name), ec);
      },
      c);
  return c;
}

}  // namespace lattice::agent
