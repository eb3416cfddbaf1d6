#include "cli/http_transport.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/url/parse.hpp>

#include <algorithm>
#include <cctype>

namespace lattice::cli {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;
constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t kMaxBufferedBody = 64u << 20;
constexpr const char* kCheckServer = "check --server or LATTICE_SERVER";

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string Seconds(std::chrono::milliseconds d) {
  return std::to_string((d.count() + 999) / 1000) + "s";
}

// "Connection refused" → "connection refused".
std::string Describe(const beast::error_code& ec) {
  std::string m = ec.message();
  if (!m.empty()) m[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(m[0])));
  return m;
}

bhttp::verb VerbOf(const std::string& method) {
  if (method == "POST") return bhttp::verb::post;
  if (method == "DELETE") return bhttp::verb::delete_;
  if (method == "PUT") return bhttp::verb::put;
  return bhttp::verb::get;
}

class PlainHttpTransport final : public HttpTransport {
 public:
  explicit PlainHttpTransport(ServerUrl url) : url_(std::move(url)) {}

  Result<HttpResponse> RoundTrip(const HttpRequest& req, const Deadlines& d) override {
    return Run(req, d, nullptr);
  }
  Result<HttpResponse> Stream(const HttpRequest& req, const Deadlines& d,
                              const ChunkFn& on_chunk) override {
    return Run(req, d, &on_chunk);
  }

 private:
  // Each exchange gets its own io_context, so a chunk callback may itself make requests.
  Result<HttpResponse> Run(const HttpRequest& req, const Deadlines& d, const ChunkFn* on_chunk) {
    asio::io_context ioc;
    Result<HttpResponse> out = Error::Internal("the request did not complete");
    asio::co_spawn(ioc, Exchange(req, d, on_chunk, out), [&out](std::exception_ptr e) {
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        out = Error::Internal(std::string("HTTP client failure: ") + ex.what());
      }
    });
    ioc.run();
    return out;
  }

  Error CannotReach(const std::string& why) const {
    return Error::Unavailable("cannot reach " + url_.ToString() + ": " + why +
                              " — is the server running? " + kCheckServer);
  }

  Error Broken(const beast::error_code& ec, const Deadlines& d, bool streaming) const {
    if (ec == beast::error::timeout) {
      if (streaming)
        return Error::Unavailable(url_.ToString() + " went silent for " + Seconds(d.idle) +
                                  "; the stream was dropped — run the command again");
      return Error::Unavailable(url_.ToString() + " did not answer within " + Seconds(d.exchange) +
                                " — try again, or check the server's health");
    }
    return Error::Unavailable("lost the connection to " + url_.ToString() + ": " + Describe(ec) +
                              " — try again");
  }

  asio::awaitable<void> Exchange(const HttpRequest& req, const Deadlines& d,
                                 const ChunkFn* on_chunk, Result<HttpResponse>& out) {
    auto ex = co_await asio::this_coro::executor;
    tcp::resolver resolver(ex);
    asio::steady_timer resolve_deadline(ex, d.connect);
    auto resolved = co_await (resolver.async_resolve(url_.host, url_.port, kUseTuple) ||
                              resolve_deadline.async_wait(kUseTuple));
    if (resolved.index() == 1) {
      out = CannotReach("resolving " + url_.host + " took longer than " + Seconds(d.connect));
      co_return;
    }
    auto [rec, endpoints] = std::get<0>(std::move(resolved));
    if (rec) {
      out = CannotReach("cannot resolve " + url_.host + " (" + Describe(rec) + ")");
      co_return;
    }

    beast::tcp_stream stream(ex);
    stream.expires_after(d.connect);
    auto [cec, ep] = co_await stream.async_connect(endpoints, kUseTuple);
    if (cec) {
      out = CannotReach(cec == beast::error::timeout ? "no answer within " + Seconds(d.connect)
                                                     : Describe(cec));
      co_return;
    }

    bhttp::request<bhttp::string_body> r{VerbOf(req.method), url_.base_path + req.target, 11};
    r.set(bhttp::field::host, url_.HostHeader());
    r.set(bhttp::field::user_agent, std::string("lattice-cli/") + LATTICE_VERSION);
    r.set(bhttp::field::accept, req.accept);
    if (!req.token.empty()) r.set(bhttp::field::authorization, "Bearer " + req.token);
    if (!req.body.empty()) {
      r.set(bhttp::field::content_type, "application/json");
      r.body() = req.body;
    }
    r.keep_alive(false);
    r.prepare_payload();
    stream.expires_after(d.exchange);
    if (auto [wec, wn] = co_await bhttp::async_write(stream, r, kUseTuple); wec) {
      out = Broken(wec, d, false);
      co_return;
    }

    beast::flat_buffer buf;
    if (on_chunk == nullptr) {
      bhttp::response_parser<bhttp::string_body> p;
      p.body_limit(kMaxBufferedBody);
      if (auto [ec, n] = co_await bhttp::async_read(stream, buf, p, kUseTuple); ec) {
        out = Broken(ec, d, false);
        co_return;
      }
      out = ToResponse(p.get().base(), std::move(p.get().body()));
      co_return;
    }
    out = co_await ReadStream(stream, buf, d, *on_chunk);
  }

  // Reads a response whose 2xx body goes to `on_chunk` as it arrives.
  asio::awaitable<Result<HttpResponse>> ReadStream(beast::tcp_stream& stream,
                                                   beast::flat_buffer& buf, const Deadlines& d,
                                                   const ChunkFn& on_chunk) {
    bhttp::response_parser<bhttp::buffer_body> p;
    p.body_limit(boost::none);
    if (auto [ec, n] = co_await bhttp::async_read_header(stream, buf, p, kUseTuple); ec)
      co_return Broken(ec, d, false);
    const int status = p.get().result_int();
    const bool deliver = status >= 200 && status < 300;
    std::string collected;
    char chunk[16 * 1024];
    while (!p.is_done()) {
      p.get().body().data = chunk;
      p.get().body().size = sizeof chunk;
      stream.expires_after(deliver ? d.idle : d.exchange);
      // read_some: hand over what has arrived instead of waiting to fill the buffer.
      auto [ec, n] = co_await bhttp::async_read_some(stream, buf, p, kUseTuple);
      if (ec == bhttp::error::need_buffer) ec = {};
      if (ec) co_return Broken(ec, d, deliver);
      const std::size_t got = sizeof chunk - p.get().body().size;
      if (!deliver) {
        if (collected.size() + got > kMaxBufferedBody)
          co_return Error::Unavailable("the response from " + url_.ToString() + " is too large");
        collected.append(chunk, got);
      } else if (got > 0 && !on_chunk(std::string_view(chunk, got))) {
        break;
      }
    }
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    co_return ToResponse(p.get().base(), std::move(collected));
  }

  static HttpResponse ToResponse(const bhttp::response_header<>& h, std::string body) {
    HttpResponse res;
    res.status = static_cast<int>(h.result_int());
    res.content_type = std::string(h[bhttp::field::content_type]);
    res.retry_after = std::string(h[bhttp::field::retry_after]);
    res.body = std::move(body);
    return res;
  }

  const ServerUrl url_;
};

}  // namespace

