#include "runtime/docker/log_demux.h"

#include <algorithm>

namespace lattice::runtime::docker {

namespace {

// A frame header starts with the stream number (0, 1 or 2) and three zero bytes. Raw text
// practically never starts like that.
bool LooksLikeHeaderStart(std::string_view b) {
  if (b.empty()) return true;
  if (static_cast<unsigned char>(b[0]) > 2) return false;
  for (std::size_t i = 1; i < std::min<std::size_t>(b.size(), 4); ++i) {
    if (b[i] != '\0') return false;
  }
  return true;
}

LogStream StreamOf(char c) {
  switch (static_cast<unsigned char>(c)) {
    case 0:
      return LogStream::kStdin;
    case 2:
      return LogStream::kStderr;
    default:
      return LogStream::kStdout;
  }
}

}  // namespace

void LogDemuxer::Feed(std::string_view bytes, const Sink& sink) {
  while (!bytes.empty()) {
    if (mode_ == Mode::kRaw) {
      sink(LogStream::kStdout, bytes);
      return;
    }
    if (remaining_ > 0) {
      std::size_t n = std::min<std::size_t>(remaining_, bytes.size());
      sink(stream_, bytes.substr(0, n));
      remaining_ -= static_cast<std::uint32_t>(n);
      bytes.remove_prefix(n);
      continue;
    }
    // Collect a header.
    std::size_t need = kHeaderSize - header_.size();
    std::size_t n = std::min(need, bytes.size());
    header_.append(bytes.substr(0, n));
    bytes.remove_prefix(n);
    if (mode_ == Mode::kDetect) {
      if (!LooksLikeHeaderStart(header_)) {
        mode_ = Mode::kRaw;
        std::string held = std::move(header_);
        header_.clear();
        sink(LogStream::kStdout, held);
        continue;
      }
      if (header_.size() >= 4) mode_ = Mode::kMultiplexed;
    }
    if (header_.size() < kHeaderSize) continue;
    stream_ = StreamOf(header_[0]);
    remaining_ = 0;
    for (int i = 4; i < 8; ++i) {
      remaining_ = (remaining_ << 8) | static_cast<unsigned char>(header_[i]);
    }
    header_.clear();
  }
}

void LogDemuxer::Finish(const Sink& sink) {
  if (mode_ == Mode::kDetect && !header_.empty()) sink(LogStream::kStdout, header_);
  header_.clear();
}

bool LineSplitter::Feed(LogStream stream, std::string_view text, const LineFn& on_line) {
  std::string& partial = partial_[static_cast<int>(stream)];
  while (!text.empty()) {
    std::size_t nl = text.find('\n');
    if (nl == std::string_view::npos) {
      partial.append(text);
      if (partial.size() >= kMaxLine) {
        std::string line = std::move(partial);
        partial.clear();
        if (!on_line(stream, line)) return false;
      }
      return true;
    }
    std::string_view piece = text.substr(0, nl);
    text.remove_prefix(nl + 1);
    std::string_view line = piece;
    if (!partial.empty()) {
      partial.append(piece);
      line = partial;
    }
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    bool more = on_line(stream, line);
    partial.clear();
    if (!more) return false;
  }
  return true;
}

bool LineSplitter::Flush(const LineFn& on_line) {
  for (int i = 0; i < 3; ++i) {
    if (partial_[i].empty()) continue;
    std::string line = std::move(partial_[i]);
    partial_[i].clear();
    if (!on_line(static_cast<LogStream>(i), line)) return false;
  }
  return true;
}

std::string DemuxLogs(std::string_view body) {
  std::string out;
  LogDemuxer demux;
  auto sink = [&out](LogStream, std::string_view payload) { out.append(payload); };
  demux.Feed(body, sink);
  demux.Finish(sink);
  return out;
}

}  // namespace lattice::runtime::docker
