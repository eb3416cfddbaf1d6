#include "cli/sse_parser.h"

namespace lattice::cli {

bool SseParser::Feed(std::string_view chunk, const EventFn& on_event) {
  for (char c : chunk) {
    if (after_cr_) {
      after_cr_ = false;
      if (c == '\n') continue;  // the LF of a CRLF
    }
    if (c == '\r' || c == '\n') {
      after_cr_ = c == '\r';
      if (!EndLine(on_event)) return false;
      continue;
    }
    line_ += c;
  }
  return true;
}

bool SseParser::EndLine(const EventFn& on_event) {
  std::string line;
  line.swap(line_);
  if (line.empty()) {  // a blank line dispatches the event
    if (!has_data_) {
      event_ = {};
      return true;
    }
    SseEvent ev = std::move(event_);
    event_ = {};
    has_data_ = false;
    return on_event(ev);
  }
  if (line[0] == ':') return true;  // a comment
  const auto colon = line.find(':');
  const std::string_view field = std::string_view(line).substr(0, colon);
  std::string_view value;
  if (colon != std::string::npos) {
    value = std::string_view(line).substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  }
  if (field == "event") {
    event_.type = std::string(value);
  } else if (field == "data") {
    if (has_data_) event_.data += '\n';
    event_.data += value;
    has_data_ = true;
  }
  return true;
}

}  // namespace lattice::cli
