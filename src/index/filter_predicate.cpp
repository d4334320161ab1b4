#include "index/filter_predicate.h"

namespace iqdb::index {

FilterPredicate::FilterPredicate(const VectorStore& store, const Filter& filter)
    : store_(store), filter_(filter) {
  const PayloadIndex& payload = store.payload();
  if (!payload.usable()) return;
  set_ = payload.evaluate(filter);
  if (set_ || filter.op() != Filter::Op::kAnd) return;
  // An `and` the index covers only in part: the covered operands narrow the
  // slots, the others are tested on those.
  util::Bitmap covered = payload.live();
  for (const Filter& part : filter.operands()) {
    std::optional<util::Bitmap> s = payload.evaluate(part);
    if (s) {
      covered &= *s;
    } else {
      residual_.push_back(&part);
    }
  }
  set_ = std::move(covered);
}

bool FilterPredicate::row_matches(const Filter& filter, uint32_t slot) const {
  const Metadata* m = store_.metadata(slot);
  return m != nullptr ? filter.matches(*m) : filter.matches_empty();
}

bool FilterPredicate::matches(uint32_t slot) const {
  if (!set_) return row_matches(filter_, slot);
  if (!set_->test(slot)) return false;
  for (const Filter* part : residual_) {
    if (!row_matches(*part, slot)) return false;
  }
  return true;
}

}  // namespace iqdb::index
