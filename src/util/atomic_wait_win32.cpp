// The Windows half of atomic_wait.h: WaitOnAddress and WakeByAddressAll
// (Windows 8 and later; synchronization library).
#if defined(_WIN32)

#include "util/windows.h"

#include "util/atomic_wait.h"

#if defined(_MSC_VER)
#pragma comment(lib, "synchronization.lib")
#endif

namespace iqdb::util::atomic_wait_detail {

void wait(const volatile void* address, const void* old, size_t bytes) noexcept {
  // Returns when woken, spuriously, or (never, with INFINITE) on timeout;
  // the caller rechecks the value either way.
  WaitOnAddress(const_cast<volatile void*>(address), const_cast<void*>(old), bytes, INFINITE);
}

void wake_all(void* address) noexcept { WakeByAddressAll(address); }

}  // namespace iqdb::util::atomic_wait_detail

#endif  // _WIN32
