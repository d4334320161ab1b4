// IdTable: external id -> slot, as one flat open-addressing array.
//
// Each entry is 8 bytes (the slot and the low 32 bits of the id's hash);
// the ids themselves stay in the store's per-slot array, so a lookup
// compares the hash bits first and reads the id only on a match. Linear
// probing, at most half full, backward-shift deletion (no tombstones).
// Against std::unordered_map this is one allocation instead of one per
// record and ~16 instead of ~80 bytes per record, and loading 60k ids from a
// snapshot takes a fraction of the time.
//
// Not thread-safe; the store's rules apply (const methods concurrently,
// mutation exclusively).
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "iqdb/types.h"

namespace iqdb::index {

class IdTable {
 public:
  static constexpr uint32_t kEmpty = 0xFFFF'FFFFu;

  size_t size() const noexcept { return size_; }
  size_t memory_bytes() const noexcept { return table_.capacity() * sizeof(Entry); }

  // The slot whose id (in `ids`) equals `id`, or kEmpty.
  uint32_t find(const VectorId& id, const std::vector<VectorId>& ids) const noexcept {
    if (table_.empty()) return kEmpty;
    const uint32_t h = static_cast<uint32_t>(id.hash());
    for (size_t i = h & mask_;; i = (i + 1) & mask_) {
      const Entry& e = table_[i];
      if (e.slot == kEmpty) return kEmpty;
      if (e.hash == h && ids[e.slot] == id) return e.slot;
    }
  }

  // Room for `n` entries without growing. May throw std::bad_alloc, and
  // then changes nothing.
  void reserve(size_t n) {
    if (fits(n)) return;
    IdTable bigger = grown(n);  // the only allocation; throws before any change
    swap(bigger);
  }
  // Whether `n` entries fit without growing.
  bool fits(size_t n) const noexcept { return 2 * n <= table_.size(); }
  // A copy with room for `n` entries (only reads this one, so it may be
  // built alongside readers and swapped in later). May throw std::bad_alloc.
  IdTable grown(size_t n) const {
    size_t cap = 16;
    while (cap < 2 * n) cap *= 2;
    IdTable bigger;
    bigger.table_.resize(cap);
    bigger.mask_ = cap - 1;
    bigger.size_ = size_;
    for (const Entry& e : table_) {
      if (e.slot == kEmpty) continue;
      size_t i = e.hash & bigger.mask_;
      while (bigger.table_[i].slot != kEmpty) i = (i + 1) & bigger.mask_;
      bigger.table_[i] = e;
    }
    return bigger;
  }
  void swap(IdTable& other) noexcept {
    table_.swap(other.table_);
    std::swap(mask_, other.mask_);
    std::swap(size_, other.size_);
  }

  // Adds `slot` under `id`. Requires the id absent and reserve(size() + 1).
  void insert(const VectorId& id, uint32_t slot) noexcept {
    const uint32_t h = static_cast<uint32_t>(id.hash());
    size_t i = h & mask_;
    while (table_[i].slot != kEmpty) i = (i + 1) & mask_;
    table_[i] = Entry{slot, h};
    ++size_;
  }

  // Removes the entry of `id`; returns its slot, or kEmpty when absent.
  uint32_t erase(const VectorId& id, const std::vector<VectorId>& ids) noexcept {
    if (table_.empty()) return kEmpty;
    const uint32_t h = static_cast<uint32_t>(id.hash());
    size_t i = h & mask_;
    for (;; i = (i + 1) & mask_) {
      const Entry& e = table_[i];
      if (e.slot == kEmpty) return kEmpty;
      if (e.hash == h && ids[e.slot] == id) break;
    }
    const uint32_t slot = table_[i].slot;
    // Shift later entries of the probe run back into the hole when their
    // home position does not lie cyclically in (hole, their position].
    for (size_t j = i;;) {
      j = (j + 1) & mask_;
      if (table_[j].slot == kEmpty) break;
      const size_t home = table_[j].hash & mask_;
      const bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
      if (!stays) {
        table_[i] = table_[j];
        i = j;
      }
    }
    table_[i] = Entry{};
    --size_;
    return slot;
  }

 private:
  struct Entry {
    uint32_t slot = kEmpty;
    uint32_t hash = 0;
  };
  std::vector<Entry> table_;
  size_t mask_ = 0;
  size_t size_ = 0;
};

}  // namespace iqdb::index
