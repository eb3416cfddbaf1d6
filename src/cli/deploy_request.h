// Turns the arguments of `lattice deploy` into the body of POST /api/v1/workloads. Pure.
// Only what the command line alone can know is checked here (KEY=VALUE shape, port syntax);
// the server validates the rest and its field errors are shown as they come.
#pragma once

#include <boost/json/object.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"

namespace lattice::cli {

struct DeployArgs {
  std::string template_name;  // "postgres", "minio" or "custom"
  std::string name;
  std::optional<std::string> image;
  std::vector<std::string> env;    // "KEY=VALUE"
  std::vector<std::string> ports;  // "8080", "8080/tcp" or "53/udp"
  std::optional<std::int64_t> memory_mb;
  std::optional<double> cpus;
  std::vector<std::string> command;
  std::optional<std::int64_t> idle_timeout_s;  // every port's (the server checks the range)
  std::optional<std::string> user;             // "uid[:gid]" (custom; the server's allow-list)
  std::vector<std::string> capabilities;       // added back (custom; the server's allow-list)
  std::vector<std::string> volumes;            // "NAME:/PATH" (custom; named volumes)
  bool publish = false;  // every port also on the node's loopback (a host port)
};

// kInvalidArgument (a usage error) naming the flag: "--env 'FOO': expected KEY=VALUE".
Result<boost::json::object> BuildDeployRequest(const DeployArgs& args);

}  // namespace lattice::cli
