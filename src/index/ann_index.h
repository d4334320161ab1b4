// AnnIndex: what the database needs from an approximate index (HNSW, IVF),
// so that db/ does not depend on any one of them.
//
// Slots are written to the VectorStore before insert() and stay there until
// after remove(). Distances are ranking distances (see QueryScorer).
//
// Thread-safety: search() may run concurrently with other searches.
// insert()/insert_batch() are safe against each other and against searches
// only where the implementation says so; remove()/update() need exclusive
// access. The overloads taking a Publisher are how a database applies
// writes while searches run (see Publisher).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <source_location>
#include <span>
#include <type_traits>
#include <vector>

#include "iqdb/status.h"
#include "index/scorer.h"
#include "index/sections.h"
#include "index/slot_predicate.h"
#include "util/lock_trace.h"
#include "util/topk.h"

namespace iqdb::index {

struct AnnKnobs {
  size_t ef = 0;        // HNSW beam width; 0: the configured default
  size_t n_probes = 0;  // IVF lists; 0: the configured default
};

// Runs the steps of a write that must not overlap any search. A database
// applies one write at a time with searches running alongside it (writers
// and exclusive calls are excluded by the caller) and hands the index a
// Publisher: whatever a search could be reading in place (a list it scans,
// a node it may hold, a slot to be reused) changes only inside exclusive(),
// which waits for the searches in flight and holds new ones off while the
// step runs. Steps must be short (bounded by one row or one list, never a
// pass over the index); everything else runs alongside searches.
class Publisher {
 public:
  // `where` names the step in a lock-tracing build (util/lock_trace.h).
  template <typename Fn>
  void exclusive(Fn&& step, std::source_location where = std::source_location::current()) {
    util::lock_trace::set_site(where.file_name(), where.line());
    using F = std::remove_reference_t<Fn>;
    run(static_cast<void*>(&step), [](void* f) { (*static_cast<F*>(f))(); });
  }

 protected:
  ~Publisher() = default;
  virtual void run(void* step, void (*call)(void*)) = 0;
};

// For callers that already exclude searches (a replay while opening, a
// database in exclusive mode): runs each step at once.
class ExcludedAlready final : public Publisher {
 protected:
  void run(void* step, void (*call)(void*)) override { call(step); }
};

// The filing of new rows, prepared alongside searches before the store
// publishes them (AnnIndex::prepare_insert).
class PreparedInsert {
 public:
  virtual ~PreparedInsert() = default;
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

  // The same writes applied with searches running (see Publisher). The
  // defaults run the whole write as one exclusive step; an index overrides
  // them where it can change alongside searches. remove(slot, publisher)
  // may run while the store already hides the record (it is not live) but
  // still holds its row; the slot must not be reused before it returns.
  virtual Status insert_batch(std::span<const uint32_t> slots, Publisher& publisher) {
    Status s;
    publisher.exclusive([&] { s = insert_batch(slots); });
    return s;
  }
  virtual Status update(uint32_t slot, Publisher& publisher) {
    Status s;
    publisher.exclusive([&] { s = update(slot); });
    return s;
  }
  virtual void remove(uint32_t slot, Publisher& publisher) {
    publisher.exclusive([&] { remove(slot); });
  }
  // remove(slot, publisher) of each slot; an index that can take a set out
  // at less than the sum of its parts overrides it.
  virtual void remove_batch(std::span<const uint32_t> slots, Publisher& publisher) {
    for (const uint32_t slot : slots) remove(slot, publisher);
  }

  // Inserting new rows with one exclusive step, shared with the store's
  // publication of them (db/contents.h): prepare_insert() runs alongside
  // searches once the store holds the rows of `slots` but before it
  // publishes them (VectorStore::stage), `slot_end` being the store's
  // slot_end() after publication; commit_insert(), inside the exclusive
  // step that publishes them, files them without allocating or freeing;
  // finish_insert(), after that step, does whatever the insert still owes
  // (IVF: a retrain the new rows call for). A null preparation means the
  // index cannot: the caller publishes the rows and calls insert_batch().
  // Whether prepare_insert() would prepare now (so the caller stages rows
  // only for an index that files them that way).
  virtual bool prepares_inserts() const noexcept { return false; }
  virtual Result<std::unique_ptr<PreparedInsert>> prepare_insert(std::span<const uint32_t> slots,
                                                                 uint32_t slot_end) {
    (void)slots;
    (void)slot_end;
    return std::unique_ptr<PreparedInsert>();
  }
  virtual void commit_insert(PreparedInsert& prepared) noexcept { (void)prepared; }
  virtual Status finish_insert(Publisher& publisher) {
    (void)publisher;
    return Status::OK();
  }

  // Rebuild or retrain from the store's live rows.
  virtual Status optimize() { return Status::OK(); }
  // The same alongside searches; the default runs it as one exclusive step.
  virtual Status optimize(Publisher& publisher) {
    Status s;
    publisher.exclusive([&] { s = optimize(); });
    return s;
  }
  virtual void save(SectionSink& sink) const = 0;
  virtual size_t memory_bytes() const = 0;
};

}  // namespace iqdb::index
