// AnnIndex: what the database needs from an approximate index (HNSW, IVF),
// so that db/ does not depend on any one of them.
//
// Slots are written to the VectorStore before insert() and stay there until
// after remove(). Distances are ranking distances (see QueryScorer).
//
// Thread-safety: search() may run concurrently with other searches.
// insert()/insert_batch() are safe against each other and against searches
// only where the implementation says so; remove()/update() need exclusive
// access.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "iqdb/status.h"
#include "index/scorer.h"
#include "index/sections.h"
#include "index/slot_predicate.h"
#include "util/topk.h"

namespace iqdb::index {

struct AnnKnobs {
  size_t ef = 0;        // HNSW beam width; 0: the configured default
  size_t n_probes = 0;  // IVF lists; 0: the configured default
};

class AnnIndex {
 public:
  virtual ~AnnIndex() = default;
  virtual Status insert(uint32_t slot) = 0;
  virtual Status insert_batch(std::span<const uint32_t> slots) = 0;
  // The record left the store (its slot may be reused right after).
  virtual void remove(uint32_t slot) = 0;
  // The vector of a live slot was replaced in place.
  virtual Status update(uint32_t slot) = 0;
  // The k nearest live slots matching `filter` (null: all), nearest first.
  // Must return min(k, matching rows) hits: an index that cannot find enough
  // by itself falls back to an exact scan.
  virtual std::vector<util::Candidate> search(const QueryScorer& query, size_t k,
                                              const AnnKnobs& knobs,
                                              const SlotPredicate* filter) const = 0;
  // Rebuild or retrain from the store's live rows.
  virtual Status optimize() { return Status::OK(); }
  virtual void save(SectionSink& sink) const = 0;
  virtual size_t memory_bytes() const = 0;
};

}  // namespace iqdb::index
