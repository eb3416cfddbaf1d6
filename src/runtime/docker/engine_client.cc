#include "runtime/docker/engine_client.h"

#include <sys/un.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include <array>
#include <exception>
#include <optional>

namespace lattice::runtime::docker {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using Socket = asio::generic::stream_protocol::socket;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
constexpr std::string_view kApiPrefix = "/v1.41";
constexpr std::uint64_t kMaxBody = 64 << 20;
constexpr auto kPollInterval = 100ms;

// The state of one call. It lives on the calling thread's stack; the coroutine and the loop in
// Drive() touch it only from that thread (the coroutine runs inside ioc.run_for).
struct Exchange {
  Exchange(const EngineAddress& a, const EngineRequest& r, const StreamOptions* s)
      : address(a), request(r), stream(s) {}

  const EngineAddress& address;
  const EngineRequest& request;
  const StreamOptions* stream;  // null: read the whole body
  asio::io_context ioc{1};
  Socket socket{ioc};
  asio::ip::tcp::resolver resolver{ioc};
  Clock::time_point deadline = Clock::time_point::max();  // of the current phase
  const char* phase = "connecting";                       // for timeout messages
  bool finished = false;
  std::optional<Result<EngineResponse>> result;
};

std::string Describe(const Exchange& ex) {
  std::string target = ex.request.target.substr(0, ex.request.target.find('?'));
  return std::string(bhttp::to_string(ex.request.method)) + " " + target;
}

Error NotAnswering(const EngineAddress& address, const beast::error_code& ec) {
  return Error::Unavailable("the Docker engine at " + address.url +
                            " is not answering (connect: " + ec.message() + ")");
}

Error ConnectionLost(const Exchange& ex, const char* step, const beast::error_code& ec) {
  return Error::Unavailable("the Docker engine at " + ex.address.url + " failed while " + step +
                            " for " + Describe(ex) + ": " + ec.message());
}

asio::awaitable<Result<EngineResponse>> Converse(Exchange& ex) {
  if (Status st = co_await AsyncConnect(ex.address, ex.socket, ex.resolver); !st.ok())
    co_return st.error();

  ex.phase = "sending the request";
  auto req = ToHttpRequest(ex.request);
  auto [write_ec, written] = co_await bhttp::async_write(ex.socket, req, kTuple);
  if (write_ec && write_ec != asio::error::broken_pipe &&
      write_ec != asio::error::connection_reset) {
    co_return ConnectionLost(ex, "sending the request", write_ec);
  }

  // The engine may refuse a request (an import, say) before reading all of its body and
  // close its side: its answer is then still there to read, and says more than EPIPE.
  ex.phase = "reading the answer";
  beast::flat_buffer buffer;
  bhttp::response_parser<bhttp::buffer_body> head;
  head.body_limit(boost::none);
  if (auto [ec, n] = co_await bhttp::async_read_header(ex.socket, buffer, head, kTuple); ec) {
    co_return ConnectionLost(ex, write_ec ? "sending the request" : "reading the answer",
                             write_ec ? write_ec : ec);
  }
  const int status = static_cast<int>(head.get().result_int());

  if (ex.stream == nullptr || status / 100 != 2) {
    bhttp::response_parser<bhttp::string_body> whole{std::move(head)};
    whole.body_limit(kMaxBody);
    if (!whole.is_done()) {
      if (auto [ec, n] = co_await bhttp::async_read(ex.socket, buffer, whole, kTuple); ec) {
        co_return ConnectionLost(ex, "reading the answer", ec);
      }
    }
    co_return EngineResponse{status, std::move(whole.get().body()), false};
  }

  ex.phase = "streaming the answer";
  ex.deadline = ex.stream->body_timeout.count() > 0 ? Clock::now() + ex.stream->body_timeout
                                                    : Clock::time_point::max();
  std::array<char, 16 << 10> piece;
  while (!head.is_done()) {
    head.get().body().data = piece.data();
    head.get().body().size = piece.size();
    auto [ec, n] = co_await bhttp::async_read_some(ex.socket, buffer, head, kTuple);
    if (ec == bhttp::error::need_buffer) ec = {};
    if (ec) co_return ConnectionLost(ex, "streaming the answer", ec);
    std::size_t got = piece.size() - head.get().body().size;
    if (got > 0 && !ex.stream->on_data(std::string_view(piece.data(), got))) {
      co_return EngineResponse{status, {}, true};
    }
  }
  co_return EngineResponse{status, {}, false};
}

asio::awaitable<void> RunExchange(Exchange& ex) {
  ex.result = co_await Converse(ex);
}

// Closes the connection and lets the coroutine unwind (its pending operations complete with
// operation_aborted).
void Abort(Exchange& ex) {
  beast::error_code ignored;
  ex.socket.close(ignored);
  ex.resolver.cancel();
  ex.ioc.restart();
  ex.ioc.run();
}

enum class Outcome { kFinished, kTimedOut };

// Runs the exchange until it finishes or its current deadline passes. The deadline moves when
// the body starts streaming, so the loop looks at it again at least every kPollInterval.
Outcome Drive(Exchange& ex) {
  for (;;) {
    if (ex.finished) return Outcome::kFinished;
    auto now = Clock::now();
    if (now >= ex.deadline) {
      Abort(ex);
      return Outcome::kTimedOut;
    }
    Clock::duration slice = kPollInterval;
    if (ex.deadline - now < slice) slice = ex.deadline - now;
    ex.ioc.restart();
    ex.ioc.run_for(slice);
  }
}

std::string Seconds(std::chrono::milliseconds d) {
  if (d.count() % 1000 == 0) return std::to_string(d.count() / 1000) + " s";
  return std::to_string(d.count()) + " ms";
}

}  // namespace

