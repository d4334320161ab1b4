#include "index/vector_store.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <new>

namespace iqdb::index {
namespace {

constexpr size_t kRowAlignFloats = 64 / sizeof(float);

size_t padded_stride(size_t dim) {
  return (dim + kRowAlignFloats - 1) / kRowAlignFloats * kRowAlignFloats;
}

// Arena::grow(), but without the call when the arena already holds
// `bytes` (nearly every write).
Status grow_to(util::Arena& arena, size_t bytes) {
  if (bytes <= arena.committed_bytes()) return Status::OK();
  return arena.grow(bytes);
}

// In double, so the sum's rounding stays far below a float's precision at
// any dimension (each product of two floats is exact in double). Four
// running sums (lanes the compiler pairs into vector registers) break the
// chain of dependent additions one sum would make.
double squared_norm(const float* v, size_t dim) {
  double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  size_t i = 0;
  for (; i + 4 <= dim; i += 4) {
    s0 += double(v[i]) * double(v[i]);
    s1 += double(v[i + 1]) * double(v[i + 1]);
    s2 += double(v[i + 2]) * double(v[i + 2]);
    s3 += double(v[i + 3]) * double(v[i + 3]);
  }
  for (; i < dim; ++i) s0 += double(v[i]) * double(v[i]);
  return (s0 + s1) + (s2 + s3);
}

float inverse_norm(double sq) { return sq > 0 ? static_cast<float>(1.0 / std::sqrt(sq)) : 0.0f; }

// Code rows are padded to 16 bytes: loads stay within a row's own bytes
// without the quarter-row waste a 64-byte pad costs a u8 row.
constexpr size_t kCodeRowAlignBytes = 16;

kernels::RowType row_type_of(StorageType t) {
  switch (t) {
    case StorageType::kF16: return kernels::RowType::kF16;
    case StorageType::kBF16: return kernels::RowType::kBF16;
    case StorageType::kSq8: return kernels::RowType::kSq8;
    case StorageType::kF32:
    case StorageType::kU8: break;
  }
  return kernels::RowType::kU8;
}

}  // namespace

VectorStore::VectorStore(size_t dim, Metric metric, VectorStorage storage)
    : dim_(dim),
      metric_(metric),
      storage_(storage),
      code_type_(row_type_of(storage.type)),
      stride_floats_(padded_stride(dim)) {
  if (!storage_.lossy()) storage_.keep_f32 = false;
  if (storage_.type != StorageType::kF32) {
    const size_t bytes = dim * kernels::row_type_bytes(code_type_);
    code_stride_bytes_ = (bytes + kCodeRowAlignBytes - 1) / kCodeRowAlignBytes * kCodeRowAlignBytes;
  }
  // SQ8 starts in f32 and gets codes when trained; the others are fixed.
  has_codes_ = storage_.type != StorageType::kF32 && storage_.type != StorageType::kSq8;
  has_f32_ = !has_codes_ || storage_.keep_f32;
}

uint32_t VectorStore::find(const VectorId& id) const { return slot_of_.find(id, ids_); }

Result<uint32_t> VectorStore::allocate_slot() {
  if (!free_slots_.empty()) {
    std::pop_heap(free_slots_.begin(), free_slots_.end(), std::greater<>());
    uint32_t slot = free_slots_.back();
    free_slots_.pop_back();
    return slot;
  }
  if (slot_end_ == kNoSlot) return Status::ResourceExhausted("the database holds 2^32-1 records");
  uint32_t slot = slot_end_;
  if (has_f32_)
    IQDB_RETURN_IF_ERROR(grow_to(rows_, (size_t{slot} + 1) * stride_floats_ * sizeof(float)));
  if (has_codes_) IQDB_RETURN_IF_ERROR(grow_to(codes_, (size_t{slot} + 1) * code_stride_bytes_));
  IQDB_RETURN_IF_ERROR(grow_to(norms_, (size_t{slot} + 1) * sizeof(float)));
  IQDB_RETURN_IF_ERROR(grow_to(sq_norms_, (size_t{slot} + 1) * sizeof(float)));
  ids_.emplace_back(uint64_t{0});
  metadata_.emplace_back();
  sequence_.push_back(0);
  live_.push_back(0);
  ++slot_end_;
  return slot;
}

namespace {

// Grows `arena` to hold rows [from, to) of `row_bytes` each and writes to
// every page of them, so the first touch happens here. Only bytes of those
// rows are written (each with the value it holds), never a byte a reader
// may be reading. Skipped for an arena that holds nothing yet: its first
// grow() sets the base address readers use. `touched` is the run of whole
// pages this has touched before (pages of rows appended one by one come
// here many times); it is not touched again.
bool all_touched(const VectorStore::TouchedPages& touched, size_t row_bytes, size_t from,
                 size_t to) noexcept {
  return from * row_bytes >= touched.begin && to * row_bytes <= touched.end;
}

[[gnu::noinline]] void touch_rows(util::Arena& arena, size_t row_bytes, size_t from, size_t to,
                                  VectorStore::TouchedPages& touched) noexcept {
  constexpr size_t kPage = 4096;
  const size_t begin = from * row_bytes, end = to * row_bytes;
  const bool extends = begin >= touched.begin && begin <= touched.end;
  if (arena.committed_bytes() == 0 || row_bytes == 0 || to <= from) return;
  if (!grow_to(arena, end).ok()) return;
  volatile uint8_t* base = arena.data();
  const size_t first = extends ? std::max(begin, touched.end) : begin;
  for (size_t at = first; at < end; at = (at / kPage + 1) * kPage) base[at] = base[at];
  if (!extends) touched.begin = begin / kPage * kPage;
  touched.end = (end + kPage - 1) / kPage * kPage;
}

}  // namespace

VectorStore::Room VectorStore::prepare_room(size_t n) {
  Room room;
  {
    const size_t fresh = n > free_slots_.size() ? n - free_slots_.size() : 0;
    const size_t from = slot_end_, to = size_t{slot_end_} + fresh;
    const auto touch = [&](util::Arena& arena, size_t row_bytes, TouchedPages& touched) {
      if (!all_touched(touched, row_bytes, from, to)) {
        touch_rows(arena, row_bytes, from, to, touched);
      }
    };
    if (has_f32_) touch(rows_, stride_floats_ * sizeof(float), rows_touched_);
    if (has_codes_) touch(codes_, code_stride_bytes_, codes_touched_);
    touch(norms_, sizeof(float), norms_touched_);
    touch(sq_norms_, sizeof(float), sq_norms_touched_);
  }
  if (!slot_of_.fits(slot_of_.size() + n)) {
    room.id_table = slot_of_.grown(slot_of_.size() + n);
    room.table = true;
  }
  const size_t fresh = n > free_slots_.size() ? n - free_slots_.size() : 0;
  const size_t need = size_t{slot_end_} + fresh;
  if (need > ids_.capacity() || need > metadata_.capacity() || need > sequence_.capacity() ||
      need > live_.capacity()) {
    // Grown like push_back would, so appends stay amortised O(1).
    const size_t cap = std::max(need, ids_.size() * 2);
    room.slots = true;
    room.ids.reserve(cap);
    room.ids.assign(ids_.begin(), ids_.end());
    room.metadata.reserve(cap);
    room.metadata.resize(metadata_.size());
    room.sequence.reserve(cap);
    room.sequence.assign(sequence_.begin(), sequence_.end());
    room.live.reserve(cap);
    room.live.assign(live_.begin(), live_.end());
  }
  return room;
}

void VectorStore::commit_room(Room& room) noexcept {
  if (room.table) slot_of_.swap(room.id_table);
  if (!room.slots) return;
  for (size_t s = 0; s < metadata_.size(); ++s) room.metadata[s] = std::move(metadata_[s]);
  ids_.swap(room.ids);
  metadata_.swap(room.metadata);
  sequence_.swap(room.sequence);
  live_.swap(room.live);
}

Result<VectorStore::UpsertResult> VectorStore::upsert(const VectorId& id,
                                                      std::span<const float> vector,
                                                      const Metadata* metadata) {
  IQDB_RETURN_IF_ERROR(check_vector(vector));
  std::unique_ptr<Metadata> meta = metadata ? std::make_unique<Metadata>(*metadata) : nullptr;
  uint32_t slot = find(id);
  bool replaced = slot != kNoSlot;
  if (!replaced) {
    slot_of_.reserve(slot_of_.size() + 1);  // may throw before anything changes
    auto s = allocate_slot();
    if (!s) return s.status();
    slot = *s;
    ids_[slot] = id;
    sequence_[slot] = next_sequence_++;
    live_[slot] = 1;
    slot_of_.insert(id, slot);
    ++live_count_;
  }
  write_row(slot, vector);
  if (replaced) {
    payload_.replace(slot, metadata_[slot].get(), meta.get());
  } else {
    payload_.add(slot, meta.get());
  }
  metadata_[slot] = std::move(meta);
  if (storage_.type == StorageType::kSq8 && !has_codes_ &&
      live_count_ >= VectorStorage::kSq8TrainingRows) {
    // Out of memory leaves the store untrained and consistent; the next
    // upsert tries again.
    (void)train();
  }
  return UpsertResult{slot, replaced};
}

void VectorStore::write_row(uint32_t slot, std::span<const float> vector) noexcept {
  if (has_f32_) {
    float* row = mutable_row(slot);
    std::memcpy(row, vector.data(), dim_ * sizeof(float));
    std::memset(row + dim_, 0, (stride_floats_ - dim_) * sizeof(float));
  }
  if (has_codes_) encode_row(slot, vector.data());
  const double sq = squared_norm(vector.data(), dim_);
  reinterpret_cast<float*>(norms_.data())[slot] = inverse_norm(sq);
  reinterpret_cast<float*>(sq_norms_.data())[slot] = sq <= double(std::numeric_limits<float>::max())
                                                         ? static_cast<float>(sq)
                                                         : std::numeric_limits<float>::infinity();
}

Result<uint32_t> VectorStore::stage(std::span<const float> vector) {
  IQDB_RETURN_IF_ERROR(check_vector(vector));
  // A reused slot may still be read by a scan that skips dead slots only
  // after scoring them; only slots past slot_end() are never read. An
  // untrained SQ8 store may train on publication, which rewrites every row.
  if (!free_slots_.empty() || slot_end_ == kNoSlot) return kNoSlot;
  if (storage_.type == StorageType::kSq8 && !has_codes_) return kNoSlot;
  const size_t end = size_t{slot_end_} + 1;
  // Growing an arena here would move nothing, but the first grow sets the
  // base address readers use: only arenas prepare_room() already grew.
  if ((has_f32_ && rows_.committed_bytes() < end * stride_floats_ * sizeof(float)) ||
      (has_codes_ && codes_.committed_bytes() < end * code_stride_bytes_) ||
      norms_.committed_bytes() < end * sizeof(float) ||
      sq_norms_.committed_bytes() < end * sizeof(float)) {
    return kNoSlot;
  }
  write_row(slot_end_, vector);
  return slot_end_;
}

Status VectorStore::publish(uint32_t slot, const VectorId& id, std::unique_ptr<Metadata> metadata) {
  if (slot != slot_end_ || !free_slots_.empty() || find(id) != kNoSlot) {
    return Status::InvalidArgument("publishing a row that was not staged for a new id");
  }
  slot_of_.reserve(slot_of_.size() + 1);  // may throw before anything changes
  auto s = allocate_slot();               // slot_end_: the arenas already hold it
  if (!s) return s.status();
  ids_[slot] = id;
  sequence_[slot] = next_sequence_++;
  live_[slot] = 1;
  slot_of_.insert(id, slot);
  ++live_count_;
  payload_.add(slot, metadata.get());
  metadata_[slot] = std::move(metadata);
  return Status::OK();
}

uint32_t VectorStore::remove(const VectorId& id) {
  const uint32_t slot = retire(id);
  if (slot != kNoSlot) reclaim(slot);
  return slot;
}

uint32_t VectorStore::retire(const VectorId& id) {
  const uint32_t slot = slot_of_.erase(id, ids_);
  if (slot == kNoSlot) return kNoSlot;
  live_[slot] = 0;
  payload_.remove(slot, metadata_[slot].get());
  metadata_[slot].reset();
  ids_[slot] = VectorId(uint64_t{0});
  --live_count_;
  return slot;
}

void VectorStore::reclaim(uint32_t slot) {
  free_slots_.push_back(slot);
  std::push_heap(free_slots_.begin(), free_slots_.end(), std::greater<>());
}

size_t VectorStore::vector_bytes_per_slot() const noexcept {
  return (has_f32_ ? stride_floats_ * sizeof(float) : 0) + (has_codes_ ? code_stride_bytes_ : 0) +
         2 * sizeof(float);
}

size_t VectorStore::memory_bytes() const noexcept {
  return size_t{slot_end_} *
             (vector_bytes_per_slot() + sizeof(VectorId) + sizeof(void*) + sizeof(uint64_t) + 1) +
         slot_of_.memory_bytes() + (sq8_offset_.size() + sq8_scale_.size()) * sizeof(float);
}

}  // namespace iqdb::index
