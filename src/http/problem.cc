#include "http/problem.h"

#include <boost/json.hpp>

#include <cmath>

namespace lattice::http {
namespace {

std::string_view Slug(bhttp::status s) {
  switch (s) {
    case bhttp::status::bad_request:
      return "bad-request";
    case bhttp::status::unauthorized:
      return "unauthorized";
    case bhttp::status::forbidden:
      return "forbidden";
    case bhttp::status::not_found:
      return "not-found";
    case bhttp::status::method_not_allowed:
      return "method-not-allowed";
    case bhttp::status::request_timeout:
      return "request-timeout";
    case bhttp::status::conflict:
      return "conflict";
    case bhttp::status::payload_too_large:
      return "payload-too-large";
    case bhttp::status::unsupported_media_type:
      return "unsupported-media-type";
    case bhttp::status::too_many_requests:
      return "too-many-requests";
    case bhttp::status::request_header_fields_too_large:
      return "header-too-large";
    case bhttp::status::service_unavailable:
      return "unavailable";
    default:
      return "internal-error";
  }
}

}  // namespace

bhttp::status StatusFor(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument:
      return bhttp::status::bad_request;
    case ErrorCode::kUnauthenticated:
      return bhttp::status::unauthorized;
    case ErrorCode::kPermissionDenied:
      return bhttp::status::forbidden;
    case ErrorCode::kNotFound:
      return bhttp::status::not_found;
    case ErrorCode::kConflict:
      return bhttp::status::conflict;
    case ErrorCode::kTooLarge:
      return bhttp::status::payload_too_large;
    case ErrorCode::kUnsupportedMedia:
      return bhttp::status::unsupported_media_type;
    case ErrorCode::kRateLimited:
      return bhttp::status::too_many_requests;
    case ErrorCode::kUnavailable:
      return bhttp::status::service_unavailable;
    case ErrorCode::kInternal:
      return bhttp::status::internal_server_error;
  }
  return bhttp::status::internal_server_error;
}

Reply ProblemReply(const Error& error, std::string_view instance) {
  const bhttp::status status = StatusFor(error.code);
  boost::json::object body;
  // Field details can accompany other statuses too (409: "email is already registered"); only
  // a 400 with field errors is a validation error.
  const bool validation = !error.fields.empty() && status == bhttp::status::bad_request;
  const std::string_view slug = validation            ? std::string_view("validation-error")
                                : !error.type.empty() ? std::string_view(error.type)
                                                      : Slug(status);
  body["type"] = std::string("urn:lattice:problem:") + std::string(slug);
  body["title"] = std::string(bhttp::obsolete_reason(status));
  body["status"] = static_cast<int>(status);
  // Internal errors never leak their cause to the client; it is logged instead.
  body["detail"] = status == bhttp::status::internal_server_error
                       ? "An unexpected error occurred; it has been logged."
                       : error.message;
  body["instance"] = std::string(instance);
  if (!error.fields.empty()) {
    boost::json::array errors;
    for (const auto& f : error.fields)
      errors.push_back({{"field", f.field}, {"message", f.message}});
    body["errors"] = std::move(errors);
  }
  for (const auto& m : error.members) {
    if (body.contains(m.name)) continue;  // the standard members are not overridden
    if (const double* d = std::get_if<double>(&m.value);
        d && std::floor(*d) == *d && std::fabs(*d) < 1e15)
      body[m.name] = static_cast<std::int64_t>(*d);  // 16, not 1.6E1
    else
      std::visit([&](const auto& v) { body[m.name] = v; }, m.value);
  }
  Reply r = JsonReply(status, body);
  r.res.set(bhttp::field::content_type, "application/problem+json");
  if (error.code == ErrorCode::kRateLimited && error.retry_after_seconds > 0)
    r.res.set(bhttp::field::retry_after, std::to_string(error.retry_after_seconds));
  // A dependency that cannot be reached (the store saturated, frozen or down) is worth
  // retrying soon: say when, so clients back off instead of hammering.
  if (error.code == ErrorCode::kUnavailable)
    r.res.set(bhttp::field::retry_after,
              std::to_string(error.retry_after_seconds > 0 ? error.retry_after_seconds : 1));
  return r;
}

Reply ProblemReply(bhttp::status status, std::string detail, std::string_view instance) {
  boost::json::object body;
  body["type"] = std::string("urn:lattice:problem:") + std::string(Slug(status));
  body["title"] = std::string(bhttp::obsolete_reason(status));
  body["status"] = static_cast<int>(status);
  body["detail"] = std::move(detail);
  body["instance"] = std::string(instance);
  Reply r = JsonReply(status, body);
  r.res.set(bhttp::field::content_type, "application/problem+json");
  return r;
}

}  // namespace lattice::http
