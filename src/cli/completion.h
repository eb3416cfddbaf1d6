// Shell completion generated from the command tree itself, so it never falls out of step with
// the binary: `source <(lattice completion bash)`.
#pragma once

#include <CLI/CLI.hpp>

#include <set>
#include <string>

namespace lattice::cli {

// A bash script defining `_lattice` and `complete -F _lattice lattice`. It completes every
// subcommand and option of `root`, the choices of options checked with CLI::IsMember, and —
// for the commands in `workload_cmds` — workload names from `lattice ps --quiet`.
std::string BashCompletion(CLI::App& root, const std::set<const CLI::App*>& workload_cmds);

}  // namespace lattice::cli
