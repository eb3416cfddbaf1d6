// Helpers for decoding untrusted JSON request bodies into typed fields, collecting one
// FieldError per bad field so a client learns everything wrong with a request at once.
#pragma once

#include <boost/json.hpp>

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace lattice {

// Parses `body` as a JSON object. Errors: kInvalidArgument ("malformed JSON", "must be an
// object", or a member given twice anywhere in the document, named in a field error such as
// `ports[0].port`). Depth and size are bounded by the caller's body limit and Boost.JSON's depth
// limit.
Result<boost::json::object> ParseJsonObject(std::string_view body);

// Reads fields from an object, recording a FieldError for each missing or mistyped one.
class FieldReader {
 public:
  explicit FieldReader(const boost::json::object& obj) : obj_(obj) {}

  // A required string field; records "is required" / "must be a string".
  std::string RequiredString(std::string_view name);
  // An optional string field; std::nullopt if absent or null.
  std::optional<std::string> OptionalString(std::string_view name);
  // An optional boolean field; std::nullopt if absent or null; records "must be a boolean".
  std::optional<bool> OptionalBool(std::string_view name);
  // Records "is not a known field" for each member of the object not in `known`.
  void RefuseUnknown(std::initializer_list<std::string_view> known) {
    RefuseUnknown(obj_, "", known);
  }
  // The same for a nested object `obj`, whose members are named `prefix` + key
  // (e.g. "resources." or "ports[0].").
  void RefuseUnknown(const boost::json::object& obj, std::string_view prefix,
                     std::initializer_list<std::string_view> known);

  void AddError(std::string field, std::string message) {
    errors_.push_back({std::move(field), std::move(message)});
  }
  bool ok() const { return errors_.empty(); }
  // The accumulated validation error (call only when !ok()).
  Error ToError() const { return Error::Invalid("The request body has invalid fields.", errors_); }

 private:
  const boost::json::object& obj_;
  std::vector<FieldError> errors_;
};

}  // namespace lattice
