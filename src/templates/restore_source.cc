#include "templates/restore_source.h"

#include <boost/json.hpp>

namespace lattice::templates {
namespace {

namespace json = boost::json;

// The string member `k` into `out`; false (with `err`) if present but not a string, or absent
// while `required`.
bool Str(const json::object& o, std::string_view k, std::string& out, std::string& err,
         bool required = false) {
  const json::value* v = o.if_contains(k);
  if (v == nullptr || v->is_null()) {
    if (!required) return true;
    err = std::string(k) + " is required";
    return false;
  }
  if (!v->is_string()) {
    err = std::string(k) + " must be a string";
    return false;
  }
  out = std::string(v->as_string());
  return true;
}

}  // namespace

json::object S3TargetToJson(const S3Target& t) {
  return {{"endpoint", t.endpoint},
          {"bucket", t.bucket},
          {"region", t.region},
          {"prefix", t.prefix},
          {"access_key", t.access_key},
          {"secret_key", t.secret_key},
          {"workload_name", t.workload_name},
          {"workload_port", t.workload_port}};
}

bool S3TargetFromJson(const json::object& o, S3Target& t, std::string& err) {
  if (!Str(o, "endpoint", t.endpoint, err) || !Str(o, "bucket", t.bucket, err, true) ||
      !Str(o, "region", t.region, err) || !Str(o, "prefix", t.prefix, err) ||
      !Str(o, "access_key", t.access_key, err, true) ||
      !Str(o, "secret_key", t.secret_key, err, true) ||
      !Str(o, "workload_name", t.workload_name, err))
    return false;
  t.workload_port = 0;
  if (const json::value* p = o.if_contains("workload_port"); p && !p->is_null()) {
    const auto n = p->if_int64();
    if (!n || *n < 0 || *n > 65535) {
      err = "workload_port must be a port number";
      return false;
    }
    t.workload_port = static_cast<int>(*n);
  }
  return true;
}

json::object RestoreToJson(const RestoreSource& r) {
  json::object o{{"target", S3TargetToJson(r.target)},
                 {"backup_id", r.backup_id},
                 {"target_time", r.target_time}};
  if (r.kind != BackupKind::kPostgres) o["kind"] = Name(r.kind);  // older readers: postgres
  if (r.verified) o["verified"] = true;                           // absent: false
  return o;
}

bool RestoreFromJson(const json::object& o, RestoreSource& r, std::string& err) {
  const json::value* t = o.if_contains("target");
  if (t == nullptr || !t->is_object()) {
    err = "target must be an object";
    return false;
  }
  if (!S3TargetFromJson(t->as_object(), r.target, err)) {
    err = "target: " + err;
    return false;
  }
  std::string kind;
  if (!Str(o, "backup_id", r.backup_id, err, true) || !Str(o, "target_time", r.target_time, err) ||
      !Str(o, "kind", kind, err))
    return false;
  r.kind = BackupKind::kPostgres;
  if (!kind.empty()) {
    auto k = ParseBackupKind(kind);
    if (!k) {
      err = "kind must be postgres or volume";
      return false;
    }
    r.kind = *k;
  }
  r.verified = false;
  if (const json::value* v = o.if_contains("verified"); v != nullptr && !v->is_null()) {
    if (!v->is_bool()) {
      err = "verified must be a boolean";
      return false;
    }
    r.verified = v->as_bool();
  }
  return true;
}

}  // namespace lattice::templates
