#include "common/clock.h"

#include <cstdio>
#include <ctime>

namespace lattice {

std::string FormatTimestamp(std::int64_t unix_seconds) {
  const std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string FormatTimestampNanos(std::int64_t unix_nanos) {
  std::int64_t secs = unix_nanos / 1'000'000'000;
  std::int64_t frac = unix_nanos % 1'000'000'000;
  if (frac < 0) {
    frac += 1'000'000'000;
    --secs;
  }
  std::string out = FormatTimestamp(secs);
  char buf[16];
  std::snprintf(buf, sizeof buf, ".%09lldZ", static_cast<long long>(frac));
  out.pop_back();  // the 'Z'
  out += buf;
  return out;
}

namespace {

// YYYY-MM-DD[T ]HH:MM:SS[.f{1,9}](Z|±HH:MM) as whole seconds since the epoch and the fraction
// in nanoseconds.
bool ParseTimestampParts(std::string_view s, std::int64_t& seconds, std::int64_t& nanos);

}  // namespace

std::optional<std::int64_t> ParseTimestampMicros(std::string_view s) {
  std::int64_t seconds = 0, nanos = 0;
  if (!ParseTimestampParts(s, seconds, nanos)) return std::nullopt;
  return seconds * 1'000'000 + nanos / 1000;  // the fraction truncated, as it always was
}

std::optional<std::int64_t> ParseTimestampNanos(std::string_view s) {
  std::int64_t seconds = 0, nanos = 0;
  if (!ParseTimestampParts(s, seconds, nanos)) return std::nullopt;
  // int64 nanoseconds reach the year 2262.
  if (seconds > 9'000'000'000LL || seconds < -9'000'000'000LL) return std::nullopt;
  return seconds * 1'000'000'000 + nanos;
}

namespace {

bool ParseTimestampParts(std::string_view s, std::int64_t& seconds, std::int64_t& out_nanos) {
  // YYYY-MM-DD[T ]HH:MM:SS[.f{1,9}](Z|±HH:MM)
  auto digits = [&](std::size_t at, std::size_t n, int& out) {
    if (at + n > s.size()) return false;
    out = 0;
    for (std::size_t i = at; i < at + n; ++i) {
      if (s[i] < '0' || s[i] > '9') return false;
      out = out * 10 + (s[i] - '0');
    }
    return true;
  };
  int year, mon, day, hour, min, sec;
  if (s.size() < 20 || !digits(0, 4, year) || s[4] != '-' || !digits(5, 2, mon) || s[7] != '-' ||
      !digits(8, 2, day) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
      !digits(11, 2, hour) || s[13] != ':' || !digits(14, 2, min) || s[16] != ':' ||
      !digits(17, 2, sec))
    return false;
  if (mon < 1 || mon > 12 || day < 1 || day > 31 || hour > 23 || min > 59 || sec > 59) return false;
  std::size_t at = 19;
  std::int64_t nanos = 0;
  if (at < s.size() && s[at] == '.') {
    std::size_t n = 0;
    for (++at; at < s.size() && s[at] >= '0' && s[at] <= '9'; ++at, ++n)
      if (n < 9) nanos = nanos * 10 + (s[at] - '0');
    if (n == 0) return false;
    for (; n < 9; ++n) nanos *= 10;
  }
  std::int64_t offset = 0;
  if (at < s.size() && (s[at] == 'Z' || s[at] == 'z')) {
    ++at;
  } else if (at < s.size() && (s[at] == '+' || s[at] == '-')) {
    int oh, om;
    if (!digits(at + 1, 2, oh) || at + 3 >= s.size() || s[at + 3] != ':' ||
        !digits(at + 4, 2, om) || oh > 23 || om > 59)
      return false;
    offset = (s[at] == '+' ? 1 : -1) * (oh * 3600 + om * 60);
    at += 6;
  } else {
    return false;  // a zone is required: the server's must not decide what was meant
  }
  if (at != s.size()) return false;
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = mon - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = min;
  tm.tm_sec = sec;
  const std::time_t t = timegm(&tm);
  std::tm back{};
  gmtime_r(&t, &back);
  if (back.tm_mday != day || back.tm_mon != mon - 1) return false;  // e.g. 31 February
  seconds = static_cast<std::int64_t>(t) - offset;
  out_nanos = nanos;
  return true;
}

}  // namespace

}  // namespace lattice
