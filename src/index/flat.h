// Exact search: score every live row (or a given list of slots).
//
// The predicate is applied before scoring, so a filtered search returns the
// exact k nearest matching rows. Results come nearest first, ties broken on
// insertion order; ranking distances (see QueryScorer).
//
// Thread-safety: read-only over the store; many searches may run at once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "index/scorer.h"
#include "index/slot_predicate.h"
#include "util/topk.h"

namespace iqdb::index {

// The k nearest live rows that satisfy `predicate` (null: all rows).
std::vector<util::Candidate> flat_search(const QueryScorer& scorer, size_t k,
                                         const SlotPredicate* predicate);

// The k nearest among `slots` (all assumed live and wanted).
std::vector<util::Candidate> flat_search_slots(const QueryScorer& scorer,
                                               std::span<const uint32_t> slots, size_t k);

}  // namespace iqdb::index
