// Lock tracing: how long each exclusive step of a write holds the readers'
// lock, how long the writer waited for it, and how long searches wait for
// the lock shared. A measuring build only (meson -Dlock_trace=true defines
// IQDB_LOCK_TRACE); in every other build each hook is an empty inline
// function and the call sites compile to nothing.
//
// Steps are keyed by the source line that asked for them (the Publisher
// passes its caller's std::source_location). At process exit the traced
// build prints one line per site to stderr: count, total and longest hold,
// a histogram of holds, the total and longest wait to get the lock, and the
// total and longest CPU time of a hold (a hold far longer than its CPU time was
// preempted); then searches' waits for the lock shared, graph readers'
// waits on nodes a writer held, and searches slower than 1 ms with what
// their time went to (CPU, page faults, context switches).
//
// Thread-safety: every hook may be called from any thread.
#pragma once

#include <cstdint>

namespace iqdb::util::lock_trace {

#if defined(IQDB_LOCK_TRACE)
inline constexpr bool kEnabled = true;
// Names the exclusive step this thread is about to run.
void set_site(const char* file, uint32_t line) noexcept;
// The step named last on this thread waited `wait_ns` for the lock and held
// it `hold_ns`, of which it ran on a CPU `cpu_ns` (the rest it was
// preempted: the machine, not the step).
void exclusive_step(uint64_t wait_ns, uint64_t hold_ns, uint64_t cpu_ns) noexcept;
// A search waited `wait_ns` for the lock shared.
void search_wait(uint64_t wait_ns) noexcept;
// A graph reader found a node held by a writer and waited `wait_ns`;
// `gave_up`: it took the list as it stood rather than wait longer.
void node_wait(uint64_t wait_ns, bool gave_up) noexcept;
uint64_t now_ns() noexcept;
// CPU time of the calling thread.
uint64_t thread_cpu_ns() noexcept;
// Times one search from construction to destruction, with the thread's CPU
// time, page faults and context switches over that span.
class SearchScope {
 public:
  SearchScope() noexcept;
  ~SearchScope();
  SearchScope(const SearchScope&) = delete;
  SearchScope& operator=(const SearchScope&) = delete;

 private:
  uint64_t wall_ns_, cpu_ns_;
  long minor_faults_, major_faults_, voluntary_, involuntary_;
};
#else
inline constexpr bool kEnabled = false;
inline void set_site(const char*, uint32_t) noexcept {}
inline void exclusive_step(uint64_t, uint64_t, uint64_t) noexcept {}
inline void search_wait(uint64_t) noexcept {}
inline void node_wait(uint64_t, bool) noexcept {}
inline uint64_t now_ns() noexcept { return 0; }
inline uint64_t thread_cpu_ns() noexcept { return 0; }
class SearchScope {};
#endif

}  // namespace iqdb::util::lock_trace
