// GuardedRegion: pages of read-write memory between two inaccessible pages,
// for tests that prove a kernel never reads one byte before or after its
// input (a stray read faults and kills the test). Test support, like
// fault_injection.h.
//
// Thread-safety: immutable after create(); the memory is the caller's.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>

#include "iqdb/status.h"

namespace iqdb::util {

class GuardedRegion {
 public:
  // Room for at least `bytes` (whole pages), zero-filled, with a no-access
  // page right before begin() and right at end().
  static Result<GuardedRegion> create(size_t bytes);

  GuardedRegion() noexcept = default;
  GuardedRegion(GuardedRegion&& other) noexcept
      : base_(std::exchange(other.base_, nullptr)),
        pages_bytes_(std::exchange(other.pages_bytes_, 0)) {}
  GuardedRegion& operator=(GuardedRegion&& other) noexcept {
    if (this != &other) {
      release();
      base_ = std::exchange(other.base_, nullptr);
      pages_bytes_ = std::exchange(other.pages_bytes_, 0);
    }
    return *this;
  }
  GuardedRegion(const GuardedRegion&) = delete;
  GuardedRegion& operator=(const GuardedRegion&) = delete;
  ~GuardedRegion() { release(); }

  uint8_t* begin() const noexcept { return base_ + guard_bytes(); }
  // The first byte of the trailing guard page.
  uint8_t* end() const noexcept { return begin() + pages_bytes_; }

 private:
  static size_t guard_bytes() noexcept;
  void release() noexcept;

  uint8_t* base_ = nullptr;  // the leading guard page
  size_t pages_bytes_ = 0;   // usable bytes between the guards
};

}  // namespace iqdb::util
