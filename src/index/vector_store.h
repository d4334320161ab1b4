// VectorStore: the authoritative rows of a database.
//
// Every record lives in a dense slot (uint32). A slot holds the vector, its
// inverse norm (cosine) and squared norm (batched L2), its external id, its
// metadata and its insertion sequence (for tie-breaking). External ids map
// to slots through a hash table; the slots of removed records are reused,
// lowest first.
//
// How the vector is held depends on the storage type (iqdb::VectorStorage):
//   - f32 rows: the floats as written, each row padded to a multiple of 64
//     bytes in one contiguous, 64-byte-aligned arena that never moves. Kept
//     for f32, for lossy types with keep_f32, and for SQ8 until it is trained.
//   - code rows: u8, f16, bf16 or SQ8 codes, each row padded to a multiple of
//     16 bytes (whole cache lines would waste up to a quarter of a u8 row) in
//     a second arena. Present for every type but f32 (SQ8: once trained).
// Norms are always those of the floats as written.
//
// Indices refer to slots and read rows through row() (f32) or code_row();
// decode_row() gives f32 values for any type. Distances go through
// QueryScorer, which picks the representation.
//
// Thread-safety: const methods may run concurrently with each other. Any
// mutation needs exclusive access (the database's write lock). Row pointers
// stay valid across growth (the arenas reserve their address space), so a
// reader may keep using a row of a live slot while appends happen under
// other synchronisation; training SQ8 without keep_f32 frees the f32 rows.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <unordered_map>
#include <vector>

#include "iqdb/config.h"
#include "iqdb/status.h"
#include "iqdb/types.h"
#include "index/id_table.h"
#include "index/payload_index.h"
#include "index/sections.h"
#include "kernels/typed.h"
#include "util/arena.h"

namespace iqdb::index {

inline constexpr uint32_t kNoSlot = 0xFFFF'FFFFu;

class VectorStore {
 public:
  VectorStore(size_t dim, Metric metric, VectorStorage storage = {});
  VectorStore(VectorStore&&) noexcept = default;
  VectorStore& operator=(VectorStore&&) noexcept = default;

  size_t dim() const noexcept { return dim_; }
  Metric metric() const noexcept { return metric_; }
  const VectorStorage& storage() const noexcept { return storage_; }
  // Floats between the starts of consecutive f32 rows (>= dim, multiple of 16).
  size_t stride_floats() const noexcept { return stride_floats_; }

  // Number of live records.
  size_t size() const noexcept { return live_count_; }
  // Slots [0, slot_end()) have been used; some may be free.
  uint32_t slot_end() const noexcept { return slot_end_; }
  bool is_live(uint32_t slot) const noexcept { return slot < slot_end_ && live_[slot] != 0; }

  // ---- f32 rows. Present for f32, lossy types with keep_f32, and SQ8 until
  // it is trained; row() and rows_base() require has_f32_rows().
  bool has_f32_rows() const noexcept { return has_f32_; }
  // The row of a slot (64-byte aligned, dim floats, padding zeroed).
  const float* row(uint32_t slot) const noexcept {
    return rows_base() + size_t{slot} * stride_floats_;
  }
  const float* rows_base() const noexcept { return reinterpret_cast<const float*>(rows_.data()); }

  // ---- code rows. Present for every type but f32 (SQ8 once trained).
  bool has_codes() const noexcept { return has_codes_; }
  // Requires storage().type != kF32.
  kernels::RowType code_type() const noexcept { return code_type_; }
  size_t code_stride_bytes() const noexcept { return code_stride_bytes_; }
  const uint8_t* codes_base() const noexcept { return codes_.data(); }
  const uint8_t* code_row(uint32_t slot) const noexcept {
    return codes_.data() + size_t{slot} * code_stride_bytes_;
  }
  // SQ8 once trained: value i = offset[i] + scale[i] * code[i]. Else null.
  const float* sq8_offset() const noexcept {
    return has_codes_ && !sq8_offset_.empty() ? sq8_offset_.data() : nullptr;
  }
  const float* sq8_scale() const noexcept {
    return has_codes_ && !sq8_scale_.empty() ? sq8_scale_.data() : nullptr;
  }
  // Whether scores on the codes are exact (u8) rather than approximate.
  bool codes_are_exact() const noexcept { return storage_.type == StorageType::kU8; }

