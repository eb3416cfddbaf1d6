// The verb groups of the CLI, one file each; cli.cc registers them all. Each adds its
// subcommands to `app` (with options bound to storage the registered runner owns) and records
// the leaf commands in `reg`.
#pragma once

#include <CLI/CLI.hpp>

#include "cli/command.h"

namespace lattice::cli {

void AddLoginVerbs(CLI::App& app, Registry& reg);      // login, logout, whoami
void AddDeployVerbs(CLI::App& app, Registry& reg);     // deploy postgres|minio|custom
void AddListVerbs(CLI::App& app, Registry& reg);       // ps, inspect
void AddLogsVerb(CLI::App& app, Registry& reg);        // logs
void AddMetricsVerb(CLI::App& app, Registry& reg);     // metrics
void AddLifecycleVerbs(CLI::App& app, Registry& reg);  // start, stop, rm
void AddNodeVerbs(CLI::App& app, Registry& reg);       // nodes, join-token create
void AddAdminVerbs(CLI::App& app, Registry& reg);      // invite create|ls|rm, audit
void AddBackupVerbs(CLI::App& app, Registry& reg);     // backup target|schedule|now|ls
void AddNotifyVerbs(CLI::App& app, Registry& reg);     // notify add|ls|rm|test|log
// completion bash: generated from `app` once everything else is registered.
void AddCompletionVerb(CLI::App& app, Registry& reg);

}  // namespace lattice::cli
