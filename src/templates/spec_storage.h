// The storage format of a rendered workload: what the server seals into `workloads.spec_enc`.
// It is versioned and owned here, apart from the agent-link codec (link/protocol.h), so the
// wire messages can change without a data migration and the stored rows can change without a
// protocol version.
//
//   format 1  {"format": 1, image, env[], command[], ports[{name, container_port, protocol,
//              scheme, idle_timeout_s}], volumes[{name, path}], memory_mb, cpus,
//              readiness{kind, port, path, username, password, database},
//              confinement?{capabilities[], user, read_only_rootfs, tmpfs[]},
//              secret_files[{name, content}], restore?{target{...}, backup_id, target_time},
//              volume_epoch?}
//              (restore: restore_source.h; added within format 1, absent unless restored;
//              volume_epoch: added within format 1, absent while 0)
//   legacy    the same members without "format": rows written before the format existed
//             (then by the link codec). Read as format 1 reads them; rewritten as format 1 by
//             the control plane's start-up migration.
//
// Pure; thread-safe. Decode never throws: malformed input is kInternal (stored data is ours).
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"
#include "templates/template.h"

namespace lattice::templates {

inline constexpr int kSpecFormat = 1;

// Always writes the current format.
std::string EncodeStoredSpec(const RenderedWorkload& spec);

struct StoredSpec {
  RenderedWorkload spec;
  int format = 0;  // 0: legacy (no "format" member)
};
// Reads every format this server knows; kInternal for a newer one or malformed text.
Result<StoredSpec> DecodeStoredSpec(std::string_view text);

}  // namespace lattice::templates
