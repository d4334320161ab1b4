// VectorStore: the authoritative rows of a database.
//
// Every record lives in a dense slot (uint32). A slot holds the vector as
// written (f32, row padded to a multiple of 64 bytes in one contiguous,
// 64-byte-aligned arena that never moves), its inverse norm (cosine), its
// external id, its metadata and its insertion sequence (for tie-breaking).
// External ids map to slots through a hash table; the slots of removed
// records are reused, lowest first.
//
// Indices refer to slots and read rows through row(); they never copy them.
//
// Thread-safety: const methods may run concurrently with each other. Any
// mutation needs exclusive access (the database's write lock). Row pointers
// stay valid across growth (the arena reserves its address space), so a
// reader may keep using a row of a live slot while appends happen under
// other synchronisation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <unordered_map>
#include <vector>

#include "iqdb/status.h"
#include "iqdb/types.h"
#include "index/sections.h"
#include "util/arena.h"

namespace iqdb::index {

inline constexpr uint32_t kNoSlot = 0xFFFF'FFFFu;

class VectorStore {
 public:
  VectorStore(size_t dim, Metric metric);
  VectorStore(VectorStore&&) noexcept = default;
  VectorStore& operator=(VectorStore&&) noexcept = default;

  size_t dim() const noexcept { return dim_; }
  Metric metric() const noexcept { return metric_; }
  // Floats between the starts of consecutive rows (>= dim, multiple of 16).
  size_t stride_floats() const noexcept { return stride_floats_; }

  // Number of live records.
  size_t size() const noexcept { return live_count_; }
  // Slots [0, slot_end()) have been used; some may be free.
  uint32_t slot_end() const noexcept { return slot_end_; }
  bool is_live(uint32_t slot) const noexcept { return slot < slot_end_ && live_[slot] != 0; }

  // The row of a slot (64-byte aligned, dim floats, padding zeroed).
  const float* row(uint32_t slot) const noexcept { return rows_base() + size_t{slot} * stride_floats_; }
  const float* rows_base() const noexcept { return reinterpret_cast<const float*>(rows_.data()); }
  // 1/|x| (0 for a zero vector); meaningful for every metric, used by cosine.
  float inv_norm(uint32_t slot) const noexcept { return inv_norms()[slot]; }
  const float* inv_norms() const noexcept { return reinterpret_cast<const float*>(norms_.data()); }
  const VectorId& id(uint32_t slot) const noexcept { return ids_[slot]; }
  // Null when the record has no metadata.
  const Metadata* metadata(uint32_t slot) const noexcept { return metadata_[slot].get(); }
  // Increases with every insert of a new id; replacing keeps it.
  uint64_t sequence(uint32_t slot) const noexcept { return sequence_[slot]; }

  // kNoSlot when absent.
  uint32_t find(const VectorId& id) const;

  struct UpsertResult {
    uint32_t slot;
    bool replaced;  // the id existed; its slot was reused in place
  };
  // Writes the record; the vector must be dim() floats (validated by the
  // caller). On failure (out of memory) the store is unchanged.
  Result<UpsertResult> upsert(const VectorId& id, std::span<const float> vector,
                              const Metadata* metadata);
  // Frees the slot of `id`; returns it, or kNoSlot when absent.
  uint32_t remove(const VectorId& id);

  // Bytes held by rows, norms and per-slot bookkeeping (not metadata contents).
  size_t memory_bytes() const noexcept;

  // Writes the store as sections 1..15 (see sections.h). The row and norm
  // sections point into the arenas: keep the store unchanged until the
  // snapshot is written.
  void save(SectionSink& sink) const;
  // Rebuilds a store from saved sections. Rows and norms are mapped in place
  // (copy-on-write), not copied; ids and metadata are decoded. Every count
  // and length is checked: kCorruption on any inconsistency.
  static Result<VectorStore> load(size_t dim, Metric metric, const SectionSource& source);

 private:
  float* mutable_row(uint32_t slot) noexcept {
    return reinterpret_cast<float*>(rows_.data()) + size_t{slot} * stride_floats_;
  }
  Result<uint32_t> allocate_slot();

  size_t dim_;
  Metric metric_;
  size_t stride_floats_;
  util::Arena rows_;
  util::Arena norms_;  // inverse norms, one float per slot
  std::vector<VectorId> ids_;
  std::vector<std::unique_ptr<Metadata>> metadata_;
  std::vector<uint64_t> sequence_;
  std::vector<uint8_t> live_;
  std::vector<uint32_t> free_slots_;  // a min-heap: lowest free slot first
  std::unordered_map<VectorId, uint32_t> slot_of_;
  uint32_t slot_end_ = 0;
  size_t live_count_ = 0;
  uint64_t next_sequence_ = 0;
};

}  // namespace iqdb::index
