#include "cli/deploy_request.h"

#include <boost/json.hpp>

#include <charconv>
#include <set>

namespace lattice::cli {
namespace json = boost::json;

namespace {

Result<json::object> ParsePort(const std::string& text) {
  const auto slash = text.find('/');
  const std::string number = text.substr(0, slash);
  const std::string protocol = slash == std::string::npos ? "tcp" : text.substr(slash + 1);
  int port = 0;
  const auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), port);
  if (number.empty() || ec != std::errc() || end != number.data() + number.size() || port < 1 ||
      port > 65535)
    return Error::Invalid("--port '" + text + "': expected a port from 1 to 65535, e.g. 8080");
  if (protocol != "tcp" && protocol != "udp")
    return Error::Invalid("--port '" + text + "': the protocol must be tcp or udp, e.g. 53/udp");
  return json::object{{"port", port}, {"protocol", protocol}};
}

}  // namespace

Result<json::object> BuildDeployRequest(const DeployArgs& args) {
  json::object body{{"name", args.name}, {"template", args.template_name}};
  if (args.image) body["image"] = *args.image;

  json::object env;
  for (const auto& kv : args.env) {
    const auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0)
      return Error::Invalid("--env '" + kv + "': expected KEY=VALUE, e.g. --env MODE=prod");
    const std::string key = kv.substr(0, eq);
    if (env.contains(key)) return Error::Invalid("--env " + key + " is given more than once");
    env[key] = kv.substr(eq + 1);
  }
  if (!env.empty()) body["env"] = std::move(env);

  json::array ports;
  std::set<std::string> seen;
  for (const auto& p : args.ports) {
    auto port = ParsePort(p);
    if (!port.ok()) return std::move(port).error();
    const std::string key = json::serialize(*port);
    if (!seen.insert(key).second) return Error::Invalid("--port " + p + " is given more than once");
    ports.push_back(std::move(port).value());
  }
  if (!ports.empty()) body["ports"] = std::move(ports);

  json::array volumes;
  for (const auto& v : args.volumes) {
    const auto colon = v.find(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 >= v.size() || v[colon + 1] != '/')
      return Error::Invalid("--volume '" + v + "': expected NAME:/PATH, e.g. --volume data:/data");
    volumes.push_back(json::object{{"name", v.substr(0, colon)}, {"path", v.substr(colon + 1)}});
  }
  if (!volumes.empty()) body["volumes"] = std::move(volumes);

  if (!args.command.empty()) {
    json::array cmd;
    for (const auto& a : args.command) cmd.push_back(json::string(a));
    body["command"] = std::move(cmd);
  }
  if (args.memory_mb || args.cpus) {
    json::object res;
    if (args.memory_mb) res["memory_mb"] = *args.memory_mb;
    if (args.cpus) res["cpus"] = *args.cpus;
    body["resources"] = std::move(res);
  }
  if (args.idle_timeout_s) body["idle_timeout_s"] = *args.idle_timeout_s;
  if (args.publish) body["publish"] = true;
  if (args.user || !args.capabilities.empty()) {
    json::object security;
    if (args.user) security["user"] = *args.user;
    if (!args.capabilities.empty()) {
      json::array caps;
      for (std::string c : args.capabilities) {
        for (char& ch : c)
          if (ch >= 'a' && ch <= 'z') ch = static_cast<char>(ch - 'a' + 'A');
        if (c.rfind("CAP_", 0) == 0) c.erase(0, 4);  // capabilities(7) spells them CAP_X
        caps.push_back(json::string(c));
      }
      security["capabilities"] = std::move(caps);
    }
    body["security"] = std::move(security);
  }
  return body;
}

}  // namespace lattice::cli
