#include "templates/spec_storage.h"

#include <boost/json.hpp>

namespace lattice::templates {
namespace json = boost::json;
namespace {

const char* KindName(Readiness::Kind k) {
  switch (k) {
    case Readiness::Kind::kPostgres:
      return "postgres";
    case Readiness::Kind::kHttp:
      return "http";
    case Readiness::Kind::kTcp:
      return "tcp";
    case Readiness::Kind::kRunning:
      break;
  }
  return "running";
}

// Typed reads that remember the first problem, naming the member.
class Fields {
 public:
  explicit Fields(const json::object& o, std::string where = "")
      : o_(o), where_(std::move(where)) {}
  const json::value* Get(std::string_view k) const {
    const json::value* v = o_.if_contains(k);
    return v != nullptr && !v->is_null() ? v : nullptr;
  }
  std::string Str(std::string_view k) {
    const json::value* v = Get(k);
    if (v == nullptr) return {};
    if (!v->is_string()) return Fail(k, "must be a string"), std::string();
    return std::string(v->as_string());
  }
  std::int64_t Int(std::string_view k) {
    const json::value* v = Get(k);
    if (v == nullptr) return 0;
    if (auto n = v->if_int64()) return *n;
    if (auto u = v->if_uint64(); u && *u <= INT64_MAX) return static_cast<std::int64_t>(*u);
    return Fail(k, "must be an integer"), 0;
  }
  double Num(std::string_view k) {
    const json::value* v = Get(k);
    if (v == nullptr) return 0;
    if (!v->is_number()) return Fail(k, "must be a number"), 0;
    return v->to_number<double>();
  }
  bool Bool(std::string_view k) {
    const json::value* v = Get(k);
    if (v == nullptr) return false;
    if (!v->is_bool()) return Fail(k, "must be a boolean"), false;
    return v->as_bool();
  }
  std::vector<std::string> Strings(std::string_view k) {
    std::vector<std::string> out;
    const json::value* v = Get(k);
    if (v == nullptr) return out;
    if (!v->is_array()) return Fail(k, "must be an array"), out;
    for (const auto& e : v->as_array()) {
      if (!e.is_string()) return Fail(k, "must hold strings"), out;
      out.emplace_back(e.as_string());
    }
    return out;
  }
  // The objects of array `k` (non-objects are a failure).
  std::vector<const json::object*> Objects(std::string_view k) {
    std::vector<const json::object*> out;
    const json::value* v = Get(k);
    if (v == nullptr) return out;
    if (!v->is_array()) return Fail(k, "must be an array"), out;
    for (const auto& e : v->as_array()) {
      if (!e.is_object()) return Fail(k, "must hold objects"), out;
      out.push_back(&e.as_object());
    }
    return out;
  }
  void Fail(std::string_view k, std::string_view why) {
    if (error_.empty()) error_ = where_ + std::string(k) + " " + std::string(why);
  }
  void Absorb(const Fields& inner) {
    if (error_.empty()) error_ = inner.error_;
  }
  const std::string& error() const { return error_; }

