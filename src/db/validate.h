// Input validation shared by the Database entry points. Every check returns
// kInvalidArgument with a message that names the problem but never echoes
// vector values or metadata contents.
#pragma once

#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "iqdb/config.h"
#include "iqdb/filter.h"
#include "iqdb/status.h"

namespace iqdb::db {

inline Status check_vector(std::span<const float> v, size_t dim, const char* what = "vector") {
  if (v.empty()) return Status::InvalidArgument(std::string(what) + " is empty");
  if (v.size() != dim) {
    return Status::InvalidArgument(std::string(what) + " has " + std::to_string(v.size()) +
                                   " dimensions, the database has " + std::to_string(dim));
  }
  // Branch-free over the whole vector (the compiler vectorises it); the
  // index of the first bad value is looked for only when there is one. A
  // float is NaN or infinite exactly when its exponent bits are all ones.
  constexpr uint32_t kExponent = 0x7F80'0000u;
  uint32_t bad = 0;
  for (const float x : v) bad |= (std::bit_cast<uint32_t>(x) & kExponent) == kExponent ? 1u : 0u;
  if (bad == 0) return Status::OK();
  size_t i = 0;
  while (std::isfinite(v[i])) ++i;
  return Status::InvalidArgument(
      std::string(what) + " has a non-finite value (NaN or Inf) at index " + std::to_string(i));
}

inline Status check_search(const SearchParams& p) {
  if (p.k == 0) return Status::InvalidArgument("k must be at least 1");
  if (p.k > 1'000'000) return Status::InvalidArgument("k is limited to 1000000");
  if (p.ef > 1'000'000) return Status::InvalidArgument("ef is limited to 1000000");
  if (p.filter != nullptr && !p.filters.empty()) {
    return Status::InvalidArgument(
        "give either one filter for the batch or one per query, not both");
  }
  if (p.filter != nullptr) return p.filter->validate();
  for (const Filter* f : p.filters) {
    if (f != nullptr) IQDB_RETURN_IF_ERROR(f->validate());
  }
  return Status::OK();
}

}  // namespace iqdb::db
