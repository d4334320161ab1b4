// Arena's address space on POSIX: a PROT_NONE reservation committed with
// mprotect, file sections mapped over it with MAP_FIXED.
#if !defined(_WIN32)

#include <sys/mman.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "util/arena.h"
#include "util/file.h"

namespace iqdb::util {

uint8_t* Arena::os_reserve(size_t bytes, size_t align, void** os_base) noexcept {
  int flags = MAP_PRIVATE | MAP_ANONYMOUS;
#if defined(MAP_NORESERVE)
  flags |= MAP_NORESERVE;
#endif
  // One extra `align` lets the usable start be aligned; the slack is unmapped.
  void* p = ::mmap(nullptr, bytes + align, PROT_NONE, flags, -1, 0);
  if (p == MAP_FAILED) return nullptr;
  const auto addr = reinterpret_cast<uintptr_t>(p);
  const uintptr_t aligned = (addr + align - 1) / align * align;
  const size_t head = aligned - addr;
  if (head != 0) ::munmap(p, head);
  const size_t tail = align - head;
  if (tail != 0) ::munmap(reinterpret_cast<void*>(aligned + bytes), tail);
  *os_base = reinterpret_cast<void*>(aligned);
  return reinterpret_cast<uint8_t*>(aligned);
}

void Arena::os_release(uint8_t* base, size_t bytes, void*) noexcept { ::munmap(base, bytes); }

Status Arena::os_commit(uint8_t* p, size_t bytes) noexcept {
  if (::mprotect(p, bytes, PROT_READ | PROT_WRITE) != 0) {
    return Status::ResourceExhausted("cannot commit arena memory: " +
                                     std::string(std::strerror(errno)));
  }
#if defined(MADV_HUGEPAGE)  // Linux only; macOS has no transparent huge pages
  if (bytes >= (size_t{2} << 20)) ::madvise(p, bytes, MADV_HUGEPAGE);  // a hint; failure is fine
#endif
  return Status::OK();
}

Status Arena::os_map_file(uint8_t* p, const File& file, uint64_t offset, size_t bytes) noexcept {
  void* got = ::mmap(p, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED,
                     static_cast<int>(file.handle_), static_cast<off_t>(offset));
  if (got == MAP_FAILED) {
    return Status::IOError("cannot map snapshot section: " + std::string(std::strerror(errno)));
  }
  return Status::OK();
}

}  // namespace iqdb::util

#endif  // !_WIN32
