// Sleeping on an atomic until another thread changes it: the futex pattern
// behind ReadersLock and CallGate.
//
//   wait_while_equal(a, old): sleeps while `a` holds `old`; may also return
//     early (callers recheck in a loop).
//   wake_all(a): wakes every thread sleeping on `a`; call it after storing
//     the new value.
//
// Windows uses WaitOnAddress / WakeByAddressAll. Elsewhere these are
// std::atomic's wait and notify_all. libstdc++'s own wait is not used on
// Windows: where it has no futex (MinGW-w64) GCC 12 checks the value
// outside the lock its notify takes, so a wake can fall between the check
// and the sleep and be lost (GCC PR 106183; fixed in GCC 13), which hung
// a writer forever under a search load.
//
// Thread-safety: both may be called from any thread.
#pragma once

#include <atomic>
#include <cstddef>

namespace iqdb::util {

#if defined(_WIN32)
namespace atomic_wait_detail {
void wait(const volatile void* address, const void* old, size_t bytes) noexcept;
void wake_all(void* address) noexcept;
}  // namespace atomic_wait_detail

template <class T>
void wait_while_equal(const std::atomic<T>& a, T old) noexcept {
  static_assert(std::atomic<T>::is_always_lock_free && sizeof(std::atomic<T>) == sizeof(T) &&
                (sizeof(T) == 4 || sizeof(T) == 8));
  atomic_wait_detail::wait(&a, &old, sizeof(T));
}

template <class T>
void wake_all(std::atomic<T>& a) noexcept {
  atomic_wait_detail::wake_all(&a);
}
#else
template <class T>
void wait_while_equal(const std::atomic<T>& a, T old) noexcept {
  a.wait(old, std::memory_order_seq_cst);
}

template <class T>
void wake_all(std::atomic<T>& a) noexcept {
  a.notify_all();
}
#endif

}  // namespace iqdb::util
