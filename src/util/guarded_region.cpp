#include "util/guarded_region.h"

#if defined(_WIN32)
#include "util/windows.h"
#else
#include <sys/mman.h>
#endif

#include "util/file.h"

namespace iqdb::util {

size_t GuardedRegion::guard_bytes() noexcept { return page_size(); }

Result<GuardedRegion> GuardedRegion::create(size_t bytes) {
  const size_t page = page_size();
  GuardedRegion r;
  r.pages_bytes_ = (bytes + page - 1) / page * page;
  const size_t total = r.pages_bytes_ + 2 * page;
#if defined(_WIN32)
  void* p = VirtualAlloc(nullptr, total, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
  if (p == nullptr) return Status::ResourceExhausted("cannot allocate a guarded region");
  r.base_ = static_cast<uint8_t*>(p);
  DWORD old = 0;
  if (!VirtualProtect(r.base_, page, PAGE_NOACCESS, &old) ||
      !VirtualProtect(r.end(), page, PAGE_NOACCESS, &old)) {
    return Status::IOError("cannot protect a guard page");
  }
#else
  void* p = ::mmap(nullptr, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return Status::ResourceExhausted("cannot allocate a guarded region");
  r.base_ = static_cast<uint8_t*>(p);
  if (::mprotect(r.base_, page, PROT_NONE) != 0 || ::mprotect(r.end(), page, PROT_NONE) != 0) {
    return Status::IOError("cannot protect a guard page");
  }
#endif
  return r;
}

void GuardedRegion::release() noexcept {
  if (base_ == nullptr) return;
#if defined(_WIN32)
  VirtualFree(base_, 0, MEM_RELEASE);
#else
  ::munmap(base_, pages_bytes_ + 2 * guard_bytes());
#endif
  base_ = nullptr;
  pages_bytes_ = 0;
}

}  // namespace iqdb::util
