#include "link/protocol.h"

#include <boost/json.hpp>

#include <cmath>
#include <optional>

namespace lattice::link {
namespace json = boost::json;
namespace {

using templates::PortSpec;
using templates::Readiness;
using templates::RenderedWorkload;
using templates::VolumeSpec;

// Reads typed fields from an object, remembering the first problem.
class Reader {
 public:
  explicit Reader(const json::object& o) : o_(o) {}
  std::string Str(std::string_view k, bool required = true) {
    const json::value* v = o_.if_contains(k);
    if (!v || v->is_null()) return Missing(k, required), std::string();
    if (!v->is_string()) return Fail(k, "must be a string"), std::string();
    return std::string(v->as_string());
  }
  std::int64_t Int(std::string_view k, bool required = true) {
    const json::value* v = o_.if_contains(k);
    if (!v || v->is_null()) return Missing(k, required), 0;
    if (v->is_int64()) return v->as_int64();
    if (v->is_uint64() && v->as_uint64() <= INT64_MAX)
      return static_cast<std::int64_t>(v->as_uint64());
    return Fail(k, "must be an integer"), 0;
  }
  double Num(std::string_view k) {
    const json::value* v = o_.if_contains(k);
    if (!v || v->is_null()) return 0;
    if (v->is_double()) return v->as_double();
    if (v->is_int64()) return static_cast<double>(v->as_int64());
    if (v->is_uint64()) return static_cast<double>(v->as_uint64());
    return Fail(k, "must be a number"), 0;
  }
  bool Bool(std::string_view k) {
    const json::value* v = o_.if_contains(k);
    if (!v || v->is_null()) return false;
    if (!v->is_bool()) return Fail(k, "must be a boolean"), false;
    return v->as_bool();
  }
  const json::array* Arr(std::string_view k) {
    const json::value* v = o_.if_contains(k);
    if (!v || v->is_null()) return &empty_;
    if (!v->is_array()) return Fail(k, "must be an array"), &empty_;
    return &v->as_array();
  }
  const json::object* Obj(std::string_view k, bool required = true) {
    const json::value* v = o_.if_contains(k);
    if (!v || v->is_null()) return Missing(k, required), nullptr;
    if (!v->is_object()) return Fail(k, "must be an object"), nullptr;
    return &v->as_object();
  }
  // A required state name, parsed by `parse` (common/states.h); an unknown name is an error.
  template <typename State, typename Parse>
  State Named(std::string_view k, Parse parse) {
    const std::string name = Str(k);
    if (!error_.empty()) return State{};
    const std::optional<State> state = parse(name);
    if (!state) return Fail(k, "'" + name.substr(0, 64) + "' is unknown"), State{};
    return *state;
  }
  std::vector<std::string> Strings(std::string_view k) {
    std::vector<std::string> out;
    for (const auto& e : *Arr(k)) {
      if (!e.is_string()) return Fail(k, "must hold strings"), out;
      out.emplace_back(e.as_string());
    }
    return out;
  }
  std::vector<std::int64_t> Ints(std::string_view k) {
    std::vector<std::int64_t> out;
    for (const auto& e : *Arr(k)) {
      if (e.is_int64()) {
        out.push_back(e.as_int64());
      } else if (e.is_uint64() && e.as_uint64() <= INT64_MAX) {
        out.push_back(static_cast<std::int64_t>(e.as_uint64()));
      } else {
        return Fail(k, "must hold integers"), out;
      }
    }
    return out;
  }
  void Fail(std::string_view k, std::string_view why) {
    if (error_.empty()) error_ = std::string(k) + " " + std::string(why);
  }
  const std::string& error() const { return error_; }

