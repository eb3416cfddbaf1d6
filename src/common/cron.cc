#include "common/cron.h"

#include <array>
#include <cctype>
#include <charconv>
#include <chrono>
#include <optional>
#include <vector>

namespace lattice {
namespace {

constexpr std::int64_t kDay = 86400;
constexpr int kSearchDays = 8 * 366;  // covers every leap-day rule (Feb 29 recurs within 8 years)

struct FieldSpec {
  const char* name;  // for messages and the error's field
  int lo;
  int hi;
  std::array<std::string_view, 13> names;  // names[i] is value lo+i ("" when none)
};

constexpr FieldSpec kMinute{"minute", 0, 59, {}};
constexpr FieldSpec kHour{"hour", 0, 23, {}};
constexpr FieldSpec kDayOfMonth{"day of month", 1, 31, {}};
constexpr FieldSpec kMonth{
    "month",
    1,
    12,
    {"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec", ""}};
constexpr FieldSpec kWeekday{
    "day of week", 0, 7, {"sun", "mon", "tue", "wed", "thu", "fri", "sat", "", "", "", "", "", ""}};

Error FieldInvalid(const FieldSpec& f, const std::string& why) {
  return Error::Invalid(std::string("cron ") + f.name + " field: " + why,
                        {{"cron", std::string(f.name) + ": " + why}});
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

Result<int> ParseValue(const FieldSpec& f, std::string_view text) {
  if (text.empty()) return FieldInvalid(f, "an empty value");
  if (std::isalpha(static_cast<unsigned char>(text[0]))) {
    const std::string name = Lower(text);
    for (std::size_t i = 0; i < f.names.size(); ++i)
      if (!f.names[i].empty() && f.names[i] == name) return f.lo + static_cast<int>(i);
    return FieldInvalid(f, "unknown name '" + std::string(text) + "'");
  }
  int v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size())
    return FieldInvalid(f, "'" + std::string(text) + "' is not a number");
  if (v < f.lo || v > f.hi)
    return FieldInvalid(f, std::to_string(v) + " is out of range " + std::to_string(f.lo) + "-" +
                               std::to_string(f.hi));
  return v;
}

// The values a field allows, as bits lo..hi.
Result<std::uint64_t> ParseField(const FieldSpec& f, std::string_view text) {
  std::uint64_t bits = 0;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t comma = text.find(',', start);
    const std::string_view item =
        text.substr(start, comma == std::string_view::npos ? text.npos : comma - start);
    start = comma == std::string_view::npos ? text.size() + 1 : comma + 1;
    if (item.empty()) return FieldInvalid(f, "an empty list item");

    std::string_view range = item;
    int step = 1;
    if (const std::size_t slash = item.find('/'); slash != std::string_view::npos) {
      range = item.substr(0, slash);
      const std::string_view s = item.substr(slash + 1);
      auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), step);
      if (s.empty() || ec != std::errc() || end != s.data() + s.size() || step < 1 ||
          step > f.hi - f.lo + 1)
        return FieldInvalid(f, "step '" + std::string(s) + "' is not a number from 1 to " +
                                   std::to_string(f.hi - f.lo + 1));
    }
    int lo = f.lo;
    int hi = f.hi;
    if (range != "*") {
      const std::size_t dash = range.find('-');
      auto first = ParseValue(f, range.substr(0, dash));
      if (!first) return first.error();
      lo = *first;
      if (dash != std::string_view::npos) {
        auto last = ParseValue(f, range.substr(dash + 1));
        if (!last) return last.error();
        hi = *last;
        if (hi < lo) return FieldInvalid(f, "range " + std::string(range) + " runs backwards");
      } else if (item.find('/') == std::string_view::npos) {
        hi = lo;  // a single value; `5/10` runs to the field's end
      }
    }
    for (int v = lo; v <= hi; v += step) bits |= std::uint64_t{1} << v;
  }
  return bits;
}

template <std::size_t N>
std::bitset<N> Bits(std::uint64_t v) {
  return std::bitset<N>(v);
}

std::vector<std::string_view> Words(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    const std::size_t b = i;
    while (i < s.size() && !std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    if (i > b) out.push_back(s.substr(b, i - b));
  }
  return out;
}

