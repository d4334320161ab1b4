#include "exec/thread_limit.h"

#include <algorithm>
#include <condition_variable>
#include <exception>
#include <system_error>
#include <thread>
#include <utility>

#include <tbb/task_arena.h>

#include "exec/parallel.h"
#include "util/thread_priority.h"

namespace iqdb::exec {

struct ThreadLimit::Arena {
  // One slot is kept for the thread that calls execute(), so the caller
  // always works on its own loops and never waits for a worker to start.
  explicit Arena(size_t threads) : arena(static_cast<int>(threads), 1) {}
  tbb::task_arena arena;
};

// Lead::kBelowNormal's thread. run_call() admits one call at a time, so
// there is at most one call handed over: the caller posts it and sleeps
// until the thread has run it.
class ThreadLimit::LeadThread {
 public:
  explicit LeadThread(ThreadLimit& limit) : limit_(limit), thread_([this] { loop(); }) {}
  ~LeadThread() {
    {
      std::lock_guard l(mu_);
      stop_ = true;
    }
    posted_.notify_one();
    thread_.join();
  }
  LeadThread(const LeadThread&) = delete;
  LeadThread& operator=(const LeadThread&) = delete;

  // Runs call(fn) on this thread and returns when it is done, throwing
  // what it threw.
  void run(void* fn, void (*call)(void*)) {
    std::unique_lock l(mu_);
    fn_ = fn;
    call_ = call;
    done_ = false;
    posted_.notify_one();
    finished_.wait(l, [this] { return done_; });
    if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
  }

 private:
  void loop() {
    util::set_this_thread_below_normal();
    util::name_this_thread("iqdb-write");
    std::unique_lock l(mu_);
    for (;;) {
      posted_.wait(l, [this] { return stop_ || call_ != nullptr; });
      if (call_ == nullptr) return;
      void* fn = fn_;
      void (*call)(void*) = std::exchange(call_, nullptr);
      l.unlock();
      std::exception_ptr error;
      try {
        limit_.run_here(fn, call);
      } catch (...) {
        error = std::current_exception();
      }
      l.lock();
      error_ = std::move(error);
      done_ = true;
      finished_.notify_one();
    }
  }

  ThreadLimit& limit_;
  std::mutex mu_;
  std::condition_variable posted_;    // a call was posted, or stop_
  std::condition_variable finished_;  // done_
  void* fn_ = nullptr;
  void (*call_)(void*) = nullptr;  // the posted call; null once taken
  bool done_ = false;
  bool stop_ = false;
  std::exception_ptr error_;  // what the last call threw
  std::thread thread_;        // last: it starts once the members above exist
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

void ThreadLimit::run_call(void* fn, void (*call)(void*), Lead lead) {
  // A second caller let into the arena would be served by a worker the
  // arena grants for it, past the cap.
  std::lock_guard admitted(one_at_a_time_);
  if (lead == Lead::kCaller) {
    run_here(fn, call);
    return;
  }
  if (!lead_thread_) {
    // The lead's lowered priority passes to any thread it starts: TBB's
    // workers are started from here instead.
    start_workers();
    try {
      lead_thread_ = std::make_unique<LeadThread>(*this);
    } catch (const std::system_error&) {
      // No thread to be had (a process at its limit): the caller leads.
    }
  }
  if (lead_thread_) {
    lead_thread_->run(fn, call);
  } else {
    run_here(fn, call);
  }
}

void ThreadLimit::stop_lead() {
  std::lock_guard admitted(one_at_a_time_);
  lead_thread_.reset();
}

void ThreadLimit::run_here(void* fn, void (*call)(void*)) {
  if (!arena_) {
    call(fn);
    return;
  }
  arena_->arena.execute([fn, call] { call(fn); });
}

}  // namespace iqdb::exec
