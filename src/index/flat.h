// Exact search: score every live row (or a given list of slots).
//
// The predicate is applied before scoring, so a filtered search returns the
// exact k nearest matching rows. Results come nearest first, ties broken on
// insertion order; ranking distances (see QueryScorer), computed with its
// position-independent block and gather calls.
//
// Storage types: f32 and u8 rows are scanned as they are (exact). A lossy
// type (f16, bf16, SQ8) that keeps f32 rows scans its codes for the best
// max(4k, k + 32) and reranks those on the f32 rows (distances exact, the
// shortlist approximate); without f32 rows it ranks on the codes alone.
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

}  // namespace iqdb::index
