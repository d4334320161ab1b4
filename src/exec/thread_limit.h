// ThreadLimit: a standing cap on the threads that the parallel loops run
// under it use, the calling thread included. The database runs the index
// work of its writes under one, so that writes never take every core from
// the searches running beside them.
//
// Thread-safety: run() may be called from many threads at once: one call
// runs at a time and the others wait for it asleep, so the cap holds across
// callers. Not reentrant: fn() must not call run() on the same limit.
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <type_traits>

namespace iqdb::exec {

class ThreadLimit {
 public:
  // At most `threads` threads (0: the whole worker pool).
  explicit ThreadLimit(size_t threads);
  ~ThreadLimit();
  ThreadLimit(const ThreadLimit&) = delete;
  ThreadLimit& operator=(const ThreadLimit&) = delete;

  // The cap in force (never 0).
  size_t threads() const noexcept { return threads_; }
  // Runs fn() on the calling thread; the parallel loops inside it use at
  // most threads() threads. Exceptions from fn() propagate. fn is called by
  // reference, never copied (nothing is allocated to run it).
  template <typename Fn>
  void run(Fn&& fn) {
    using F = std::remove_reference_t<Fn>;
    run_call(const_cast<void*>(static_cast<const void*>(std::addressof(fn))),
             [](void* f) { (*static_cast<F*>(f))(); });
  }

 private:
  void run_call(void* fn, void (*call)(void*));

  struct Arena;
  size_t threads_;
  std::mutex one_at_a_time_;
  std::unique_ptr<Arena> arena_;  // null when the cap is the whole pool
};

// The cap ThreadLimit(threads) puts in force.
size_t effective_thread_limit(size_t threads);

}  // namespace iqdb::exec
