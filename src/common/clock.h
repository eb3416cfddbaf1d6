// Clock: an injectable source of wall time so tests can move time (token expiry, rate limits).
// Implementations must be thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace lattice {

class Clock {
 public:
  virtual ~Clock() = default;
  // Seconds since the Unix epoch.
  virtual std::int64_t NowSeconds() const = 0;
};

class SystemClock final : public Clock {
 public:
  std::int64_t NowSeconds() const override {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

// A clock tests set by hand.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(std::int64_t now) : now_(now) {}
  std::int64_t NowSeconds() const override { return now_.load(); }
  void Advance(std::int64_t seconds) { now_ += seconds; }

 private:
  std::atomic<std::int64_t> now_;
};

// RFC 3339 UTC timestamp, e.g. "2026-11-25T00:17:13Z".
std::string FormatTimestamp(std::int64_t unix_seconds);
// An RFC 3339 timestamp with its zone ("2026-11-25T00:17:13Z", "…T01:17:13.25+01:00"; a space
// may stand for the "T") as microseconds since the epoch; nullopt if it is not one.
std::optional<std::int64_t> ParseTimestampMicros(std::string_view text);
// The same with up to nine fraction digits (the container engine's RFC3339Nano), as
// nanoseconds since the epoch.
std::optional<std::int64_t> ParseTimestampNanos(std::string_view text);
// RFC 3339 UTC with nanoseconds, e.g. "2026-11-25T00:17:13.000250000Z".
std::string FormatTimestampNanos(std::int64_t unix_nanos);

}  // namespace lattice
