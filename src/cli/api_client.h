// ApiClient: the Lattice HTTP API as the CLI verbs use it (JSON in, JSON out), over an
// HttpTransport. Every failure — network, HTTP status, problem+json — comes back as an Error
// whose message says what happened and what to do about it. The client never touches the
// database; everything goes through /api/v1. Not thread-safe: one request at a time.
#pragma once

#include <boost/json/value.hpp>

#include <memory>
#include <string>
#include <string_view>

#include "cli/http_transport.h"
#include "cli/sse_parser.h"
#include "common/result.h"

namespace lattice::cli {

class ApiClient {
 public:
  // `token` may be empty (signing in); the client owns `transport`.
  ApiClient(ServerUrl server, std::string token, std::unique_ptr<HttpTransport> transport);

  const ServerUrl& server() const { return server_; }

  Result<boost::json::value> Get(std::string_view target);
  // A null `body` sends no body.
  Result<boost::json::value> Post(std::string_view target,
                                  const boost::json::value& body = nullptr);
  Result<boost::json::value> Put(std::string_view target, const boost::json::value& body);
  Result<boost::json::value> Delete(std::string_view target);
  // A text/plain response (non-followed logs).
  Result<std::string> GetText(std::string_view target);
  // Reads an event stream until the server ends it or `on_event` returns false.
  Status Events(std::string_view target, const SseParser::EventFn& on_event);

 private:
  Result<boost::json::value> Json(std::string method, std::string_view target,
                                  const boost::json::value& body);
  Result<HttpResponse> Send(HttpRequest req);

  const ServerUrl server_;
  const std::string token_;
  const std::unique_ptr<HttpTransport> transport_;
};

// Turns a non-2xx response into an Error: the problem+json `detail` and its per-field `errors`,
// plus what to do — for a 401 on a request that carried a token, sign in again; for a 429,
// when to retry; for a 5xx, where the cause is.
Error ErrorFromResponse(const HttpResponse& r, bool sent_token);

// What the user reads: the message, then one indented "field: message" line per field error.
std::string FormatError(const Error& e);

}  // namespace lattice::cli
