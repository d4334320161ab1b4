// Arena's address space on Windows: a VirtualAlloc reservation committed in
// place. A file view cannot be placed inside a reservation, so adopt_file
// reads file sections into committed memory.
#if defined(_WIN32)

#include "util/windows.h"

#include <string>

#include "util/arena.h"
#include "util/file.h"

namespace iqdb::util {

uint8_t* Arena::os_reserve(size_t bytes, size_t align, void** os_base) noexcept {
  // Windows releases a reservation only whole, so the aligned start stays
  // inside a slightly larger one that os_release frees from `os_base`.
  void* p = VirtualAlloc(nullptr, bytes + align, MEM_RESERVE, PAGE_NOACCESS);
  if (p == nullptr) return nullptr;
  *os_base = p;
  const auto addr = reinterpret_cast<uintptr_t>(p);
  return reinterpret_cast<uint8_t*>((addr + align - 1) / align * align);
}

void Arena::os_release(uint8_t*, size_t, void* os_base) noexcept {
  VirtualFree(os_base, 0, MEM_RELEASE);
}

Status Arena::os_commit(uint8_t* p, size_t bytes) noexcept {
  if (VirtualAlloc(p, bytes, MEM_COMMIT, PAGE_READWRITE) == nullptr) {
    return Status::ResourceExhausted("cannot commit arena memory: Windows error " +
                                     std::to_string(GetLastError()));
  }
  return Status::OK();
}

Status Arena::os_map_file(uint8_t*, const File&, uint64_t, size_t) noexcept {
  return Status::Unsupported("file views cannot be placed inside a reservation");
}

}  // namespace iqdb::util

#endif  // _WIN32
