// Contents: what a database holds in memory — its rows (VectorStore), its
// approximate index and the config they were built for — and the one way to
// change them: applying a write that has already been validated and logged.
// Live writes and log replay both come through here, so memory after a
// replay equals memory before the crash.
//
// The index keeps a reference to the store, so Contents never moves (it is
// handed around by unique_ptr).
//
// Thread-safety: none of its own. The database applies writes under its
// exclusive lock and reads under the shared one.
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
  static Result<std::unique_ptr<Contents>> load(Config config, const index::SectionSource& source,
                                                uint64_t record_count);
  Contents(const Contents&) = delete;
  Contents& operator=(const Contents&) = delete;

  const Config& config() const noexcept { return config_; }
  const index::VectorStore& store() const noexcept { return store_; }
  const index::AnnIndex* ann() const noexcept { return ann_.get(); }

  // Writes. `cache` (may be null) is told which rows changed. A failure
  // may leave the write partly applied: the caller stops taking writes.
  Status upsert(const VectorId& id, std::span<const float> vector, const Metadata* metadata,
                ResultCache* cache);
  // Linear in the batch size; rows is row-major, metadata empty or one per id.
  Status upsert_batch(std::span<const VectorId> ids, std::span<const float> rows,
                      std::span<const Metadata* const> metadata, ResultCache* cache);
  bool remove(const VectorId& id, ResultCache* cache);
  // Rebuilds or retrains the index (not logged: the caller must snapshot).
  Status optimize();

  // Every section a snapshot of these contents needs.
  void save(index::SectionSink& sink) const;

 private:
  explicit Contents(const Config& config);

  Config config_;
  index::VectorStore store_;
  std::unique_ptr<index::AnnIndex> ann_;  // null for the flat index
};

}  // namespace iqdb::db
