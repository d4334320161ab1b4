// Durability: what makes a file-backed database survive a crash. It owns
// the lock file, the write-ahead log and the snapshot, logs every write
// before applying it to the DatabaseImpl, and compacts the log into a new
// snapshot on flush/close.
//
// Thread-safety: all methods may be called concurrently; writes are
// ordered by the log and applied under the database's exclusive lock.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <span>

#include "iqdb/config.h"

#include "iqdb/status.h"
#include "iqdb/types.h"

namespace iqdb {
class DatabaseImpl;
}

namespace iqdb::db {

class Durability {
 public:
  // Locks `path`, loads its snapshot into `db` (mapping sections in place),
  // replays the log, and returns the handle that logs later writes.
  // With `read_only`, takes the shared lock, never creates, cuts or
  // writes a file, and refuses every write (kUnsupported).
  static Result<std::unique_ptr<Durability>> open(const std::filesystem::path& path,
                                                  DatabaseImpl& db, bool read_only = false);
  virtual ~Durability() = default;

  // kIOError once a write or fsync has failed: the database refuses writes
  // until reopened.
  virtual Status writable() const = 0;
  virtual Status upsert(const VectorId& id, std::span<const float> vector,
                        const Metadata* metadata) = 0;
  virtual Status upsert_batch(std::span<const VectorId> ids, std::span<const float> rows,
                              std::span<const Metadata* const> metadata) = 0;
  virtual Result<bool> remove(const VectorId& id) = 0;
  virtual Status flush() = 0;
  virtual Status close() = 0;

  // What compact() did to the log.
  struct CompactStats {
    uint64_t log_records_folded = 0;
  };
  // Writes a fresh snapshot even when the log is empty, with `compression`
  // from now on when given, then resets the log.
  virtual Result<CompactStats> compact(std::optional<Compression> compression) = 0;
  // Log records the snapshot on disk does not hold yet.
  virtual uint64_t log_records() const = 0;
  // The compression the next snapshot is written with.
  virtual Compression compression() const = 0;
  virtual const std::filesystem::path& path() const = 0;
  virtual bool read_only() const = 0;
};

}  // namespace iqdb::db
