#include "common/json_util.h"

namespace lattice {

Result<boost::json::object> ParseJsonObject(std::string_view body) {
  boost::json::parse_options opts;
  opts.max_depth = 32;
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(body, ec, {}, opts);
  if (ec) return Error::Invalid("The request body is not valid JSON: " + ec.message() + ".");
  if (!v.is_object()) return Error::Invalid("The request body must be a JSON object.");
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

}  // namespace lattice
