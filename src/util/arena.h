// Arena: a contiguous, 64-byte-aligned region that grows without moving.
//
// It reserves address space up front (no memory is committed until used) and
// commits pages as it grows, so a pointer into the arena stays valid for the
// arena's life: readers may hold row pointers while a writer appends. Large
// arenas ask the kernel for transparent huge pages. Committed memory is
// zero-filled.
//
// An arena can also start from a read-only file mapping (see adopt_file):
// the file's bytes appear at the start, mapped copy-on-write, so they are used
// in place without a copy, and writes to them never reach the file.
//
// Thread-safety: grow() and adopt_file() need exclusive access; data() and
// reads of committed bytes may run concurrently with grow().
#pragma once

#include <cstddef>
#include <cstdint>

#include "iqdb/status.h"

namespace iqdb::util {

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

  // Maps `length` bytes of the open file `fd`, starting at `offset` (a
  // multiple of the page size), copy-on-write at the start of the arena.
  // The arena must be empty. The fd may be closed afterwards.
  Status adopt_file(int fd, uint64_t offset, size_t length);

  uint8_t* data() noexcept { return base_; }
  const uint8_t* data() const noexcept { return base_; }
  // Bytes usable now.
  size_t committed_bytes() const noexcept { return committed_; }

  static constexpr size_t kDefaultReserveBytes = size_t{1} << 40;  // 1 TiB of address space

 private:
  Status reserve();
  void release() noexcept;

  size_t max_bytes_;
  size_t reserved_ = 0;
  size_t committed_ = 0;
  uint8_t* base_ = nullptr;
};

}  // namespace iqdb::util
