// Runtime: what the agent needs from a container engine, in the spirit of Nomad's task
// driver interface: inspect the node, make sure an image is present, create/start/stop/remove
// containers and their volumes, find containers by label (to adopt them after a restart), and
// read logs and resource usage. The Docker implementation lives in docker/; tests use the real
// engine.
//
// All calls but StreamLogs are synchronous and bounded by a timeout; none throws.
// Implementations must be safe to call from several threads at once (each call uses its own
// connection). StreamLogs is the exception: it reads on the caller's executor, blocking no
// thread, so the agent follows its logs on the link's io_context.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"

namespace lattice::runtime {

struct PortBinding {
  int container_port = 0;
  std::string protocol = "tcp";       // "tcp" or "udp"
  std::string host_ip = "127.0.0.1";  // published on the node's loopback only
  int host_port = 0;                  // 0: let the engine pick a free port
};

struct VolumeMount {
  std::string volume;          // named volume, created if missing
  std::string container_path;  // absolute path inside the container
  bool read_only = false;      // mounted read-only (a snapshot job reads a workload's data)
};

// How a container is confined. Every container the agent creates drops all capabilities and
// adds back only `cap_add`, cannot gain privileges (no-new-privileges), has a pids limit and
// rotated logs; there is no way to ask for privileged mode, host namespaces, devices or host
// mounts.
struct Confinement {
  std::vector<std::string> cap_add;  // capability names without CAP_
  std::string user;                  // "uid[:gid]"; empty: the image's default
  bool read_only_rootfs = false;
  std::vector<std::string> tmpfs;  // absolute paths: small tmpfs mounts (noexec, nosuid)
  std::int64_t tmpfs_bytes = 64 << 20;
  std::int64_t pids_limit = 512;
  std::int64_t cpu_shares = 1024;         // relative weight under contention
  std::int64_t log_max_bytes = 10 << 20;  // per log file, rotated by the engine
  int log_max_files = 3;
};

struct ContainerSpec {
  std::string name;  // engine-level container name (unique on the node)
  std::string image;
  std::vector<std::string> env;      // "KEY=value"
  std::vector<std::string> command;  // empty: the image's default
  std::vector<PortBinding> ports;
  std::vector<VolumeMount> volumes;
  std::int64_t memory_bytes = 0;  // 0: no limit; swap is never more than this
  double cpus = 0;                // 0: no limit; fractional CPUs (NanoCpus)
  std::map<std::string, std::string> labels;
  // Network to join; empty: the engine's default bridge; "container:NAME": NAME's network
  // namespace (a helper that reaches it on 127.0.0.1; `aliases` and `ports` unused).
  std::string network;
  std::vector<std::string> aliases;  // names others on `network` reach it by
  Confinement confinement;
};

// A bridge network with a fixed subnet, on which containers reach each other but nothing on
// any other network (the engine isolates bridge networks from each other).
struct NetworkSpec {
  std::string name;
  std::string subnet;       // "10.213.0.0/26"
  std::string gateway;      // "10.213.0.1"
  std::string bridge_name;  // host interface name (≤ 15 bytes), e.g. "lt-0123456789ab"
  std::map<std::string, std::string> labels;
};

struct NetworkInfo {
  std::string id;
  std::string name;
  std::vector<std::string> subnets;  // CIDRs of its IPAM configuration
  std::map<std::string, std::string> labels;
};

// A small file written into a container (see Runtime::CopyFiles).
struct FileEntry {
  std::string name;     // a plain file name, no '/'
  std::string content;  // at most 1 MiB
  int mode = 0400;
};

struct ContainerInfo {
  std::string id;
  std::string name;  // without the leading '/'
  std::string image;
  std::string state;  // engine state: created, running, paused, restarting, exited, dead
  bool running = false;
  int exit_code = 0;
  bool oom_killed = false;
  std::string error;       // the engine's error message for a failed start, if any
  std::string started_at;  // when it was last started (the engine's text): tells runs apart
  std::map<std::string, std::string> labels;
  std::vector<PortBinding> ports;  // actual host bindings (host_port filled in)
  std::string network_mode;        // the network it was created on ("bridge", a name, …)
  std::map<std::string, std::string> addresses;  // network name → IPv4 address, while running
};

// One reading of a container's resource counters (Runtime::Stats). Counters are cumulative since
// the container started; rates and CPU percentages come from the difference of two readings
// (agent/stats_sampler.h). A field the engine did not report reads 0.
struct ContainerStats {
  std::uint64_t cpu_total_ns = 0;        // CPU time the container used, all cores
  std::uint64_t system_cpu_ns = 0;       // CPU time the whole host used, all cores (0: unknown)
  int online_cpus = 0;                   // cores the host has online (0: unknown)
  std::uint64_t memory_bytes = 0;        // in use, without the reclaimable page cache
  std::uint64_t memory_limit_bytes = 0;  // the cgroup's limit (the host's memory if none)
  std::uint64_t net_rx_bytes = 0;        // every interface of the container
  std::uint64_t net_tx_bytes = 0;
  std::uint64_t disk_read_bytes = 0;  // block I/O, every device
  std::uint64_t disk_write_bytes = 0;
  std::uint64_t pids = 0;
};

struct NodeInfo {
  int cpus = 0;
  std::int64_t memory_bytes = 0;
  std::int64_t disk_bytes = 0;  // free space of the engine's data root, if known
  std::string engine_version;
  std::string os;
};

// One container's log read asynchronously (Runtime::StreamLogs). Lives on the executor it was
// opened on: call Next() and Close() from there only, one Next() at a time. Owns its
// connection; destroying it closes the connection.
class LogReader {
 public:
  virtual ~LogReader() = default;
  // The next lines, at least one, without their '\n' (stdout and stderr interleaved as they
  // arrive; an unterminated last line comes at the end). An empty vector: the log ended (all
  // of it read, the followed container stopped, or Close() was called). An error: the engine
  // refused (kNotFound: no such container) or the connection broke.
  virtual boost::asio::awaitable<Result<std::vector<std::string>>> Next() = 0;
  // Ends the read at once: a Next() in progress, and every later one, returns the end.
  virtual void Close() = 0;
};

// How StreamLogs reads a log.
struct LogStreamOptions {
  int tail = 0;               // the last `tail` lines only; 0: all
  bool follow = false;        // then new lines until the container stops
  bool timestamps = false;    // each line starts with the engine's RFC 3339 time and a space
  std::int64_t since_ns = 0;  // lines written at or after this time (ns since the epoch); 0: all
};

class Runtime {
 public:
  virtual ~Runtime() = default;