 private:
  const json::object& o_;
  std::string where_;
  std::string error_;
};

}  // namespace

std::string EncodeStoredSpec(const RenderedWorkload& s) {
  json::array ports, volumes, files;
  for (const auto& p : s.ports) {
    json::object o{{"name", p.name},
                   {"container_port", p.container_port},
                   {"protocol", p.protocol},
                   {"scheme", p.scheme},
                   {"idle_timeout_s", p.idle_timeout_s}};
    if (!p.probe.empty()) o["probe"] = p.probe;  // absent in older specs: no marker
    if (p.publish) o["publish"] = true;          // absent in older specs: not published
    ports.push_back(std::move(o));
  }
  for (const auto& v : s.volumes) volumes.push_back({{"name", v.name}, {"path", v.container_path}});
  for (const auto& f : s.secret_files) files.push_back({{"name", f.name}, {"content", f.content}});
  const Readiness& r = s.readiness;
  json::object out{{"format", kSpecFormat},
                   {"image", s.image},
                   {"env", json::array(s.env.begin(), s.env.end())},
                   {"command", json::array(s.command.begin(), s.command.end())},
                   {"ports", std::move(ports)},
                   {"volumes", std::move(volumes)},
                   {"memory_mb", s.memory_mb},
                   {"cpus", s.cpus},
                   {"readiness",
                    {{"kind", KindName(r.kind)},
                     {"port", r.container_port},
                     {"path", r.http_path},
                     {"username", r.username},
                     {"password", r.password},
                     {"database", r.database}}},
                   {"secret_files", std::move(files)}};
  if (s.confinement) {
    const Confinement& c = *s.confinement;
    out["confinement"] = {
        {"capabilities", json::array(c.capabilities.begin(), c.capabilities.end())},
        {"user", c.user},
        {"read_only_rootfs", c.read_only_rootfs},
        {"tmpfs", json::array(c.tmpfs.begin(), c.tmpfs.end())}};
  }
  if (s.restore) out["restore"] = RestoreToJson(*s.restore);
  if (s.volume_epoch > 0) out["volume_epoch"] = s.volume_epoch;
  return json::serialize(out);
}

Result<StoredSpec> DecodeStoredSpec(std::string_view text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return Error::Internal("stored workload spec is not a JSON object");
  Fields f(v.as_object());
  StoredSpec out;
  out.format = static_cast<int>(f.Int("format"));
  if (out.format < 0 || out.format > kSpecFormat)
    return Error::Internal("stored workload spec has format " + std::to_string(out.format) +
                           "; this server reads formats up to " + std::to_string(kSpecFormat) +
                           " (was the data written by a newer version?)");
  RenderedWorkload& s = out.spec;
  s.image = f.Str("image");
  s.env = f.Strings("env");
  s.command = f.Strings("command");
  for (const json::object* p : f.Objects("ports")) {
    Fields pf(*p, "ports: ");
    s.ports.push_back({pf.Str("name"), static_cast<int>(pf.Int("container_port")),
                       pf.Str("protocol"), pf.Str("scheme"),
                       static_cast<int>(pf.Int("idle_timeout_s")), pf.Str("probe"),
                       pf.Bool("publish")});
    f.Absorb(pf);
  }
  for (const json::object* vol : f.Objects("volumes")) {
    Fields vf(*vol, "volumes: ");
    s.volumes.push_back({vf.Str("name"), vf.Str("path")});
    f.Absorb(vf);
  }
  s.memory_mb = f.Int("memory_mb");
  s.cpus = f.Num("cpus");
  if (const json::value* rv = f.Get("readiness"); rv && rv->is_object()) {
    Fields rf(rv->as_object(), "readiness: ");
    const std::string kind = rf.Str("kind");
    if (kind == "postgres")
      s.readiness.kind = Readiness::Kind::kPostgres;
    else if (kind == "http")
      s.readiness.kind = Readiness::Kind::kHttp;
    else if (kind == "tcp")
      s.readiness.kind = Readiness::Kind::kTcp;
    else if (kind == "running" || kind.empty())
      s.readiness.kind = Readiness::Kind::kRunning;
    else
      rf.Fail("kind", "is unknown");
    s.readiness.container_port = static_cast<int>(rf.Int("port"));
    s.readiness.http_path = rf.Str("path");
    s.readiness.username = rf.Str("username");
    s.readiness.password = rf.Str("password");
    s.readiness.database = rf.Str("database");
    f.Absorb(rf);
  }
  if (const json::value* cv = f.Get("confinement"); cv && cv->is_object()) {
    Fields cf(cv->as_object(), "confinement: ");
    Confinement c;
    c.capabilities = cf.Strings("capabilities");
    c.user = cf.Str("user");
    c.read_only_rootfs = cf.Bool("read_only_rootfs");
    c.tmpfs = cf.Strings("tmpfs");
    f.Absorb(cf);
    s.confinement = std::move(c);
  }
  if (const json::value* rv = f.Get("restore"); rv && rv->is_object()) {
    RestoreSource r;
    std::string err;
    if (!RestoreFromJson(rv->as_object(), r, err))
      return Error::Internal("stored workload spec: restore: " + err);
    s.restore = std::move(r);
  }
  s.volume_epoch = f.Int("volume_epoch");  // absent before restores in place: 0
  if (s.volume_epoch < 0) f.Fail("volume_epoch", "must not be negative");
  for (const json::object* sf : f.Objects("secret_files")) {
    Fields ff(*sf, "secret_files: ");
    s.secret_files.push_back({ff.Str("name"), ff.Str("content")});
    f.Absorb(ff);
  }
  if (!f.error().empty()) return Error::Internal("stored workload spec: " + f.error());
  return out;
}

}  // namespace lattice::templates
