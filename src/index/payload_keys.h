// The keys of one payload-index field (payload_index.h), found by hash: what
// a write looks its value up in. A key is a Value of any type but a NaN
// double; two keys are one when Filter's equality says so within one type
// (-0.0 is the key 0.0), and keys of different types never are
// (Value(1) is not Value(1.0)).
//
// KeyTable holds pointers to keys owned elsewhere (payload_index.h keeps
// them in ordered maps whose nodes never move) with a value each: open
// addressing with linear probing at most half full, the hash kept beside
// each entry so that a probe compares keys only on equal hashes.
//
// Thread-safety: const methods may run concurrently; the others need
// exclusive access.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <utility>
#include <vector>

#include "iqdb/types.h"

namespace iqdb::index {

inline size_t key_hash(const Value& v) noexcept {
  // Spreads integers and double bits over the word (murmur3's finaliser).
  const auto mix = [](uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    return static_cast<size_t>(x);
  };
  switch (v.type()) {
    case Value::Type::kNull: return 0;
    case Value::Type::kBool: return v.as_bool() ? 1 : 2;
    case Value::Type::kInt: return mix(static_cast<uint64_t>(v.as_int()));
    case Value::Type::kDouble: {
      const double d = v.as_double() == 0.0 ? 0.0 : v.as_double();  // -0.0 is 0.0
      uint64_t bits = 0;
      std::memcpy(&bits, &d, sizeof bits);
      return mix(bits ^ 0x5bd1e9955bd1e995ull);
    }
    case Value::Type::kString: {
      // FNV-1a: keys are mostly short, and this stays inline.
      uint64_t h = 0xcbf29ce484222325ull;
      for (const char c : v.as_string()) h = (h ^ static_cast<uint8_t>(c)) * 0x100000001b3ull;
      return mix(h);
    }
  }
  return 0;
}

inline bool same_key(const Value& a, const Value& b) noexcept {
  if (a.type() != b.type()) return false;
  switch (a.type()) {
    case Value::Type::kNull: return true;
    case Value::Type::kBool: return a.as_bool() == b.as_bool();
    case Value::Type::kInt: return a.as_int() == b.as_int();
    case Value::Type::kDouble: return a.as_double() == b.as_double();
    case Value::Type::kString: return a.as_string() == b.as_string();
  }
  return false;
}

template <class T>
class KeyTable {
 public:
  // The value of the key equal to `key` (hash: key_hash(key)), or null.
  T* find(const Value& key, size_t hash) noexcept {
    if (entries_.empty()) return nullptr;
    for (size_t i = hash & mask_;; i = (i + 1) & mask_) {
      Entry& e = entries_[i];
      if (e.key == nullptr) return nullptr;
      if (e.hash == hash && same_key(*e.key, key)) return &e.value;
    }
  }
  // Adds `key`, which no key here equals and which must stay where it is
  // until erased. Throws std::bad_alloc with nothing changed.
  void insert(const Value* key, size_t hash, T value) {
    if ((size_ + 1) * 2 > entries_.size()) grow();
    place(Entry{key, hash, std::move(value)});
    ++size_;
  }
  // Removes the key equal to `key`, if any.
  void erase(const Value& key, size_t hash) noexcept {
    if (entries_.empty()) return;
    const size_t mask = mask_;
    size_t i = hash & mask;
    for (;; i = (i + 1) & mask) {
      if (entries_[i].key == nullptr) return;
      if (entries_[i].hash == hash && same_key(*entries_[i].key, key)) break;
    }
    // Backward shift: each later entry of the run that may sit in the hole
    // (its home is not cyclically inside (hole, entry]) moves into it.
    for (size_t j = (i + 1) & mask; entries_[j].key != nullptr; j = (j + 1) & mask) {
      const size_t home = entries_[j].hash & mask;
      const bool stays = i < j ? (home > i && home <= j) : (home > i || home <= j);
      if (!stays) {
        entries_[i] = std::move(entries_[j]);
        i = j;
      }
    }
    entries_[i] = Entry{};
    --size_;
  }
  size_t size() const noexcept { return size_; }
  size_t memory_bytes() const noexcept { return entries_.capacity() * sizeof(Entry); }

 private:
  struct Entry {
    const Value* key = nullptr;  // null: empty
    size_t hash = 0;
    T value{};
  };

  void place(Entry e) noexcept {
    size_t i = e.hash & mask_;
    while (entries_[i].key != nullptr) i = (i + 1) & mask_;
    entries_[i] = std::move(e);
  }
  void grow() {
    std::vector<Entry> old(entries_.empty() ? 8 : entries_.size() * 2);
    old.swap(entries_);
    mask_ = entries_.size() - 1;
    for (Entry& e : old) {
      if (e.key != nullptr) place(std::move(e));
    }
  }

  std::vector<Entry> entries_;  // a power of two of them, or none
  size_t mask_ = 0;             // entries_.size() - 1 (when not empty)
  size_t size_ = 0;
};

}  // namespace iqdb::index
