// ThreadLimit: a standing cap on the threads that the parallel loops run
// under it use, the calling thread included. The database runs the index
// work of its writes under one, so that writes never take every core from
// the searches running beside them.
//
// A call can run below its caller's priority: run(fn, Lead::kBelowNormal)
// hands fn() to a thread of the limit's own (started by the first such
// call, named "iqdb-write") that runs at a lower OS priority, and the
// caller sleeps until it is done. Where searches and writes contend for
// too few cores, the OS then gives the core to the search first. The hand
// over and back costs a wakeup each way (tens of µs), so it is for calls
// that take far longer.
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
  // Which thread runs fn() and leads its parallel loops.
  enum class Lead {
    kCaller,       // the thread that calls run()
    kBelowNormal,  // the limit's own thread, below normal priority
  };

  // At most `threads` threads (0: the whole worker pool).
  explicit ThreadLimit(size_t threads);
  ~ThreadLimit();
  ThreadLimit(const ThreadLimit&) = delete;
  ThreadLimit& operator=(const ThreadLimit&) = delete;

  // The cap in force (never 0).
  size_t threads() const noexcept { return threads_; }
  // Runs fn() on the thread `lead` names; the parallel loops inside it use
  // at most threads() threads. Exceptions from fn() propagate to the
  // caller. fn is called by reference, never copied (nothing is allocated
  // to run it).
  template <typename Fn>
  void run(Fn&& fn, Lead lead = Lead::kCaller) {
    using F = std::remove_reference_t<Fn>;
    run_call(
        const_cast<void*>(static_cast<const void*>(std::addressof(fn))),
        [](void* f) { (*static_cast<F*>(f))(); }, lead);
  }
  // Ends the below-normal lead thread, if one was started, once the call
  // it may be running is done (a later such call starts another).
  void stop_lead();

 private:
  void run_call(void* fn, void (*call)(void*), Lead lead);
  void run_here(void* fn, void (*call)(void*));

  struct Arena;
  class LeadThread;
  size_t threads_;
  std::mutex one_at_a_time_;
  std::unique_ptr<Arena> arena_;  // null when the cap is the whole pool
  // Started by the first Lead::kBelowNormal call; guarded by one_at_a_time_.
  std::unique_ptr<LeadThread> lead_thread_;
};

// The cap ThreadLimit(threads) puts in force.
size_t effective_thread_limit(size_t threads);

}  // namespace iqdb::exec
