#include "util/fault_injection.h"

namespace iqdb::util {
namespace {
std::atomic<int64_t> g_sync_failures{0};
}

void inject_sync_failures(int64_t count) { g_sync_failures.store(count, std::memory_order_relaxed); }

bool consume_injected_sync_failure() {
  int64_t n = g_sync_failures.load(std::memory_order_relaxed);
  while (n > 0) {
    if (g_sync_failures.compare_exchange_weak(n, n - 1, std::memory_order_relaxed)) return true;
  }
  return false;
}

}  // namespace iqdb::util
