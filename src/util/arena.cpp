#include "util/arena.h"

#include <algorithm>
#include <span>
#include <string>
#include <utility>

#include "util/file.h"

namespace iqdb::util {
namespace {

size_t round_up(size_t n, size_t to) { return (n + to - 1) / to * to; }

constexpr size_t kHugePage = size_t{2} << 20;

}  // namespace

Arena::Arena(Arena&& other) noexcept
    : max_bytes_(other.max_bytes_),
      reserved_(std::exchange(other.reserved_, 0)),
      committed_(other.committed_.exchange(0, std::memory_order_relaxed)),
      base_(std::exchange(other.base_, nullptr)),
      os_base_(std::exchange(other.os_base_, nullptr)),
      maps_file_(std::exchange(other.maps_file_, false)) {}

Arena& Arena::operator=(Arena&& other) noexcept {
  if (this != &other) {
    release();
    max_bytes_ = other.max_bytes_;
    reserved_ = std::exchange(other.reserved_, 0);
    committed_.store(other.committed_.exchange(0, std::memory_order_relaxed),
                     std::memory_order_relaxed);
    base_ = std::exchange(other.base_, nullptr);
    os_base_ = std::exchange(other.os_base_, nullptr);
    maps_file_ = std::exchange(other.maps_file_, false);
  }
  return *this;
}

Arena::~Arena() { release(); }

void Arena::release() noexcept {
  if (base_ != nullptr) os_release(base_, reserved_, os_base_);
  base_ = nullptr;
  os_base_ = nullptr;
  reserved_ = 0;
  committed_.store(0, std::memory_order_relaxed);
  maps_file_ = false;
}

Status Arena::reserve() {
  if (base_ != nullptr) return Status::OK();
  // Sanitizer runtimes and restrictive ulimits may refuse a huge
  // reservation; halve until the OS agrees, down to 64 MiB. The start is
  // 2 MiB aligned so that huge pages can back the arena.
  for (size_t want = round_up(max_bytes_, kHugePage); want >= (size_t{64} << 20); want /= 2) {
    if (uint8_t* p = os_reserve(want, kHugePage, &os_base_)) {
      base_ = p;
      reserved_ = want;
      return Status::OK();
    }
  }
  return Status::ResourceExhausted("cannot reserve address space for an arena");
}

Status Arena::grow(size_t bytes) {
  const size_t committed = committed_.load(std::memory_order_relaxed);
  if (bytes <= committed) return Status::OK();
  IQDB_RETURN_IF_ERROR(reserve());
  if (bytes > reserved_) {
    return Status::ResourceExhausted("arena is full: " + std::to_string(bytes) +
                                     " bytes requested, " + std::to_string(reserved_) +
                                     " reserved");
  }
  // Grow geometrically so appends cost amortised O(1) system calls.
  size_t target = std::max(bytes, committed + committed / 2);
  // Past one huge page, commit whole huge pages (the base is aligned to
  // them): a fault then gets a huge page at once. A commit ending inside one
  // would leave that page's range in small pages, which the kernel's
  // background collapser later copies into a huge page, holding the CPU it
  // runs on for milliseconds while it does.
  target = round_up(target, target >= kHugePage ? kHugePage : page_size());
  target = std::min(target, reserved_);
  IQDB_RETURN_IF_ERROR(os_commit(base_ + committed, target - committed));
  committed_.store(target, std::memory_order_relaxed);
  return Status::OK();
}

Status Arena::adopt_file(const File& file, uint64_t offset, size_t length) {
  if (committed_bytes() != 0) return Status::InvalidArgument("adopt_file needs an empty arena");
  if (length == 0) return Status::OK();
  Result<uint64_t> file_bytes = file.size();
  if (!file_bytes.ok()) return file_bytes.status();
  if (offset > *file_bytes || length > *file_bytes - offset) {
    return Status::IOError("'" + file.path().string() + "' ends before the " +
                           std::to_string(length) + " bytes at offset " + std::to_string(offset));
  }
  IQDB_RETURN_IF_ERROR(reserve());
  // Whole pages: the last one holds file bytes, so touching it is safe.
  const size_t mapped = round_up(length, page_size());
  if (mapped > reserved_) return Status::ResourceExhausted("file section larger than the arena");
  if (offset % mapping_granularity() == 0) {
    Status s = os_map_file(base_, file, offset, mapped);
    if (s.ok()) {
      committed_.store(mapped, std::memory_order_relaxed);
      maps_file_ = true;
      return s;
    }
    if (s.code() != StatusCode::kUnsupported) return s;
  }
  IQDB_RETURN_IF_ERROR(grow(length));
  return file.read_exact(offset, std::span<uint8_t>(base_, length));
}

}  // namespace iqdb::util
