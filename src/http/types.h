// Shared vocabulary of the HTTP layer: request/response aliases, the per-request context that
// handlers receive, and Reply — a buffered response, optionally followed by a streamed body
// (Server-Sent Events, followed logs) that the session drives until the stream ends.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/json/value.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/principal.h"

namespace lattice::http {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace asio = boost::asio;

using Request = bhttp::request<bhttp::string_body>;
using Response = bhttp::response<bhttp::string_body>;

using lattice::Principal;

// Who may call a route. Checked by the dispatcher before the handler runs.
enum class Access { kPublic, kUser, kAdmin };

struct RequestContext {
  const Request& req;
  std::string_view path;   // the target without the query string
  std::string_view query;  // the raw query string (after '?'), possibly empty
  std::vector<std::pair<std::string, std::string>> params;  // path parameters, in order
  std::string remote_addr;
  std::string request_id;
  std::optional<Principal> principal;  // set for kUser/kAdmin routes

  // Path parameter by name; empty if absent.
  std::string_view Param(std::string_view name) const {
    for (const auto& [k, v] : params)
      if (k == name) return v;
    return {};
  }
  // Decoded query parameter by name; std::nullopt if absent.
  std::optional<std::string> QueryParam(std::string_view name) const;
  // The bearer token from the Authorization header; empty if absent or another scheme.
  std::string_view BearerToken() const;
};

// Writes a streamed body after the response header (used with chunked/SSE replies). Returns
// when the stream is finished or the peer has gone; the session then closes the connection.
using StreamFn = std::function<asio::awaitable<void>(beast::tcp_stream&)>;

// Takes over the connection after a handler accepted a protocol upgrade (WebSocket): the
// session hands it the stream and the request and ends when it returns.
using UpgradeFn = std::function<asio::awaitable<void>(beast::tcp_stream, Request)>;

struct Reply {
  Response res;
  StreamFn stream;    // optional
  UpgradeFn upgrade;  // optional; `res` is then ignored
};

using Handler = std::function<asio::awaitable<Reply>(RequestContext&)>;

// Builders for common replies.
Reply JsonReply(bhttp::status status, const boost::json::value& body);
Reply EmptyReply(bhttp::status status);
Reply TextReply(bhttp::status status, std::string body, std::string_view content_type);

}  // namespace lattice::http
