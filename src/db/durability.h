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
#include <span>

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
  static Result<std::unique_ptr<Durability>> open(const std::filesystem::path& path,
                                                  DatabaseImpl& db);
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
};

}  // namespace iqdb::db
