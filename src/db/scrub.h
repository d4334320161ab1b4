// SnapshotScrub: makes sure no byte of the snapshot a database was loaded
// from is served for long, or copied into a new snapshot, without its
// checksum having matched.
//
// Open verifies the header, compressed sections and small ones (see
// storage/snapshot_reader.h); the big in-place sections are left to this
// scrub. A background thread started by open checksums them a chunk at a
// time, at low CPU priority and a bounded rate (ScrubSettings), and close()
// cancels it between chunks. Before a new snapshot is written the database
// calls verify_rest(), which checksums whatever the thread has not reached
// yet at full speed: every section copied or re-encoded into a new file has
// matched its stored checksum first.
//
// A mismatch is final for the handle: damage() returns it (kCorruption
// naming the section) from then on, and a marker file PATH.damaged records
// it, so that the next open verifies every section at once and refuses the
// file while it is still damaged (a repaired file clears the marker).
//
// Thread-safety: every method may be called from many threads at once.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "iqdb/integrity.h"
#include "iqdb/status.h"
#include "storage/snapshot_reader.h"

namespace iqdb::db {

struct ScrubSettings {
  // Start the background scrub when a database opens. When false the
  // sections open skipped stay unverified until a snapshot is written.
  bool enabled = true;
  // Upper bound on the scrub's checksum rate; 0 means unbounded.
  uint64_t bytes_per_second = uint64_t{512} << 20;
};

// Process-wide; read when a database opens (tests and benchmarks change it).
ScrubSettings scrub_settings();
void set_scrub_settings(const ScrubSettings& settings);

// The damage marker of the database at `db_path`: PATH.damaged.
std::filesystem::path damage_marker_path(const std::filesystem::path& db_path);

class SnapshotScrub {
 public:
  // Takes the reader of the snapshot the contents were loaded from; it
  // stays open (mapped) as long as the scrub. `marker` is written when
  // damage is found.
  SnapshotScrub(std::unique_ptr<storage::SnapshotReader> reader, std::filesystem::path marker);
  SnapshotScrub(const SnapshotScrub&) = delete;
  SnapshotScrub& operator=(const SnapshotScrub&) = delete;
  ~SnapshotScrub();

  // Starts the background thread when sections are left to verify. If no
  // thread can be started, verify_rest() still does the work.
  void start(const ScrubSettings& settings);
  // Cancels the thread between two chunks and joins it. Idempotent.
  void stop();

  // Verifies every section not verified yet, now. OK, or the damage.
  Status verify_rest();
  // OK, or the kCorruption found so far (sticky).
  Status damage() const;
  Integrity integrity() const;

 private:
  enum class SectionState : uint8_t { kPending, kClaimed, kVerified };
  static constexpr size_t kNone = SIZE_MAX;
  static constexpr size_t kChunkBytes = size_t{1} << 20;

  // The next pending section, marked claimed; kNone when none is pending.
  size_t claim_next_locked();
  // Checksums section `index`. `paced`: the background thread's pacing and
  // cancellation apply. Returns false when cancelled; else sets `verdict`.
  bool verify_section(size_t index, bool paced, Status& verdict);
  void finish_section(size_t index, bool cancelled, const Status& verdict);
  void run();

  const std::unique_ptr<storage::SnapshotReader> reader_;
  const std::filesystem::path marker_;
  uint64_t total_bytes_ = 0;
  std::atomic<uint64_t> verified_bytes_{0};

  mutable std::mutex mu_;
  std::condition_variable cv_;          // sections finished, stop, hurry
  std::vector<SectionState> sections_;  // guarded by mu_
  Status damage_;                       // guarded by mu_
  std::atomic<bool> damaged_{false};
  bool stop_ = false;               // guarded by mu_
  bool running_ = false;            // the thread is working; guarded by mu_
  std::atomic<bool> hurry_{false};  // a writer waits: drop the pacing
  // Pacing of the background thread.
  std::chrono::steady_clock::time_point pace_start_;
  uint64_t paced_bytes_ = 0;
  uint64_t bytes_per_second_ = 0;
  std::thread thread_;
};

}  // namespace iqdb::db
