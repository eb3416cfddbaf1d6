// EngineTest (tests only): a fixture for tests against the real Docker engine at
// ResolveDockerHost("") (scripts/ensure-docker.sh starts one). Skips, saying why, when no
// engine answers (fails instead when LATTICE_REQUIRE_DOCKER is set: common/test_env.h). Uses
// lattice/busybox:dev when present; otherwise imports a throw-away image from a static busybox
// on this machine ($LATTICE_TEST_BUSYBOX, or /bin/busybox from Debian's busybox-static) through
// the Engine API, removed after the suite. Everything a test creates carries the label
// lattice-test.run=<this process's run id> and is removed in TearDown.
// The engine set-up is per process: derive one test suite from it per test binary.
#pragma once

#include <gtest/gtest.h>

#include <boost/beast/http/verb.hpp>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "runtime/docker/docker_runtime.h"

namespace lattice::runtime::docker::testing {

inline constexpr char kRunLabel[] = "lattice-test.run";

double SecondsSince(std::chrono::steady_clock::time_point t);
EngineRequest Req(boost::beast::http::verb method, std::string target);
// Polls `pred` every 100 ms until it holds or `limit` passes; returns its last answer.
bool WaitFor(const std::function<bool()>& pred, std::chrono::milliseconds limit);

class EngineTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite();
  static void TearDownTestSuite();
  void SetUp() override;
  // Removes every container and volume labelled with this run.
  void TearDown() override;

  static const std::string& Run();    // unique per process
  static const std::string& Image();  // the busybox image the tests run

  // A spec named and labelled for this run and test.
  ContainerSpec Spec(const std::string& suffix, std::vector<std::string> command);
  std::string CreateAndStart(const ContainerSpec& spec);
  // The whole log, or "<the error>".
  std::string LogsOf(const std::string& id);

  DockerRuntime* rt_ = nullptr;  // null when skipped
};

}  // namespace lattice::runtime::docker::testing
