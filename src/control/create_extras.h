// What a workload the server creates for a user (a restore from a backup, control/backups.h)
// adds to the user's request (ControlPlane::CreateWorkload).
#pragma once

#include <optional>
#include <string>

#include "templates/restore_source.h"
#include "templates/template.h"

namespace lattice::control {

struct CreateExtras {
  templates::Credentials credentials;  // replace the generated ones of the same name
  std::optional<templates::RestoreSource> restore;
  std::string node_id;  // placed on this node at once, without the placer (empty: as usual)
  std::string event;    // the first line of its timeline (empty: "created by <email>")
};

}  // namespace lattice::control
