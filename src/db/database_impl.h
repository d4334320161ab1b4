// DatabaseImpl: the state behind a Database handle — the rows, the index,
// the lock that orders writers against readers, and (for a file-backed
// database) the durable log and snapshot.
//
// Thread-safety: every public method is safe to call concurrently. Reads
// take the shared lock; a write validates and logs outside it, then takes
// the exclusive lock only to apply the change to memory.
#pragma once

#include <atomic>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <span>
#include <vector>

#include "iqdb/config.h"
#include "iqdb/files.h"
#include "iqdb/filter.h"
#include "iqdb/status.h"
#include "iqdb/types.h"
#include "index/ann_index.h"
#include "index/vector_store.h"
#include "util/topk.h"

namespace iqdb {

namespace db {
class Durability;
class ResultCache;
}

class DatabaseImpl {
 public:
  // Validates the config and builds an empty in-memory database.
  static Result<std::unique_ptr<DatabaseImpl>> create(const Config& config);
  // Opens or creates the database at `path`.
  static Result<std::unique_ptr<DatabaseImpl>> open(const std::filesystem::path& path,
                                                    const Config& config, bool read_only = false);
  // Opens the existing database at `path` with the shape its snapshot
  // records (db/open_existing.cpp).
  static Result<std::unique_ptr<DatabaseImpl>> open_existing(const std::filesystem::path& path,
                                                             const OpenOptions& options);
  ~DatabaseImpl();

  Status upsert(const VectorId& id, std::span<const float> vector, const Metadata* metadata);
  Status upsert_batch(std::span<const VectorId> ids, std::span<const float> rows,
                      std::span<const Metadata* const> metadata);
  Result<std::optional<Record>> get(const VectorId& id) const;
  Result<bool> remove(const VectorId& id);

  size_t size() const;
  size_t dim() const noexcept { return config_.dim(); }
  Metric metric() const noexcept { return config_.metric(); }
  IndexKind index_kind() const noexcept { return config_.index_kind(); }

  Result<std::vector<Hit>> search(std::span<const float> query, const SearchParams& params) const;
  Result<std::vector<std::vector<Hit>>> search_batch(std::span<const float> queries,
                                                     const SearchParams& params) const;

  Status optimize();
  Status flush();
  Status close();
  std::optional<CacheStats> cache_stats() const;

  // db/info.cpp, db/verify_handle.cpp, db/compact.cpp.
  Result<DatabaseInfo> info() const;
  Result<VerifyReport> verify() const;
  Result<CompactReport> compact(const CompactOptions& options);
  bool read_only() const noexcept;
  // Null in memory.
  const db::Durability* durability() const noexcept { return durability_.get(); }

  // Applies already-validated writes to memory. Used by the write paths and
  // by WAL replay. Caller holds the exclusive lock (or is single-threaded).
  Status apply_upsert(const VectorId& id, std::span<const float> vector, const Metadata* metadata);
  Status apply_upsert_batch(std::span<const VectorId> ids, std::span<const float> rows,
                            std::span<const Metadata* const> metadata);
  bool apply_remove(const VectorId& id);

  std::unique_lock<std::shared_mutex> lock_exclusive() const { return std::unique_lock(mutex_); }
  std::shared_lock<std::shared_mutex> lock_shared() const { return std::shared_lock(mutex_); }
  void set_index(std::unique_ptr<index::AnnIndex> ann) { ann_ = std::move(ann); }

  const index::VectorStore& store() const noexcept { return store_; }
  index::VectorStore& mutable_store() noexcept { return store_; }
  const index::AnnIndex* ann() const noexcept { return ann_.get(); }
  const Config& config() const noexcept { return config_; }
  void set_config(const Config& config) { config_ = config; }

 private:
  explicit DatabaseImpl(const Config& config);

  // Search without taking the lock (caller holds it shared).
  std::vector<util::Candidate> search_locked(const float* query, const SearchParams& params) const;
  std::vector<Hit> to_hits(const std::vector<util::Candidate>& found, const float* query,
                           bool with_metadata) const;
  // One query, through the cache when there is one. Caller holds the lock
  // shared.
  std::vector<Hit> search_one(std::span<const float> query, const SearchParams& params) const;
  // The body of search_batch after validation; fills results (one entry per
  // query). Caller holds the lock shared.
  void search_batch_locked(std::span<const float> queries, const SearchParams& params,
                           std::vector<std::vector<Hit>>& results) const;
  void make_cache();
  Status writable() const;

  Config config_;
  index::VectorStore store_;
  std::unique_ptr<index::AnnIndex> ann_;  // null for the flat index
  std::unique_ptr<db::Durability> durability_;
  std::unique_ptr<db::ResultCache> cache_;  // null when not configured
  mutable std::shared_mutex mutex_;
  std::atomic<bool> closed_{false};
};

}  // namespace iqdb
