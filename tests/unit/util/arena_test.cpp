// Arena growth: it never moves, keeps what was written, zero-fills what it
// adds, and past one huge page commits whole huge pages (so faults can be
// served with huge pages at once and nothing is left for a later collapse).
#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>

#include "util/arena.h"

namespace iqdb::util {
namespace {

constexpr size_t kHuge = size_t{2} << 20;

TEST_CASE("an arena below one huge page commits pages; past it, whole huge pages") {
  Arena arena(size_t{256} << 20);
  REQUIRE(arena.grow(100).ok());
  const size_t small = arena.committed_bytes();
  CHECK(small >= 100);
  CHECK(small < kHuge);

  REQUIRE(arena.grow(kHuge + 1).ok());
  CHECK(arena.committed_bytes() % kHuge == 0);
  CHECK(arena.committed_bytes() >= kHuge + 1);

  // Many small steps, as appends grow it: every commit past the first huge
  // page ends on a huge-page boundary.
  for (size_t want = kHuge; want < (size_t{40} << 20); want += 300'000) {
    REQUIRE(arena.grow(want).ok());
    CHECK(arena.committed_bytes() >= want);
    CHECK(arena.committed_bytes() % kHuge == 0);
  }
}

TEST_CASE("arena growth keeps the base and the bytes, and zero-fills what it adds") {
  Arena arena(size_t{256} << 20);
  REQUIRE(arena.grow(4096).ok());
  uint8_t* base = arena.data();
  std::memset(base, 0x5a, 4096);
  size_t filled = 4096;
  for (size_t want : {size_t{1} << 20, kHuge + 12345, size_t{9} << 20, size_t{33} << 20}) {
    REQUIRE(arena.grow(want).ok());
    CHECK(arena.data() == base);
    const size_t committed = arena.committed_bytes();
    bool kept = true, zero = true;
    for (size_t i = 0; i < filled; ++i) kept = kept && base[i] == 0x5a;
    for (size_t i = filled; i < committed; i += 4093) zero = zero && base[i] == 0;
    CHECK(kept);
    CHECK(zero);
    std::memset(base + filled, 0x5a, committed - filled);
    filled = committed;
  }
}

TEST_CASE("an arena never commits past its reservation") {
  // Rounding up to a huge page stops at the reservation's end; growing to
  // that end succeeds and past it is refused.
  Arena arena(size_t{64} << 20);
  REQUIRE(arena.grow(size_t{63} << 20).ok());
  CHECK(arena.committed_bytes() <= (size_t{64} << 20));
  REQUIRE(arena.grow(size_t{64} << 20).ok());
  CHECK(arena.committed_bytes() == (size_t{64} << 20));
  CHECK(arena.grow((size_t{64} << 20) + 1).code() == StatusCode::kResourceExhausted);
}

}  // namespace
}  // namespace iqdb::util
