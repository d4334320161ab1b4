// DatabaseImpl: the state behind a Database handle — its contents, the
// journal that makes writes durable, the result cache, and the locks and
// gates that order everything.
//
// Write path (database_writes.cpp): validate -> journal.log (durable per
// fsync policy) -> wait for the write's turn in log order (ApplyOrder) ->
// apply to memory -> acknowledge. If applying a logged write fails, memory
// no longer equals the log: the database latches and refuses every later
// write with that reason (reopening replays the log). A log over its
// threshold is compacted by a background thread; the snapshot is copied
// out under a short hold and written while writes go on (checkpoint() in
// database_writes.cpp states the rule).
//
// Reads never wait for a write beyond a short step. A write is applied
// holding apply_mu_ (one change to the contents at a time) and not the
// readers' lock: the graph insert, relinking, repair and IVF training run
// alongside searches, and only the steps that change what a search may be
// reading in place take the lock exclusively, each bounded by one row, one
// node's lists or one slice of a batch (db/contents.h lists them). Freed
// slots are reused only after such an exclusive step, so no search in
// flight can still read them. optimize() works the same way: the repair
// and the retraining run alongside searches and the new IVF model or SQ8
// codes are swapped in with one exclusive step. Snapshots hold the
// readers' lock shared only.
//
// Integrity (db/scrub.h): the snapshot's big sections are checksummed in
// the background after open, and all of them before any new snapshot is
// written. Damage found either way is final for the handle: every later
// call, reads included, returns that kCorruption.
//
// Lifecycle: every call holds a CallGate pass; close() shuts the gate, waits
// for the calls in flight, writes a snapshot if memory differs from the
// file, and releases everything. Later calls get kClosed.
//
// Searches keep a core: the index work of writes (one writer at a time)
// runs on at most Config::write_threads threads, by default one fewer than
// the machine has. Background maintenance (compaction, the scrub) runs at
// the lowest priority the OS offers.
//
// Thread-safety: every public method is safe to call concurrently. Reads
// take the shared lock; a write takes the exclusive lock only to publish.
#pragma once

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <thread>
#include <vector>

#include "iqdb/config.h"
#include "iqdb/files.h"
#include "iqdb/filter.h"
#include "iqdb/integrity.h"
#include "iqdb/status.h"
#include "iqdb/types.h"
#include "db/apply_order.h"
#include "db/call_gate.h"
#include "db/contents.h"
#include "db/journal.h"
#include "db/readers_lock.h"
#include "db/scrub.h"
#include "exec/thread_limit.h"
#include "util/topk.h"

namespace iqdb {

namespace db {
class ResultCache;
}

class DatabaseImpl {
 public:
  // In memory when `path` is null; else opens or creates the file.
  static Result<std::unique_ptr<DatabaseImpl>> open(const Config& config,
                                                    const std::filesystem::path* path,
                                                    bool read_only = false,
                                                    bool keep_stored_fields = false);
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
  Result<size_t> remove_batch(std::span<const VectorId> ids);

  // 0 once closed.
  size_t size() const;
  // These stay valid after close.
  size_t dim() const noexcept { return config_.dim(); }
  Metric metric() const noexcept { return config_.metric(); }
  IndexKind index_kind() const noexcept { return config_.index_kind(); }
  const Config& config() const noexcept { return config_; }

  Result<std::vector<Hit>> search(std::span<const float> query, const SearchParams& params) const;
  Result<std::vector<std::vector<Hit>>> search_batch(std::span<const float> queries,
                                                     const SearchParams& params) const;

  Status optimize();
  Status flush();
  // Waits for calls in flight, persists, releases. kClosed when already
  // closed (after waiting for a close running on another thread).
  Status close();
  std::optional<CacheStats> cache_stats() const;
  // How far the snapshot's checksums have been verified; kClosed once closed.
  Result<Integrity> integrity() const;

  // db/info.cpp, db/verify_handle.cpp, db/compact.cpp.
  Result<DatabaseInfo> info() const;
  Result<VerifyReport> verify() const;
  Result<CompactReport> compact(const CompactOptions& options);
  bool read_only() const noexcept { return read_only_; }

