#include "index/ivf_lists.h"

#include <algorithm>
#include <cstring>
#include <new>
#include <string>
#include <utility>
#include <vector>

#include "index/vector_store.h"
#include "kernels/pq.h"
#include "util/coding.h"

namespace iqdb::index::ivf {
namespace {

constexpr size_t kAlign = 64;
constexpr size_t kMinCapacity = 8;

size_t round_up(size_t n, size_t to) { return (n + to - 1) / to * to; }

}  // namespace

InvertedLists::Buffer InvertedLists::Buffer::allocate(size_t size) {
  Buffer b;
  if (size == 0) return b;
  b.bytes.reset(static_cast<uint8_t*>(::operator new (size, std::align_val_t{kAlign})));
  b.size = size;
  return b;
}

size_t PayloadLayout::bytes_for(size_t entries) const noexcept {
  if (kind == PayloadKind::kFs4) {
    return (entries + kernels::kFs4BlockVectors - 1) / kernels::kFs4BlockVectors *
           kernels::fs4_block_bytes(m_pad);
  }
  return entries * entry_bytes;
}

size_t PayloadLayout::round_capacity(size_t entries) const noexcept {
  return kind == PayloadKind::kFs4 ? round_up(entries, kernels::kFs4BlockVectors) : entries;
}

InvertedLists::InvertedLists(const PayloadLayout& layout, size_t n_lists)
    : layout_(layout), lists_(n_lists) {}
InvertedLists::InvertedLists(InvertedLists&&) noexcept = default;
InvertedLists& InvertedLists::operator=(InvertedLists&&) noexcept = default;
InvertedLists::~InvertedLists() = default;

uint8_t* InvertedLists::entry_address(List& list, size_t pos) noexcept {
  return list.payload + layout_.bytes_for(pos);  // kFs4: the block holding pos
}

void InvertedLists::write_entry(List& list, size_t pos, const uint8_t* entry) noexcept {
  if (layout_.kind != PayloadKind::kFs4) {
    std::memcpy(entry_address(list, pos), entry, layout_.entry_bytes);
    return;
  }
  uint8_t* block =
      list.payload + pos / kernels::kFs4BlockVectors * kernels::fs4_block_bytes(layout_.m_pad);
  const size_t v = pos % kernels::kFs4BlockVectors;
  for (size_t m = 0; m < layout_.m_pad; ++m) {
    kernels::fs4_set_code(block, m, v, m < layout_.num_sub ? entry[m] : 0);
  }
}

void InvertedLists::move_entry(List& list, size_t from, size_t to) noexcept {
  if (layout_.kind != PayloadKind::kFs4) {
    std::memcpy(entry_address(list, to), entry_address(list, from), layout_.entry_bytes);
    return;
  }
  const size_t block_bytes = kernels::fs4_block_bytes(layout_.m_pad);
  const uint8_t* src = list.payload + from / kernels::kFs4BlockVectors * block_bytes;
  uint8_t* dst = list.payload + to / kernels::kFs4BlockVectors * block_bytes;
  const size_t vf = from % kernels::kFs4BlockVectors, vt = to % kernels::kFs4BlockVectors;
  for (size_t m = 0; m < layout_.m_pad; ++m) {
    kernels::fs4_set_code(dst, m, vt, kernels::fs4_get_code(src, m, vf));
  }
}

void InvertedLists::codes_at(uint32_t list, size_t pos, uint8_t* out) const {
  const List& l = lists_[list];
  if (layout_.kind == PayloadKind::kPq8) {
    std::memcpy(out, l.payload + pos * layout_.entry_bytes, layout_.num_sub);
    return;
  }
  const uint8_t* block =
      l.payload + pos / kernels::kFs4BlockVectors * kernels::fs4_block_bytes(layout_.m_pad);
  for (size_t m = 0; m < layout_.num_sub; ++m) {
    out[m] = kernels::fs4_get_code(block, m, pos % kernels::kFs4BlockVectors);
  }
}

struct InvertedLists::Growth::Grown {
  uint32_t list = 0;
  uint32_t capacity = 0;
  Buffer slots, payload;
};

InvertedLists::Growth::Growth() = default;
InvertedLists::Growth::Growth(Growth&&) noexcept = default;
InvertedLists::Growth::~Growth() = default;

Status InvertedLists::make_bigger(const List& list, size_t entries, Growth::Grown& out) const {
  const size_t capacity = layout_.round_capacity(
      std::max({entries, size_t{list.capacity} + list.capacity / 2, kMinCapacity}));
  if (capacity > UINT32_MAX) return Status::ResourceExhausted("IVF list longer than 2^32 entries");
  try {
    out.slots = Buffer::allocate(capacity * sizeof(uint32_t));
    out.payload = Buffer::allocate(round_up(layout_.bytes_for(capacity), kAlign));
  } catch (const std::bad_alloc&) {
    return Status::ResourceExhausted("out of memory growing an IVF list");
  }
  // Zeroed so that fast-scan blocks never hold stale nibbles past the end.
  if (out.payload.size != 0) std::memset(out.payload.bytes.get(), 0, out.payload.size);
  if (list.size != 0) {
    std::memcpy(out.slots.bytes.get(), list.slots, list.size * sizeof(uint32_t));
    std::memcpy(out.payload.bytes.get(), list.payload, layout_.bytes_for(list.size));
  }
  out.capacity = static_cast<uint32_t>(capacity);
  return Status::OK();
}

void InvertedLists::install(List& list, Growth::Grown& bigger) noexcept {
  owned_bytes_ -= list.own_slots.size + list.own_payload.size;
  owned_bytes_ += bigger.slots.size + bigger.payload.size;
  std::swap(list.own_slots, bigger.slots);
  std::swap(list.own_payload, bigger.payload);
  list.slots = reinterpret_cast<uint32_t*>(list.own_slots.bytes.get());
  list.payload = list.own_payload.bytes.get();
  list.capacity = bigger.capacity;
}

Status InvertedLists::grow(List& list, size_t entries) {
  Growth::Grown bigger;
  IQDB_RETURN_IF_ERROR(make_bigger(list, entries, bigger));
  install(list, bigger);
  return Status::OK();
}

Status InvertedLists::reserve(uint32_t list, size_t entries) {
  List& l = lists_[list];
  if (entries <= l.capacity) return Status::OK();
  return grow(l, entries);
}

Status InvertedLists::prepare_growth(std::span<const uint32_t> labels, uint32_t slot_end,
                                     Growth& out) const {
  try {
    std::vector<uint32_t> sorted(labels.begin(), labels.end());
    std::sort(sorted.begin(), sorted.end());
    for (size_t i = 0; i < sorted.size();) {
      size_t j = i;
      while (j < sorted.size() && sorted[j] == sorted[i]) ++j;
      const List& l = lists_[sorted[i]];
      if (size_t{l.size} + (j - i) > l.capacity) {
        out.lists.emplace_back();
        out.lists.back().list = sorted[i];
        IQDB_RETURN_IF_ERROR(make_bigger(l, size_t{l.size} + (j - i), out.lists.back()));
      }
      i = j;
    }
    if (list_of_slot_.size() < slot_end) {
      out.slot_map.assign(std::max<size_t>(slot_end, list_of_slot_.size() * 3 / 2), kNoList);
      std::copy(list_of_slot_.begin(), list_of_slot_.end(), out.slot_map.begin());
      out.slot_map_grown = true;
    }
  } catch (const std::bad_alloc&) {
    return Status::ResourceExhausted("out of memory growing the IVF lists");
  }
  return Status::OK();
}

void InvertedLists::commit_growth(Growth& growth) noexcept {
  for (Growth::Grown& g : growth.lists) install(lists_[g.list], g);
  if (growth.slot_map_grown) list_of_slot_.swap(growth.slot_map);
}

Status InvertedLists::prepare_slots(uint32_t slot_end) {
  if (list_of_slot_.size() >= slot_end) return Status::OK();
  try {
    list_of_slot_.resize(std::max<size_t>(slot_end, list_of_slot_.size() * 3 / 2), kNoList);
  } catch (const std::bad_alloc&) {
    return Status::ResourceExhausted("out of memory growing the IVF slot map");
  }
  return Status::OK();
}

Status InvertedLists::append(uint32_t list, uint32_t slot, const uint8_t* entry) {
  List& l = lists_[list];
  if (l.size == l.capacity) IQDB_RETURN_IF_ERROR(grow(l, size_t{l.size} + 1));
  IQDB_RETURN_IF_ERROR(prepare_slots(slot + 1));
  append_reserved(list, slot, entry);
  ++total_;
  return Status::OK();
}

void InvertedLists::append_reserved(uint32_t list, uint32_t slot, const uint8_t* entry) noexcept {
  List& l = lists_[list];
  write_entry(l, l.size, entry);
  l.slots[l.size] = slot;
  ++l.size;
  list_of_slot_[slot] = list;
}

void InvertedLists::recount_total() noexcept {
  total_ = 0;
  for (const List& l : lists_) total_ += l.size;
}

bool InvertedLists::remove(uint32_t slot) {
  const uint32_t list = list_of(slot);
  if (list == kNoList) return false;
  List& l = lists_[list];
  const uint32_t* found = std::find(l.slots, l.slots + l.size, slot);
  const size_t pos = static_cast<size_t>(found - l.slots);
  const size_t last = l.size - 1u;
  if (pos != last) {
    l.slots[pos] = l.slots[last];
    move_entry(l, last, pos);
  }
  --l.size;
  --total_;
  list_of_slot_[slot] = kNoList;
  return true;
}

size_t InvertedLists::memory_bytes() const noexcept {
  return owned_bytes_ + adopted_slots_.committed_bytes() + adopted_payloads_.committed_bytes() +
         list_of_slot_.capacity() * sizeof(uint32_t) + lists_.capacity() * sizeof(List);
}

// ---- Persistence.

void InvertedLists::serialize(std::string* sizes, std::string* slots, std::string* payloads) const {
  size_t slot_bytes = 0, payload_bytes = 0;
  for (const List& l : lists_) {
    slot_bytes += l.size * sizeof(uint32_t);
    payload_bytes += round_up(layout_.bytes_for(l.size), kAlign);
  }
  sizes->clear();
  slots->clear();
  payloads->clear();
  sizes->reserve(lists_.size() * sizeof(uint32_t));
  slots->reserve(slot_bytes);
  payloads->reserve(payload_bytes);
  for (const List& l : lists_) {
    util::put_u32(*sizes, l.size);
    for (uint32_t i = 0; i < l.size; ++i) util::put_u32(*slots, l.slots[i]);
    const size_t bytes = layout_.bytes_for(l.size);
    if (bytes != 0) payloads->append(reinterpret_cast<const char*>(l.payload), bytes);
    payloads->append(round_up(bytes, kAlign) - bytes, '\0');
  }
}

Status InvertedLists::expected_bytes(const PayloadLayout& layout, std::span<const uint32_t> sizes,
                                     uint64_t* slot_bytes, uint64_t* payload_bytes) {
  uint64_t slots = 0, payloads = 0;
  for (uint32_t size : sizes) {
    slots += uint64_t{size} * sizeof(uint32_t);
    payloads += round_up(layout.bytes_for(size), kAlign);
  }
  *slot_bytes = slots;
  *payload_bytes = payloads;
  return Status::OK();
}

Result<InvertedLists> InvertedLists::adopt(const PayloadLayout& layout,
                                           std::span<const uint32_t> sizes, util::Arena slots,
                                           util::Arena payloads, const VectorStore& store) {
  InvertedLists lists(layout, sizes.size());
  IQDB_RETURN_IF_ERROR(lists.prepare_slots(store.slot_end()));
  auto* slot_base = reinterpret_cast<uint32_t*>(slots.data());
  uint8_t* payload_base = payloads.data();
  size_t slot_offset = 0, payload_offset = 0;
  for (size_t i = 0; i < sizes.size(); ++i) {
    List& l = lists.lists_[i];
    l.size = sizes[i];
    // Slots of consecutive lists are packed: the first append moves a list
    // to its own buffers.
    l.capacity = l.size;
    l.slots = l.size != 0 ? slot_base + slot_offset : nullptr;
    l.payload = l.size != 0 ? payload_base + payload_offset : nullptr;
    for (uint32_t e = 0; e < l.size; ++e) {
      const uint32_t slot = util::decode_u32(reinterpret_cast<const uint8_t*>(l.slots + e));
      if (!store.is_live(slot)) {
        return Status::Corruption("IVF list " + std::to_string(i) + " holds slot " +
                                  std::to_string(slot) + ", which is not a live row");
      }
      if (lists.list_of_slot_[slot] != kNoList) {
        return Status::Corruption("IVF slot " + std::to_string(slot) + " is in two lists");
      }
      lists.list_of_slot_[slot] = static_cast<uint32_t>(i);
    }
    slot_offset += l.size;
    payload_offset += round_up(layout.bytes_for(l.size), kAlign);
    lists.total_ += l.size;
  }
  if (lists.total_ != store.size()) {
    return Status::Corruption("IVF lists hold " + std::to_string(lists.total_) +
                              " rows, the store " + std::to_string(store.size()));
  }
  lists.adopted_slots_ = std::move(slots);
  lists.adopted_payloads_ = std::move(payloads);
  return lists;
}

}  // namespace iqdb::index::ivf
