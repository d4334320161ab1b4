// The readers' lock of a database handle: searches hold it shared, a
// write's short publishing steps (db/contents.h) exclusive.
//
// A general-purpose reader-writer lock (std::shared_mutex, glibc's rwlock)
// queues new readers behind a waiting writer and, once the readers in
// flight leave, makes that writer the owner while it is still asleep. On a
// busy machine the woken writer may wait milliseconds for a core, and every
// search waits with it although nothing runs under the lock.
//
// This lock lets a writer hold readers off only while it is running:
//  - A writer that wants the lock spins, stamping a pulse (a clock reading)
//    as it goes. Readers do not enter while the pulse is fresh, so the
//    readers in flight drain and the writer takes the lock within about one
//    search. A writer that is preempted stops stamping; once its pulse is
//    kStalePulse old readers enter again, and it starts over when it runs.
//  - A writer that has spun kWriterSpin without the readers draining (a
//    long search holds the lock) stops stamping and sleeps until the reader
//    count reaches zero; readers keep entering meanwhile. The reader that
//    leaves last wakes it, and readers arriving within kWakeGrace of that
//    wait for it. A writer that was not running by then misses its turn and
//    spins again, each time twice as long (up to kWriterSpinMax), so it
//    gets the lock within about one search once it runs.
//  - Only a running writer ever becomes the owner. Readers wait for a held
//    lock by spinning up to kReaderSpin, then sleeping until it is released.
//
// Meets the standard's SharedMutex requirements, so std::shared_lock and
// std::unique_lock work with it. Thread-safety: every member may be called
// from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <shared_mutex>  // std::shared_lock, for callers

namespace iqdb::db {

class ReadersLock {
 public:
  // How long a writer first spins for the readers in flight to leave before
  // it sleeps (about one HNSW search), and the most it spins after missing
  // its turn (longer than an IVF search, far shorter than a search_batch).
  static constexpr std::chrono::nanoseconds kWriterSpin = std::chrono::microseconds(50);
  static constexpr std::chrono::nanoseconds kWriterSpinMax = std::chrono::milliseconds(1);
  // How long readers hold off for a sleeping writer woken by the last
  // reader out: about a wake-up on an idle core.
  static constexpr std::chrono::nanoseconds kWakeGrace = std::chrono::microseconds(50);
  // How old a writer's pulse may be before readers take it that the writer
  // is not running: far longer than one turn of its spin loop.
  static constexpr std::chrono::nanoseconds kStalePulse = std::chrono::microseconds(20);
  // How long a reader spins for a held lock before it sleeps; longer than
  // a publishing step's usual hold, far shorter than a scheduler slice.
  static constexpr std::chrono::nanoseconds kReaderSpin = std::chrono::microseconds(200);

  ReadersLock() = default;
  // Tests choose the times to make each path certain.
  ReadersLock(std::chrono::nanoseconds writer_spin, std::chrono::nanoseconds stale_pulse,
              std::chrono::nanoseconds wake_grace)
      : writer_spin_(writer_spin), stale_pulse_(stale_pulse), wake_grace_(wake_grace) {}
  ReadersLock(const ReadersLock&) = delete;
  ReadersLock& operator=(const ReadersLock&) = delete;

  void lock();
  bool try_lock();
  void unlock();

  void lock_shared();
  bool try_lock_shared();
  void unlock_shared();

  // For tests: a writer sleeps until the readers in flight leave.
  bool writer_sleeping() const { return (word_.load(std::memory_order_acquire) & kWaits) != 0; }
  // For tests: a writer is spinning for the lock and has stamped its pulse.
  bool writer_pulsing() const { return pulse_.load(std::memory_order_acquire) != 0; }

 private:
  static constexpr uint32_t kHeld = 1u << 31;      // a writer owns the lock
  static constexpr uint32_t kWaits = 1u << 30;     // a writer sleeps until the count drains
  static constexpr uint32_t kSleepers = 1u << 29;  // readers sleep until the writer leaves
  static constexpr uint32_t kCount = kSleepers - 1;

  static int64_t now_ns();
  // Whether a reader must not enter now, the lock's word being `word`.
  bool readers_held_off(uint32_t word) const;
  // Takes the lock exclusive if no reader holds it (the caller holds writers_).
  bool take_if_drained();
  // Spins up to `spin` for the readers to drain, stamping the pulse.
  bool spin_for_lock(std::chrono::nanoseconds spin);

  std::atomic<uint32_t> word_{0};
  // When a writer that wants the lock last stamped it (steady clock, ns);
  // 0: no writer is spinning for it.
  std::atomic<int64_t> pulse_{0};
  // When the last reader out woke a sleeping writer (steady clock, ns).
  std::atomic<int64_t> drained_{0};
  std::mutex writers_;  // one writer contends with the readers at a time
  std::chrono::nanoseconds writer_spin_ = kWriterSpin;
  std::chrono::nanoseconds stale_pulse_ = kStalePulse;
  std::chrono::nanoseconds wake_grace_ = kWakeGrace;
};

}  // namespace iqdb::db
