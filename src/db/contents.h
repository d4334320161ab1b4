// Contents: what a database holds in memory — its rows (VectorStore), its
// approximate index and the config they were built for — and the one way to
// change them: applying a write that has already been validated and logged.
// Live writes and log replay both come through here, so memory after a
// replay equals memory before the crash.
//
// The index keeps a reference to the store, so Contents never moves (it is
// handed around by unique_ptr).
//
// Thread-safety: none of its own. Reads run under the database's shared
// lock. A write runs alone among writes (the database serialises them) and
// alongside reads: every change to what a read could be looking at goes
// through the Publisher's exclusive steps (index/ann_index.h), each bounded
// by one row (a batch: one slice of rows, one list append per row). So a
// read sees each record wholly or not at all, and a record it returns is
// one get() would return:
//   upsert of a new id   exclusive: row, id and metadata into a slot (the
//                        record is now live and get() returns it); then
//                        the index links it alongside reads. An index that
//                        can prepare its filing first (IVF once trained,
//                        AnnIndex::prepare_insert) gets the row written
//                        alongside reads into a slot no read looks at
//                        (VectorStore::stage), and one exclusive step then
//                        publishes the record, files it and tells the
//                        cache. Per-slot
//                        arrays and the id table about to grow are copied
//                        bigger alongside reads first and only swapped in
//                        by that step (VectorStore::prepare_room).
//   upsert of an id      exclusive: the row overwritten in place (and the
//                        index's codes of it); the relink runs alongside.
//   remove               exclusive: the record retired (no longer live, so
//                        no read returns it; the slot is not reused); the
//                        index unlinks it alongside reads; exclusive: the
//                        index frees the node, the store the slot. A read
//                        in flight holds the shared lock, so no read can
//                        still hold the slot when it is reused.
// The result cache is told in a last exclusive step, after the index holds
// the write, so no result computed before it can outlive it; entries a
// clear drops are freed after that step (ResultCache::release_cleared).
#pragma once

#include <memory>
#include <span>

#include "iqdb/config.h"
#include "iqdb/status.h"
#include "iqdb/types.h"
#include "index/ann_index.h"
#include "index/sections.h"
#include "index/vector_store.h"

namespace iqdb::db {

class ResultCache;

class Contents {
 public:
  // Empty contents for a validated config.
  static Result<std::unique_ptr<Contents>> create(const Config& config);
  // Contents loaded from snapshot sections. `config` is the reconciled one
  // (the stored index kind); its storage is replaced by the stored row type.
  // The payload index is kept as loaded when `keep_stored_fields` (its rule
  // then becomes config().indexed_fields()); else rebuilt when the file's
  // rule differs from config.indexed_fields().
  static Result<std::unique_ptr<Contents>> load(Config config, const index::SectionSource& source,
                                                uint64_t record_count,
                                                bool keep_stored_fields = false);
  Contents(const Contents&) = delete;
  Contents& operator=(const Contents&) = delete;

  const Config& config() const noexcept { return config_; }
  const index::VectorStore& store() const noexcept { return store_; }
  const index::AnnIndex* ann() const noexcept { return ann_.get(); }

  // Writes. `cache` (may be null) is told which rows changed. A failure
  // may leave the write partly applied: the caller stops taking writes.
  // `publisher` runs the steps reads must not overlap (see above).
  Status upsert(const VectorId& id, std::span<const float> vector, const Metadata* metadata,
                ResultCache* cache, index::Publisher& publisher);
  // Linear in the batch size; rows is row-major, metadata empty or one per
  // id. Rows are published in slices of kPublishRows.
  Status upsert_batch(std::span<const VectorId> ids, std::span<const float> rows,
                      std::span<const Metadata* const> metadata, ResultCache* cache,
                      index::Publisher& publisher);
  bool remove(const VectorId& id, ResultCache* cache, index::Publisher& publisher);
  // remove() of every id, in one of each of its steps: the index unlinks
  // the whole set at once. Absent and repeated ids are skipped. Returns how
  // many records were removed.
  size_t remove_batch(std::span<const VectorId> ids, ResultCache* cache,
                      index::Publisher& publisher);
  static constexpr size_t kPublishRows = 256;
  // Rebuilds or retrains the index (not logged: the caller must snapshot),
  // alongside reads where the index can.
  Status optimize(index::Publisher& publisher);

  // Every section a snapshot of these contents needs.
  void save(index::SectionSink& sink) const;

 private:
  explicit Contents(const Config& config);
  // The rest of upsert() for a new id whose row the store staged and whose
  // filing the index prepared: one exclusive step publishes the record,
  // files it and tells the cache.
  Status upsert_staged(const VectorId& id, uint32_t slot, const Metadata* metadata,
                       index::PreparedInsert& prepared, index::VectorStore::Room& room,
                       ResultCache* cache, index::Publisher& publisher);

  Config config_;
  index::VectorStore store_;
  std::unique_ptr<index::AnnIndex> ann_;  // null for the flat index
};

}  // namespace iqdb::db
