// EngineClient: a minimal HTTP/1.1 client for the Docker Engine API, over a unix socket or
// plain TCP, built on Boost.Beast.
//
// Each call opens its own connection and drives its own io_context on the calling thread, so
// an EngineClient is immutable after construction and safe to use from many threads at once.
// Every call is bounded: connecting, sending the request and reading the answer must finish
// within the call's timeout. A streamed body (Stream) has its own bound, or none. The API
// version prefix (/v1.41, Docker 20.10) is added to every target.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/verb.hpp>

#include <chrono>
#include <functional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace lattice::runtime::docker {

// Where the engine listens, parsed from a DOCKER_HOST-style URL.
struct EngineAddress {
  std::string url;        // as given, for messages
  std::string unix_path;  // set for unix:///path
  std::string host;       // set for tcp://host:port
  std::string port;
};

// "unix:///path" or "tcp://host[:port]" (port 2375 by default); anything else is
// kInvalidArgument.
Result<EngineAddress> ParseEngineAddress(std::string_view url);

struct EngineRequest {
  boost::beast::http::verb method = boost::beast::http::verb::get;
  std::string target;  // path and query, e.g. "/containers/json?all=1"
  std::string body;
  std::string content_type = "application/json";  // sent only with a body
};

struct EngineResponse {
  int status = 0;
  std::string body;      // the whole body; empty for a streamed 2xx answer
  bool stopped = false;  // a stream ended early: declined by the callback
};

struct StreamOptions {
  // Bound on reading the body once the header is in; zero: none (it lasts until the engine
  // ends it or `on_data` declines).
  std::chrono::milliseconds body_timeout{0};
  // Receives the body of a 2xx answer piece by piece as it arrives; false stops reading.
  std::function<bool(std::string_view piece)> on_data;
};

class EngineClient {
 public:
  EngineClient(EngineAddress address, std::chrono::milliseconds timeout);

  const EngineAddress& address() const { return address_; }
  std::chrono::milliseconds timeout() const { return timeout_; }

  // Sends `req` and reads the whole answer (at most 64 MiB). Errors are transport failures
  // only (kUnavailable: engine not answering, timed out, connection lost); judging the HTTP
  // status is the caller's job. `timeout` zero: the client's default.
  Result<EngineResponse> Call(const EngineRequest& req,
                              std::chrono::milliseconds timeout = std::chrono::milliseconds{
                                  0}) const;

  // Like Call, but a 2xx body goes to `opts.on_data` as it arrives instead of being collected
  // (a non-2xx body is still read whole into EngineResponse::body). `timeout` bounds the time
  // until the answer's header is in; a callback that declines ends the call with
  // stopped = true.
  Result<EngineResponse> Stream(const EngineRequest& req, const StreamOptions& opts,
                                std::chrono::milliseconds timeout = std::chrono::milliseconds{
                                    0}) const;

 private:
  Result<EngineResponse> Run(const EngineRequest& req, const StreamOptions* stream,
                             std::chrono::milliseconds timeout) const;

  const EngineAddress address_;
  const std::chrono::milliseconds timeout_;
};

// The socket an engine connection uses (unix or TCP).
using EngineSocket = boost::asio::generic::stream_protocol::socket;

// Connects `socket` to the engine at `address` on the socket's own executor, without
// blocking a thread (`resolver` is used for a tcp:// host name). kUnavailable ("… is not
// answering") on failure. Unbounded: the caller bounds it by closing the socket and
// cancelling the resolver.
boost::asio::awaitable<Status> AsyncConnect(const EngineAddress& address, EngineSocket& socket,
                                            boost::asio::ip::tcp::resolver& resolver);

// `req` as sent to the engine: the API version prefix, Host, User-Agent, Connection: close.
boost::beast::http::request<boost::beast::http::string_body> ToHttpRequest(
    const EngineRequest& req);

// Maps a non-2xx answer to an Error: 400 kInvalidArgument, 403 kPermissionDenied,
// 404 kNotFound, 409 kConflict, 503 kUnavailable, anything else kInternal. The message is
// "<what>: <the engine's message>".
Error ErrorFromResponse(const EngineResponse& res, std::string_view what);

// The `message` of an engine error body, or the (shortened) body itself.
std::string EngineMessage(std::string_view body);

// Percent-encodes everything but unreserved characters (and '/' when `keep_slash`).
std::string UrlEncode(std::string_view s, bool keep_slash = false);

}  // namespace lattice::runtime::docker
