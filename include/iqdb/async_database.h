// AsyncDatabase: the Database surface with every call returning a
// std::future, so the caller's thread never blocks on a search or an fsync.
//
// Work runs on a dedicated TBB task arena owned by the handle. Copies of an
// AsyncDatabase share one database and one arena; the database closes when
// the last copy is destroyed or close() is called, after every call already
// submitted has finished (a clean shutdown never drops accepted work).
//
// Arguments are copied into the task, so the caller may reuse its buffers as
// soon as the call returns. Futures of calls submitted after close() resolve
// to kClosed; copies may be destroyed on any thread at any moment (the last
// one closes after the work already submitted).
//
// Thread-safety: every method may be called from many threads at once.
#pragma once

#include <cstddef>
#include <filesystem>
#include <future>
#include <memory>
#include <optional>
#include <vector>

#include "iqdb/config.h"
#include "iqdb/database.h"
#include "iqdb/export.h"
#include "iqdb/filter.h"
#include "iqdb/status.h"
#include "iqdb/types.h"

namespace iqdb {

namespace detail {
struct AsyncState;  // the shared database and executor; defined inside the library
}

class IQDB_EXPORT AsyncDatabase {
 public:
  // Wraps an open database. `threads` = 0: one per hardware thread.
  static Result<AsyncDatabase> wrap(Database db, size_t threads = 0);
  // The Database openers, wrapped (see Database::open and open_in_memory).
  static Result<AsyncDatabase> open_in_memory(size_t dim, Metric metric, size_t threads = 0);
  static Result<AsyncDatabase> open_in_memory(const Config& config, size_t threads = 0);
  static Result<AsyncDatabase> open(const std::filesystem::path& path, size_t dim, Metric metric,
                                    size_t threads = 0);
  static Result<AsyncDatabase> open(const std::filesystem::path& path, size_t threads = 0);
  static Result<AsyncDatabase> open(const std::filesystem::path& path, const Config& config,
                                    size_t threads = 0);
  // Opens an existing database, its shape taken from the file (see
  // Database::open(path, OpenOptions)).
  static Result<AsyncDatabase> open(const std::filesystem::path& path, const OpenOptions& options,
                                    size_t threads = 0);

  std::future<Status> upsert(VectorId id, std::vector<float> vector,
                             std::optional<Metadata> metadata = std::nullopt) const;
  std::future<Status> upsert_batch(std::vector<VectorId> ids, std::vector<float> rows,
                                   std::vector<std::optional<Metadata>> metadata = {}) const;
  std::future<Result<std::optional<Record>>> get(VectorId id) const;
  std::future<Result<bool>> remove(VectorId id) const;
  std::future<Result<size_t>> remove_batch(std::vector<VectorId> ids) const;
  std::future<Result<std::vector<Hit>>> search(std::vector<float> query, size_t k) const;
  std::future<Result<std::vector<Hit>>> search(std::vector<float> query, size_t k,
                                               Filter filter) const;
  // params.filter is copied; it need not outlive the call.
  std::future<Result<std::vector<Hit>>> search(std::vector<float> query, SearchParams params) const;
  std::future<Result<std::vector<std::vector<Hit>>>> search_batch(
      std::vector<float> queries, size_t k, std::optional<Filter> filter = std::nullopt) const;
  // params.filter and params.filters are copied; they need not outlive the
  // call.
  std::future<Result<std::vector<std::vector<Hit>>>> search_batch(std::vector<float> queries,
                                                                  SearchParams params) const;
  std::future<Status> optimize() const;
  std::future<Status> flush() const;
  // See Database::info, verify and compact.
  std::future<Result<DatabaseInfo>> info() const;
  std::future<Result<VerifyReport>> verify() const;
  std::future<Result<CompactReport>> compact(CompactOptions options = {}) const;
  // Waits for submitted work, then closes the database for every copy.
  std::future<Status> close() const;

  // Cheap accessors answer at once.
  size_t size() const;
  bool empty() const { return size() == 0; }
  size_t dim() const;
  Metric metric() const;
  IndexKind index_kind() const;
  VectorStorage storage() const;
  bool read_only() const;
  std::optional<CacheStats> cache_stats() const;

 private:
  explicit AsyncDatabase(std::shared_ptr<detail::AsyncState> state) : state_(std::move(state)) {}
  std::shared_ptr<detail::AsyncState> state_;
};

}  // namespace iqdb