 private:
  void Missing(std::string_view k, bool required) {
    if (required) Fail(k, "is required");
  }
  const json::object& o_;
  std::string error_;
  static inline const json::array empty_{};
};

const char* ReadinessName(Readiness::Kind k) {
  switch (k) {
    case Readiness::Kind::kRunning:
      return "running";
    case Readiness::Kind::kPostgres:
      return "postgres";
    case Readiness::Kind::kHttp:
      return "http";
    case Readiness::Kind::kTcp:
      return "tcp";
  }
  return "running";
}

json::object SpecToJson(const RenderedWorkload& s) {
  json::array ports, volumes;
  for (const auto& p : s.ports) {
    json::object po{{"name", p.name},
                    {"container_port", p.container_port},
                    {"protocol", p.protocol},
                    {"scheme", p.scheme}};
    if (p.idle_timeout_s > 0) po["idle_timeout_s"] = p.idle_timeout_s;  // absent: the default
    if (p.publish) po["publish"] = true;  // absent (older servers too): not published
    ports.push_back(std::move(po));
  }
  for (const auto& v : s.volumes) volumes.push_back({{"name", v.name}, {"path", v.container_path}});
  json::array env(s.env.begin(), s.env.end()), command(s.command.begin(), s.command.end());
  const Readiness& r = s.readiness;
  json::object out{{"image", s.image},
                   {"env", std::move(env)},
                   {"command", std::move(command)},
                   {"ports", std::move(ports)},
                   {"volumes", std::move(volumes)},
                   {"memory_mb", s.memory_mb},
                   {"cpus", s.cpus},
                   {"readiness",
                    {{"kind", ReadinessName(r.kind)},
                     {"port", r.container_port},
                     {"path", r.http_path},
                     {"username", r.username},
                     {"password", r.password},
                     {"database", r.database}}}};
  if (s.confinement) {
    const templates::Confinement& c = *s.confinement;
    out["confinement"] = {
        {"capabilities", json::array(c.capabilities.begin(), c.capabilities.end())},
        {"user", c.user},
        {"read_only_rootfs", c.read_only_rootfs},
        {"tmpfs", json::array(c.tmpfs.begin(), c.tmpfs.end())}};
  }
  if (!s.secret_files.empty()) {
    json::array files;
    for (const auto& f : s.secret_files)
      files.push_back({{"name", f.name}, {"content", f.content}});
    out["secret_files"] = std::move(files);
  }
  if (s.restore) out["restore"] = templates::RestoreToJson(*s.restore);
  if (s.volume_epoch > 0) out["volume_epoch"] = s.volume_epoch;  // absent: 0 (hash unchanged)
  return out;
}

bool SpecFromJson(const json::object& o, RenderedWorkload& s, std::string& err) {
  Reader r(o);
  s.image = r.Str("image");
  s.env = r.Strings("env");
  s.command = r.Strings("command");
  for (const auto& p : *r.Arr("ports")) {
    if (!p.is_object()) return err = "ports must hold objects", false;
    Reader pr(p.as_object());
    PortSpec ps{pr.Str("name"), static_cast<int>(pr.Int("container_port")), pr.Str("protocol"),
                pr.Str("scheme"), 0};
    const std::int64_t idle = pr.Int("idle_timeout_s", false);  // absent in older specs
    if (idle < 0 || idle > INT32_MAX) pr.Fail("idle_timeout_s", "is out of range");
    ps.idle_timeout_s = static_cast<int>(idle);
    ps.publish = pr.Bool("publish");
    if (!pr.error().empty()) return err = "ports: " + pr.error(), false;
    s.ports.push_back(std::move(ps));
  }
  for (const auto& v : *r.Arr("volumes")) {
    if (!v.is_object()) return err = "volumes must hold objects", false;
    Reader vr(v.as_object());
    VolumeSpec vs{vr.Str("name"), vr.Str("path")};
    if (!vr.error().empty()) return err = "volumes: " + vr.error(), false;
    s.volumes.push_back(std::move(vs));
  }
  s.memory_mb = r.Int("memory_mb", false);
  s.cpus = r.Num("cpus");
  // Bounded and rounded to millionths so the spec re-encodes to what it decodes from (see
  // UsageFromJson); requests are validated to far narrower bounds (0.01–256).
  if (!std::isfinite(s.cpus) || s.cpus < 0 || s.cpus > kMaxUsageCpuPercent)
    return err = "cpus must be a number of cores", false;
  s.cpus = std::round(s.cpus * 1e6) / 1e6;
  if (const json::object* ro = r.Obj("readiness", false)) {
    Reader rr(*ro);
    const std::string kind = rr.Str("kind");
    if (kind == "running")
      s.readiness.kind = Readiness::Kind::kRunning;
    else if (kind == "postgres")
      s.readiness.kind = Readiness::Kind::kPostgres;
    else if (kind == "http")
      s.readiness.kind = Readiness::Kind::kHttp;
    else if (kind == "tcp")
      s.readiness.kind = Readiness::Kind::kTcp;
    else
      rr.Fail("kind", "is unknown");
    s.readiness.container_port = static_cast<int>(rr.Int("port", false));
    s.readiness.http_path = rr.Str("path", false);
    s.readiness.username = rr.Str("username", false);
    s.readiness.password = rr.Str("password", false);
    s.readiness.database = rr.Str("database", false);
    if (!rr.error().empty()) return err = "readiness: " + rr.error(), false;
  }
  if (const json::object* co = r.Obj("confinement", false)) {
    Reader cr(*co);
    templates::Confinement c;
    c.capabilities = cr.Strings("capabilities");
    c.user = cr.Str("user", false);
    c.read_only_rootfs = cr.Bool("read_only_rootfs");
    c.tmpfs = cr.Strings("tmpfs");
    if (!cr.error().empty()) return err = "confinement: " + cr.error(), false;
    s.confinement = std::move(c);
  }
  for (const auto& f : *r.Arr("secret_files")) {
    if (!f.is_object()) return err = "secret_files must hold objects", false;
    Reader fr(f.as_object());
    templates::SecretFile sf{fr.Str("name"), fr.Str("content")};
    if (!fr.error().empty()) return err = "secret_files: " + fr.error(), false;
    s.secret_files.push_back(std::move(sf));
  }
  if (const json::object* ro = r.Obj("restore", false)) {
    templates::RestoreSource rs;
    if (!templates::RestoreFromJson(*ro, rs, err)) return err = "restore: " + err, false;
    s.restore = std::move(rs);
  }
  s.volume_epoch = r.Int("volume_epoch", false);  // absent: 0
  if (s.volume_epoch < 0) return err = "volume_epoch must not be negative", false;
  if (!r.error().empty()) return err = r.error(), false;
  return true;
}

json::object AssignmentToJson(const Assignment& a) {
  return {{"workload_id", a.workload_id},
          {"generation", a.generation},
          {"desired_state", Name(a.desired_state)},
          {"spec", SpecToJson(a.spec)},
          {"tenant", a.tenant},
          {"name", a.name}};
}

bool AssignmentFromJson(const json::object& o, Assignment& a, std::string& err) {
  Reader r(o);
  a.workload_id = r.Str("workload_id");
  a.generation = r.Int("generation");
  a.desired_state = r.Named<DesiredState>("desired_state", ParseDesiredState);
  a.tenant = r.Str("tenant", false);
  a.name = r.Str("name", false);
  const json::object* spec = r.Obj("spec");
  if (!r.error().empty()) return err = r.error(), false;
  return SpecFromJson(*spec, a.spec, err);
}

json::object UsageToJson(const UsageSample& u) {
  return {{"at", u.at},
          {"cpu_percent", u.cpu_percent},
          {"memory_bytes", u.memory_bytes},
          {"memory_limit_bytes", u.memory_limit_bytes},
          {"net_rx_bps", u.net_rx_bps},
          {"net_tx_bps", u.net_tx_bps},
          {"disk_read_bps", u.disk_read_bps},
          {"disk_write_bps", u.disk_write_bps}};
}

bool UsageFromJson(Reader& r, UsageSample& u, std::string& err) {
  u.at = r.Int("at");
  u.cpu_percent = r.Num("cpu_percent");
  u.memory_bytes = r.Num("memory_bytes");
  u.memory_limit_bytes = r.Num("memory_limit_bytes");
  u.net_rx_bps = r.Num("net_rx_bps");
  u.net_tx_bps = r.Num("net_tx_bps");
  u.disk_read_bps = r.Num("disk_read_bps");
  u.disk_write_bps = r.Num("disk_write_bps");
  if (!r.error().empty()) return err = r.error(), false;
  for (double v : {u.cpu_percent, u.memory_bytes, u.memory_limit_bytes, u.net_rx_bps, u.net_tx_bps,
                   u.disk_read_bps, u.disk_write_bps})
    if (!std::isfinite(v) || v < 0) return err = "usage values must be finite and >= 0", false;
  if (u.at <= 0) return err = "at must be positive", false;
  // Bounded and quantized to what they mean (whole bytes, thousandths of a percent), so that a
  // sample re-encodes to the JSON it decodes from: Boost.JSON parses a number exactly only when
  // its digits fit 2^53, and nothing real needs more (found by fuzz_link_message).
  if (u.cpu_percent > kMaxUsageCpuPercent) return err = "cpu_percent is beyond any node", false;
  u.cpu_percent = std::round(u.cpu_percent * 1000) / 1000;
  for (double* v : {&u.memory_bytes, &u.memory_limit_bytes, &u.net_rx_bps, &u.net_tx_bps,
                    &u.disk_read_bps, &u.disk_write_bps}) {
    if (*v > kMaxUsageBytes) return err = "a byte count or rate is beyond any node", false;
    *v = std::round(*v);
  }
  return true;
}

struct EncodeVisitor {
  json::object operator()(const Hello& m) const {
    json::array running;
    for (const auto& w : m.running)
      running.push_back(
          {{"workload_id", w.workload_id}, {"generation", w.generation}, {"state", Name(w.state)}});
    json::object labels;
    for (const auto& [k, v] : m.labels) labels[k] = v;
    return {{"type", "hello"},
            {"protocol", m.protocol},
            {"join_token", m.join_token},
            {"node_id", m.node_id},
            {"node_secret", m.node_secret},
            {"name", m.name},
            {"cpus", m.cpus},
            {"memory_mb", m.memory_mb},
            {"disk_mb", m.disk_mb},
            {"labels", std::move(labels)},
            {"agent_version", m.agent_version},
            {"address", m.address},
            {"running", std::move(running)}};
  }
  json::object operator()(const Welcome& m) const {
    return {{"type", "welcome"},
            {"node_id", m.node_id},
            {"node_secret", m.node_secret},
            {"heartbeat_seconds", m.heartbeat_seconds},
            {"servers", json::array(m.servers.begin(), m.servers.end())},
            {"registries", json::array(m.registries.begin(), m.registries.end())}};
  }
  json::object operator()(const LinkError& m) const {
    json::object out{{"type", "error"}, {"message", m.message}};
    if (m.code != LinkErrorCode::kUnspecified) out["code"] = LinkErrorCodeName(m.code);
    return out;
  }
  json::object operator()(const Assignments& m) const {
    json::array items;
    for (const auto& a : m.items) items.push_back(AssignmentToJson(a));
    return {{"type", "assignments"}, {"items", std::move(items)}};
  }
  json::object operator()(const Upsert& m) const {
    return {{"type", "upsert"}, {"assignment", AssignmentToJson(m.assignment)}};
  }
  json::object operator()(const Remove& m) const {
    return {{"type", "remove"}, {"workload_id", m.workload_id}};
  }
  json::object operator()(const StatusReport& m) const {
    json::array b;
    for (const auto& p : m.bindings)
      b.push_back({{"container_port", p.container_port}, {"host_port", p.host_port}});
    json::object out{{"type", "status"},           {"workload_id", m.workload_id},
                     {"generation", m.generation}, {"state", Name(m.state)},
                     {"reason", m.reason},         {"bindings", std::move(b)}};
    if (!m.detail.empty()) out["detail"] = m.detail;
    return out;
  }
  json::object operator()(const Heartbeat& m) const {
    return {{"type", "heartbeat"}, {"running", m.running}};
  }
  json::object operator()(const LogsOpen& m) const {
    json::object o{{"type", "logs.open"},
                   {"stream_id", m.stream_id},
                   {"workload_id", m.workload_id},
                   {"tail", m.tail},
                   {"follow", m.follow}};
    if (m.since_ns != 0) o["since_ns"] = m.since_ns;
    if (m.until_ns != 0) o["until_ns"] = m.until_ns;
    if (m.before_seq != 0) o["before_seq"] = m.before_seq;
    if (m.generation != 0) o["generation"] = m.generation;
    if (!m.filter.empty()) o["filter"] = m.filter;
    return o;
  }
  json::object operator()(const LogsData& m) const {
    json::object o{{"type", "logs.data"},
                   {"stream_id", m.stream_id},
                   {"lines", json::array(m.lines.begin(), m.lines.end())}};
    if (!m.seqs.empty()) o["seqs"] = json::array(m.seqs.begin(), m.seqs.end());
    if (!m.generations.empty())
      o["generations"] = json::array(m.generations.begin(), m.generations.end());
    if (!m.times_ns.empty()) o["times_ns"] = json::array(m.times_ns.begin(), m.times_ns.end());
    return o;
  }
  json::object operator()(const LogsEnd& m) const {
    json::object o{{"type", "logs.end"}, {"stream_id", m.stream_id}, {"error", m.error}};
    if (m.more) o["more"] = true;
    return o;
  }
  json::object operator()(const LogsClose& m) const {
    return {{"type", "logs.close"}, {"stream_id", m.stream_id}};
  }
  json::object operator()(const StreamOpen& m) const {
    json::object o{{"type", "stream.open"},
                   {"stream_id", m.stream_id},
                   {"secret", m.secret},
                   {"workload_id", m.workload_id},
                   {"container_port", m.container_port},
                   {"edge_url", m.edge_url}};
    if (m.idle_timeout_ms > 0) o["idle_timeout_ms"] = m.idle_timeout_ms;
    return o;
  }
  json::object operator()(const StreamFail& m) const {
    return {{"type", "stream.fail"}, {"stream_id", m.stream_id}, {"reason", m.reason}};
  }
  json::object operator()(const ArchiveSet& m) const {
    return {{"type", "archive.set"},
            {"workload_id", m.workload_id},
            {"target",
             m.target ? json::value(templates::S3TargetToJson(*m.target)) : json::value(nullptr)}};
  }
  json::object operator()(const ArchiveStatus& m) const {
    return {{"type", "archive.status"},
            {"workload_id", m.workload_id},
            {"ok", m.ok},
            {"error_code", m.error_code},
            {"message", m.message}};
  }
  json::object operator()(const MetricsBatch& m) const {
    json::array node, workloads;
    for (const auto& u : m.node) node.push_back(UsageToJson(u));
    for (const auto& w : m.workloads) {
      json::object o = UsageToJson(w.usage);
      o["workload_id"] = w.workload_id;
      workloads.push_back(std::move(o));
    }
    return {{"type", "metrics"},
            {"sent_at", m.sent_at},
            {"interval_seconds", m.interval_seconds},
            {"node", std::move(node)},
            {"workloads", std::move(workloads)}};
  }
  json::object operator()(const BackupRun& m) const {
    const BackupTargetSpec& t = m.target;
    return {{"type", "backup.run"},     {"job_id", m.job_id},
            {"op", Name(m.op)},         {"workload_id", m.workload_id},
            {"backup_id", m.backup_id}, {"target", templates::S3TargetToJson(t)},
            {"kind", Name(m.kind)}};
  }
  json::object operator()(const BackupResult& m) const {
    return {
        {"type", "backup.result"},      {"job_id", m.job_id},       {"op", Name(m.op)},
        {"workload_id", m.workload_id}, {"backup_id", m.backup_id}, {"ok", m.ok},
        {"error_code", m.error_code},   {"message", m.message},     {"size_bytes", m.size_bytes},
        {"duration_ms", m.duration_ms}, {"start_lsn", m.start_lsn}, {"end_lsn", m.end_lsn},
        {"tables", m.tables},           {"rows", m.rows},           {"files", m.files}};
  }
};

std::optional<BackupOp> ParseBackupOp(std::string_view name) {
  if (name == "backup") return BackupOp::kBackup;
  if (name == "verify") return BackupOp::kVerify;
  if (name == "delete") return BackupOp::kDelete;
  if (name == "probe") return BackupOp::kProbe;
  return std::nullopt;
}

Result<Message> DecodeObject(const json::object& o) {
  Reader r(o);
  const std::string type = r.Str("type");
  if (!r.error().empty()) return Error::Invalid("link message: " + r.error());
  std::string err;
  auto done = [&](Message m) -> Result<Message> {
    if (!r.error().empty()) return Error::Invalid("link message '" + type + "': " + r.error());
    if (!err.empty()) return Error::Invalid("link message '" + type + "': " + err);
    return m;
  };
  if (type == "hello") {
    Hello m;
    m.protocol = static_cast<int>(r.Int("protocol"));
    m.join_token = r.Str("join_token", false);
    m.node_id = r.Str("node_id", false);
    m.node_secret = r.Str("node_secret", false);
    m.name = r.Str("name");
    m.cpus = static_cast<int>(r.Int("cpus", false));
    m.memory_mb = r.Int("memory_mb", false);
    m.disk_mb = r.Int("disk_mb", false);
    if (const json::object* labels = r.Obj("labels", false)) {
      for (const auto& [k, v] : *labels) {
        if (!v.is_string()) {
          err = "labels must map to strings";
          break;
        }
        m.labels[std::string(k)] = std::string(v.as_string());
      }
    }
    m.agent_version = r.Str("agent_version", false);
    m.address = r.Str("address", false);
    for (const auto& w : *r.Arr("running")) {
      if (!w.is_object()) {
        err = "running must hold objects";
        break;
      }
      Reader wr(w.as_object());
      RunningWorkload rw{wr.Str("workload_id"), wr.Int("generation"),
                         wr.Named<WorkloadStatus>("state", ParseWorkloadStatus)};
      if (!wr.error().empty()) {
        err = "running: " + wr.error();
        break;
      }
      m.running.push_back(std::move(rw));
    }
    return done(std::move(m));
  }
  if (type == "welcome") {
    Welcome m{r.Str("node_id"), r.Str("node_secret", false),
              static_cast<int>(r.Int("heartbeat_seconds")), r.Strings("servers"),
              r.Strings("registries")};
    if (m.servers.size() > 64) err = "servers: at most 64";
    if (m.registries.size() > 256) err = "registries: at most 256";
    if (m.heartbeat_seconds < 1 || m.heartbeat_seconds > 3600)
      err = "heartbeat_seconds out of range";
    return done(std::move(m));
  }
  if (type == "error") {
    LinkError m{r.Str("message"), LinkErrorCode::kUnspecified};
    const std::string code = r.Str("code", false);
    for (auto c : {LinkErrorCode::kUnauthenticated, LinkErrorCode::kIncompatible,
                   LinkErrorCode::kInvalid, LinkErrorCode::kUnavailable})
      if (code == LinkErrorCodeName(c)) m.code = c;
    return done(std::move(m));
  }
  if (type == "assignments") {
    Assignments m;
    for (const auto& a : *r.Arr("items")) {
      if (!a.is_object()) {
        err = "items must hold objects";
        break;
      }
      Assignment as;
      if (!AssignmentFromJson(a.as_object(), as, err)) break;
      m.items.push_back(std::move(as));
    }
    return done(std::move(m));
  }
  if (type == "upsert") {
    Upsert m;
    if (const json::object* a = r.Obj("assignment")) AssignmentFromJson(*a, m.assignment, err);
    return done(std::move(m));
  }
  if (type == "remove") return done(Remove{r.Str("workload_id")});
  if (type == "status") {
    StatusReport m{r.Str("workload_id"),
                   r.Int("generation"),
                   r.Named<WorkloadStatus>("state", ParseWorkloadStatus),
                   r.Str("reason", false),
                   {},
                   r.Str("detail", false)};
    for (const auto& b : *r.Arr("bindings")) {
      if (!b.is_object()) {
        err = "bindings must hold objects";
        break;
      }
      Reader br(b.as_object());
      PortBindingReport p{static_cast<int>(br.Int("container_port")),
                          static_cast<int>(br.Int("host_port"))};
      if (!br.error().empty()) {
        err = "bindings: " + br.error();
        break;
      }
      m.bindings.push_back(p);
    }
    return done(std::move(m));
  }
  if (type == "heartbeat") return done(Heartbeat{static_cast<int>(r.Int("running", false))});
  if (type == "logs.open") {
    LogsOpen m;
    m.stream_id = r.Str("stream_id");
    m.workload_id = r.Str("workload_id");
    m.tail = static_cast<int>(r.Int("tail", false));
    m.follow = r.Bool("follow");
    m.since_ns = r.Int("since_ns", false);
    m.until_ns = r.Int("until_ns", false);
    m.before_seq = r.Int("before_seq", false);
    m.generation = r.Int("generation", false);
    m.filter = r.Str("filter", false);
    if (m.filter.size() > kMaxLogFilterBytes) err = "filter is too long";
    return done(std::move(m));
  }
  if (type == "logs.data") {
    LogsData m{r.Str("stream_id"), r.Strings("lines"), r.Ints("seqs"), r.Ints("generations"),
               r.Ints("times_ns")};
    for (const auto* v : {&m.seqs, &m.generations, &m.times_ns})
      if (!v->empty() && v->size() != m.lines.size()) err = "logs.data arrays differ in length";
    return done(std::move(m));
  }
  if (type == "logs.end") {
    LogsEnd m;
    m.stream_id = r.Str("stream_id");
    m.error = r.Str("error", false);
    m.more = r.Bool("more");
    return done(std::move(m));
  }
  if (type == "logs.close") return done(LogsClose{r.Str("stream_id")});
  if (type == "stream.open") {
    StreamOpen m{r.Str("stream_id"),       r.Str("secret"),
                 r.Str("workload_id"),     static_cast<int>(r.Int("container_port")),
                 r.Str("edge_url", false), r.Int("idle_timeout_ms", false)};
    if (m.container_port < 1 || m.container_port > 65535) err = "container_port out of range";
    if (m.idle_timeout_ms < 0) err = "idle_timeout_ms must not be negative";
    return done(std::move(m));
  }
  if (type == "stream.fail") return done(StreamFail{r.Str("stream_id"), r.Str("reason", false)});
  if (type == "archive.set") {
    ArchiveSet m;
    m.workload_id = r.Str("workload_id");
    if (const json::object* t = r.Obj("target", false)) {  // null or absent: archiving stops
      BackupTargetSpec target;
      std::string terr;
      if (!templates::S3TargetFromJson(*t, target, terr)) err = "target: " + terr;
      m.target = std::move(target);
    }
    return done(std::move(m));
  }
  if (type == "archive.status") {
    ArchiveStatus m{r.Str("workload_id"), r.Bool("ok"), r.Str("error_code", false),
                    r.Str("message", false)};
    return done(std::move(m));
  }
  if (type == "metrics") {
    MetricsBatch m;
    m.sent_at = r.Int("sent_at");
    m.interval_seconds = static_cast<int>(r.Int("interval_seconds", false));
    const json::array* node = r.Arr("node");
    const json::array* workloads = r.Arr("workloads");
    if (node->size() + workloads->size() > kMaxUsageSamples)
      return Error::Invalid("link message 'metrics': more than " +
                            std::to_string(kMaxUsageSamples) + " samples");
    for (const auto& e : *node) {
      if (!e.is_object()) {
        err = "node must hold objects";
        break;
      }
      Reader ur(e.as_object());
      UsageSample u;
      if (!UsageFromJson(ur, u, err)) {
        err = "node: " + err;
        break;
      }
      m.node.push_back(u);
    }
    for (const auto& e : *workloads) {
      if (!err.empty()) break;
      if (!e.is_object()) {
        err = "workloads must hold objects";
        break;
      }
      Reader wr(e.as_object());
      WorkloadUsage w;
      w.workload_id = wr.Str("workload_id");
      if (!UsageFromJson(wr, w.usage, err)) {
        err = "workloads: " + err;
        break;
      }
      m.workloads.push_back(std::move(w));
    }
    if (m.interval_seconds < 0 || m.interval_seconds > 86400) err = "interval_seconds out of range";
    return done(std::move(m));
  }
  if (type == "backup.run" || type == "backup.result") {
    auto op = ParseBackupOp(r.Str("op"));
    if (!op) err = "op must be backup, verify, delete or probe";
    if (type == "backup.run") {
      BackupRun m;
      m.job_id = r.Str("job_id");
      m.op = op.value_or(BackupOp::kBackup);
      m.workload_id = r.Str("workload_id");
      m.backup_id = r.Str("backup_id");
      if (const json::object* t = r.Obj("target")) {
        std::string terr;
        if (!templates::S3TargetFromJson(*t, m.target, terr)) err = "target: " + terr;
      }
      if (const std::string kind = r.Str("kind", false); !kind.empty()) {
        auto k = ParseBackupKind(kind);
        if (!k) err = "kind must be postgres or volume";
        m.kind = k.value_or(BackupKind::kPostgres);
      }
      return done(std::move(m));
    }
    BackupResult m;
    m.job_id = r.Str("job_id");
    m.op = op.value_or(BackupOp::kBackup);
    m.workload_id = r.Str("workload_id");
    m.backup_id = r.Str("backup_id");
    m.ok = r.Bool("ok");
    m.error_code = r.Str("error_code", false);
    m.message = r.Str("message", false);
    m.size_bytes = r.Int("size_bytes", false);
    m.duration_ms = r.Int("duration_ms", false);
    m.start_lsn = r.Str("start_lsn", false);
    m.end_lsn = r.Str("end_lsn", false);
    m.tables = r.Int("tables", false);
    m.rows = r.Int("rows", false);
    m.files = r.Int("files", false);
    return done(std::move(m));
  }
  return Error::Invalid("link message type '" + type.substr(0, 64) + "' is unknown");
}

}  // namespace

std::string_view Name(BackupOp op) {
  switch (op) {
    case BackupOp::kBackup:
      return "backup";
    case BackupOp::kVerify:
      return "verify";
    case BackupOp::kDelete:
      return "delete";
    case BackupOp::kProbe:
      return "probe";
  }
  return "backup";
}

std::string_view LinkErrorCodeName(LinkErrorCode code) {
  switch (code) {
    case LinkErrorCode::kUnauthenticated:
      return "unauthenticated";
    case LinkErrorCode::kIncompatible:
      return "incompatible";
    case LinkErrorCode::kInvalid:
      return "invalid";
    case LinkErrorCode::kUnavailable:
      return "unavailable";
    case LinkErrorCode::kUnspecified:
      break;
  }
  return "";
}

std::string Encode(const Message& m) {
  return json::serialize(std::visit(EncodeVisitor{}, m));
}

Result<Message> Decode(std::string_view text) {
  if (text.size() > kMaxMessageBytes) return Error::Invalid("link message too large");
  json::parse_options opts;
  opts.max_depth = 16;
  boost::system::error_code ec;
  json::value v = json::parse(text, ec, {}, opts);
  if (ec) return Error::Invalid("link message is not JSON: " + ec.message());
  if (!v.is_object()) return Error::Invalid("link message must be an object");
  return DecodeObject(v.as_object());
}

std::string EncodeSpec(const RenderedWorkload& spec) {
  return json::serialize(SpecToJson(spec));
}

Result<RenderedWorkload> DecodeSpec(std::string_view text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return Error::Internal("stored workload spec is not a JSON object");
  RenderedWorkload s;
  std::string err;
  if (!SpecFromJson(v.as_object(), s, err)) return Error::Internal("stored workload spec: " + err);
  return s;
}

}  // namespace lattice::link
