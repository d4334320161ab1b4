#include "util/fault_injection.h"

#include <new>

namespace iqdb::util {
namespace {

std::atomic<int64_t> g_sync_failures{0};
std::atomic<int64_t> g_apply_faults{0};
std::atomic<FileHooks*> g_file_hooks{nullptr};

bool consume(std::atomic<int64_t>& counter) {
  int64_t n = counter.load(std::memory_order_relaxed);
  while (n > 0) {
    if (counter.compare_exchange_weak(n, n - 1, std::memory_order_relaxed)) return true;
  }
  return false;
}

}  // namespace

void inject_sync_failures(int64_t count) {
  g_sync_failures.store(count, std::memory_order_relaxed);
}
bool consume_injected_sync_failure() { return consume(g_sync_failures); }

void inject_apply_faults(int64_t count) { g_apply_faults.store(count, std::memory_order_relaxed); }
void maybe_throw_injected_apply_fault() {
  if (g_apply_faults.load(std::memory_order_relaxed) > 0 && consume(g_apply_faults))
    throw std::bad_alloc();
}

void install_file_hooks(FileHooks* hooks) { g_file_hooks.store(hooks, std::memory_order_release); }
FileHooks* file_hooks() { return g_file_hooks.load(std::memory_order_acquire); }

}  // namespace iqdb::util
