// The node's identity, issued by the server when the node joins (`welcome` with a node secret)
// and kept in <state_dir>/node.json so a restarted agent reconnects as the same node instead
// of joining again — together with the server CA's fingerprint from the join token, so the
// restarted agent keeps pinning the same server. The file holds a secret: it is written with mode
// 0600, atomically (temp file, fsync, rename, fsync of the directory), so a crash never leaves half
// a file. Stateless functions; callers serialise writes to one state_dir.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/result.h"

namespace lattice::agent {

struct NodeIdentity {
  std::string node_id;
  std::string node_secret;
  std::string ca_fingerprint;  // empty in files written before TLS links
  // Server replicas' agent URLs learned from the last welcome, to fail over to when the
  // configured server is away (even across an agent restart). Empty for a single server.
  std::vector<std::string> servers;
};

// The stored identity; std::nullopt when there is none yet. kInternal when the file exists but
// cannot be read or is not a valid identity (the message names the file).
Result<std::optional<NodeIdentity>> LoadNodeIdentity(const std::string& state_dir);

// Stores `id`, creating state_dir (mode 0700) if needed. kInternal with the OS's reason.
Status SaveNodeIdentity(const std::string& state_dir, const NodeIdentity& id);

}  // namespace lattice::agent
