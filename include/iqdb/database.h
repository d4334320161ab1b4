// Database: the handle a host program opens, writes to and searches.
//
// A database fixes its dimension and metric when it is created. In memory it
// lives as long as the handle; on disk it is a snapshot file at PATH plus a
// write-ahead log at PATH.wal, and every acknowledged write survives a crash
// (under the default FsyncPolicy::always()).
//
// Thread-safety: every method may be called from many threads at once.
// Searches run concurrently with each other and with the application of
// writes: the index work of a write (an HNSW insert's beam search and
// relinking, repairing a removed node's neighbours, the periodic
// reachability repair, IVF training, optimize()) runs beside searches, and
// a search waits only while a write publishes a row, a removal, a freed
// node or slot, a replaced row's codes, an IVF list append or a new model,
// or a slice of 256 rows of a batch: steps bounded by a row, a node or a
// slice, never by the size of the database (one exception: SQ8 row storage
// learns its codes once, inside the write that reaches
// VectorStorage::kSq8TrainingRows rows). Growing the storage those steps
// write into happens beside searches, before the step. A search sees each record
// wholly or not at all, and every hit is a record get() would return at
// that moment. Writes apply one at a time in log order; a snapshot (flush,
// close, background compaction) holds writers only while memory is copied
// out and is written while they go on.
//
// Lifecycle: close() may be called while other threads are inside the
// handle: it waits for the calls in flight, writes what memory holds beyond
// the file, and releases the database. Every call after it returns kClosed
// (size() returns 0; dim(), metric(), index_kind() and storage() still
// answer). The destructor and move-assignment close the same way. The one
// rule C++ itself imposes: no thread may start a call on a handle whose
// destructor or move-assignment has begun (calls already in flight are
// waited for). The handle is move-only; a moved-from handle returns
// kClosed.
//
// A write that is durable in the log but could not be applied in memory
// (out of memory midway, say), like a failed fsync, makes the database
// refuse every later write with a status naming the cause; reads go on, and
// reopening replays the log.
//
// A snapshot section whose checksum does not match (found by the background
// scrub open starts, or before a new snapshot is written) is worse: every
// later call returns kCorruption naming the section, no snapshot is written
// from it, and the log keeps every acknowledged write until the file is
// restored and reopened. See integrity().
#pragma once

#include <cstddef>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "iqdb/config.h"
#include "iqdb/export.h"
#include "iqdb/files.h"
#include "iqdb/filter.h"
#include "iqdb/integrity.h"
#include "iqdb/status.h"
#include "iqdb/types.h"

namespace iqdb {

class DatabaseImpl;

class IQDB_EXPORT Database {
 public:
  // An in-memory database with the exact flat index.
  static Result<Database> open_in_memory(size_t dim, Metric metric);
  static Result<Database> open_in_memory(const Config& config);

  // Opens the database at `path`, creating it when absent. On reopen the
  // stored dim and metric must match (else kConfigMismatch) and the stored
  // index kind wins over the requested one. kBusy when another process has
  // it open.
  static Result<Database> open(const std::filesystem::path& path, size_t dim, Metric metric);
  static Result<Database> open(const std::filesystem::path& path, const Config& config);
  // Opens the existing database at `path`, taking its dim, metric, index,
  // storage type and compression from the file. kNotFound when there is no
  // database at `path`, kCorruption when its files are damaged, kBusy when
  // another process holds it (see OpenOptions::read_only for sharing).
  static Result<Database> open(const std::filesystem::path& path);
  static Result<Database> open(const std::filesystem::path& path, const OpenOptions& options);

  Database(Database&&) noexcept;
  Database& operator=(Database&&) noexcept;
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;
  // Closes the database if close() was not called; errors are dropped, so
  // call close() to see them.
  ~Database();

