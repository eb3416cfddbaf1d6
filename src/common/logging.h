// Process-wide logging set-up (spdlog). Log lines are single-line key=value records on stderr
// so they can be grepped and shipped as-is.
#pragma once

#include <string>

namespace lattice {

// Sets the global level: "trace", "debug", "info", "warn", "error", "off". Unknown → info.
void InitLogging(const std::string& level);

}  // namespace lattice
