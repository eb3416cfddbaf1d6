#include "store/workload_filter.h"

#include <optional>

namespace lattice::store {
namespace {

// The filter columns, in parameter order; bit b of a shape says whether column b is set.
constexpr const char* kColumns[] = {"owner_id", "node_id", "status"};

// The filter's values as the SQL stores them (a status by its name).
std::array<std::optional<std::string_view>, 3> Fields(const WorkloadFilter& f) {
  std::array<std::optional<std::string_view>, 3> out;
  if (f.owner_id) out[0] = *f.owner_id;
  if (f.node_id) out[1] = *f.node_id;
  if (f.status) out[2] = Name(*f.status);
  return out;
}

}  // namespace

std::array<std::string, 8> WorkloadListStatements(std::string_view select, Placeholders style) {
  std::array<std::string, 8> shapes;
  for (std::size_t shape = 0; shape < shapes.size(); ++shape) {
    std::string sql(select);
    const char* glue = " WHERE ";
    int n = 0;
    for (std::size_t b = 0; b < 3; ++b) {
      if (!(shape & (std::size_t{1} << b))) continue;
      sql += glue;
      sql += kColumns[b];
      sql += style == Placeholders::kNumbered ? " = $" + std::to_string(++n) : " = ?";
      glue = " AND ";
    }
    shapes[shape] = sql + " ORDER BY created_at, id";
  }
  return shapes;
}

std::size_t FilterShape(const WorkloadFilter& f) {
  std::size_t shape = 0;
  const auto fields = Fields(f);
  for (std::size_t b = 0; b < fields.size(); ++b)
    if (fields[b].has_value()) shape |= std::size_t{1} << b;
  return shape;
}

std::vector<std::string_view> FilterValues(const WorkloadFilter& f) {
  std::vector<std::string_view> values;
  for (const auto& field : Fields(f))
    if (field.has_value()) values.push_back(*field);
  return values;
}

}  // namespace lattice::store
