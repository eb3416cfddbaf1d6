#include "common/cron.h"

#include <gtest/gtest.h>

#include <chrono>

namespace lattice {
namespace {

// Seconds since the epoch of a UTC date and time.
std::int64_t At(int y, unsigned mo, unsigned d, int h = 0, int mi = 0, int s = 0) {
  using namespace std::chrono;
  const sys_days day{year{y} / month{mo} / std::chrono::day{d}};
  return duration_cast<seconds>(day.time_since_epoch()).count() + h * 3600 + mi * 60 + s;
}

CronSchedule Must(std::string_view text) {
  auto c = CronSchedule::Parse(text);
  EXPECT_TRUE(c.ok()) << text << ": " << (c.ok() ? "" : c.error().message);
  return c.ok() ? *c : *CronSchedule::Parse("* * * * *");
}

TEST(Cron, DailyFiresAtItsMinuteStrictlyAfterTheGivenTime) {
  const CronSchedule c = Must("30 2 * * *");
  EXPECT_EQ(c.Next(At(2026, 12, 7, 2, 29, 59)), At(2026, 12, 7, 2, 30));
  EXPECT_EQ(c.Next(At(2026, 12, 7, 2, 30)), At(2026, 12, 8, 2, 30));
  EXPECT_EQ(c.Next(At(2026, 12, 31, 3, 0)), At(2027, 1, 1, 2, 30));
}

TEST(Cron, StepsListsAndRanges) {
  EXPECT_EQ(Must("*/15 * * * *").Next(At(2026, 12, 7, 10, 7, 30)), At(2026, 12, 7, 10, 15));
  EXPECT_EQ(Must("*/15 * * * *").Next(At(2026, 12, 7, 10, 45)), At(2026, 12, 7, 11, 0));
  const CronSchedule from5 = Must("5/20 * * * *");  // 5, 25, 45
  EXPECT_EQ(from5.Next(At(2026, 12, 7, 10, 5)), At(2026, 12, 7, 10, 25));
  EXPECT_EQ(from5.Next(At(2026, 12, 7, 10, 45)), At(2026, 12, 7, 11, 5));
  const CronSchedule list = Must("0 6,18 * * *");
  EXPECT_EQ(list.Next(At(2026, 12, 7, 6, 0)), At(2026, 12, 7, 18, 0));
  const CronSchedule range = Must("0 9-17/4 * * *");  // 9, 13, 17
  EXPECT_EQ(range.Next(At(2026, 12, 7, 9, 0)), At(2026, 12, 7, 13, 0));
  EXPECT_EQ(range.Next(At(2026, 12, 7, 17, 0)), At(2026, 12, 8, 9, 0));
}

TEST(Cron, WeekdaysByNameAndNumberSundayIsZeroAndSeven) {
  // 2026-12-12 is a Saturday; the next weekday morning is Monday the 14th.
  EXPECT_EQ(Must("0 9 * * mon-fri").Next(At(2026, 12, 12, 10, 0)), At(2026, 12, 14, 9, 0));
  EXPECT_EQ(Must("0 9 * * MON-FRI").Next(At(2026, 12, 12, 10, 0)), At(2026, 12, 14, 9, 0));
  EXPECT_EQ(Must("0 0 * * 0").Next(At(2026, 12, 7)), At(2026, 12, 13));
  EXPECT_EQ(Must("0 0 * * 7").Next(At(2026, 12, 7)), At(2026, 12, 13));
  EXPECT_EQ(Must("0 0 * * sun").Next(At(2026, 12, 7)), At(2026, 12, 13));
}

TEST(Cron, BothDayFieldsRestrictedMeansEitherAsVixieCron) {
  // The 1st of a month OR a Monday: Monday 2026-12-07 comes first.
  EXPECT_EQ(Must("0 0 1 * mon").Next(At(2026, 12, 2)), At(2026, 12, 7));
  // Only the day of month restricted: the 1st.
  EXPECT_EQ(Must("0 0 1 * *").Next(At(2026, 12, 2)), At(2027, 1, 1));
  // Only the weekday restricted.
  EXPECT_EQ(Must("0 0 * * mon").Next(At(2026, 12, 8)), At(2026, 12, 14));
}

TEST(Cron, MonthsLeapDaysAndYearEnds) {
  EXPECT_EQ(Must("0 0 1 jan *").Next(At(2026, 12, 7)), At(2027, 1, 1));
  EXPECT_EQ(Must("0 0 29 2 *").Next(At(2026, 3, 1)), At(2028, 2, 29));
  EXPECT_EQ(Must("59 23 31 12 *").Next(At(2026, 12, 31, 23, 59)), At(2027, 12, 31, 23, 59));
  EXPECT_EQ(Must("0 0 31 * *").Next(At(2027, 1, 31, 1)), At(2027, 3, 31));  // no Feb 31
}

TEST(Cron, MacrosAndWhitespace) {
  EXPECT_EQ(Must("@daily").Next(At(2026, 12, 7, 13)), At(2026, 12, 8));
  EXPECT_EQ(Must("@midnight").Next(At(2026, 12, 7, 13)), At(2026, 12, 8));
  EXPECT_EQ(Must("@hourly").Next(At(2026, 12, 7, 13, 1)), At(2026, 12, 7, 14));
  EXPECT_EQ(Must("@weekly").Next(At(2026, 12, 7)), At(2026, 12, 13));
  EXPECT_EQ(Must("@monthly").Next(At(2026, 12, 7)), At(2027, 1, 1));
  EXPECT_EQ(Must("@yearly").Next(At(2026, 12, 7)), At(2027, 1, 1));
  EXPECT_EQ(Must("@annually").Next(At(2026, 12, 7)), At(2027, 1, 1));
  EXPECT_EQ(Must("  30\t2 *  * * ").text(), "30 2 * * *");
  EXPECT_EQ(Must("@daily").text(), "@daily");
}

TEST(Cron, RefusesMalformedExpressionsNamingTheField) {
  struct Case {
    const char* text;
    const char* says;
  };
  for (const Case& c :
       {Case{"", "five fields"}, Case{"* * * *", "five fields"}, Case{"* * * * * *", "five fields"},
        Case{"61 * * * *", "minute"}, Case{"* 24 * * *", "hour"}, Case{"* * 0 * *", "day of month"},
        Case{"* * * 13 *", "month"}, Case{"* * * * 8", "day of week"},
        Case{"* * * foo *", "unknown name"}, Case{"5-1 * * * *", "backwards"},
        Case{"*/0 * * * *", "step"}, Case{"*/x * * * *", "step"}, Case{"1,,2 * * * *", "empty"},
        Case{"a * * * *", "unknown name"}, Case{"1x * * * *", "not a number"},
        Case{"0 0 30 2 *", "never fires"}, Case{"@sometimes", "macro"}}) {
    auto r = CronSchedule::Parse(c.text);
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument) << c.text;
    EXPECT_NE(r.error().message.find(c.says), std::string::npos)
        << c.text << " → " << r.error().message;
    ASSERT_FALSE(r.error().fields.empty()) << c.text;
    EXPECT_EQ(r.error().fields[0].field, "cron") << c.text;
  }
}

}  // namespace
}  // namespace lattice