  // The slot's vector as dim floats: the f32 row when kept, else the codes
  // decoded (exact for u8, the approximation for lossy types). `out` holds
  // dim floats.
  void decode_row(uint32_t slot, float* out) const noexcept;
  // Asks for the first cache lines of what a QueryScorer would read.
  void prefetch(uint32_t slot) const noexcept;

  // 1/|x| (0 for a zero vector); meaningful for every metric, used by cosine.
  float inv_norm(uint32_t slot) const noexcept { return inv_norms()[slot]; }
  const float* inv_norms() const noexcept { return reinterpret_cast<const float*>(norms_.data()); }
  // |x|^2, summed in double and rounded once (+inf past FLT_MAX).
  float sq_norm(uint32_t slot) const noexcept { return sq_norms()[slot]; }
  const float* sq_norms() const noexcept {
    return reinterpret_cast<const float*>(sq_norms_.data());
  }
  const VectorId& id(uint32_t slot) const noexcept { return ids_[slot]; }
  // Null when the record has no metadata.
  const Metadata* metadata(uint32_t slot) const noexcept { return metadata_[slot].get(); }
  // Which live slots hold which metadata values; kept up to date by
  // upsert() and remove(), rebuilt from the records by load().
  const PayloadIndex& payload() const noexcept { return payload_; }
  // Which fields the payload index holds (PayloadIndex's rule): exactly
  // `fields`, or when empty every field under the value limit. Rebuilds the
  // index from the records when the rule changes (e.g. a snapshot written
  // under another rule); no-op otherwise.
  void set_indexed_fields(std::vector<std::string> fields);
  // Increases with every insert of a new id; replacing keeps it.
  uint64_t sequence(uint32_t slot) const noexcept { return sequence_[slot]; }

  // kNoSlot when absent.
  uint32_t find(const VectorId& id) const;

  // kInvalidArgument when the storage type cannot hold `vector` (u8: a value
  // that is not a whole number in [0, 255]; f16: a magnitude above 65504).
  // The message names the index, never the value. Checks values only: the
  // caller checks the length and finiteness.
  Status check_vector(std::span<const float> vector) const;

  struct UpsertResult {
    uint32_t slot;
    bool replaced;  // the id existed; its slot was reused in place
  };
  // Writes the record; the vector must be dim() finite floats (checked by the
  // caller). kInvalidArgument when check_vector() refuses it; on any failure
  // (also out of memory) the store is unchanged. An SQ8 store trains itself
  // when it reaches VectorStorage::kSq8TrainingRows live rows.
  Result<UpsertResult> upsert(const VectorId& id, std::span<const float> vector,
                              const Metadata* metadata);
  // Room for `n` more records, made alongside readers (a writer applying
  // while searches run, db/contents.h), so that the writer's exclusive step
  // neither allocates nor faults pages in:
  //  - the arenas are grown and the pages of the next n rows touched (they
  //    lie past slot_end(), where no reader looks; a first touch may be a
  //    huge page zeroed by the kernel);
  //  - when the per-slot arrays or the id table would grow, bigger copies
  //    are built, which commit_room(), in the exclusive step, swaps in:
  //    O(1) but for moving the metadata pointers. The replaced storage
  //    leaves with the Room, to be freed after that step.
  // Between the two calls the store must not change. May throw
  // std::bad_alloc; a failure to grow an arena is left for upsert() to
  // report.
  struct Room {
    bool slots = false;  // the per-slot arrays below replace the store's
    std::vector<VectorId> ids;
    std::vector<std::unique_ptr<Metadata>> metadata;
    std::vector<uint64_t> sequence;
    std::vector<uint8_t> live;
    bool table = false;  // `id_table` replaces the store's
    IdTable id_table;
  };
  Room prepare_room(size_t n);
  void commit_room(Room& room) noexcept;
  // The bytes [begin, end) of an arena, whole pages, that prepare_room()
  // has written to.
  struct TouchedPages {
    size_t begin = 0, end = 0;
  };

