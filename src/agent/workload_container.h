// How a link::Assignment maps onto the container engine: deterministic names (so a restarted
// agent finds, and never duplicates, what it created), the labels every Lattice container
// carries, the runtime::ContainerSpec to create, and readable reasons for what the engine
// reports. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "agent/container_target.h"
#include "link/protocol.h"
#include "runtime/runtime.h"

namespace lattice::agent {

inline constexpr char kLabelWorkload[] = "lattice.workload";      // workload id
inline constexpr char kLabelNode[] = "lattice.node";              // node id that created it
inline constexpr char kLabelGeneration[] = "lattice.generation";  // generation it was created for
inline constexpr char kLabelSpec[] = "lattice.spec";  // hash of the spec: a change means recreate

// A workload id is safe to embed in engine names: 1-128 of [A-Za-z0-9_.-], starting with a
// letter or digit. Anything else is refused before it reaches the engine.
bool IsValidWorkloadId(std::string_view id);

// "lattice-<workload id>".
std::string ContainerName(const std::string& workload_id);
// "lattice-<workload id>-<volume name>", and for a later set of data volumes (epoch N > 0, after
// the N-th restore in place: templates::RenderedWorkload::volume_epoch) "…-<volume name>.rN".
// Volume names hold no '.', so no epoch's name is another volume's.
std::string VolumeName(const std::string& workload_id, const std::string& volume,
                       std::int64_t epoch = 0);
// Every named volume the workload's container uses: the spec's (of its volume epoch), plus
// "secrets" (mounted at templates::kSecretsDir) when the spec has secret files.
std::vector<std::string> VolumeNamesOf(const link::Assignment& a);
// The spec's volumes of every epoch before the current one: what a restore in place replaced,
// removed once the restored workload is ready (and when it is deleted).
std::vector<std::string> ReplacedVolumeNamesOf(const link::Assignment& a);

// What every container gets whatever its spec says (docs/security.md): memory when the spec
// names none (stored specs from before every workload had a limit), pids, log rotation.
inline constexpr std::int64_t kDefaultMemoryMb = 256;
inline constexpr std::int64_t kPidsLimit = 512;

// A stable fingerprint of everything that needs a new container when it changes (image, env,
// command, ports, volumes, limits, confinement, secrets, the network it joins). 16 hex digits.
std::string SpecHash(const templates::RenderedWorkload& spec, const std::string& network = "");

// The container for `a` on node `node_id`: the ports the spec marks `publish` (and udp ports)
// published on 127.0.0.1 with engine-chosen host ports — no others: the agent reaches the
// container on its own address (AddressOf) —, named volumes, memory/cpu limits, the four labels
// above, and its confinement. With a `network` it joins that network, reachable there by the
// workload's name.
runtime::ContainerSpec ToContainerSpec(const link::Assignment& a, const std::string& node_id,
                                       const std::string& network = "");

// What a supervisor saw of a container it reports on: the address the node reaches it at
// (AddressOf) and the host bindings of its published ports (BindingsOf). Empty when unknown.
struct Reach {
  std::string address{};
  std::vector<link::PortBindingReport> bindings{};
};
Reach ReachOf(const runtime::ContainerInfo& c);

// container_port → host_port of the published ports (tcp first; a udp port only when no tcp
// binding has the same container port), ordered by container port.
std::vector<link::PortBindingReport> BindingsOf(const runtime::ContainerInfo& c);

// The container's IPv4 address on the network it was created on (its tenant network, else the
// engine's default bridge), where the node reaches it without docker-proxy; "" when it has
// none (not running, or no network).
std::string AddressOf(const runtime::ContainerInfo& c);

// The tcp host port the engine published `container_port` on, or 0.
int HostPortFor(const runtime::ContainerInfo& c, int container_port);

// Where the node reaches `container_port` of `c`: its address and that port; without an
// address, the published host port on 127.0.0.1; else not ok().
ContainerTarget TargetFor(const runtime::ContainerInfo& c, int container_port);

// Why a container that should run does not: "exited with code 3", "exited with code 137 (out of
// memory)", plus the engine's start error when it has one.
std::string ExitReason(const runtime::ContainerInfo& c);

// The generation label of `c`, or 0 when missing or malformed.
std::int64_t GenerationOf(const runtime::ContainerInfo& c);

// The label value, or "" when absent.
std::string LabelOf(const runtime::ContainerInfo& c, const std::string& key);

}  // namespace lattice::agent
