// Node totals for the metrics (docs/metrics.md): the machine's CPU time, memory, network and disk
// counters, read from /proc (and /sys/block, to tell whole disks from partitions). The parsers
// are pure and take the files' text, so tests feed them fixtures; ReadNodeCounters reads the
// files. Rates come from two readings (agent/stats_sampler.h). Thread-safe (no state).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace lattice::agent {

struct NodeCounters {
  std::uint64_t cpu_total_ticks = 0;  // every core, every state (user … steal)
  std::uint64_t cpu_idle_ticks = 0;   // idle + iowait
  int cpus = 0;                       // cores listed
  std::uint64_t memory_total_bytes = 0;
  std::uint64_t memory_available_bytes = 0;
  std::uint64_t net_rx_bytes = 0;  // the node's own interfaces (see CountsInterface)
  std::uint64_t net_tx_bytes = 0;
  std::uint64_t disk_read_bytes = 0;  // whole disks (see CountsDisk)
  std::uint64_t disk_write_bytes = 0;
  bool ok = false;  // /proc/stat was read
};

// /proc/stat: the aggregate "cpu" line and the number of "cpuN" lines.
void ParseProcStat(std::string_view text, NodeCounters& out);
// /proc/meminfo: MemTotal and MemAvailable (kB).
void ParseMeminfo(std::string_view text, NodeCounters& out);
// /proc/net/dev, counting only the interfaces CountsInterface accepts.
void ParseNetDev(std::string_view text, NodeCounters& out);
// /proc/diskstats, counting only the devices `is_disk` accepts (512-byte sectors).
void ParseDiskstats(std::string_view text, const std::function<bool(std::string_view)>& is_disk,
                    NodeCounters& out);

// Whether traffic on interface `name` is the node's own: not loopback, and not the container
// side of it (veth pairs, Docker's and Lattice's bridges), which would count it twice.
bool CountsInterface(std::string_view name);
// Whether a block device named `name` (a whole disk, per /sys/block) is counted: not loop, RAM,
// optical, network block or device-mapper/RAID devices, which stack on disks already counted.
bool CountsDisk(std::string_view name);

// Reads every counter from `proc_root` (/proc) and `sys_root` (/sys). Missing files leave
// their counters at 0; `ok` says whether the CPU line was read.
NodeCounters ReadNodeCounters(const std::string& proc_root = "/proc",
                              const std::string& sys_root = "/sys");

}  // namespace lattice::agent
