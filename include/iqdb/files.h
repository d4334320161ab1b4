// What a database's files are and how a program looks after them: the
// options for opening an existing database, the description info() returns,
// the report verify() returns, and what compact() does.
//
// All types here are plain values: distinct objects may be used from
// different threads at once; one object needs external synchronisation for
// writes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "iqdb/config.h"
#include "iqdb/export.h"
#include "iqdb/integrity.h"
#include "iqdb/status.h"
#include "iqdb/types.h"

namespace iqdb {

// How Database::open(path, OpenOptions) opens an existing database. Its
// shape (dim, metric, index, storage type) always comes from the file.
struct OpenOptions {
  // Open for reading only. Any number of read-only handles, in any number
  // of processes, may hold one database at once (a shared lock) and share
  // the mapped snapshot's pages; a writable handle excludes them and they
  // exclude it: whichever comes second gets kBusy and nothing changes. A
  // read-only handle replays the log in memory but never changes a file,
  // and every write through it (upsert, remove, optimize, flush, compact)
  // returns kUnsupported. close() on it writes nothing.
  bool read_only = false;
  // Durability of later writes; ignored when read_only.
  FsyncPolicy fsync = FsyncPolicy::always();
  // Result cache (see Database::cache_stats). Capacity 0 disables it.
  CacheConfig cache;
  // The compression of snapshots written from now on; nullopt keeps the
  // one the file's sections use.
  std::optional<Compression> compression;
  // Threads doing the index work of writes at once (Config::write_threads).
  size_t write_threads = 0;
  // Copy the snapshot into private memory instead of mapping it
  // (Config::load_into_memory).
  bool load_into_memory = false;

  OpenOptions& with_read_only(bool v) {
    read_only = v;
    return *this;
  }
  OpenOptions& with_fsync(FsyncPolicy v) {
    fsync = v;
    return *this;
  }
  OpenOptions& with_cache(CacheConfig v) {
    cache = v;
    return *this;
  }
  OpenOptions& with_compression(Compression v) {
    compression = v;
    return *this;
  }
  OpenOptions& with_write_threads(size_t v) {
    write_threads = v;
    return *this;
  }
  OpenOptions& with_load_into_memory(bool v) {
    load_into_memory = v;
    return *this;
  }
};

// One section of a snapshot file.
struct SnapshotSectionInfo {
  uint32_t id = 0;            // the section kind's number (FORMAT.md)
  std::string kind;           // what it holds: "rows", "ids", "hnsw", "ivf", ...
  uint64_t bytes = 0;         // its contents, uncompressed
  uint64_t stored_bytes = 0;  // what it takes in the file
  bool compressed = false;
  Compression::Kind codec = Compression::Kind::kNone;
};

// What a database is and what it holds (Database::info, inspect).
struct DatabaseInfo {
  std::filesystem::path path;  // empty in memory
  bool in_memory = false;
  bool read_only = false;
  size_t dim = 0;
  Metric metric = Metric::kL2;
  IndexKind index;
  VectorStorage storage;
  // SQ8: codes exist (false until VectorStorage::kSq8TrainingRows rows have
  // been written). True for every other storage type.
  bool sq8_trained = true;
  // The fields the payload index holds by declaration (Config::
  // indexed_fields), ascending; empty: every field under the value limit.
  std::vector<std::string> indexed_fields;
  // Memory for one row: its values as stored, kept f32 rows and norms,
  // with padding.
  size_t vector_bytes_per_row = 0;
  uint64_t records = 0;
  // False when `records` is the snapshot's count and the log holds writes
  // not counted (inspect() of a database with a non-empty log).
  bool records_exact = true;
  uint64_t snapshot_bytes = 0;  // 0 in memory
  uint64_t log_bytes = 0;       // 0 without a log
  // Log records newer than the snapshot (what compact() would fold in).
  uint64_t log_records = 0;
  std::vector<SnapshotSectionInfo> sections;
  // The codec of the snapshot's compressed sections (none when none is);
  // for a handle, the compression its next snapshot will use.
  Compression compression;
  // For a handle: the threads doing the index work of writes at once
  // (Config::write_threads, 0 resolved). 0 from inspect().
  size_t write_threads = 0;
  std::string simd_target;      // see simd_target()
  uint32_t format_version = 0;  // of the snapshot file; 0 in memory
  uint32_t log_format_version = 0;
  std::string library_version;  // see version()
  // How far the snapshot's checksums have been verified since this handle
  // opened it (see integrity.h); kVerified in memory and for inspect().
  Integrity integrity;
};

// What verify() found. Checks run in stages, each of which adds findings:
//   kLock      another process holds the database (a note: the files were
//              checked as they were at that moment)
//   kSnapshot  header, section table and every section's CRC32C
//   kIds       the store loads; every live slot's id maps back to it; the
//              live count matches the store's and the header's
//   kVectors   every row, decoded from its storage type, is finite and
//              agrees with its stored norms (to that type's precision)
//   kIndex     the index loads (every structure validated: IVF list
//              membership and codes); HNSW: no links to absent nodes, no
//              self links, no over-full lists, a valid entry point, every
//              live row in the graph; nodes no search can reach are a note
//   kLog       every log record's checksum and sequence, and each payload
//              decodes for this database's dimension; a torn tail is a
//              note (the next writable open cuts it off), a bad record
//              followed by good ones is damage
struct VerifyReport {
  enum class Stage : uint8_t { kLock, kSnapshot, kIds, kVectors, kIndex, kLog };
  enum class Severity : uint8_t {
    kOk,         // the stage passed; the message says what was checked
    kNote,       // worth knowing, loses no data
    kDamaged,    // a problem: data is or would be lost or wrong
    kUnchecked,  // this build cannot check it (a newer format or codec)
  };
  struct Finding {
    Stage stage;
    Severity severity;
    std::string message;  // one line, safe to log
  };

