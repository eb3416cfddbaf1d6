#include "api/workload_request.h"

#include <boost/json.hpp>

#include <cmath>
#include <set>

#include "common/json_util.h"

namespace lattice::api {
namespace json = boost::json;

namespace {

std::optional<std::int64_t> AsInt(const json::value& v) {
  if (v.is_int64()) return v.as_int64();
  if (v.is_uint64() && v.as_uint64() <= 1'000'000'000'000ull)
    return static_cast<std::int64_t>(v.as_uint64());
  if (v.is_double() && std::floor(v.as_double()) == v.as_double() && std::abs(v.as_double()) < 1e12)
    return static_cast<std::int64_t>(v.as_double());
  return std::nullopt;
}

// An optional integer member `key` of `o` (the range is Validate's); null counts as absent.
std::optional<std::int64_t> OptionalSeconds(const json::object& o, std::string_view key,
                                            const std::string& field, FieldReader& r) {
  const json::value* v = o.if_contains(key);
  if (!v || v->is_null()) return std::nullopt;
  auto n = AsInt(*v);
  if (!n) r.AddError(field, "must be an integer (seconds)");
  return n;
}

}  // namespace

Result<templates::WorkloadRequest> ParseWorkloadRequest(const json::object& body) {
  static const std::set<std::string_view> kKnown = {
      "name",      "template",       "image",    "env",     "command", "ports",
      "resources", "idle_timeout_s", "security", "volumes", "publish"};
  FieldReader r(body);
  templates::WorkloadRequest req;
  for (const auto& [k, v] : body)
    if (!kKnown.count(k)) r.AddError(std::string(k), "is not a known field");
  req.name = r.RequiredString("name");
  req.template_name = r.RequiredString("template");
  req.image = r.OptionalString("image");

  if (const json::value* env = body.if_contains("env"); env && !env->is_null()) {
    if (!env->is_object()) {
      r.AddError("env", "must be an object of string values");
    } else {
      for (const auto& [k, v] : env->as_object()) {
        if (!v.is_string())
          r.AddError("env." + std::string(k).substr(0, 128), "must be a string");
        else
          req.env.emplace_back(std::string(k), std::string(v.as_string()));
      }
    }
  }
  if (const json::value* cmd = body.if_contains("command"); cmd && !cmd->is_null()) {
    if (!cmd->is_array()) {
      r.AddError("command", "must be an array of strings");
    } else {
      for (std::size_t i = 0; i < cmd->as_array().size(); ++i) {
        const auto& a = cmd->as_array()[i];
        if (!a.is_string())
          r.AddError("command[" + std::to_string(i) + "]", "must be a string");
        else
          req.command.emplace_back(a.as_string());
      }
    }
  }
  if (const json::value* ports = body.if_contains("ports"); ports && !ports->is_null()) {
    if (!ports->is_array()) {
      r.AddError("ports", "must be an array of {port, protocol}");
    } else {
      for (std::size_t i = 0; i < ports->as_array().size(); ++i) {
        const std::string f = "ports[" + std::to_string(i) + "]";
        const auto& p = ports->as_array()[i];
        templates::PortRequest pr;
        if (p.is_int64() || p.is_uint64()) {  // shorthand: a bare port number
          auto n = AsInt(p);
          pr.port = n && *n >= INT32_MIN && *n <= INT32_MAX ? static_cast<int>(*n) : 0;
          req.ports.push_back(pr);
          continue;
        }
        if (!p.is_object()) {
          r.AddError(f, "must be an object {port, protocol}");
          continue;
        }
        r.RefuseUnknown(p.as_object(), f + ".",
                        {"port", "protocol", "idle_timeout_s", "probe", "publish"});
        const json::value* port = p.as_object().if_contains("port");
        auto n = port ? AsInt(*port) : std::nullopt;
        if (!n)
          r.AddError(f + ".port", port ? "must be an integer" : "is required");
        else
          pr.port = *n >= -1'000'000 && *n <= 1'000'000 ? static_cast<int>(*n) : -1;
        if (const json::value* proto = p.as_object().if_contains("protocol");
            proto && !proto->is_null()) {
          if (!proto->is_string())
            r.AddError(f + ".protocol", "must be a string");
          else
            pr.protocol = std::string(proto->as_string());
        }
        pr.idle_timeout_s =
            OptionalSeconds(p.as_object(), "idle_timeout_s", f + ".idle_timeout_s", r);
        if (const json::value* probe = p.as_object().if_contains("probe");
            probe && !probe->is_null()) {
          if (!probe->is_string())
            r.AddError(f + ".probe", "must be a string");
          else
            pr.probe = std::string(probe->as_string());
        }
        if (const json::value* pub = p.as_object().if_contains("publish"); pub && !pub->is_null()) {
          if (!pub->is_bool())
            r.AddError(f + ".publish", "must be a boolean");
          else
            pr.publish = pub->as_bool();
        }
        req.ports.push_back(pr);
      }
    }
  }
  if (const json::value* vols = body.if_contains("volumes"); vols && !vols->is_null()) {
    if (!vols->is_array()) {
      r.AddError("volumes", "must be an array of {name, path}");
    } else {
      for (std::size_t i = 0; i < vols->as_array().size() && i < 64; ++i) {
        const std::string f = "volumes[" + std::to_string(i) + "]";
        const auto& v = vols->as_array()[i];
        if (!v.is_object()) {
          r.AddError(f, "must be an object {name, path}");
          continue;
        }
        r.RefuseUnknown(v.as_object(), f + ".", {"name", "path"});
        templates::VolumeRequest vr;
        for (auto [key, out] : {std::pair{"name", &vr.name}, std::pair{"path", &vr.path}}) {
          const json::value* x = v.as_object().if_contains(key);
          if (!x || !x->is_string())
            r.AddError(f + "." + key, x ? "must be a string" : "is required");
          else
            *out = std::string(x->as_string());
        }
        req.volumes.push_back(std::move(vr));
      }
    }
  }
  req.idle_timeout_s = OptionalSeconds(body, "idle_timeout_s", "idle_timeout_s", r);
  req.publish = r.OptionalBool("publish").value_or(false);
  if (const json::value* res = body.if_contains("resources"); res && !res->is_null()) {
    if (!res->is_object()) {
      r.AddError("resources", "must be an object {memory_mb, cpus}");
    } else {
      const json::object& ro = res->as_object();
      r.RefuseUnknown(ro, "resources.", {"memory_mb", "cpus"});
      if (const json::value* m = ro.if_contains("memory_mb"); m && !m->is_null()) {
        auto n = AsInt(*m);
        if (!n)
          r.AddError("resources.memory_mb", "must be an integer");
        else
          req.memory_mb = *n;
      }
      if (const json::value* c = ro.if_contains("cpus"); c && !c->is_null()) {
        if (!c->is_number())
          r.AddError("resources.cpus", "must be a number");
        else
          req.cpus = c->to_number<double>();
      }
    }
  }
  if (const json::value* sec = body.if_contains("security"); sec && !sec->is_null()) {
    if (!sec->is_object()) {
      r.AddError("security", "must be an object {user, capabilities}");
    } else {
      for (const auto& [k, v] : sec->as_object()) {
        if (k == "user") {
          if (!v.is_string())
            r.AddError("security.user", "must be a string such as \"1000:1000\"");
          else
            req.user = std::string(v.as_string());
        } else if (k == "capabilities") {
          if (!v.is_array()) {
            r.AddError("security.capabilities", "must be an array of capability names");
            continue;
          }
          for (std::size_t i = 0; i < v.as_array().size(); ++i) {
            const auto& c = v.as_array()[i];
            if (!c.is_string())
              r.AddError("security.capabilities[" + std::to_string(i) + "]", "must be a string");
            else
              req.capabilities.emplace_back(c.as_string());
          }
        } else {
          r.AddError("security." + std::string(k).substr(0, 64), "is not a known field");
        }
      }
    }
  }
  if (!r.ok()) return r.ToError();
  return req;
}

}  // namespace lattice::api
