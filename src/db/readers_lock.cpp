#include "db/readers_lock.h"

#include <algorithm>
#include <thread>

#include "util/atomic_wait.h"
#include "util/cpu_relax.h"

namespace iqdb::db {

int64_t ReadersLock::now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

bool ReadersLock::readers_held_off(uint32_t word) const {
  if (word & kHeld) return true;
  const int64_t pulse = pulse_.load(std::memory_order_acquire);
  const bool woken = (word & kWaits) != 0 && (word & kCount) == 0;
  if (pulse == 0 && !woken) return false;
  const int64_t now = now_ns();
  if (pulse != 0 && now - pulse < stale_pulse_.count()) return true;  // a running writer
  return woken && now - drained_.load(std::memory_order_acquire) < wake_grace_.count();
}

// ---- shared ----

bool ReadersLock::try_lock_shared() {
  // Acquire: a word with the count drained by the last reader out comes
  // with that reader's drained_ stamp (unlock_shared).
  uint32_t w = word_.load(std::memory_order_acquire);
  while (!readers_held_off(w)) {
    if (word_.compare_exchange_weak(w, w + 1, std::memory_order_acquire,
                                    std::memory_order_acquire)) {
      return true;
    }
  }
  return false;
}

void ReadersLock::lock_shared() {
  if (try_lock_shared()) return;
  const int64_t deadline = now_ns() + kReaderSpin.count();
  do {
    for (int i = 0; i < 32; ++i) util::cpu_relax();
    if (try_lock_shared()) return;
  } while (now_ns() < deadline);
  for (;;) {
    uint32_t w = word_.load(std::memory_order_acquire);
    if (w & kHeld) {
      // Sleep until the writer leaves; it wakes sleepers it finds marked.
      if ((w & kSleepers) != 0 ||
          word_.compare_exchange_weak(w, w | kSleepers, std::memory_order_relaxed,
                                      std::memory_order_relaxed)) {
        util::wait_while_equal(word_, w | kSleepers);
      }
      continue;
    }
    if (try_lock_shared()) return;
    // A running writer's pulse or a woken writer's grace: both end soon.
    std::this_thread::yield();
  }
}

void ReadersLock::unlock_shared() {
  uint32_t w = word_.load(std::memory_order_relaxed);
  for (;;) {
    const bool last_before_writer = (w & kCount) == 1 && (w & kWaits) != 0;
    // Stamped before the count reaches zero, so a reader that sees zero
    // also sees when the writer was woken.
    if (last_before_writer) drained_.store(now_ns(), std::memory_order_release);
    if (word_.compare_exchange_weak(w, w - 1, std::memory_order_release,
                                    std::memory_order_relaxed)) {
      if (last_before_writer) util::wake_all(word_);
      return;
    }
  }
}

// ---- exclusive ----

bool ReadersLock::take_if_drained() {
  uint32_t w = word_.load(std::memory_order_relaxed);
  // Clears kWaits; sleeping readers stay marked for unlock() to wake.
  return (w & kCount) == 0 &&
         word_.compare_exchange_strong(w, kHeld | (w & kSleepers), std::memory_order_acquire,
                                       std::memory_order_relaxed);
}

bool ReadersLock::spin_for_lock(std::chrono::nanoseconds spin) {
  const int64_t start = now_ns();
  int64_t now = start;
  do {
    pulse_.store(now, std::memory_order_release);
    if (take_if_drained()) {
      pulse_.store(0, std::memory_order_release);
      return true;
    }
    for (int i = 0; i < 8; ++i) util::cpu_relax();
    now = now_ns();
  } while (now - start < spin.count());
  pulse_.store(0, std::memory_order_release);
  return false;
}

void ReadersLock::lock() {
  writers_.lock();
  const std::chrono::nanoseconds spin_max = std::max(writer_spin_, kWriterSpinMax);
  std::chrono::nanoseconds spin = writer_spin_;
  while (!spin_for_lock(spin)) {
    // Readers still in flight (a long search): sleep until the last leaves,
    // letting readers enter meanwhile.
    uint32_t w = word_.fetch_or(kWaits, std::memory_order_relaxed) | kWaits;
    while ((w & kCount) != 0) {
      util::wait_while_equal(word_, w);
      w = word_.load(std::memory_order_relaxed);
    }
    spin = std::min(spin_max,
                    std::max(spin * 2, std::chrono::nanoseconds(std::chrono::microseconds(1))));
  }
}

bool ReadersLock::try_lock() {
  if (!writers_.try_lock()) return false;
  if (take_if_drained()) return true;
  writers_.unlock();
  return false;
}

void ReadersLock::unlock() {
  // Readers change the word only to mark themselves sleeping while it is held.
  const uint32_t before = word_.exchange(0, std::memory_order_release);
  writers_.unlock();
  if (before & kSleepers) util::wake_all(word_);
}

}  // namespace iqdb::db
