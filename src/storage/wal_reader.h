// Replaying the write-ahead log after a restart.
//
// Recovery is:
//
//   Result<WalReplayResult> r = replay_wal(wal_path, identity, snapshot_seq, apply);
//   if (!r.ok()) return r.status();                      // corruption: refuse to open
//   if (r->torn_tail()) IQDB_RETURN_IF_ERROR(truncate_torn_tail(wal_path, *r));
//   auto writer = WalWriter::open(wal_path, identity, r->next_seq);
//
// The rules (FORMAT.md, "WAL recovery"):
//  - records are checked in order; sequence numbers must strictly increase
//    and be >= the header's start sequence;
//  - a damaged or partial record with no valid record anywhere after it is a
//    torn tail (a crash during an append): replay stops there and reports the
//    offset where valid data ends, so the caller can cut the rest off;
//  - a damaged record followed by a valid record with a larger sequence is
//    corruption: acknowledged writes would be lost, so it is reported, never
//    skipped;
//  - a WAL of another database (identity), or one that starts after
//    `after_seq + 1` (records between the snapshot and the log are missing),
//    is corruption.
//
// Thread-safety: the functions share no state; the caller must stop writers
// of the same file (the database lock does).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <span>

#include "iqdb/status.h"
#include "storage/wal.h"

namespace iqdb::storage {

// Receives each record with seq > after_seq, in order. The payload view is
// valid only during the call. A non-OK return stops the replay and is
// returned from it.
using WalRecordCallback =
    std::function<Status(uint64_t seq, uint8_t op, std::span<const uint8_t> payload)>;

struct WalReplayResult {
  uint64_t file_bytes = 0;   // the WAL's length as found
  uint64_t valid_bytes = 0;  // where the last valid record ends (or the header)
  uint64_t records = 0;      // valid records in the file
  uint64_t delivered = 0;    // of which passed to the callback (seq > after_seq)
  uint64_t last_seq = 0;     // sequence of the last valid record; 0 if none
  uint64_t next_seq = 1;     // the sequence the next append must get
  bool torn_tail() const noexcept { return valid_bytes < file_bytes; }
};

// Replays `path`. A missing or empty file is an empty log. On any error the
// callback may already have seen a prefix of the records: the caller must
// discard what it built. kCorruption as above; kUnsupported for a newer
// format; kIOError when the OS fails.
Result<WalReplayResult> replay_wal(const std::filesystem::path& path, uint64_t identity,
                                   uint64_t after_seq, const WalRecordCallback& callback);

// The same over an in-memory image of the file (tests, fuzzing).
Result<WalReplayResult> replay_wal_bytes(std::span<const uint8_t> image, uint64_t identity,
                                         uint64_t after_seq, const WalRecordCallback& callback);

// Cuts the torn tail that `replay` found off `path` and fsyncs it. Requires
// `replay` to come from replay_wal of this file with no write in between;
// kInvalidArgument if the file is now shorter than replay.valid_bytes.
Status truncate_torn_tail(const std::filesystem::path& path, const WalReplayResult& replay);

}  // namespace iqdb::storage
