// SseParser: an incremental parser for a Server-Sent Events stream (the `text/event-stream`
// bodies of /api/v1/events and followed logs). Feed it the body in whatever chunks the network
// delivers; it hands back each complete event. Lines may end in LF, CRLF or CR; comments
// (": keep-alive") and `id:`/`retry:` fields are ignored. Not thread-safe.
#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace lattice::cli {

struct SseEvent {
  std::string type;  // the `event:` field; empty for the default "message" type
  std::string data;  // the `data:` lines joined with '\n'
};

class SseParser {
 public:
  // Returns false to stop parsing.
  using EventFn = std::function<bool(const SseEvent&)>;

  // Parses `chunk`, calling `on_event` for each event it completes. Returns false if on_event
  // asked to stop (the rest of the chunk is dropped).
  bool Feed(std::string_view chunk, const EventFn& on_event);

 private:
  bool EndLine(const EventFn& on_event);

  std::string line_;       // the current, unfinished line
  bool after_cr_ = false;  // the last byte was CR: a following LF belongs to it
  SseEvent event_;         // the event being assembled
  bool has_data_ = false;
};

}  // namespace lattice::cli
