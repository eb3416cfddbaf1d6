// How every Store engine turns a WorkloadFilter into SQL. Only the filters that are set go
// into the WHERE clause, one statement per combination: `(? IS NULL OR owner_id = ?)` is
// planned once for all callers (SQLite's statement cache, PostgreSQL's generic plans) and the
// only plan that fits every caller is a full scan. Pure functions; thread-safe.
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "store/models.h"

namespace lattice::store {

enum class Placeholders { kQuestionMarks, kNumbered };  // `?` (SQLite) or `$1, $2…` (PostgreSQL)

// `select` (a SELECT … FROM workloads) with the WHERE clause for each combination of set
// filters and ORDER BY created_at, id; indexed by FilterShape.
std::array<std::string, 8> WorkloadListStatements(std::string_view select, Placeholders style);

// Which statement of WorkloadListStatements `f` needs.
std::size_t FilterShape(const WorkloadFilter& f);

// The values of the set filters, in the order that statement's parameters are numbered.
std::vector<std::string_view> FilterValues(const WorkloadFilter& f);

}  // namespace lattice::store
