// Plain-text output helpers: aligned tables and human times. Pure; thread-compatible.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lattice::cli {

// Columns separated by two spaces, padded to the widest cell (counted in UTF-8 characters),
// with no trailing whitespace. Short rows are padded with empty cells. An empty header renders
// only the rows (aligned key/value lists).
class Table {
 public:
  explicit Table(std::vector<std::string> header = {}) : header_(std::move(header)) {}
  void AddRow(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  std::string Render() const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

// Display width of UTF-8 text: one per character.
std::size_t DisplayWidth(std::string_view text);

// Seconds since the Unix epoch of an RFC 3339 UTC timestamp ("2026-11-25T00:17:13Z").
std::optional<std::int64_t> ParseTimestamp(std::string_view text);

// A compact age: "12s", "5m", "3h", "2d".
std::string FormatAge(std::int64_t seconds);

// "5m ago" for a timestamp, relative to `now`; "-" when it cannot be parsed.
std::string Ago(std::string_view timestamp, std::int64_t now);

}  // namespace lattice::cli