 private:
  DatabaseImpl(std::unique_ptr<db::Contents> contents, std::unique_ptr<db::Journal> journal,
               bool unsaved, std::unique_ptr<db::SnapshotScrub> scrub);

  // OK, or the damage found in the snapshot memory was loaded from.
  Status intact() const { return scrub_ ? scrub_->damage() : Status::OK(); }

  // ---- writes (database_writes.cpp)
  // Logs the records of `source`, then applies in log order.
  template <typename Apply>
  Status write(const db::RecordSource& source, Apply&& apply);
  // OK, or why writes are refused (latched, journal broken).
  Status writable() const;
  // Stops writes for good with `why`. With `stop_applies`, writers already
  // logged and waiting for their turn are released without applying (memory
  // may no longer equal the log, or a logged record may never take its
  // turn); without it they still apply in order and are acknowledged.
  void latch(const Status& why, bool stop_applies = true);
  // Writes a snapshot if memory differs from the file, and starts a fresh
  // log. One at a time; appends wait, readers do not.
  // With `force`, writes one even when memory equals the file; with
  // `compression`, in that encoding from now on.
  Status checkpoint(bool force = false, std::optional<Compression> compression = std::nullopt);
  void maybe_compact();
  void compactor_loop();
  void stop_compactor();

  // ---- reads (database_impl.cpp); the caller holds the shared lock.
  std::vector<util::Candidate> search_locked(const float* query, const SearchParams& params) const;
  std::vector<Hit> to_hits(const std::vector<util::Candidate>& found, const float* query,
                           bool with_metadata) const;
  // One query, through the cache when there is one.
  std::vector<Hit> search_one(std::span<const float> query, const SearchParams& params) const;
  // The body of search_batch after validation; fills results (one entry per
  // query). Caller holds the lock shared.
  void search_batch_locked(std::span<const float> queries, const SearchParams& params,
                           std::vector<std::vector<Hit>>& results) const;

  const Config config_;         // as reconciled with the file
  std::filesystem::path path_;  // empty in memory
  bool read_only_ = false;
  Compression snapshot_compression_;        // of the next snapshot; guarded by checkpoint_mu_
  std::unique_ptr<db::Contents> contents_;  // released by close()
  std::unique_ptr<db::Journal> journal_;
  std::unique_ptr<db::ResultCache> cache_;    // null when not configured
  std::unique_ptr<db::SnapshotScrub> scrub_;  // null when nothing is left to verify
  mutable db::ReadersLock mutex_;  // readers shared; a write's publishing steps exclusive
  // Held by whatever changes the contents (a write's whole apply,
  // optimize), by a snapshot's capture and by verify(); never by searches.
  mutable std::mutex apply_mu_;
  mutable db::CallGate gate_;
  db::ApplyOrder order_;
  // The index work of writes and of optimize() runs under it (at most
  // Config::write_threads threads). Writers are admitted one at a time by
  // order_ and apply_mu_, both sleeping waits that hold nothing a search or
  // the log's group commit needs; the one admitted spreads its work over at
  // most this many threads, itself included.
  exec::ThreadLimit write_limit_;

  mutable std::mutex latch_mu_;
  Status latched_;  // guarded by latch_mu_
  std::atomic<bool> is_latched_{false};
  // Memory changed in a way the log does not replay (optimize).
  std::atomic<bool> unsaved_{false};

  std::mutex close_mu_;               // one close at a time; later ones wait for it
  mutable std::mutex checkpoint_mu_;  // one snapshot at a time

  // Background compaction.
  std::mutex compact_mu_;
  std::condition_variable compact_cv_;
  std::thread compactor_;             // started on first need
  bool compact_wanted_ = false;       // guarded by compact_mu_
  bool compact_stop_ = false;         // guarded by compact_mu_
  Status compact_error_;              // the last background failure; guarded by compact_mu_
  uint64_t compact_retry_bytes_ = 0;  // after a failure, retry above this log size
};

}  // namespace iqdb
