// Server-Sent Events plumbing: a bounded, thread-safe queue of events that producers (the
// event bus, log streams) fill without blocking, and the coroutine that writes it to the
// client with a keep-alive comment every 15 s until the client leaves or the queue closes.
#pragma once

#include <boost/asio/experimental/concurrent_channel.hpp>

#include <memory>
#include <string>

#include "http/types.h"

namespace lattice::api {

class SseQueue {
 public:
  explicit SseQueue(boost::asio::any_io_executor ex, std::size_t capacity = 1024)
      : ch_(ex, capacity) {}
  // Queues one event (`event` may be empty for the default type). False if full or closed:
  // the producer should stop feeding this client.
  bool Push(const std::string& event, const std::string& data);
  // No more events; the writer finishes after draining.
  void Close() { ch_.close(); }

  // Writes events to `stream` until the client leaves or the queue closes.
  boost::asio::awaitable<void> Pump(http::beast::tcp_stream& stream);

 private:
  boost::asio::experimental::concurrent_channel<void(boost::system::error_code, std::string)> ch_;
};

// The response header of an event stream.
http::Reply SseReply();

}  // namespace lattice::api