asio::awaitable<Status> AsyncConnect(const EngineAddress& address, EngineSocket& socket,
                                     asio::ip::tcp::resolver& resolver) {
  if (!address.unix_path.empty()) {
    asio::local::stream_protocol::endpoint ep(address.unix_path);
    auto [ec] = co_await socket.async_connect(Socket::endpoint_type(ep), kTuple);
    if (ec) co_return NotAnswering(address, ec);
    co_return Status::Ok();
  }
  beast::error_code ec;
  std::vector<asio::ip::tcp::endpoint> endpoints;
  auto ip = asio::ip::make_address(address.host, ec);
  if (!ec) {
    endpoints.emplace_back(ip, static_cast<unsigned short>(std::stoi(address.port)));
  } else {
    auto [rec, results] = co_await resolver.async_resolve(address.host, address.port, kTuple);
    if (rec) co_return NotAnswering(address, rec);
    for (const auto& r : results) endpoints.push_back(r.endpoint());
  }
  for (const auto& ep : endpoints) {
    beast::error_code ignored;
    socket.close(ignored);
    auto [cec] = co_await socket.async_connect(Socket::endpoint_type(ep), kTuple);
    if (!cec) co_return Status::Ok();
    ec = cec;
  }
  co_return NotAnswering(address, ec);
}

bhttp::request<bhttp::string_body> ToHttpRequest(const EngineRequest& r) {
  bhttp::request<bhttp::string_body> req{r.method, std::string(kApiPrefix) + r.target, 11};
  req.set(bhttp::field::host, "docker");
  req.set(bhttp::field::user_agent, "lattice");
  req.set(bhttp::field::connection, "close");
  if (!r.body.empty()) {
    req.set(bhttp::field::content_type, r.content_type);
    req.body() = r.body;
  }
  req.prepare_payload();
  return req;
}

