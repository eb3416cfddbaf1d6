// DockerRuntime: the Runtime over the Docker Engine API (1.41, i.e. Docker 20.10 and later),
// spoken with EngineClient over a unix socket or plain TCP. It never shells out.
//
// Immutable after construction and safe to use from many threads: each call opens its own
// connection. Every call is bounded by `timeout` (Stop: grace + timeout; a pull:
// pull_timeout). StreamLogs hands out readers that run on the caller's executor instead
// (log_reader.h); a followed log is not bounded.
//
// Engine quirk (Docker 20.10, json-file logging): a followed log stream ends when the container
// exits, before the logger has flushed a final line that lacks its '\n'; a followed StreamLogs
// therefore may miss such a last line, which a later Logs call does return.
#pragma once

#include <boost/json/value.hpp>

#include <chrono>
#include <memory>
#include <string>

#include "runtime/docker/engine_client.h"
#include "runtime/runtime.h"

namespace lattice::runtime::docker {

struct DockerRuntimeOptions {
  std::chrono::milliseconds timeout{std::chrono::seconds(30)};
  std::chrono::milliseconds pull_timeout{std::chrono::minutes(10)};
};

class DockerRuntime final : public Runtime {
 public:
  DockerRuntime(EngineAddress address, DockerRuntimeOptions opts);
  DockerRuntime(const DockerRuntime&) = delete;
  DockerRuntime& operator=(const DockerRuntime&) = delete;

  // Parses `docker_host` (see ParseEngineAddress) and builds a runtime for it.
  static Result<std::unique_ptr<DockerRuntime>> Open(const std::string& docker_host,
                                                     DockerRuntimeOptions opts = {});

  Status Ping() override;
  Result<NodeInfo> Info() override;
  Status EnsureImage(const std::string& image) override;
  Result<bool> HasImage(const std::string& image) override;
  Result<std::string> Create(const ContainerSpec& spec) override;
  Status Start(const std::string& id) override;
  Status Stop(const std::string& id, std::chrono::seconds grace) override;
  Status Remove(const std::string& id) override;
  Status RemoveVolume(const std::string& name) override;
  Result<std::string> CreateNetwork(const NetworkSpec& spec) override;
  Result<std::vector<NetworkInfo>> ListNetworks() override;
  Status RemoveNetwork(const std::string& id_or_name) override;
  Status CopyFiles(const std::string& id, const std::string& dir,
                   const std::vector<FileEntry>& files) override;
  Result<ContainerInfo> Inspect(const std::string& id_or_name) override;
  Result<std::vector<ContainerInfo>> ListByLabel(const std::string& key) override;
  Result<std::string> Logs(const std::string& id, int tail) override;
  // An EngineLogReader (log_reader.h) on `executor`.
  using Runtime::StreamLogs;
  std::unique_ptr<LogReader> StreamLogs(boost::asio::any_io_executor executor,
                                        const std::string& id,
                                        const LogStreamOptions& options) override;
  // GET /containers/{id}/stats?stream=false&one-shot=true: the engine's current counters at
  // once (no second reading, so its precpu_stats is empty; the caller keeps the previous one).
  Result<ContainerStats> Stats(const std::string& id, std::chrono::milliseconds timeout) override;

  // The underlying client, e.g. for tests that need an endpoint the Runtime does not cover.
  const EngineClient& client() const { return client_; }

 private:
  // A call whose whole answer is JSON; non-2xx answers become errors via ErrorFromResponse.
  Result<boost::json::value> GetJson(const std::string& target, std::string_view what);
  Status PullImage(const std::string& image);

  const EngineClient client_;
  const DockerRuntimeOptions opts_;
};

}  // namespace lattice::runtime::docker