  // kUnavailable if the engine does not answer.
  virtual Status Ping() = 0;
  virtual Result<NodeInfo> Info() = 0;

  // Ensures `image` is present: inspects it, and pulls it when absent. When neither works the
  // error's message is one short classified reason safe to show the workload's owner
  // (docker/pull_error.h), and the engine's own words are the error's member "engine_detail"
  // (for logs and administrators only).
  virtual Status EnsureImage(const std::string& image) = 0;
  // Whether `image` is present on the node (no pull). kUnavailable if the engine does not answer.
  virtual Result<bool> HasImage(const std::string& image) = 0;

  // Creates (does not start) a container; creates missing named volumes. Returns its id.
  // kConflict if the name is taken.
  virtual Result<std::string> Create(const ContainerSpec& spec) = 0;
  // Starts a created or stopped container. A host port that is already taken is kConflict
  // with the engine's message.
  virtual Status Start(const std::string& id) = 0;
  // Stops with SIGTERM, then SIGKILL after `grace`. Stopping a stopped container is ok.
  virtual Status Stop(const std::string& id, std::chrono::seconds grace) = 0;
  // Force-removes the container (and its anonymous volumes). A missing container is ok.
  virtual Status Remove(const std::string& id) = 0;
  // Removes a named volume. A missing volume is ok.
  virtual Status RemoveVolume(const std::string& name) = 0;

  // Networks. CreateNetwork returns the id; kConflict when the name exists or the subnet
  // overlaps another network's (the caller then picks another subnet). RemoveNetwork of a
  // missing network is ok; of one with containers attached, kConflict.
  virtual Result<std::string> CreateNetwork(const NetworkSpec& spec) = 0;
  virtual Result<std::vector<NetworkInfo>> ListNetworks() = 0;
  virtual Status RemoveNetwork(const std::string& id_or_name) = 0;

  // Writes `files` into directory `dir` of a created (not necessarily started) container, owned
  // by root with each file's mode. `dir` must be on a volume when the root filesystem is
  // read-only. Replaces files of the same name.
  virtual Status CopyFiles(const std::string& id, const std::string& dir,
                           const std::vector<FileEntry>& files) = 0;

  // kNotFound if no such container.
  virtual Result<ContainerInfo> Inspect(const std::string& id_or_name) = 0;
  // All containers (running or not) carrying label `key` (any value).
  virtual Result<std::vector<ContainerInfo>> ListByLabel(const std::string& key) = 0;

  // The last `tail` lines (0: all) of stdout+stderr, demultiplexed, as text.
  virtual Result<std::string> Logs(const std::string& id, int tail) = 0;
  // Opens the log of container `id` (an id or a name) on `executor`: the last `tail` lines
  // (0: all) written since `since_ns`, then, with `follow`, new lines until the container
  // stops. Connecting waits for nothing: the first Next() does it, bounded by the runtime's
  // timeout; a followed body has no bound (Close() ends it). The default reader fails every
  // Next() with kUnavailable: runtimes that cannot stream logs say so.
  virtual std::unique_ptr<LogReader> StreamLogs(boost::asio::any_io_executor executor,
                                                const std::string& id,
                                                const LogStreamOptions& options);
  std::unique_ptr<LogReader> StreamLogs(boost::asio::any_io_executor executor,
                                        const std::string& id, int tail, bool follow) {
    LogStreamOptions o;
    o.tail = tail;
    o.follow = follow;
    return StreamLogs(std::move(executor), id, o);
  }

  // One reading of the resource counters of running container `id` (an id or a name): one
  // engine request, bounded by `timeout` (zero: the runtime's own). kNotFound if no such
  // container, kConflict if it is not running. The default says the runtime cannot
  // (kUnavailable): runtimes that keep no counters say so.
  virtual Result<ContainerStats> Stats(const std::string& id, std::chrono::milliseconds timeout);
};

// A Docker Engine API client over a unix socket ("unix:///var/run/docker.sock") or
// "tcp://host:port". kInvalidArgument for an unsupported URL.
Result<std::unique_ptr<Runtime>> NewDockerRuntime(const std::string& docker_host);

// The engine address to use: `flag` if set, else $DOCKER_HOST, else the default socket.
std::string ResolveDockerHost(const std::string& flag);

}  // namespace lattice::runtime
