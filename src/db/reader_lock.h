// How searches take the readers' lock. Its exclusive holders are short
// publishing steps (db/database_impl.h), so a search that finds one spins
// for a bounded time before it sleeps: a thread that sleeps gives its core
// away, and on a busy machine it may then wait a whole scheduler slice of
// another process (milliseconds) to get it back, long after the step ended.
#pragma once

#include <chrono>
#include <mutex>
#include <shared_mutex>

#include "util/cpu_relax.h"

namespace iqdb::db {

// How long a reader spins for the lock before it blocks; longer than any
// publishing step's usual hold, far shorter than a scheduler slice.
inline constexpr std::chrono::microseconds kReaderSpin{200};

// The lock held shared, taken as above.
inline std::shared_lock<std::shared_mutex> lock_shared_spinning(std::shared_mutex& mu) {
  if (mu.try_lock_shared()) return std::shared_lock(mu, std::adopt_lock);
  const auto deadline = std::chrono::steady_clock::now() + kReaderSpin;
  do {
    for (int i = 0; i < 32; ++i) util::cpu_relax();
    if (mu.try_lock_shared()) return std::shared_lock(mu, std::adopt_lock);
  } while (std::chrono::steady_clock::now() < deadline);
  return std::shared_lock(mu);
}

}  // namespace iqdb::db
