// Journal: the durable half of a database. It appends records to the
// write-ahead log (group commit, fsync policy), writes snapshots out of the
// sections it is handed and starts a fresh log after each. It sees records
// and sections as bytes: it never looks into the database's contents and
// never calls back into it.
//
// An in-memory database has a journal too, one that only numbers records,
// so every write takes the same path whether or not it is durable.
//
// Sequence numbers are consecutive and give the order in which writes must
// be applied to memory (db/apply_order.h).
//
// Thread-safety: every method may be called from many threads at once.
// log() calls are serialised among themselves and with AppendHold; fsyncs
// run outside that lock, so concurrent writers share them.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <span>
#include <string>

#include "iqdb/config.h"
#include "iqdb/status.h"
#include "storage/snapshot_writer.h"
#include "storage/wal_writer.h"
#include "util/file.h"

namespace iqdb::db {

// One log record: the database's op code and its payload; `more` when the
// same log() call appends another record after it.
struct LogRecord {
  uint8_t op = 0;
  std::string payload;
  bool more = false;
};

// The sequence numbers a log() call was given, first..last inclusive.
struct SeqRange {
  uint64_t first = 0;
  uint64_t last = 0;
};

// Produces the records one log() call appends, in order, until one says
// `more` is false. Called while appends are held: encode lazily, so a large
// batch never sits in memory twice. An in-memory journal never calls it.
// A non-owning reference to a callable (no allocation per write): the
// callable must outlive the log() call.
class RecordSource {
 public:
  template <typename Fn>
  RecordSource(Fn& fn) noexcept  // NOLINT: implicit by design
      : object_(&fn),
        call_([](void* f) -> Result<LogRecord> { return (*static_cast<Fn*>(f))(); }) {}
  Result<LogRecord> operator()() const { return call_(object_); }

 private:
  void* object_;
  Result<LogRecord> (*call_)(void*);
};

class Journal {
 public:
  virtual ~Journal() = default;

  // A journal that numbers records and writes nothing; `next_seq` is the
  // number of the first record.
  static std::unique_ptr<Journal> in_memory(uint64_t next_seq = 1);

  // Appends the records of `source` contiguously, with no other record
  // between them, then makes them durable as the fsync policy says.
  // A failure that leaves the log as it was (a refused payload, a write
  // undone, a source error) returns that error and consumes no sequence
  // number. A failure that leaves the log unknown (a failed fsync, a write
  // that could not be undone) breaks the journal: status() reports it from
  // then on and every later call fails.
  virtual Result<SeqRange> log(const RecordSource& source) = 0;

  // False for the in-memory journal, which writes nothing.
  virtual bool durable() const = 0;
  // OK, or why the journal refuses to log (sticky until reopen).
  virtual Status status() const = 0;

  // Bytes in the log; compaction is due above compact_threshold_bytes().
  virtual uint64_t log_bytes() const = 0;
  virtual uint64_t compact_threshold_bytes() const = 0;
  // The identity nonce shared by the snapshot and the log.
  virtual uint64_t identity() const = 0;
  // The last sequence the snapshot on disk holds.
  virtual uint64_t snapshot_seq() const = 0;

  // Where the log stood at one moment: the last sequence logged and the
  // byte offset in the log where the next record goes.
  struct LogPoint {
    uint64_t last_seq = 0;
    uint64_t log_end = 0;
  };

  // Stops log() calls for its lifetime. last_seq() is the last sequence
  // logged before it: every write up to it may still be on its way to
  // memory (wait for it there before reading memory out).
  class AppendHold {
   public:
    explicit AppendHold(Journal& journal)
        : lock_(journal.append_mu_), point_{journal.last_seq_locked(), journal.log_end_locked()} {}
    uint64_t last_seq() const noexcept { return point_.last_seq; }
    LogPoint point() const noexcept { return point_; }

   private:
    std::unique_lock<std::mutex> lock_;
    LogPoint point_;
  };

  // Writes `writer` (whose header says it holds every record up to
  // `covered.last_seq` and carries identity()) as the new snapshot, then
  // drops those records from the log, keeping the ones logged after
  // `covered` (taken under an AppendHold). log() calls go on while the file
  // is written and fsynced; they wait only while the log is cut. On failure
  // the old snapshot and the whole log still stand, and the journal keeps
  // working unless cutting the log failed after the snapshot was in place.
  // A no-op that returns OK for an in-memory journal.
  virtual Status write_snapshot(const LogPoint& covered, const storage::SnapshotWriter& writer) = 0;

  // Makes what periodic/never left in the page cache durable, stops the
  // periodic sync and releases the files (and the lock). Later log() calls
  // fail.
  virtual Status close() = 0;

 protected:
  Journal() = default;
  // The last sequence handed out and the log's end; called with append_mu_
  // held.
  virtual uint64_t last_seq_locked() const = 0;
  virtual uint64_t log_end_locked() const { return 0; }
  mutable std::mutex append_mu_;
};

// The log size above which a file journal asks for compaction (256 MiB
// unless a test lowers it). Process-wide.
uint64_t compact_log_bytes();
void set_compact_log_bytes(uint64_t bytes);

// Opens the journal over an already replayed log: `wal` continues at
// replay's next_seq and `lock` is the database's lock, held until close().
std::unique_ptr<Journal> file_journal(std::filesystem::path path, util::FileLock lock,
                                      std::unique_ptr<storage::WalWriter> wal, uint64_t identity,
                                      uint64_t snapshot_seq, FsyncPolicy policy);

// The journal of a read-only handle: holds `lock` (shared) until close(),
// reports the log records newer than the snapshot (up to `last_seq`), and
// refuses log() and write_snapshot() with kUnsupported (db/read_only_journal.cpp).
std::unique_ptr<Journal> read_only_journal(std::filesystem::path path, util::FileLock lock,
                                           uint64_t identity, uint64_t snapshot_seq,
                                           uint64_t last_seq);

}  // namespace iqdb::db
