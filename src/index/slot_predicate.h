// SlotPredicate: which slots a search may return (a metadata filter, seen
// from the index's side). Indices test it while they search; it never
// changes which slots they may walk through.
//
// Thread-safety: matches() must be safe to call from many threads at once.
#pragma once

#include <cstdint>

#include "util/bitmap.h"

namespace iqdb::index {

class SlotPredicate {
 public:
  virtual ~SlotPredicate() = default;
  virtual bool matches(uint32_t slot) const = 0;
  // The exact set of live matching slots when the predicate knows it (then
  // for every live slot, matches(slot) == set->test(slot)); else null.
  // Planners count it, and exact scans visit only its members.
  virtual const util::Bitmap* matching_slots() const { return nullptr; }
};

}  // namespace iqdb::index
