// CronSchedule: a five-field cron expression — minute, hour, day of month, month, day of week —
// read as Vixie cron (the crontab(5) most people know) reads it, and evaluated in UTC: a server
// cluster has no one local zone, and UTC has no skipped or doubled hours.
//
// Each field is `*` or a comma list of items; an item is a value, a range `a-b`, or either with
// a step (`*/15`, `1-30/5`, `5/10` = 5 to the field's end by 10). Months and days of the week
// take English names (`jan`, `mon`; any case). Day of week 0 and 7 are Sunday. When both day
// fields are restricted (neither starts with `*`), a day matches if either does, as in Vixie
// cron. Also `@yearly`/`@annually`, `@monthly`, `@weekly`, `@daily`/`@midnight`, `@hourly`.
//
// Parse refuses what would silently never fire (`0 0 31 2 *`) and names the field at fault.
// Immutable after Parse; thread-safe.
#pragma once

#include <bitset>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace lattice {

class CronSchedule {
 public:
  // kInvalidArgument with a message naming the field and the problem.
  static Result<CronSchedule> Parse(std::string_view expression);

  // The first firing strictly after `after` (seconds since the Unix epoch), at second 0 of
  // its minute. Firings more than 8 years away are not looked for: returns 0 then (Parse
  // refuses expressions with no firing in that span).
  std::int64_t Next(std::int64_t after) const;

  // The expression as given (trimmed).
  const std::string& text() const { return text_; }

 private:
  bool DayMatches(int day_of_month, int month, int weekday) const;

  std::string text_;
  std::bitset<60> minutes_;
  std::bitset<24> hours_;
  std::bitset<32> days_;      // 1..31
  std::bitset<13> months_;    // 1..12
  std::bitset<7> weekdays_;   // 0..6, Sunday 0
  bool any_day_ = false;      // the day-of-month field starts with `*`
  bool any_weekday_ = false;  // the day-of-week field starts with `*`
};

}  // namespace lattice
