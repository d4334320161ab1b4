// Bitmap: a set of small integers (slots) as 64-bit words, bit i of word
// i / 64. Grows on set(); bits past the end read as zero. The set
// operations work word by word.
//
// Thread-safety: const methods may run concurrently; mutation is exclusive.
#pragma once

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace iqdb::util {

// Set bits of a word. Built without a popcount instruction (x86-64 before
// -mpopcnt), std::popcount is a library call; the bit-parallel sum is
// several times cheaper there.
inline size_t popcount64(uint64_t x) noexcept {
#if defined(__x86_64__) && !defined(__POPCNT__)
  x -= (x >> 1) & 0x5555555555555555ull;
  x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
  x = (x + (x >> 4)) & 0x0F0F0F0F0F0F0F0Full;
  return static_cast<size_t>((x * 0x0101010101010101ull) >> 56);
#else
  return static_cast<size_t>(std::popcount(x));
#endif
}

// Set bits of n words: with the popcount instruction when the CPU has it,
// even in a build that does not assume it.
#if defined(__x86_64__) && !defined(__POPCNT__) && defined(__GNUC__)
__attribute__((target("popcnt"))) inline size_t count_words_popcnt(const uint64_t* w,
                                                                   size_t n) noexcept {
  // Four sums, so the additions do not wait on each other.
  size_t t0 = 0, t1 = 0, t2 = 0, t3 = 0, i = 0;
  for (; i + 4 <= n; i += 4) {
    t0 += static_cast<size_t>(__builtin_popcountll(w[i]));
    t1 += static_cast<size_t>(__builtin_popcountll(w[i + 1]));
    t2 += static_cast<size_t>(__builtin_popcountll(w[i + 2]));
    t3 += static_cast<size_t>(__builtin_popcountll(w[i + 3]));
  }
  for (; i < n; ++i) t0 += static_cast<size_t>(__builtin_popcountll(w[i]));
  return t0 + t1 + t2 + t3;
}
#endif
inline size_t count_words(const uint64_t* w, size_t n) noexcept {
#if defined(__x86_64__) && !defined(__POPCNT__) && defined(__GNUC__)
  if (__builtin_cpu_supports("popcnt")) return count_words_popcnt(w, n);
#endif
  size_t total = 0;
  for (size_t i = 0; i < n; ++i) total += popcount64(w[i]);
  return total;
}

class Bitmap {
 public:
  Bitmap() = default;
  // Room for bits [0, bits), all clear.
  explicit Bitmap(size_t bits) : words_((bits + 63) / 64, 0) {}

  bool test(size_t i) const noexcept {
    const size_t w = i / 64;
    return w < words_.size() && ((words_[w] >> (i % 64)) & 1) != 0;
  }
  void set(size_t i) {
    const size_t w = i / 64;
    if (w >= words_.size()) words_.resize(std::max(w + 1, words_.size() * 2), 0);
    words_[w] |= uint64_t{1} << (i % 64);
  }
  void reset(size_t i) noexcept {
    const size_t w = i / 64;
    if (w < words_.size()) words_[w] &= ~(uint64_t{1} << (i % 64));
  }
  // Adds `slots`, which must be ascending: one word write per run of slots
  // sharing a word.
  template <class Slots>
  void set_sorted(const Slots& slots) {
    if (slots.empty()) return;
    const size_t need = static_cast<size_t>(slots.back()) / 64 + 1;
    if (words_.size() < need) words_.resize(need, 0);
    size_t w = static_cast<size_t>(slots.front()) / 64;
    uint64_t bits = 0;
    for (const auto slot : slots) {
      const size_t sw = static_cast<size_t>(slot) / 64;
      if (sw != w) {
        words_[w] |= bits;
        bits = 0;
        w = sw;
      }
      bits |= uint64_t{1} << (slot % 64);
    }
    words_[w] |= bits;
  }
  // Adds the members in the first n words of `o` (a set_sorted() of them
  // would leave the same words).
  // Words past this set's end are copied, not cleared and or'ed.
  void or_words(const Bitmap& o, size_t n) {
    n = std::min(n, o.words_.size());
    const size_t shared = std::min(n, words_.size());
    for (size_t i = 0; i < shared; ++i) words_[i] |= o.words_[i];
    words_.insert(words_.end(), o.words_.begin() + static_cast<std::ptrdiff_t>(shared),
                  o.words_.begin() + static_cast<std::ptrdiff_t>(n));
  }
  size_t count() const noexcept { return count_words(words_.data(), words_.size()); }
  bool none() const noexcept {
    return std::all_of(words_.begin(), words_.end(), [](uint64_t w) { return w == 0; });
  }

  Bitmap& operator&=(const Bitmap& o) noexcept {
    const size_t n = std::min(words_.size(), o.words_.size());
    for (size_t i = 0; i < n; ++i) words_[i] &= o.words_[i];
    std::fill(words_.begin() + static_cast<std::ptrdiff_t>(n), words_.end(), uint64_t{0});
    return *this;
  }
  Bitmap& operator|=(const Bitmap& o) {
    if (words_.size() < o.words_.size()) words_.resize(o.words_.size(), 0);
    for (size_t i = 0; i < o.words_.size(); ++i) words_[i] |= o.words_[i];
    return *this;
  }
  // Removes the members of `o`.
  Bitmap& subtract(const Bitmap& o) noexcept {
    const size_t n = std::min(words_.size(), o.words_.size());
    for (size_t i = 0; i < n; ++i) words_[i] &= ~o.words_[i];
    return *this;
  }

  // Calls f(i) for every member, ascending.
  template <class F>
  void for_each(F&& f) const {
    for (size_t w = 0; w < words_.size(); ++w) {
      for (uint64_t bits = words_[w]; bits != 0; bits &= bits - 1) {
        f(w * 64 + static_cast<size_t>(std::countr_zero(bits)));
      }
    }
  }

  const std::vector<uint64_t>& words() const noexcept { return words_; }
  size_t memory_bytes() const noexcept { return words_.capacity() * sizeof(uint64_t); }

 private:
  std::vector<uint64_t> words_;
};

}  // namespace iqdb::util