  std::vector<Finding> findings;  // in the order the stages ran
  // Counts of what was checked.
  uint64_t sections_verified = 0;
  uint64_t records = 0;            // live records in the store checked
  uint64_t log_records = 0;        // valid records in the log
  uint64_t log_records_newer = 0;  // of which newer than the snapshot
  uint64_t torn_tail_bytes = 0;
  uint64_t unreachable_nodes = 0;  // HNSW nodes no search can return

  // No damage and nothing left unchecked.
  bool ok() const noexcept { return problems() == 0 && complete(); }
  // Findings of severity kDamaged.
  size_t problems() const noexcept { return count(Severity::kDamaged); }
  // Nothing was left unchecked.
  bool complete() const noexcept { return count(Severity::kUnchecked) == 0; }
  size_t count(Severity s) const noexcept {
    size_t n = 0;
    for (const Finding& f : findings) n += f.severity == s;
    return n;
  }
};

// "lock", "snapshot", "ids", "vectors", "index", "log".
IQDB_EXPORT const char* stage_name(VerifyReport::Stage stage);

// What Database::compact may change.
struct CompactOptions {
  // Re-encode every section with this compression (and keep it for later
  // snapshots); nullopt keeps the handle's.
  std::optional<Compression> compression;

  CompactOptions& with_compression(Compression v) {
    compression = v;
    return *this;
  }
};

// What Database::compact did.
struct CompactReport {
  uint64_t records = 0;             // records in the new snapshot
  uint64_t log_records_folded = 0;  // log records the new snapshot took in
  uint64_t snapshot_bytes_before = 0, snapshot_bytes_after = 0;
  uint64_t log_bytes_before = 0, log_bytes_after = 0;
  Compression compression_before, compression_after;
};

// Checks the database at `path` without changing anything: it never
// replays into, cuts or rewrites a file, so it is safe on a database that
// fails to open. It takes the shared (read-only) lock when it can; when a
// writer holds the database it checks the files as they are and says so
// (a kLock note). kNotFound when there is no database at `path`; every
// problem found in the files is a finding, not an error.
IQDB_EXPORT Result<VerifyReport> verify(const std::filesystem::path& path);

// Describes the database at `path` from its snapshot (header, section
// table, and the store mapped in place) and its log, without a lock and
// without replaying anything: usable while another process has the
// database open. `records`
// is the snapshot's count (records_exact says whether the log holds more);
// `log_records` counts the log's valid records newer than the snapshot.
// kNotFound without a database; kCorruption when the header is damaged
// (or the log exists without its snapshot); kUnsupported for a newer
// format.
IQDB_EXPORT Result<DatabaseInfo> inspect(const std::filesystem::path& path);

}  // namespace iqdb
