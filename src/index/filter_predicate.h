// FilterPredicate: a Filter over the slots of a VectorStore.
//
// When the store's payload index covers the filter, the matching slots are
// computed once, by set algebra, when the predicate is made: matches() is a
// bit test and matching_slots() gives the exact set (and so its count) to
// the planner and the exact scan. A filter that is an `and` of parts the
// index covers and parts it does not is answered by the covered parts' set,
// and the rest tested row by row on the slots in it. Anything else is
// tested row by row on the metadata, as Filter::matches does.
//
// Thread-safety: immutable after construction; the store must not change
// while it is used (the caller holds the database's read lock).
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "iqdb/filter.h"
#include "index/slot_predicate.h"
#include "index/vector_store.h"
#include "util/bitmap.h"

namespace iqdb::index {

class FilterPredicate final : public SlotPredicate {
 public:
  // `filter` must outlive the predicate and have passed Filter::validate().
  FilterPredicate(const VectorStore& store, const Filter& filter);

  bool matches(uint32_t slot) const override;
  const util::Bitmap* matching_slots() const override {
    return set_ && residual_.empty() ? &*set_ : nullptr;
  }

 private:
  bool row_matches(const Filter& filter, uint32_t slot) const;

  const VectorStore& store_;
  const Filter& filter_;
  std::optional<util::Bitmap> set_;      // slots satisfying the covered part
  std::vector<const Filter*> residual_;  // with set_: and-ed parts tested per row
};

}  // namespace iqdb::index