std::optional<std::string_view> Macro(const std::string& word) {
  if (word == "@yearly" || word == "@annually") return "0 0 1 1 *";
  if (word == "@monthly") return "0 0 1 * *";
  if (word == "@weekly") return "0 0 * * 0";
  if (word == "@daily" || word == "@midnight") return "0 0 * * *";
  if (word == "@hourly") return "0 * * * *";
  return std::nullopt;
}

}  // namespace

Result<CronSchedule> CronSchedule::Parse(std::string_view expression) {
  std::vector<std::string_view> words = Words(expression);
  CronSchedule c;
  for (std::size_t i = 0; i < words.size(); ++i) c.text_ += (i ? " " : "") + std::string(words[i]);
  if (words.size() == 1 && words[0].starts_with('@')) {
    const auto macro = Macro(Lower(words[0]));
    if (!macro)
      return Error::Invalid("unknown cron macro " + std::string(words[0]),
                            {{"cron", "use @yearly, @monthly, @weekly, @daily or @hourly"}});
    words = Words(*macro);
  }
  if (words.size() != 5)
    return Error::Invalid(
        "a cron expression has five fields (minute hour day-of-month month day-of-week)",
        {{"cron", "expected 5 fields, got " + std::to_string(words.size())}});

  auto minutes = ParseField(kMinute, words[0]);
  if (!minutes) return minutes.error();
  auto hours = ParseField(kHour, words[1]);
  if (!hours) return hours.error();
  auto days = ParseField(kDayOfMonth, words[2]);
  if (!days) return days.error();
  auto months = ParseField(kMonth, words[3]);
  if (!months) return months.error();
  auto weekdays = ParseField(kWeekday, words[4]);
  if (!weekdays) return weekdays.error();

  c.minutes_ = Bits<60>(*minutes);
  c.hours_ = Bits<24>(*hours);
  c.days_ = Bits<32>(*days);
  c.months_ = Bits<13>(*months);
  std::uint64_t wd = *weekdays;
  if (wd & (std::uint64_t{1} << 7)) wd = (wd | 1) & 0x7f;  // 7 is Sunday too
  c.weekdays_ = Bits<7>(wd);
  c.any_day_ = words[2].starts_with('*');
  c.any_weekday_ = words[4].starts_with('*');

  if (c.Next(0) == 0)  // e.g. Feb 30: valid fields that never meet
    return Error::Invalid("the cron expression " + c.text_ + " never fires",
                          {{"cron", "no date matches both the day and the month"}});
  return c;
}

bool CronSchedule::DayMatches(int day_of_month, int month, int weekday) const {
  if (!months_[month]) return false;
  const bool dom = days_[day_of_month];
  const bool dow = weekdays_[weekday];
  if (any_day_ || any_weekday_) return dom && dow;  // `*` matches all: plain AND
  return dom || dow;                                // both restricted: either, as Vixie cron
}

std::int64_t CronSchedule::Next(std::int64_t after) const {
  using namespace std::chrono;
  // The first whole minute strictly after `after` (floor division: also before 1970).
  std::int64_t t = after - ((after % 60) + 60) % 60 + 60;
  std::int64_t day = t >= 0 ? t / kDay : -((-t + kDay - 1) / kDay);
  int hour0 = static_cast<int>((t - day * kDay) / 3600);
  int minute0 = static_cast<int>((t - day * kDay) % 3600 / 60);
  for (int i = 0; i < kSearchDays; ++i, ++day, hour0 = 0, minute0 = 0) {
    const sys_days sd{days{day}};
    const year_month_day ymd{sd};
    const int wday = static_cast<int>(weekday{sd}.c_encoding());
    if (!DayMatches(static_cast<int>(static_cast<unsigned>(ymd.day())),
                    static_cast<int>(static_cast<unsigned>(ymd.month())), wday))
      continue;
    for (int h = hour0; h < 24; ++h) {
      if (!hours_[h]) continue;
      for (int m = h == hour0 ? minute0 : 0; m < 60; ++m)
        if (minutes_[m]) return day * kDay + h * 3600 + m * 60;
    }
  }
  return 0;
}

}  // namespace lattice
