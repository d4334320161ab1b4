#include "exec/thread_limit.h"

#include <algorithm>

#include <tbb/task_arena.h>

#include "exec/parallel.h"

namespace iqdb::exec {

struct ThreadLimit::Arena {
  // One slot is kept for the thread that calls execute(), so the caller
  // always works on its own loops and never waits for a worker to start.
  explicit Arena(size_t threads) : arena(static_cast<int>(threads), 1) {}
  tbb::task_arena arena;
};

size_t effective_thread_limit(size_t threads) {
  const size_t pool = std::max<size_t>(1, concurrency());
  if (threads == 0) return pool;
  return std::min(threads, pool);
}

ThreadLimit::ThreadLimit(size_t threads) : threads_(effective_thread_limit(threads)) {
  if (threads_ < std::max<size_t>(1, concurrency())) arena_ = std::make_unique<Arena>(threads_);
}

ThreadLimit::~ThreadLimit() = default;

void ThreadLimit::run_call(void* fn, void (*call)(void*)) {
  // A second caller let into the arena would be served by a worker the
  // arena grants for it, past the cap.
  std::lock_guard admitted(one_at_a_time_);
  if (!arena_) {
    call(fn);
    return;
  }
  arena_->arena.execute([fn, call] { call(fn); });
}

}  // namespace iqdb::exec