  // upsert() of a new id in two parts, so that the row is written alongside
  // readers and only the record is published in the exclusive step (with
  // whatever an index files for it, db/contents.h):
  //  - stage() checks the vector (kInvalidArgument as upsert()) and writes
  //    its row, codes and norms into the slot the next new record takes,
  //    when that slot lies past slot_end(), where no reader looks, and
  //    prepare_room() has grown the arenas for it. Returns the slot, or
  //    kNoSlot when it cannot (a freed slot is to be reused; an SQ8 store
  //    not trained yet); upsert() then does the whole write.
  //  - publish() makes the staged slot the record of `id` (absent from the
  //    store): O(1) but for the payload index. Requires commit_room() of a
  //    prepare_room(1) first, and no other change since stage().
  // A staged row that is never published is overwritten by the next write.
  Result<uint32_t> stage(std::span<const float> vector);
  Status publish(uint32_t slot, const VectorId& id, std::unique_ptr<Metadata> metadata);

  // Frees the slot of `id`; returns it, or kNoSlot when absent.
  uint32_t remove(const VectorId& id);
  // remove() in two steps, for indices that unlink a slot while searches
  // run: retire() drops the record (find() and is_live() no longer see it,
  // its id and metadata are gone) but keeps the slot and its row out of
  // reuse; reclaim() then makes the slot reusable. Between the two the row
  // still holds the vector.
  uint32_t retire(const VectorId& id);
  void reclaim(uint32_t slot);

  // SQ8: learns each dimension's offset and scale from the live rows now and
  // encodes every row (without keep_f32 the f32 rows are then freed). A no-op
  // for other types, an SQ8 store already trained, or an empty one.
  Status train();

  // Bytes held by rows, codes, norms and per-slot bookkeeping (not metadata
  // contents).
  size_t memory_bytes() const noexcept;
  // Bytes of vector data per slot: f32 row and/or code row, and both norms.
  size_t vector_bytes_per_slot() const noexcept;

  // Writes the store as sections 1..15 (see sections.h and the format note
  // in vector_store_io.cpp). The row, code and norm sections point into the
  // arenas: keep the store unchanged until the snapshot is written.
  void save(SectionSink& sink) const;
  // Rebuilds a store from saved sections, with the storage type recorded in
  // them. Rows, codes and norms are mapped in place (copy-on-write), not
  // copied; ids and metadata are decoded. Every count and length is checked:
  // kCorruption on any inconsistency.
  static Result<VectorStore> load(size_t dim, Metric metric, const SectionSource& source);
  // As above, and kConfigMismatch unless the snapshot's storage equals
  // `expected`.
  static Result<VectorStore> load(size_t dim, Metric metric, const VectorStorage& expected,
                                  const SectionSource& source);

 private:
  float* mutable_row(uint32_t slot) noexcept {
    return reinterpret_cast<float*>(rows_.data()) + size_t{slot} * stride_floats_;
  }
  uint8_t* mutable_code_row(uint32_t slot) noexcept {
    return codes_.data() + size_t{slot} * code_stride_bytes_;
  }
  Result<uint32_t> allocate_slot();
  // The payload index from its section, or rebuilt from the metadata when
  // the section is absent or rejected. Requires live_ and metadata_ loaded.
  void load_payload(const SectionSource& source);
  // Writes the row, code row and norms of `slot` (its arenas hold it).
  void write_row(uint32_t slot, std::span<const float> vector) noexcept;
  // Writes the code row of `slot` from f32 values (requires has_codes_).
  void encode_row(uint32_t slot, const float* values) noexcept;

  size_t dim_;
  Metric metric_;
  VectorStorage storage_;
  kernels::RowType code_type_ = kernels::RowType::kU8;
  size_t stride_floats_;
  size_t code_stride_bytes_ = 0;
  bool has_f32_ = true;
  bool has_codes_ = false;
  util::Arena rows_;
  util::Arena codes_;
  util::Arena norms_;     // inverse norms, one float per slot
  util::Arena sq_norms_;  // squared norms, one float per slot
  TouchedPages rows_touched_, codes_touched_, norms_touched_, sq_norms_touched_;
  std::vector<float> sq8_offset_, sq8_scale_;  // SQ8 once trained: dim each
  std::vector<VectorId> ids_;
  std::vector<std::unique_ptr<Metadata>> metadata_;
  std::vector<uint64_t> sequence_;
  std::vector<uint8_t> live_;
  std::vector<uint32_t> free_slots_;  // a min-heap: lowest free slot first
  IdTable slot_of_;                   // id -> slot of the live records
  PayloadIndex payload_;
  uint32_t slot_end_ = 0;
  size_t live_count_ = 0;
  uint64_t next_sequence_ = 0;
};

}  // namespace iqdb::index