  // Inserts or replaces the record under `id`. The vector must have dim()
  // finite floats. Replacing keeps size() unchanged.
  Status upsert(const VectorId& id, std::span<const float> vector,
                const Metadata* metadata = nullptr);
  // Upserts rows.size() / dim() records at once; rows is row-major. metadata
  // is empty or has one entry (possibly null) per id. Either every record is
  // written or, on a validation error, none is. Readers see all rows of the
  // batch together or none of them, and a crash at any moment leaves all of
  // them or none. Any size: a batch larger than one log record is logged in
  // parts and committed by its last.
  Status upsert_batch(std::span<const VectorId> ids, std::span<const float> rows,
                      std::span<const Metadata* const> metadata = {});
  // The record under `id`, nullopt when absent. The vector is exactly the
  // floats written for f32 and u8 storage and for lossy types with keep_f32;
  // for f16, bf16 and SQ8 rows without keep_f32 it is the stored
  // approximation (see VectorStorage). The metadata is exactly as written.
  Result<std::optional<Record>> get(const VectorId& id) const;
  // True if the record was present.
  Result<bool> remove(const VectorId& id);
  // Removes every record of `ids` in one write: all of them become absent
  // together (to searches, and after a crash at any moment), and an HNSW
  // index takes the whole set out of its graph at once, which costs about
  // what one remove() does. Absent and repeated ids are skipped; returns
  // how many records were removed. One call logs its ids in one record of
  // at most 64 MiB (about 7 million integer ids); more is kInvalidArgument.
  Result<size_t> remove_batch(std::span<const VectorId> ids);

  size_t size() const;
  bool empty() const { return size() == 0; }
  size_t dim() const;
  Metric metric() const;
  // The index in use (for a reopened database: the stored one).
  IndexKind index_kind() const;
  // How rows are stored; for a file, the type it was created with.
  VectorStorage storage() const;

  // The k nearest records, nearest first; ties break on insertion order.
  // Fewer than k only when fewer records (or matching records) exist.
  Result<std::vector<Hit>> search(std::span<const float> query, size_t k) const;
  Result<std::vector<Hit>> search(std::span<const float> query, size_t k,
                                  const Filter& filter) const;
  Result<std::vector<Hit>> search(std::span<const float> query, const SearchParams& params) const;
  // One result list per query, in order; `queries` is row-major n x dim().
  // Runs in parallel.
  Result<std::vector<std::vector<Hit>>> search_batch(std::span<const float> queries, size_t k,
                                                     const Filter* filter = nullptr) const;
  Result<std::vector<std::vector<Hit>>> search_batch(std::span<const float> queries,
                                                     const SearchParams& params) const;

  // Rebuilds or retrains the approximate index over the current records.
  // The result reaches the file at the next flush() or close().
  Status optimize();
  // Writes a fresh snapshot whenever memory differs from the file (logged
  // writes, optimize(), index training or repair) and cuts the log to the
  // records logged after the snapshot was copied out.
  // Also reports, and retries, a failed background compaction. No-op in
  // memory.
  Status flush();
  // Waits for calls in flight, flushes and releases the database (and its
  // lock); further calls return kClosed. Returns the flush's error, if any.
  Status close();

  // What the database is and holds; see DatabaseInfo. For a file, the
  // section table is read from the snapshot on disk.
  Result<DatabaseInfo> info() const;
  // Checks the database as this handle holds it: the rows, id map, norms
  // and index in memory, and for a file also every snapshot checksum and
  // every log record on disk. Readers go on meanwhile; writers wait for the
  // in-memory stages. Problems are findings in the report, not errors.
  Result<VerifyReport> verify() const;
  // Always writes a fresh snapshot holding every write (temp file, fsync,
  // rename, directory fsync), re-encoded with options.compression when
  // given (later snapshots keep it), then empties the log. Readers go on
  // meanwhile; writers wait. kUnsupported in memory and on a read-only
  // handle; kUnsupported for a codec this build lacks (nothing changes).
  Result<CompactReport> compact(const CompactOptions& options = {});
  // True for a handle opened with OpenOptions::read_only.
  bool read_only() const;

  // nullopt when no cache is configured.
  std::optional<CacheStats> cache_stats() const;

  // How far the background scrub has verified the snapshot's checksums
  // since open: in progress, verified, or damaged (with the section).
  // Always kVerified in memory. kClosed after close().
  Result<Integrity> integrity() const;

 private:
  explicit Database(std::unique_ptr<DatabaseImpl> impl);
  std::unique_ptr<DatabaseImpl> impl_;
};

}  // namespace iqdb