std::string ServerUrl::ToString() const {
  return scheme + "://" + HostHeader() + base_path;
}

std::string ServerUrl::HostHeader() const {
  const bool default_port =
      (scheme == "http" && port == "80") || (scheme == "https" && port == "443");
  const std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return default_port ? h : h + ":" + port;
}

Result<ServerUrl> ParseServerUrl(std::string_view text) {
  const auto bad = [&](const std::string& why) {
    return Error::Invalid("server URL '" + std::string(text.substr(0, 200)) + "' " + why + " (" +
                          kCheckServer + ")");
  };
  if (text.empty())
    return Error::Invalid("no server given: pass --server URL or set LATTICE_SERVER");
  std::string s(text);
  if (s.find("://") == std::string::npos) s = "http://" + s;
  auto u = boost::urls::parse_uri(s);
  if (!u) return bad("is not a URL (want http://HOST:PORT)");
  ServerUrl url;
  url.scheme = Lower(std::string(u->scheme()));
  if (url.scheme != "http" && url.scheme != "https")
    return bad("has an unsupported scheme (want http:// or https://)");
  if (u->has_userinfo() || u->has_query() || u->has_fragment())
    return bad("must not carry credentials, a query or a fragment");
  url.host = Lower(std::string(u->host_address()));
  if (url.host.empty()) return bad("has no host");
  if (u->has_port()) {
    const std::string port(u->port());
    if (port.empty() || port.size() > 5 ||
        !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
        std::stoi(port) < 1 || std::stoi(port) > 65535)
      return bad("has an invalid port");
    url.port = port;
  } else {
    url.port = url.scheme == "https" ? "443" : "80";
  }
  url.base_path = std::string(u->encoded_path());
  while (!url.base_path.empty() && url.base_path.back() == '/') url.base_path.pop_back();
  return url;
}

Result<std::unique_ptr<HttpTransport>> NewHttpTransport(const ServerUrl& url) {
  if (url.scheme != "http")
    return Error::Invalid("https:// servers are not supported by this CLI yet; use http:// (" +
                          std::string(kCheckServer) + ")");
  return std::unique_ptr<HttpTransport>(std::make_unique<PlainHttpTransport>(url));
}

}  // namespace lattice::cli
