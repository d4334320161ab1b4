#include "index/vector_store.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <new>

#include "kernels/distance.h"

namespace iqdb::index {
namespace {

constexpr size_t kRowAlignFloats = 64 / sizeof(float);

size_t padded_stride(size_t dim) { return (dim + kRowAlignFloats - 1) / kRowAlignFloats * kRowAlignFloats; }

float inverse_norm(const float* v, size_t dim) {
  double sum = 0;
  for (size_t i = 0; i < dim; ++i) sum += double(v[i]) * double(v[i]);
  return sum > 0 ? static_cast<float>(1.0 / std::sqrt(sum)) : 0.0f;
}

}  // namespace

VectorStore::VectorStore(size_t dim, Metric metric)
    : dim_(dim), metric_(metric), stride_floats_(padded_stride(dim)) {}

uint32_t VectorStore::find(const VectorId& id) const {
  auto it = slot_of_.find(id);
  return it == slot_of_.end() ? kNoSlot : it->second;
}

Result<uint32_t> VectorStore::allocate_slot() {
  if (!free_slots_.empty()) {
    std::pop_heap(free_slots_.begin(), free_slots_.end(), std::greater<>());
    uint32_t slot = free_slots_.back();
    free_slots_.pop_back();
    return slot;
  }
  if (slot_end_ == kNoSlot) return Status::ResourceExhausted("the database holds 2^32-1 records");
  uint32_t slot = slot_end_;
  size_t rows_needed = (size_t{slot} + 1) * stride_floats_ * sizeof(float);
  IQDB_RETURN_IF_ERROR(rows_.grow(rows_needed));
  IQDB_RETURN_IF_ERROR(norms_.grow((size_t{slot} + 1) * sizeof(float)));
  ids_.emplace_back(uint64_t{0});
  metadata_.emplace_back();
  sequence_.push_back(0);
  live_.push_back(0);
  ++slot_end_;
  return slot;
}

Result<VectorStore::UpsertResult> VectorStore::upsert(const VectorId& id,
                                                      std::span<const float> vector,
                                                      const Metadata* metadata) {
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
    slot_of_.emplace(id, slot);
    ++live_count_;
  }
  float* row = mutable_row(slot);
  std::memcpy(row, vector.data(), dim_ * sizeof(float));
  std::memset(row + dim_, 0, (stride_floats_ - dim_) * sizeof(float));
  reinterpret_cast<float*>(norms_.data())[slot] = inverse_norm(row, dim_);
  metadata_[slot] = std::move(meta);
  return UpsertResult{slot, replaced};
}

uint32_t VectorStore::remove(const VectorId& id) {
  auto it = slot_of_.find(id);
  if (it == slot_of_.end()) return kNoSlot;
  uint32_t slot = it->second;
  slot_of_.erase(it);
  live_[slot] = 0;
  metadata_[slot].reset();
  ids_[slot] = VectorId(uint64_t{0});
  free_slots_.push_back(slot);
  std::push_heap(free_slots_.begin(), free_slots_.end(), std::greater<>());
  --live_count_;
  return slot;
}

size_t VectorStore::memory_bytes() const noexcept {
  return size_t{slot_end_} * (stride_floats_ * sizeof(float) + sizeof(float) + sizeof(VectorId) +
                              sizeof(void*) + sizeof(uint64_t) + 1) +
         slot_of_.size() * (sizeof(VectorId) + sizeof(uint32_t) + 2 * sizeof(void*));
}

}  // namespace iqdb::index
