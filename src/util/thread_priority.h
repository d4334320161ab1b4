// Background work (the snapshot scrub) yields the CPU to queries and writes
// by running at the lowest priority the OS gives a thread.
#pragma once

namespace iqdb::util {

// Lowers the calling thread's scheduling priority for the rest of its life;
// best effort (an OS that refuses leaves it as it was). Linux applies nice
// per thread (setpriority on the thread id, 19); macOS puts the thread in
// the background band; Windows uses THREAD_PRIORITY_LOWEST.
void lower_this_thread_priority() noexcept;

}  // namespace iqdb::util
