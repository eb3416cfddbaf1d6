#include "store/workload_filter.h"

#include <gtest/gtest.h>

namespace lattice::store {
namespace {

TEST(WorkloadFilter, EachCombinationHasItsOwnStatementWithOnlyTheSetColumns) {
  const auto sql = WorkloadListStatements("SELECT id FROM workloads", Placeholders::kQuestionMarks);
  EXPECT_EQ(sql[0], "SELECT id FROM workloads ORDER BY created_at, id");
  EXPECT_EQ(sql[1], "SELECT id FROM workloads WHERE owner_id = ? ORDER BY created_at, id");
  EXPECT_EQ(sql[6],
            "SELECT id FROM workloads WHERE node_id = ? AND status = ? ORDER BY created_at, id");
  const auto pg = WorkloadListStatements("SELECT id FROM workloads", Placeholders::kNumbered);
  EXPECT_EQ(pg[5],
            "SELECT id FROM workloads WHERE owner_id = $1 AND status = $2 ORDER BY created_at, id");
  EXPECT_EQ(pg[7],
            "SELECT id FROM workloads WHERE owner_id = $1 AND node_id = $2 AND status = $3 "
            "ORDER BY created_at, id");
  for (const auto& s : pg) EXPECT_EQ(s.find("IS NULL"), std::string::npos) << s;
}

TEST(WorkloadFilter, ShapeAndValuesFollowTheSetFiltersInParameterOrder) {
  WorkloadFilter none;
  EXPECT_EQ(FilterShape(none), 0u);
  EXPECT_TRUE(FilterValues(none).empty());

  WorkloadFilter f;
  f.status = WorkloadStatus::kPending;
  f.owner_id = "us_1";
  EXPECT_EQ(FilterShape(f), 5u);
  ASSERT_EQ(FilterValues(f).size(), 2u);
  EXPECT_EQ(FilterValues(f)[0], "us_1");
  EXPECT_EQ(FilterValues(f)[1], "pending");

  f.node_id = "";  // set, even if empty: it filters for "not placed"
  EXPECT_EQ(FilterShape(f), 7u);
  ASSERT_EQ(FilterValues(f).size(), 3u);
  EXPECT_EQ(FilterValues(f)[1], "");
}

}  // namespace
}  // namespace lattice::store
