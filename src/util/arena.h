// Arena: a contiguous, 64-byte-aligned region that grows without moving.
//
// It reserves address space up front (no memory is committed until used) and
// commits pages as it grows, so a pointer into the arena stays valid for the
// arena's life: readers may hold row pointers while a writer appends. Large
// arenas ask the kernel for transparent huge pages. Committed memory is
// zero-filled.
//
// An arena can also start from a file's bytes (see adopt_file): where the
// platform can map a file into reserved address space (POSIX) and the offset
// is a multiple of the mapping granularity, the bytes are mapped
// copy-on-write, used in place without a copy, and writes to them never
// reach the file; otherwise (Windows, or an offset the granularity does not
// divide, e.g. 4 KiB sections under 16 KiB pages) they are read into the
// arena.
//
// The OS calls live in arena_posix.cpp (mmap, mprotect, MADV_HUGEPAGE where
// it exists) and arena_win32.cpp (VirtualAlloc reserve/commit).
//
// Thread-safety: grow() and adopt_file() need exclusive access; data() and
// reads of committed bytes may run concurrently with grow() once the arena
// holds memory (the first grow() sets data()), and so may
// committed_bytes().
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "iqdb/status.h"

#ifndef IQDB_ARENA_RESERVE_GIB
#define IQDB_ARENA_RESERVE_GIB 1024
#endif

namespace iqdb::util {

class File;

class Arena {
 public:
  // Reserves up to `max_bytes` of address space lazily (on first grow).
  explicit Arena(size_t max_bytes = kDefaultReserveBytes) noexcept : max_bytes_(max_bytes) {}
  Arena(Arena&& other) noexcept;
  Arena& operator=(Arena&& other) noexcept;
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;
  ~Arena();

  // Makes at least `bytes` usable. kResourceExhausted when the reservation
  // or the OS runs out.
  Status grow(size_t bytes);

  // Puts `length` bytes of `file`, starting at `offset`, at the start of
  // the arena: mapped copy-on-write when the platform and the offset allow
  // (see above), read otherwise. The arena must be empty; the file must
  // hold the whole range (kIOError otherwise). The file may be closed
  // afterwards.
  Status adopt_file(const File& file, uint64_t offset, size_t length);
  // True when adopt_file mapped the file rather than reading it.
  bool maps_file() const noexcept { return maps_file_; }

  uint8_t* data() noexcept { return base_; }
  const uint8_t* data() const noexcept { return base_; }
  // Bytes usable now.
  size_t committed_bytes() const noexcept { return committed_.load(std::memory_order_relaxed); }

  // Address space an arena reserves unless told otherwise: 1 TiB, or the
  // build's arena_reserve_gib (meson_options.txt). It bounds how large one
  // arena may grow; grow() past it is kResourceExhausted.
  static constexpr size_t kDefaultReserveBytes = size_t{IQDB_ARENA_RESERVE_GIB} << 30;

 private:
  Status reserve();
  void release() noexcept;

  // The OS half (arena_posix.cpp, arena_win32.cpp).
  // Reserves `bytes` of inaccessible address space starting at a multiple
  // of `align`; `os_base` is what os_release needs. Null when refused.
  static uint8_t* os_reserve(size_t bytes, size_t align, void** os_base) noexcept;
  static void os_release(uint8_t* base, size_t bytes, void* os_base) noexcept;
  // Makes [p, p + bytes) of a reservation readable, writable and zeroed.
  static Status os_commit(uint8_t* p, size_t bytes) noexcept;
  // Maps `bytes` of `file` at `offset` copy-on-write over [p, p + bytes)
  // of a reservation; kUnsupported where the platform cannot.
  static Status os_map_file(uint8_t* p, const File& file, uint64_t offset, size_t bytes) noexcept;

  size_t max_bytes_;
  size_t reserved_ = 0;
  std::atomic<size_t> committed_{0};
  uint8_t* base_ = nullptr;
  void* os_base_ = nullptr;
  bool maps_file_ = false;
};

}  // namespace iqdb::util
