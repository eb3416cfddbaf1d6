#include "main/version.h"

#include "store/migrations.h"

namespace lattice {

std::string VersionLine() {
  return std::string("lattice ") + LATTICE_VERSION + " (commit " + std::string(BuildCommit()) +
         ", schema " + std::to_string(store::LatestSchemaVersion()) + ")";
}

}  // namespace lattice
