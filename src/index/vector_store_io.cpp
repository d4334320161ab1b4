// VectorStore persistence: sections 1..15 of a snapshot.
//
//   kStoreInfo : u32 version | u64 dim | u64 stride_floats | u32 slot_end |
//                u64 live_count | u64 next_sequence
//   kRows      : slot_end * stride_floats f32, exactly as in the arena
//   kInvNorms  : slot_end f32
//   kSlots     : slot_end u64, (live << 63) | insertion sequence
//   kIds       : for each live slot in slot order, an encoded VectorId
//   kMetadata  : for each live slot in slot order, u8 present | Metadata
#include <algorithm>
#include <functional>

#include "core/record_codec.h"
#include "index/vector_store.h"

namespace iqdb::index {
namespace {

constexpr uint32_t kStoreFormat = 1;
constexpr uint64_t kLiveBit = uint64_t{1} << 63;

Status corrupt(const std::string& what) { return Status::Corruption("vector store: " + what); }

}  // namespace

void VectorStore::save(SectionSink& sink) const {
  std::string info;
  util::put_u32(info, kStoreFormat);
  util::put_u64(info, dim_);
  util::put_u64(info, stride_floats_);
  util::put_u32(info, slot_end_);
  util::put_u64(info, live_count_);
  util::put_u64(info, next_sequence_);
  sink.add_owned(section::kStoreInfo, std::move(info));
  sink.add(section::kRows, {rows_.data(), size_t{slot_end_} * stride_floats_ * sizeof(float)});
  sink.add(section::kInvNorms, {norms_.data(), size_t{slot_end_} * sizeof(float)});
  std::string slots, ids, meta;
  slots.reserve(size_t{slot_end_} * 8);
  for (uint32_t s = 0; s < slot_end_; ++s) {
    util::put_u64(slots, sequence_[s] | (live_[s] ? kLiveBit : 0));
    if (!live_[s]) continue;
    core::encode_id(ids, ids_[s]);
    util::put_u8(meta, metadata_[s] ? 1 : 0);
    if (metadata_[s]) core::encode_metadata(meta, *metadata_[s]);
  }
  sink.add_owned(section::kSlots, std::move(slots));
  sink.add_owned(section::kIds, std::move(ids));
  sink.add_owned(section::kMetadata, std::move(meta));
}

Result<VectorStore> VectorStore::load(size_t dim, Metric metric, const SectionSource& source) {
  VectorStore store(dim, metric);
  auto info_bytes = source.bytes(section::kStoreInfo);
  if (!info_bytes) return info_bytes.status();
  util::ByteReader info(*info_bytes);
  uint32_t format = 0, slot_end = 0;
  uint64_t sdim = 0, stride = 0, live_count = 0, next_sequence = 0;
  if (!info.read_u32(&format) || !info.read_u64(&sdim) || !info.read_u64(&stride) ||
      !info.read_u32(&slot_end) || !info.read_u64(&live_count) || !info.read_u64(&next_sequence)) {
    return corrupt("info section is truncated");
  }
  if (format != kStoreFormat) return corrupt("unknown format " + std::to_string(format));
  if (sdim != dim || stride != store.stride_floats_) return corrupt("row shape does not match dim");
  if (slot_end == kNoSlot || live_count > slot_end) return corrupt("impossible record counts");

  auto rows = source.bytes(section::kRows);
  if (!rows) return rows.status();
  if (rows->size() != uint64_t{slot_end} * stride * sizeof(float)) return corrupt("row section has the wrong size");
  auto norms = source.bytes(section::kInvNorms);
  if (!norms) return norms.status();
  if (norms->size() != uint64_t{slot_end} * sizeof(float)) return corrupt("norm section has the wrong size");
  auto slots = source.bytes(section::kSlots);
  if (!slots) return slots.status();
  if (slots->size() != uint64_t{slot_end} * 8) return corrupt("slot section has the wrong size");

  store.ids_.assign(slot_end, VectorId(uint64_t{0}));
  store.metadata_.resize(slot_end);
  store.sequence_.assign(slot_end, 0);
  store.live_.assign(slot_end, 0);
  util::ByteReader slot_reader(*slots);
  uint64_t live_seen = 0;
  for (uint32_t s = 0; s < slot_end; ++s) {
    uint64_t word = 0;
    (void)slot_reader.read_u64(&word);  // size checked above
    store.sequence_[s] = word & ~kLiveBit;
    if (store.sequence_[s] >= next_sequence && (word & kLiveBit)) return corrupt("sequence out of range");
    if (word & kLiveBit) {
      store.live_[s] = 1;
      ++live_seen;
    } else {
      store.free_slots_.push_back(s);
    }
  }
  if (live_seen != live_count) return corrupt("live count does not match the slot table");
  std::make_heap(store.free_slots_.begin(), store.free_slots_.end(), std::greater<>());

  auto ids = source.bytes(section::kIds);
  if (!ids) return ids.status();
  auto meta = source.bytes(section::kMetadata);
  if (!meta) return meta.status();
  util::ByteReader id_reader(*ids), meta_reader(*meta);
  store.slot_of_.reserve(live_count);
  for (uint32_t s = 0; s < slot_end; ++s) {
    if (!store.live_[s]) continue;
    auto id = core::decode_id(id_reader);
    if (!id) return corrupt(std::string(id.status().message()));
    if (!store.slot_of_.emplace(*id, s).second) return corrupt("an id appears twice");
    store.ids_[s] = std::move(*id);
    uint8_t present = 0;
    if (!meta_reader.read_u8(&present) || present > 1) return corrupt("metadata section is malformed");
    if (present) {
      auto m = core::decode_metadata(meta_reader);
      if (!m) return corrupt(std::string(m.status().message()));
      store.metadata_[s] = std::make_unique<Metadata>(std::move(*m));
    }
  }
  if (!id_reader.at_end() || !meta_reader.at_end()) return corrupt("trailing bytes after the records");

  // Rows and norms last: mapping them is the expensive part that a damaged
  // file should not get to.
  if (slot_end > 0) {
    IQDB_RETURN_IF_ERROR(source.adopt(section::kRows, store.rows_));
    IQDB_RETURN_IF_ERROR(source.adopt(section::kInvNorms, store.norms_));
  }
  store.slot_end_ = slot_end;
  store.live_count_ = live_count;
  store.next_sequence_ = next_sequence;
  return store;
}

}  // namespace iqdb::index