Result<EngineAddress> ParseEngineAddress(std::string_view url) {
  auto invalid = [&](std::string why) {
    return Error::Invalid("unsupported Docker engine address \"" + std::string(url) + "\": " + why +
                          " (use unix:///path/to/docker.sock or tcp://host:port)");
  };
  EngineAddress a;
  a.url = std::string(url);
  if (url.starts_with("unix://")) {
    a.unix_path = std::string(url.substr(7));
    if (a.unix_path.empty() || a.unix_path[0] != '/') return invalid("the path must be absolute");
    if (a.unix_path.size() >= sizeof(sockaddr_un{}.sun_path)) return invalid("path too long");
    return a;
  }
  if (url.starts_with("tcp://")) {
    std::string_view rest = url.substr(6);
    if (auto slash = rest.find('/'); slash != std::string_view::npos) {
      if (rest.substr(slash) != "/") return invalid("no path is allowed");
      rest = rest.substr(0, slash);
    }
    std::string_view host = rest, port = "2375";
    if (rest.starts_with('[')) {
      auto close = rest.find(']');
      if (close == std::string_view::npos) return invalid("unterminated IPv6 address");
      host = rest.substr(1, close - 1);
      std::string_view after = rest.substr(close + 1);
      if (after.starts_with(':')) port = after.substr(1);
    } else if (auto colon = rest.rfind(':'); colon != std::string_view::npos) {
      host = rest.substr(0, colon);
      port = rest.substr(colon + 1);
    }
    bool digits = !port.empty() && port.size() <= 5 &&
                  port.find_first_not_of("0123456789") == std::string_view::npos;
    if (host.empty()) return invalid("no host");
    if (!digits || std::stoi(std::string(port)) > 65535) return invalid("bad port");
    a.host = std::string(host);
    a.port = std::string(port);
    return a;
  }
  return invalid("unknown scheme");
}

EngineClient::EngineClient(EngineAddress address, std::chrono::milliseconds timeout)
    : address_(std::move(address)), timeout_(timeout) {}

Result<EngineResponse> EngineClient::Call(const EngineRequest& req,
                                          std::chrono::milliseconds timeout) const {
  return Run(req, nullptr, timeout);
}

Result<EngineResponse> EngineClient::Stream(const EngineRequest& req, const StreamOptions& opts,
                                            std::chrono::milliseconds timeout) const {
  return Run(req, &opts, timeout);
}

Result<EngineResponse> EngineClient::Run(const EngineRequest& req, const StreamOptions* stream,
                                         std::chrono::milliseconds timeout) const {
  if (timeout.count() <= 0) timeout = timeout_;
  Exchange ex(address_, req, stream);
  ex.deadline = Clock::now() + timeout;
  asio::co_spawn(ex.ioc, RunExchange(ex), [&ex](std::exception_ptr e) {
    ex.finished = true;
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& x) {
      ex.result = Error::Internal("talking to the Docker engine at " + ex.address.url +
                                  " failed: " + x.what());
    } catch (...) {
      ex.result = Error::Internal("talking to the Docker engine at " + ex.address.url + " failed");
    }
  });
  switch (Drive(ex)) {
    case Outcome::kFinished:
      break;
    case Outcome::kTimedOut: {
      std::chrono::milliseconds bound = timeout;
      if (stream != nullptr && std::string_view(ex.phase) == "streaming the answer") {
        bound = stream->body_timeout;
      }
      return Error::Unavailable("the Docker engine at " + address_.url + " did not answer " +
                                Describe(ex) + " within " + Seconds(bound) + " (stuck " + ex.phase +
                                ")");
    }
  }
  if (!ex.result) return Error::Internal("Docker engine call ended without a result");
  return std::move(*ex.result);
}

Error ErrorFromResponse(const EngineResponse& res, std::string_view what) {
  std::string msg = std::string(what) + ": " + EngineMessage(res.body);
  switch (res.status) {
    case 400:
      return Error::Invalid(std::move(msg));
    case 401:
    case 403:
      return Error::Forbidden(std::move(msg));
    case 404:
      return Error::NotFound(std::move(msg));
    case 409:
      return Error::Conflict(std::move(msg));
    case 503:
      return Error::Unavailable(std::move(msg));
    default:
      return Error::Internal(std::move(msg) + " (HTTP " + std::to_string(res.status) + ")");
  }
}

std::string EngineMessage(std::string_view body) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(body, ec);
  if (!ec && v.is_object()) {
    if (const auto* m = v.as_object().if_contains("message"); m != nullptr && m->is_string()) {
      return std::string(m->as_string());
    }
  }
  std::string text(body.substr(0, 500));
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) {
    text.pop_back();
  }
  return text.empty() ? "(no message)" : text;
}

std::string UrlEncode(std::string_view s, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    bool plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                 c == '-' || c == '_' || c == '.' || c == '~' || (keep_slash && c == '/');
    if (plain) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

}  // namespace lattice::runtime::docker
