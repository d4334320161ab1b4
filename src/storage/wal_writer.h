// WalWriter: appends records to the write-ahead log and makes them durable.
//
// append() and sync() are separate so that many writers can share one
// fsync (group commit): each thread appends, gets its sequence number, and
// calls sync_to(seq); a sync that ran after its append already covers it,
// so only one fsync happens per group of concurrent appends.
//
// Failures are sticky: if a write cannot be undone or an fsync fails, the
// page cache no longer says what the disk holds, so every later append and
// sync returns the same error until reset() starts a new log.
//
// Thread-safety: every method may be called from many threads at once.
// Appends are serialised by an internal mutex; an fsync runs outside it, so
// appends continue while another thread waits for the disk.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>

#include "iqdb/status.h"
#include "storage/wal.h"
#include "util/file.h"

namespace iqdb::storage {

class WalWriter {
 public:
  // Opens `path` for appending, creating it (atomically, with its header)
  // if it is missing or holds only a torn header. An existing log must
  // belong to `identity` (else kCorruption) and must have been replayed,
  // and any torn tail cut off, by the caller: `next_seq` is the replay's
  // next_seq, and every record appended gets a larger sequence than any in
  // the file. Requires next_seq >= 1.
  static Result<std::unique_ptr<WalWriter>> open(const std::filesystem::path& path,
                                                 uint64_t identity, uint64_t next_seq);

  WalWriter(const WalWriter&) = delete;
  WalWriter& operator=(const WalWriter&) = delete;
  ~WalWriter() = default;

  // Appends one record and returns its sequence number. The record is in
  // the OS's hands, not yet durable: call sync_to(seq). kInvalidArgument
  // when the payload exceeds kMaxWalPayloadBytes; kIOError (sticky if the
  // file is left inconsistent) when the write fails.
  Result<uint64_t> append(uint8_t op, std::span<const uint8_t> payload);
  Result<uint64_t> append(uint8_t op, std::string_view payload);

  // Where the log ends now, to undo appends with rollback().
  struct Mark {
    uint64_t end = 0;
    uint64_t next_seq = 0;
  };
  Mark mark() const;
  // Cuts every record appended since `mark` off the log (and out of what
  // sync_to reports durable). Requires the caller to have kept every other
  // appender out since mark() was taken. On failure the writer is broken.
  Status rollback(const Mark& mark);

  // Makes every record with sequence <= seq durable; returns at once when
  // an earlier sync already did.
  Status sync_to(uint64_t seq);
  // Makes everything appended so far durable.
  Status sync();

  // Replaces the log with an empty one for `identity` whose next record
  // gets `next_seq` (after a snapshot covers every record in the log). The
  // new file is written aside and renamed over the old one, so a crash
  // leaves either the old log or the new one. Waits for running syncs.
  Status reset(uint64_t identity, uint64_t next_seq);
  // Replaces the log with one for `identity` holding only the records from
  // `from` on (those appended after a snapshot that covers everything
  // before `from` was taken): a new file with a header saying its first
  // sequence is from.next_seq and those records copied verbatim is written
  // aside, fsynced and renamed over the old one (directory fsynced), so a
  // crash leaves the old log or the new one, and every record the old one
  // made durable is durable in either. Requires `from` to be a mark taken
  // since the last reset and the caller to keep appenders out; waits for
  // running syncs. On failure the old log stands and the writer is unchanged.
  Status reset_keeping(uint64_t identity, const Mark& from);

  // OK, or the sticky failure that stops every append and sync.
  Status broken() const;

  // Bytes in the log file, header included.
  uint64_t size_bytes() const;
  // The sequence number the next append will get.
  uint64_t next_seq() const;
  // The largest sequence number known durable (next_seq() - 1 right after
  // open or reset).
  uint64_t synced_seq() const;
  uint64_t identity() const;
  const std::filesystem::path& path() const noexcept { return path_; }

 private:
  struct PrivateTag {
    explicit PrivateTag() = default;
  };

 public:
  // Use open().
  WalWriter(PrivateTag, std::filesystem::path path, util::File file, uint64_t identity,
            uint64_t next_seq, uint64_t end);

 private:
  const std::filesystem::path path_;
  // Held while fsyncing and by reset(), which swaps file_: a sync must not
  // see the file change under it. Ordered before mu_.
  std::mutex sync_mu_;
  // Guards everything below.
  mutable std::mutex mu_;
  util::File file_;
  uint64_t identity_;
  uint64_t next_seq_;
  uint64_t synced_seq_;
  uint64_t end_;        // where the next record goes
  Status broken_;       // sticky failure
  std::string buffer_;  // one encoded record, reused
};

}  // namespace iqdb::storage
