#include "common/json_util.h"

#include "common/json_strict.h"

namespace lattice {

Result<boost::json::object> ParseJsonObject(std::string_view body) {
  boost::json::parse_options opts;
  opts.max_depth = 32;
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(body, ec, {}, opts);
  if (ec) return Error::Invalid("The request body is not valid JSON: " + ec.message() + ".");
  if (!v.is_object()) return Error::Invalid("The request body must be a JSON object.");
  if (auto dup = FindDuplicateKey(body, opts.max_depth))
    return Error::Invalid("The request body names the member '" + *dup + "' more than once.",
                          {{*dup, "is given more than once"}});
  return std::move(v.as_object());
}

std::string FieldReader::RequiredString(std::string_view name) {
  const auto* v = obj_.if_contains(name);
  if (v == nullptr || v->is_null()) {
    AddError(std::string(name), "is required");
    return {};
  }
  if (!v->is_string()) {
    AddError(std::string(name), "must be a string");
    return {};
  }
  return std::string(v->as_string());
}

std::optional<std::string> FieldReader::OptionalString(std::string_view name) {
  const auto* v = obj_.if_contains(name);
  if (v == nullptr || v->is_null()) return std::nullopt;
  if (!v->is_string()) {
    AddError(std::string(name), "must be a string");
    return std::nullopt;
  }
  return std::string(v->as_string());
}

std::optional<bool> FieldReader::OptionalBool(std::string_view name) {
  const auto* v = obj_.if_contains(name);
  if (v == nullptr || v->is_null()) return std::nullopt;
  if (!v->is_bool()) {
    AddError(std::string(name), "must be a boolean");
    return std::nullopt;
  }
  return v->as_bool();
}

void FieldReader::RefuseUnknown(const boost::json::object& obj, std::string_view prefix,
                                std::initializer_list<std::string_view> known) {
  for (const auto& [k, v] : obj) {
    bool found = false;
    for (std::string_view name : known) found = found || name == std::string_view(k);
    if (!found)
      AddError(std::string(prefix) + std::string(k).substr(0, 128), "is not a known field");
  }
}

}  // namespace lattice
