#include "cli/api_client.h"

#include <boost/json.hpp>

namespace lattice::cli {
namespace json = boost::json;

namespace {

ErrorCode CodeFor(int status) {
  switch (status) {
    case 400:
      return ErrorCode::kInvalidArgument;
    case 401:
      return ErrorCode::kUnauthenticated;
    case 403:
      return ErrorCode::kPermissionDenied;
    case 404:
      return ErrorCode::kNotFound;
    case 409:
      return ErrorCode::kConflict;
    case 413:
      return ErrorCode::kTooLarge;
    case 415:
      return ErrorCode::kUnsupportedMedia;
    case 429:
      return ErrorCode::kRateLimited;
    case 502:
    case 503:
    case 504:
      return ErrorCode::kUnavailable;
    default:
      return ErrorCode::kInternal;
  }
}

bool IsJson(std::string_view content_type) {
  const std::string_view base = content_type.substr(0, content_type.find(';'));
  return base == "application/json" || base == "application/problem+json";
}

bool Is2xx(int status) {
  return status >= 200 && status < 300;
}

// Appends when to try again: the Retry-After seconds if the server sent them, else `otherwise`.
void AddRetryHint(Error& e, const std::string& retry_after, std::string_view otherwise) {
  e.retry_after_seconds = std::atoi(retry_after.c_str());
  e.message += e.retry_after_seconds > 0
                   ? " — try again in " + std::to_string(e.retry_after_seconds) + "s"
                   : " — try again " + std::string(otherwise);
}

}  // namespace

Error ErrorFromResponse(const HttpResponse& r, bool sent_token) {
  Error e;
  e.code = CodeFor(r.status);
  boost::system::error_code ec;
  json::value body = IsJson(r.content_type) ? json::parse(r.body, ec) : json::value();
  if (body.is_object()) {
    const json::object& o = body.as_object();
    if (const auto* d = o.if_contains("detail"); d && d->is_string())
      e.message = std::string(d->as_string());
    if (const auto* errs = o.if_contains("errors"); errs && errs->is_array()) {
      for (const auto& fe : errs->as_array()) {
        if (!fe.is_object()) continue;
        const auto* f = fe.as_object().if_contains("field");
        const auto* m = fe.as_object().if_contains("message");
        if (f && f->is_string() && m && m->is_string())
          e.fields.push_back({std::string(f->as_string()), std::string(m->as_string())});
      }
    }
  }
  if (e.message.empty())
    e.message = "the server answered HTTP " + std::to_string(r.status) +
                " without details — is --server pointing at a Lattice server?";
  switch (r.status) {
    case 401:
      if (sent_token) e.message = "not signed in (or the session expired): run `lattice login`";
      break;
    case 429:
      AddRetryHint(e, r.retry_after, "later");
      break;
    case 500:
      e.message += " — the server's log has the cause";
      break;
    case 503:  // the store (or a node) is busy or unreachable; the server says when to retry
      AddRetryHint(e, r.retry_after, "shortly");
      break;
    default:
      break;
  }
  return e;
}

std::string FormatError(const Error& e) {
  std::string out = e.message;
  for (const auto& f : e.fields) out += "\n  " + f.field + ": " + f.message;
  return out;
}

ApiClient::ApiClient(ServerUrl server, std::string token, std::unique_ptr<HttpTransport> transport)
    : server_(std::move(server)), token_(std::move(token)), transport_(std::move(transport)) {}

Result<HttpResponse> ApiClient::Send(HttpRequest req) {
  req.token = token_;
  auto r = transport_->RoundTrip(req, Deadlines{});
  if (!r.ok()) return r;
  if (!Is2xx(r->status)) return ErrorFromResponse(*r, !token_.empty());
  return r;
}

Result<json::value> ApiClient::Json(std::string method, std::string_view target,
                                    const json::value& body) {
  HttpRequest req;
  req.method = std::move(method);
  req.target = std::string(target);
  if (!body.is_null()) req.body = json::serialize(body);
  auto r = Send(std::move(req));
  if (!r.ok()) return std::move(r).error();
  if (r->body.empty()) return json::value(nullptr);
  boost::system::error_code ec;
  json::value v = json::parse(r->body, ec);
  if (ec)
    return Error::Unavailable("the server at " + server_.ToString() +
                              " sent a response that is not JSON — is it a Lattice server?");
  return v;
}

Result<json::value> ApiClient::Get(std::string_view target) {
  return Json("GET", target, nullptr);
}

Result<json::value> ApiClient::Post(std::string_view target, const json::value& body) {
  return Json("POST", target, body);
}

Result<json::value> ApiClient::Put(std::string_view target, const json::value& body) {
  return Json("PUT", target, body);
}

Result<json::value> ApiClient::Delete(std::string_view target) {
  return Json("DELETE", target, nullptr);
}

Result<std::string> ApiClient::GetText(std::string_view target) {
  HttpRequest req;
  req.target = std::string(target);
  req.accept = "text/plain, application/problem+json";
  auto r = Send(std::move(req));
  if (!r.ok()) return std::move(r).error();
  return std::move(r->body);
}

Status ApiClient::Events(std::string_view target, const SseParser::EventFn& on_event) {
  HttpRequest req;
  req.target = std::string(target);
  req.token = token_;
  req.accept = "text/event-stream";
  SseParser parser;
  auto r = transport_->Stream(req, Deadlines{},
                              [&](std::string_view chunk) { return parser.Feed(chunk, on_event); });
  if (!r.ok()) return std::move(r).error();
  if (!Is2xx(r->status)) return ErrorFromResponse(*r, !token_.empty());
  return Status::Ok();
}

}  // namespace lattice::cli
