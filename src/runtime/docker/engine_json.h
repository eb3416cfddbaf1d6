// Translation between the Runtime vocabulary and the Docker Engine API's JSON (API 1.41).
// Pure functions, no I/O; the engine's answers are treated as untrusted input: a missing or
// mistyped field reads as empty/zero, never crashes.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "runtime/runtime.h"

namespace lattice::runtime::docker {

// kInvalidArgument, with one FieldError per problem, for a spec the engine would refuse or
// misread (missing name or image, bad ports, relative mount paths, negative limits).
Status ValidateSpec(const ContainerSpec& spec);

// The body of POST /containers/create: Image, Env, Cmd (only if set), User, Labels,
// ExposedPorts, NetworkingConfig (aliases on spec.network) and HostConfig {PortBindings, Mounts
// (named volumes), Memory = MemorySwap, NanoCpus, RestartPolicy "no", NetworkMode, and the
// confinement: CapDrop ALL + CapAdd, SecurityOpt no-new-privileges, Privileged false,
// PidsLimit, CpuShares, ReadonlyRootfs, Tmpfs, LogConfig json-file with max-size/max-file}.
boost::json::object ContainerCreateBody(const ContainerSpec& spec);

// The body of POST /networks/create: a bridge with the given subnet and bridge name, icc on.
boost::json::object NetworkCreateBody(const NetworkSpec& spec);

// GET /networks (or GET /networks/{id}, wrapped in an array) → NetworkInfo, skipping malformed
// entries.
std::vector<NetworkInfo> NetworksFromList(const boost::json::value& v);

// The body of POST /volumes/create.
boost::json::object VolumeCreateBody(const std::string& name,
                                     const std::map<std::string, std::string>& labels);

// GET /containers/{id}/json → ContainerInfo. Ports are the actual host bindings while the
// container runs; otherwise the requested ones (host_port 0 where the engine was to pick).
ContainerInfo ContainerInfoFromInspect(const boost::json::value& v);

// GET /info → NodeInfo (without disk_bytes) and the engine's data root (DockerRootDir).
struct EngineInfo {
  NodeInfo node;
  std::string root_dir;
};
EngineInfo EngineInfoFromInfo(const boost::json::value& v);

// GET /containers/{id}/stats?stream=false&one-shot=true → ContainerStats (cgroup v1 or v2).
// Memory is `usage` less the reclaimable page cache (`inactive_file` on cgroup v2,
// `total_inactive_file` on v1), as `docker stats` shows it; network and block I/O are summed over
// every interface and device. Negative, fractional or missing counters read as 0.
ContainerStats ContainerStatsFromJson(const boost::json::value& v);
// Whether a stats answer is a reading of a running container: the engine answers a stopped one
// with 200 and an empty reading whose `read` time is the zero time.
bool StatsAreLive(const boost::json::value& v);

// An image reference split into POST /images/create's fromImage and tag. Without a tag the
// tag is "latest" (an empty tag would pull every tag); with a digest the tag is empty.
struct ImageRef {
  std::string from_image;
  std::string tag;
};
ImageRef SplitImageRef(std::string_view image);

// Scans the newline-separated JSON progress messages of a pull or import, fed in arbitrary
// pieces, for the error the engine reports inside a 200 answer.
class ProgressScanner {
 public:
  void Feed(std::string_view piece);
  // The input ended (scans an unterminated last message).
  void Finish();
  const std::optional<std::string>& error() const { return error_; }

 private:
  void Scan(std::string_view line);

  std::string line_;
  std::optional<std::string> error_;
};

}  // namespace lattice::runtime::docker
