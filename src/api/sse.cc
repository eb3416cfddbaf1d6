#include "api/sse.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

namespace lattice::api {

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;
constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);

bool SseQueue::Push(const std::string& event, const std::string& data) {
  std::string frame;
  if (!event.empty()) frame += "event: " + event + "\n";
  // A data line may not contain a newline: split multi-line payloads into several data lines.
  std::size_t start = 0;
  for (;;) {
    const auto nl = data.find('\n', start);
    std::string_view line(data.data() + start,
                          (nl == std::string::npos ? data.size() : nl) - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    frame += "data: ";
    frame += line;
    frame += "\n";
    if (nl == std::string::npos) break;
    start = nl + 1;
  }
  frame += "\n";
  return ch_.try_send(boost::system::error_code{}, std::move(frame));
}

asio::awaitable<void> SseQueue::Pump(http::beast::tcp_stream& stream) {
  asio::steady_timer keepalive(co_await asio::this_coro::executor);
  // Tell the browser how soon to reconnect if the stream drops.
  std::string out = "retry: 2000\n\n";
  for (;;) {
    stream.expires_after(std::chrono::seconds(30));
    auto [wec, wn] = co_await asio::async_write(stream, asio::buffer(out), kUseTuple);
    if (wec) co_return;
    keepalive.expires_after(std::chrono::seconds(15));
    auto result = co_await (ch_.async_receive(kUseTuple) || keepalive.async_wait(kUseTuple));
    if (result.index() == 0) {
      auto& [ec, frame] = std::get<0>(result);
      if (ec) co_return;  // closed
      out = std::move(frame);
      // Batch whatever else is already queued into the same write.
      while (ch_.try_receive([&](boost::system::error_code e, std::string more) {
        if (!e) out += more;
      })) {
      }
    } else {
      out = ": keep-alive\n\n";
    }
  }
}

http::Reply SseReply() {
  http::Reply r;
  r.res.result(http::bhttp::status::ok);
  r.res.set(http::bhttp::field::content_type, "text/event-stream");
  r.res.set(http::bhttp::field::cache_control, "no-cache");
  r.res.set("X-Accel-Buffering", "no");
  return r;
}

}  // namespace lattice::api
