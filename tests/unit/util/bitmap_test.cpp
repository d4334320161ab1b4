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

TEST_CASE("bitmap: or_words adds the first n words, into an empty, shorter or longer set") {
  std::mt19937 rng(5);
  Bitmap src;
  for (int i = 0; i < 2000; ++i) src.set(rng() % 5000);
  for (const size_t have : {size_t{0}, size_t{10}, size_t{40}, size_t{200}}) {
    for (const size_t n : {size_t{0}, size_t{1}, size_t{25}, size_t{79}, size_t{1000}}) {
      CAPTURE(have);
      CAPTURE(n);
      Bitmap dst;
      for (size_t i = 0; i < have * 64; i += 37) dst.set(i);
      Bitmap want = dst;
      src.for_each([&](size_t i) {
        if (i / 64 < n) want.set(i);
      });
      dst.or_words(src, n);
      std::vector<size_t> a, b;
      dst.for_each([&](size_t i) { a.push_back(i); });
      want.for_each([&](size_t i) { b.push_back(i); });
      CHECK(a == b);
      CHECK(dst.count() == b.size());
    }
  }
}

TEST_CASE("bitmap: count_words equals the bit-parallel count on any words") {
  std::mt19937_64 rng(9);
  std::vector<uint64_t> words(257);
  for (uint64_t& w : words) w = rng() & rng();
  words[3] = 0;
  words[4] = ~uint64_t{0};
  for (const size_t n : {size_t{0}, size_t{1}, size_t{5}, size_t{257}}) {
    size_t slow = 0;
    for (size_t i = 0; i < n; ++i) slow += popcount64(words[i]);
    CHECK(count_words(words.data(), n) == slow);
  }
}

}  // namespace
}  // namespace iqdb::util
