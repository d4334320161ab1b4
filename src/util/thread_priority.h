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

}  // namespace iqdb::util
