// Background work (the snapshot scrub, log compaction) yields the CPU to
// queries and writes by running at the lowest priority the OS gives a
// thread, under a name that tells it apart in the OS's thread list.
#pragma once

namespace iqdb::util {

// Lowers the calling thread's scheduling priority for the rest of its life;
// best effort (an OS that refuses leaves it as it was). Linux applies nice
// per thread (setpriority on the thread id, 19) and puts the thread in the
// SCHED_IDLE class; macOS puts the thread in
// the background band; Windows uses THREAD_PRIORITY_LOWEST.
void lower_this_thread_priority() noexcept;

// Names the calling thread (at most 15 characters kept); best effort, a
// no-op where the OS has no such name.
void name_this_thread(const char* name) noexcept;

// While it lives, the calling thread does not preempt others when it wakes
// (Linux: the SCHED_BATCH class, same share of the CPU, restored to
// SCHED_OTHER on destruction; a thread in any other class, or another OS,
// is left as it is). A writer applying beside searches holds one, so the
// wakeups of writers taking turns never cut a running search short.
class NoWakeupPreemption {
 public:
  NoWakeupPreemption() noexcept;
  ~NoWakeupPreemption();
  NoWakeupPreemption(const NoWakeupPreemption&) = delete;
  NoWakeupPreemption& operator=(const NoWakeupPreemption&) = delete;

 private:
  [[maybe_unused]] bool changed_ = false;
};

}  // namespace iqdb::util
