// Decoding of the Docker Engine's log stream (GET /containers/{id}/logs).
//
// For a container without a TTY the engine multiplexes stdout and stderr into frames: an
// 8-byte header [stream, 0, 0, 0, size as 4 bytes big-endian] followed by `size` payload
// bytes. A TTY container's stream is raw text. Input arrives in arbitrary pieces (a frame, or
// even a header, may be split across reads), so both classes here are incremental. They are
// pure (no I/O) and not thread-safe: one instance per stream.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace lattice::runtime::docker {

enum class LogStream { kStdin = 0, kStdout = 1, kStderr = 2 };

// LogDemuxer turns frames into payload pieces, delivered as soon as their bytes arrive (a
// frame's payload may reach the sink in several pieces). It recognises a raw (TTY) stream by
// its first bytes not forming a frame header and then passes everything through as stdout.
class LogDemuxer {
 public:
  using Sink = std::function<void(LogStream stream, std::string_view payload)>;

  void Feed(std::string_view bytes, const Sink& sink);
  // The input ended. Flushes bytes held back while recognising the stream kind; a truncated
  // frame header is dropped.
  void Finish(const Sink& sink);

 private:
  enum class Mode { kDetect, kMultiplexed, kRaw };
  static constexpr std::size_t kHeaderSize = 8;

  Mode mode_ = Mode::kDetect;
  std::string header_;  // bytes of a header not yet complete
  LogStream stream_ = LogStream::kStdout;
  std::uint32_t remaining_ = 0;  // payload bytes still to come in the current frame
};

// LineSplitter cuts payload text into lines across Feed calls. Each stream keeps its own
// partial line, so an unterminated stdout line is never glued to stderr output. Lines are
// passed without their '\n' (and without a '\r' before it, as a TTY writes).
class LineSplitter {
 public:
  using LineFn = std::function<bool(LogStream stream, std::string_view line)>;

  // Returns false as soon as `on_line` returns false (the rest of `text` is dropped).
  bool Feed(LogStream stream, std::string_view text, const LineFn& on_line);
  // Emits each stream's unterminated last line, if any.
  bool Flush(const LineFn& on_line);

  // A partial line longer than this is emitted as a line of its own, bounding memory.
  static constexpr std::size_t kMaxLine = 1 << 20;

 private:
  std::string partial_[3];
};

// Demultiplexes a complete log body into text, stdout and stderr interleaved in arrival order.
std::string DemuxLogs(std::string_view body);

}  // namespace lattice::runtime::docker
