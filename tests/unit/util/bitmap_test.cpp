// Bitmap: set_sorted() adds what set() of each slot adds, and count()
// equals the number of distinct slots added, whatever the word layout.
#include "util/bitmap.h"

#include <cstdint>
#include <random>
#include <set>
#include <vector>

#include <doctest/doctest.h>

namespace iqdb::util {
namespace {

TEST_CASE("bitmap: set_sorted equals set() of each slot; count and popcount64") {
  CHECK(popcount64(0) == 0);
  CHECK(popcount64(~uint64_t{0}) == 64);
  CHECK(popcount64(0x8000000000000001ull) == 2);
  std::mt19937 rng(3);
  for (const uint32_t range : {1u, 64u, 65u, 1000u, 100000u}) {
    for (const size_t n : {size_t{0}, size_t{1}, size_t{5}, size_t{300}}) {
      CAPTURE(range);
      CAPTURE(n);
      std::set<uint32_t> slots;
      for (size_t i = 0; i < n; ++i) slots.insert(static_cast<uint32_t>(rng() % range));
      const std::vector<uint32_t> sorted(slots.begin(), slots.end());
      Bitmap one, bulk;
      // Members already present are kept, and bulk adds to them.
      one.set(7);
      bulk.set(7);
      for (uint32_t s : sorted) one.set(s);
      bulk.set_sorted(sorted);
      std::vector<size_t> a, b;
      one.for_each([&](size_t i) { a.push_back(i); });
      bulk.for_each([&](size_t i) { b.push_back(i); });
      CHECK(a == b);
      CHECK(bulk.count() == b.size());
      size_t slow = 0;
      for (uint64_t w : bulk.words()) {
        for (int bit = 0; bit < 64; ++bit) slow += (w >> bit) & 1;
      }
      CHECK(bulk.count() == slow);
    }
  }
}

}  // namespace
}  // namespace iqdb::util
