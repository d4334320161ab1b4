// SlotPredicate: which slots a search may return (a metadata filter, seen
// from the index's side). Indices test it while they search; it never
// changes which slots they may walk through.
//
// Thread-safety: matches() must be safe to call from many threads at once.
#pragma once

#include <cstdint>

namespace iqdb::index {

class SlotPredicate {
 public:
  virtual ~SlotPredicate() = default;
  virtual bool matches(uint32_t slot) const = 0;
};

}  // namespace iqdb::index
