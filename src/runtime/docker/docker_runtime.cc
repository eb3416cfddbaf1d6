#include "runtime/docker/docker_runtime.h"

#include <sys/statvfs.h>

#include <spdlog/spdlog.h>
#include <boost/json.hpp>

#include <cstdlib>

#include "runtime/docker/engine_json.h"
#include "runtime/docker/log_demux.h"
#include "runtime/docker/log_reader.h"
#include "runtime/docker/pull_error.h"
#include "runtime/docker/tar_writer.h"

namespace lattice::runtime {

std::string ResolveDockerHost(const std::string& flag) {
  if (!flag.empty()) return flag;
  if (const char* env = std::getenv("DOCKER_HOST"); env != nullptr && *env != '\0') return env;
  return "unix:///var/run/docker.sock";
}

Result<std::unique_ptr<Runtime>> NewDockerRuntime(const std::string& docker_host) {
  auto rt = docker::DockerRuntime::Open(docker_host);
  if (!rt.ok()) return std::move(rt).error();
  return std::unique_ptr<Runtime>(std::move(rt).value());
}

}  // namespace lattice::runtime

namespace lattice::runtime::docker {

namespace json = boost::json;
using bhttp_verb = boost::beast::http::verb;

namespace {

// Logs keeps at most this much text (the newest), so `tail = 0` on a chatty container cannot
// exhaust memory.
constexpr std::size_t kMaxLogText = 8 << 20;

std::string Quote(std::string_view s) {
  return "\"" + std::string(s) + "\"";
}

EngineRequest Req(bhttp_verb method, std::string target, std::string body = {}) {
  EngineRequest r;
  r.method = method;
  r.target = std::move(target);
  r.body = std::move(body);
  return r;
}

std::string ContainerPath(const std::string& id) {
  return "/containers/" + UrlEncode(id);
}

std::string TailParam(int tail) {
  return tail > 0 ? std::to_string(tail) : "all";
}

bool IsPoolOverlap(std::string_view msg) {
  return msg.find("overlaps") != std::string_view::npos;
}

bool IsPortInUse(std::string_view msg) {
  return msg.find("address already in use") != std::string_view::npos ||
         msg.find("port is already allocated") != std::string_view::npos;
}

}  // namespace

DockerRuntime::DockerRuntime(EngineAddress address, DockerRuntimeOptions opts)
    : client_(std::move(address), opts.timeout), opts_(opts) {}

Result<std::unique_ptr<DockerRuntime>> DockerRuntime::Open(const std::string& docker_host,
                                                           DockerRuntimeOptions opts) {
  auto address = ParseEngineAddress(docker_host);
  if (!address.ok()) return std::move(address).error();
  return std::make_unique<DockerRuntime>(std::move(address).value(), opts);
}

Result<json::value> DockerRuntime::GetJson(const std::string& target, std::string_view what) {
  auto res = client_.Call(Req(bhttp_verb::get, target));
  if (!res.ok()) return std::move(res).error();
  if (res->status != 200) return ErrorFromResponse(*res, what);
  boost::system::error_code ec;
  json::value v = json::parse(res->body, ec);
  if (ec) return Error::Internal(std::string(what) + ": the engine answered malformed JSON");
  return v;
}

Status DockerRuntime::Ping() {
  auto res = client_.Call(Req(bhttp_verb::get, "/_ping"));
  if (!res.ok()) return std::move(res).error();
  if (res->status != 200) {
    return Error::Unavailable("the Docker engine at " + client_.address().url +
                              " answered ping with HTTP " + std::to_string(res->status) + ": " +
                              EngineMessage(res->body));
  }
  return Status::Ok();
}

Result<NodeInfo> DockerRuntime::Info() {
  auto v = GetJson("/info", "read the Docker engine's info");
  if (!v.ok()) return std::move(v).error();
  EngineInfo info = EngineInfoFromInfo(*v);
  // The data root is a path on the engine's machine: only meaningful over a local socket.
  struct statvfs fs {};
  if (!client_.address().unix_path.empty() && !info.root_dir.empty() &&
      statvfs(info.root_dir.c_str(), &fs) == 0) {
    info.node.disk_bytes = static_cast<std::int64_t>(fs.f_bavail) * fs.f_frsize;
  }
  return info.node;
}

Result<bool> DockerRuntime::HasImage(const std::string& image) {
  if (image.empty()) return false;
  auto res = client_.Call(Req(bhttp_verb::get, "/images/" + UrlEncode(image, true) + "/json"));
  if (!res.ok()) return std::move(res).error();
  if (res->status == 200) return true;
  if (res->status == 404) return false;
  return ErrorFromResponse(*res, "inspect image " + Quote(image));
}

Status DockerRuntime::EnsureImage(const std::string& image) {
  if (image.empty()) return Error::Invalid("an image name is required");
  auto res = client_.Call(Req(bhttp_verb::get, "/images/" + UrlEncode(image, true) + "/json"));
  if (!res.ok()) return std::move(res).error();
  if (res->status == 200) return Status::Ok();
  if (res->status != 404) return ErrorFromResponse(*res, "inspect image " + Quote(image));
  // The engine answers; whatever stops the pull now is a reason the image is missing. Its
  // words may name hosts and ports of the node's network: the owner gets the class only.
  Status pulled = PullImage(image);
  if (pulled.ok()) return pulled;
  const std::string& engine_text = pulled.error().message;
  const PullFailure kind = ClassifyPullError(engine_text);
  spdlog::warn("msg=\"image pull failed\" image=\"{}\" class={} engine=\"{}\"", image,
               PullFailureSlug(kind), engine_text);
  Error e = Error::NotFound(PullFailureReason(kind, image));
  e.type = std::string(PullFailureSlug(kind));
  e.members.push_back({"engine_detail", engine_text});
  return e;
}

Status DockerRuntime::PullImage(const std::string& image) {
  ImageRef ref = SplitImageRef(image);
  std::string target = "/images/create?fromImage=" + UrlEncode(ref.from_image);
  if (!ref.tag.empty()) target += "&tag=" + UrlEncode(ref.tag);
  ProgressScanner progress;
  StreamOptions opts;
  opts.body_timeout = opts_.pull_timeout;
  opts.on_data = [&progress](std::string_view piece) {
    progress.Feed(piece);
    return true;
  };
  auto res = client_.Stream(Req(bhttp_verb::post, target), opts, opts_.pull_timeout);
  if (!res.ok()) return std::move(res).error();
  if (res->status / 100 != 2) return Error::NotFound(EngineMessage(res->body));
  progress.Finish();
  if (progress.error()) return Error::NotFound(*progress.error());
  return Status::Ok();
}

Result<std::string> DockerRuntime::Create(const ContainerSpec& spec) {
  if (Status valid = ValidateSpec(spec); !valid.ok()) return std::move(valid).error();
  for (const VolumeMount& v : spec.volumes) {
    std::string body = json::serialize(VolumeCreateBody(v.volume, spec.labels));
    auto res = client_.Call(Req(bhttp_verb::post, "/volumes/create", std::move(body)));
    if (!res.ok()) return std::move(res).error();
    if (res->status / 100 != 2) return ErrorFromResponse(*res, "create volume " + Quote(v.volume));
  }
  std::string body = json::serialize(ContainerCreateBody(spec));
  auto res = client_.Call(
      Req(bhttp_verb::post, "/containers/create?name=" + UrlEncode(spec.name), std::move(body)));
  if (!res.ok()) return std::move(res).error();
  if (res->status == 404) {
    return Error::NotFound("cannot create container " + Quote(spec.name) + ": image " +
                           Quote(spec.image) + " is not present on this node (" +
                           EngineMessage(res->body) + ")");
  }
  if (res->status != 201) return ErrorFromResponse(*res, "create container " + Quote(spec.name));
  boost::system::error_code ec;
  json::value v = json::parse(res->body, ec);
  const json::value* id = !ec && v.is_object() ? v.as_object().if_contains("Id") : nullptr;
  if (id == nullptr || !id->is_string() || id->as_string().empty()) {
    return Error::Internal("create container " + Quote(spec.name) +
                           ": the engine's answer has no Id");
  }
  return std::string(id->as_string());
}

Status DockerRuntime::Start(const std::string& id) {
  auto res = client_.Call(Req(bhttp_verb::post, ContainerPath(id) + "/start"));
  if (!res.ok()) return std::move(res).error();
  if (res->status == 204 || res->status == 304) return Status::Ok();
  std::string what = "start container " + Quote(id);
  if (res->status / 100 == 5 && IsPortInUse(res->body)) {
    return Error::Conflict(
        what + ": a published host port is already in use: " + EngineMessage(res->body));
  }
  return ErrorFromResponse(*res, what);
}

Status DockerRuntime::Stop(const std::string& id, std::chrono::seconds grace) {
  if (grace.count() < 0) grace = std::chrono::seconds(0);
  auto res = client_.Call(
      Req(bhttp_verb::post, ContainerPath(id) + "/stop?t=" + std::to_string(grace.count())),
      grace + opts_.timeout);
  if (!res.ok()) return std::move(res).error();
  if (res->status == 204 || res->status == 304) return Status::Ok();
  return ErrorFromResponse(*res, "stop container " + Quote(id));
}

Status DockerRuntime::Remove(const std::string& id) {
  auto res = client_.Call(Req(bhttp_verb::delete_, ContainerPath(id) + "?force=true&v=true"));
  if (!res.ok()) return std::move(res).error();
  if (res->status == 204 || res->status == 404) return Status::Ok();
  return ErrorFromResponse(*res, "remove container " + Quote(id));
}

Status DockerRuntime::RemoveVolume(const std::string& name) {
  auto res = client_.Call(Req(bhttp_verb::delete_, "/volumes/" + UrlEncode(name)));
  if (!res.ok()) return std::move(res).error();
  if (res->status == 204 || res->status == 404) return Status::Ok();
  if (res->status == 409) {
    return Error::Conflict("volume " + Quote(name) +
                           " is in use by a container: " + EngineMessage(res->body));
  }
  return ErrorFromResponse(*res, "remove volume " + Quote(name));
}

Result<std::string> DockerRuntime::CreateNetwork(const NetworkSpec& spec) {
  std::string body = json::serialize(NetworkCreateBody(spec));
  auto res = client_.Call(Req(bhttp_verb::post, "/networks/create", std::move(body)));
  if (!res.ok()) return std::move(res).error();
  const std::string what = "create network " + Quote(spec.name);
  if (res->status == 409 || (res->status / 100 != 2 && IsPoolOverlap(res->body)))
    return Error::Conflict(what + ": " + EngineMessage(res->body));
  if (res->status != 201 && res->status != 200) return ErrorFromResponse(*res, what);
  boost::system::error_code ec;
  json::value v = json::parse(res->body, ec);
  const json::value* id = !ec && v.is_object() ? v.as_object().if_contains("Id") : nullptr;
  if (id == nullptr || !id->is_string()) return Error::Internal(what + ": the answer has no Id");
  return std::string(id->as_string());
}

Result<std::vector<NetworkInfo>> DockerRuntime::ListNetworks() {
  auto v = GetJson("/networks", "list networks");
  if (!v.ok()) return std::move(v).error();
  return NetworksFromList(*v);
}

Status DockerRuntime::RemoveNetwork(const std::string& id_or_name) {
  auto res = client_.Call(Req(bhttp_verb::delete_, "/networks/" + UrlEncode(id_or_name)));
  if (!res.ok()) return std::move(res).error();
  if (res->status == 204 || res->status == 200 || res->status == 404) return Status::Ok();
  if (res->status == 403 || res->status == 409 ||
      EngineMessage(res->body).find("active endpoints") != std::string::npos) {
    return Error::Conflict("network " + Quote(id_or_name) +
                           " still has containers: " + EngineMessage(res->body));
  }
  return ErrorFromResponse(*res, "remove network " + Quote(id_or_name));
}

Status DockerRuntime::CopyFiles(const std::string& id, const std::string& dir,
                                const std::vector<FileEntry>& files) {
  auto tar = TarArchive(files);
  if (!tar.ok()) return std::move(tar).error();
  EngineRequest req = Req(bhttp_verb::put, ContainerPath(id) + "/archive?path=" + UrlEncode(dir),
                          std::move(tar).value());
  req.content_type = "application/x-tar";
  auto res = client_.Call(req);
  if (!res.ok()) return std::move(res).error();
  if (res->status == 200) return Status::Ok();
  return ErrorFromResponse(*res, "write files into " + Quote(dir) + " of container " + Quote(id));
}

Result<ContainerInfo> DockerRuntime::Inspect(const std::string& id_or_name) {
  auto v = GetJson(ContainerPath(id_or_name) + "/json", "inspect container " + Quote(id_or_name));
  if (!v.ok()) {
    if (v.error().code == ErrorCode::kNotFound) {
      return Error::NotFound("no container " + Quote(id_or_name) + " on this node");
    }
    return std::move(v).error();
  }
  return ContainerInfoFromInspect(*v);
}

Result<std::vector<ContainerInfo>> DockerRuntime::ListByLabel(const std::string& key) {
  json::object filters{{"label", json::array{json::value(key)}}};
  auto v = GetJson("/containers/json?all=1&filters=" + UrlEncode(json::serialize(filters)),
                   "list containers labelled " + Quote(key));
  if (!v.ok()) return std::move(v).error();
  if (!v->is_array()) return Error::Internal("list containers: the engine did not answer a list");
  // The list entries lack the exit code and OOM state: inspect each (a container removed
  // meanwhile is skipped).
  std::vector<ContainerInfo> out;
  for (const json::value& entry : v->as_array()) {
    const json::value* id = entry.is_object() ? entry.as_object().if_contains("Id") : nullptr;
    if (id == nullptr || !id->is_string()) continue;
    auto info = Inspect(std::string(id->as_string()));
    if (info.ok()) {
      out.push_back(std::move(info).value());
    } else if (info.error().code != ErrorCode::kNotFound) {
      return std::move(info).error();
    }
  }
  return out;
}

Result<std::string> DockerRuntime::Logs(const std::string& id, int tail) {
  std::string text;
  LogDemuxer demux;
  auto sink = [&text](LogStream, std::string_view payload) {
    text.append(payload);
    if (text.size() > kMaxLogText) {
      // Keep the newest half, starting at a line boundary.
      std::size_t cut = text.find('\n', text.size() - kMaxLogText / 2);
      text.erase(0, cut == std::string::npos ? text.size() - kMaxLogText / 2 : cut + 1);
    }
  };
  StreamOptions opts;
  opts.body_timeout = opts_.timeout;
  opts.on_data = [&](std::string_view piece) {
    demux.Feed(piece, sink);
    return true;
  };
  auto res = client_.Stream(
      Req(bhttp_verb::get, ContainerPath(id) + "/logs?stdout=1&stderr=1&tail=" + TailParam(tail)),
      opts);
  if (!res.ok()) return std::move(res).error();
  if (res->status != 200) return ErrorFromResponse(*res, "read the logs of " + Quote(id));
  demux.Finish(sink);
  return text;
}

std::unique_ptr<LogReader> DockerRuntime::StreamLogs(boost::asio::any_io_executor executor,
                                                     const std::string& id,
                                                     const LogStreamOptions& o) {
  std::string target = ContainerPath(id) + "/logs?stdout=1&stderr=1" +
                       (o.follow ? "&follow=1" : "") + (o.timestamps ? "&timestamps=1" : "") +
                       "&tail=" + TailParam(o.tail);
  if (o.since_ns > 0) {
    // The engine takes "seconds.nanoseconds" and returns the lines at or after it.
    char since[48];
    std::snprintf(since, sizeof since, "&since=%lld.%09lld",
                  static_cast<long long>(o.since_ns / 1'000'000'000),
                  static_cast<long long>(o.since_ns % 1'000'000'000));
    target += since;
  }
  return std::make_unique<EngineLogReader>(
      std::move(executor), client_.address(), std::move(target),
      std::string(o.follow ? "follow" : "read") + " the logs of " + Quote(id), opts_.timeout);
}

Result<ContainerStats> DockerRuntime::Stats(const std::string& id,
                                            std::chrono::milliseconds timeout) {
  const std::string what = "read the resource usage of " + Quote(id);
  auto res = client_.Call(
      Req(bhttp_verb::get, ContainerPath(id) + "/stats?stream=false&one-shot=true"), timeout);
  if (!res.ok()) return std::move(res).error();
  if (res->status != 200) return ErrorFromResponse(*res, what);
  boost::system::error_code ec;
  json::value v = json::parse(res->body, ec);
  if (ec) return Error::Internal(what + ": the engine answered malformed JSON");
  // A container that is not running answers 200 with empty counters (and no read time).
  if (!StatsAreLive(v)) return Error::Conflict(what + ": it is not running");
  return ContainerStatsFromJson(v);
}

}  // namespace lattice::runtime::docker
