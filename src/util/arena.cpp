#include "util/arena.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

namespace iqdb::util {
namespace {

size_t page_size() {
  static const size_t kPage = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  return kPage;
}

size_t round_up(size_t n, size_t to) { return (n + to - 1) / to * to; }

constexpr size_t kHugePage = size_t{2} << 20;

}  // namespace

Arena::Arena(Arena&& other) noexcept
    : max_bytes_(other.max_bytes_),
      reserved_(std::exchange(other.reserved_, 0)),
      committed_(std::exchange(other.committed_, 0)),
      base_(std::exchange(other.base_, nullptr)) {}

Arena& Arena::operator=(Arena&& other) noexcept {
  if (this != &other) {
    release();
    max_bytes_ = other.max_bytes_;
    reserved_ = std::exchange(other.reserved_, 0);
    committed_ = std::exchange(other.committed_, 0);
    base_ = std::exchange(other.base_, nullptr);
  }
  return *this;
}

Arena::~Arena() { release(); }

void Arena::release() noexcept {
  if (base_ != nullptr) munmap(base_, reserved_);
  base_ = nullptr;
  reserved_ = committed_ = 0;
}

Status Arena::reserve() {
  if (base_ != nullptr) return Status::OK();
  // Sanitizer runtimes and restrictive ulimits may refuse a huge
  // reservation; halve until the OS agrees, down to 64 MiB.
  for (size_t want = round_up(max_bytes_, kHugePage); want >= (size_t{64} << 20); want /= 2) {
    // One extra huge page lets the usable start be 2 MiB aligned.
    void* p = mmap(nullptr, want + kHugePage, PROT_NONE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) continue;
    auto addr = reinterpret_cast<uintptr_t>(p);
    uintptr_t aligned = round_up(addr, kHugePage);
    size_t head = aligned - addr;
    if (head != 0) munmap(p, head);
    size_t tail = kHugePage - head;
    if (tail != 0) munmap(reinterpret_cast<void*>(aligned + want), tail);
    base_ = reinterpret_cast<uint8_t*>(aligned);
    reserved_ = want;
    return Status::OK();
  }
  return Status::ResourceExhausted("cannot reserve address space for an arena");
}

Status Arena::grow(size_t bytes) {
  if (bytes <= committed_) return Status::OK();
  IQDB_RETURN_IF_ERROR(reserve());
  if (bytes > reserved_) {
    return Status::ResourceExhausted("arena is full: " + std::to_string(bytes) +
                                     " bytes requested, " + std::to_string(reserved_) +
                                     " reserved");
  }
  // Grow geometrically so appends cost amortised O(1) system calls.
  size_t target = std::max(bytes, committed_ + committed_ / 2);
  target = std::min(round_up(target, page_size()), reserved_);
  if (mprotect(base_ + committed_, target - committed_, PROT_READ | PROT_WRITE) != 0) {
    return Status::ResourceExhausted("cannot commit arena memory: " +
                                     std::string(std::strerror(errno)));
  }
  if (target - committed_ >= kHugePage) {
    madvise(base_ + committed_, target - committed_, MADV_HUGEPAGE);  // a hint; failure is fine
  }
  committed_ = target;
  return Status::OK();
}

Status Arena::adopt_file(int fd, uint64_t offset, size_t length) {
  if (committed_ != 0) return Status::InvalidArgument("adopt_file needs an empty arena");
  if (offset % page_size() != 0) return Status::InvalidArgument("mapping offset not page aligned");
  if (length == 0) return Status::OK();
  IQDB_RETURN_IF_ERROR(reserve());
  size_t mapped = round_up(length, page_size());
  if (mapped > reserved_) return Status::ResourceExhausted("file section larger than the arena");
  void* p = mmap(base_, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED, fd,
                 static_cast<off_t>(offset));
  if (p == MAP_FAILED) {
    return Status::IOError("cannot map snapshot section: " + std::string(std::strerror(errno)));
  }
  committed_ = mapped;
  return Status::OK();
}

}  // namespace iqdb::util
