// HttpTransport: one blocking HTTP/1.1 exchange with the Lattice server at a time, each bounded
// by deadlines. The CLI speaks plain http:// today; https:// is another implementation of the
// same interface, picked by NewHttpTransport from the URL's scheme.
//
// Not thread-safe: one exchange at a time per transport. Failures to talk to the server at all
// (resolve, connect, timeout, a broken response) are kUnavailable with a message that says what
// to check; any HTTP status, including 4xx/5xx, is a successful exchange.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"

namespace lattice::cli {

struct ServerUrl {
  std::string scheme;     // "http" or "https"
  std::string host;       // name or address, without IPv6 brackets
  std::string port;       // always set (80/443 by default)
  std::string base_path;  // "" or "/prefix", no trailing slash

  // Canonical form, e.g. "http://127.0.0.1:8080" (default port omitted).
  std::string ToString() const;
  std::string HostHeader() const;
};

// Accepts http:// and https:// URLs, and HOST:PORT (taken as http://). kInvalidArgument for
// anything else, naming the flag and variable that set it.
Result<ServerUrl> ParseServerUrl(std::string_view text);

struct HttpRequest {
  std::string method = "GET";  // GET, POST, DELETE
  std::string target;          // path and query, below the server URL's base path
  std::string body;            // sent as application/json when non-empty
  std::string token;           // bearer token, when non-empty
  std::string accept = "application/json";
};

struct HttpResponse {
  int status = 0;
  std::string content_type;
  std::string retry_after;
  std::string body;  // empty for a streamed 2xx body
};

struct Deadlines {
  std::chrono::milliseconds connect{10'000};   // resolve and connect
  std::chrono::milliseconds exchange{30'000};  // the whole buffered exchange
  std::chrono::milliseconds idle{45'000};      // streams: longest silence between chunks
};

// Called with each chunk of a streamed body as it arrives; false stops reading.
using ChunkFn = std::function<bool(std::string_view)>;

class HttpTransport {
 public:
  virtual ~HttpTransport() = default;

  // Sends `req` and reads the whole response.
  virtual Result<HttpResponse> RoundTrip(const HttpRequest& req, const Deadlines& d) = 0;

  // Sends `req`. A 2xx body is handed to `on_chunk` as it arrives until the server ends it or
  // on_chunk returns false; any other response is read whole and returned.
  virtual Result<HttpResponse> Stream(const HttpRequest& req, const Deadlines& d,
                                      const ChunkFn& on_chunk) = 0;
};

// kInvalidArgument for https:// until TLS lands in the CLI.
Result<std::unique_ptr<HttpTransport>> NewHttpTransport(const ServerUrl& url);

}  // namespace lattice::cli
