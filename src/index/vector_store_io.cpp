// VectorStore persistence: sections 1..15 of a snapshot.
//
// Format 2 (written now):
//   kStoreInfo : u32 version (2) | u64 dim | u64 stride_floats | u32 slot_end |
//                u64 live_count | u64 next_sequence | u8 storage type
//                (StorageType) | u8 flags (bit 0 keep_f32, bit 1 f32 rows
//                present, bit 2 code rows present) | u64 code_stride_bytes
//   kRows      : slot_end * stride_floats f32, exactly as in the arena
//                (only when f32 rows are present)
//   kInvNorms  : slot_end f32
//   kSqNorms   : slot_end f32
//   kSlots     : slot_end u64, (live << 63) | insertion sequence
//   kIds       : for each live slot in slot order, an encoded VectorId
//   kMetadata  : for each live slot in slot order, u8 present | Metadata
//   kCodes     : slot_end * code_stride_bytes, exactly as in the arena (only
//                when code rows are present: u8 bytes, f16/bf16 halves in
//                little-endian order, SQ8 codes)
//   kSq8Params : SQ8 with codes only: dim f32 offsets, then dim f32 scales
//   kPayloadIndex : the payload index (payload_codec.cpp), when it is
//                usable; optional: absent, from another value limit or
//                breaking its rules, it is rebuilt from the metadata
// Which of rows and codes are present follows from the type (and SQ8's
// training) and is checked on load. Format 1 (f32 only) had no storage
// fields, kSqNorms or kCodes; it still loads, squared norms recomputed.
#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <string>

#include "core/record_codec.h"
#include "index/vector_store.h"

namespace iqdb::index {
namespace {

constexpr uint32_t kStoreFormat = 2;
constexpr uint32_t kStoreFormatF32Only = 1;
constexpr uint8_t kFlagKeepF32 = 1, kFlagF32Rows = 2, kFlagCodes = 4;
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
  util::put_u8(info, static_cast<uint8_t>(storage_.type));
  util::put_u8(info,
               static_cast<uint8_t>((storage_.keep_f32 ? kFlagKeepF32 : 0) |
                                    (has_f32_ ? kFlagF32Rows : 0) | (has_codes_ ? kFlagCodes : 0)));
  util::put_u64(info, code_stride_bytes_);
  sink.add_owned(section::kStoreInfo, std::move(info));
  if (has_f32_)
    sink.add(section::kRows, {rows_.data(), size_t{slot_end_} * stride_floats_ * sizeof(float)});
  if (has_codes_)
    sink.add(section::kCodes, {codes_.data(), size_t{slot_end_} * code_stride_bytes_});
  if (has_codes_ && storage_.type == StorageType::kSq8) {
    std::string params;
    for (float v : sq8_offset_) util::put_f32(params, v);
    for (float v : sq8_scale_) util::put_f32(params, v);
    sink.add_owned(section::kSq8Params, std::move(params));
  }
  sink.add(section::kInvNorms, {norms_.data(), size_t{slot_end_} * sizeof(float)});
  sink.add(section::kSqNorms, {sq_norms_.data(), size_t{slot_end_} * sizeof(float)});
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
  if (payload_.usable()) sink.add_owned(section::kPayloadIndex, payload_.encode(slot_end_));
}

namespace {

struct StoreInfo {
  uint32_t format = 0, slot_end = 0;
  uint64_t dim = 0, stride = 0, live_count = 0, next_sequence = 0;
  uint8_t type = 0, flags = kFlagF32Rows;
  uint64_t code_stride = 0;
};

Result<StoreInfo> read_info(std::span<const uint8_t> bytes) {
  util::ByteReader info(bytes);
  StoreInfo i;
  if (!info.read_u32(&i.format) || !info.read_u64(&i.dim) || !info.read_u64(&i.stride) ||
      !info.read_u32(&i.slot_end) || !info.read_u64(&i.live_count) ||
      !info.read_u64(&i.next_sequence)) {
    return corrupt("info section is truncated");
  }
  if (i.format == kStoreFormatF32Only) return i;
  if (i.format != kStoreFormat) return corrupt("unknown format " + std::to_string(i.format));
  if (!info.read_u8(&i.type) || !info.read_u8(&i.flags) || !info.read_u64(&i.code_stride)) {
    return corrupt("info section is truncated");
  }
  if (!info.at_end()) return corrupt("info section has trailing bytes");
  if (i.type > static_cast<uint8_t>(StorageType::kU8)) return corrupt("unknown storage type");
  return i;
}

// Whether the stored presence flags are possible for the stored type.
bool consistent(const VectorStorage& storage, bool f32_rows, bool codes) {
  if (!storage.lossy() && storage.keep_f32) return false;
  switch (storage.type) {
    case StorageType::kF32: return f32_rows && !codes;
    case StorageType::kU8: return codes && !f32_rows;
    case StorageType::kF16:
    case StorageType::kBF16: return codes && f32_rows == storage.keep_f32;
    case StorageType::kSq8: return codes ? f32_rows == storage.keep_f32 : f32_rows;
  }
  return false;
}

}  // namespace

Result<VectorStore> VectorStore::load(size_t dim, Metric metric, const VectorStorage& expected,
                                      const SectionSource& source) {
  auto store = load(dim, metric, source);
  if (!store) return store.status();
  if (!(store->storage() == expected)) {
    return Status::ConfigMismatch(
        std::string("the database stores ") + storage_type_name(store->storage().type) +
        (store->storage().keep_f32 ? " (with f32 rows)" : "") + " vectors, not " +
        storage_type_name(expected.type) +
        (expected.keep_f32 && expected.lossy() ? " (with f32 rows)" : ""));
  }
  return store;
}

Result<VectorStore> VectorStore::load(size_t dim, Metric metric, const SectionSource& source) {
  auto info_bytes = source.bytes(section::kStoreInfo);
  if (!info_bytes) return info_bytes.status();
  auto parsed = read_info(*info_bytes);
  if (!parsed) return parsed.status();
  const StoreInfo& in = *parsed;
  const VectorStorage storage{static_cast<StorageType>(in.type), (in.flags & kFlagKeepF32) != 0};
  const bool f32_rows = (in.flags & kFlagF32Rows) != 0, codes = (in.flags & kFlagCodes) != 0;
  if ((in.flags & ~(kFlagKeepF32 | kFlagF32Rows | kFlagCodes)) != 0 ||
      !consistent(storage, f32_rows, codes)) {
    return corrupt("storage flags do not fit the storage type");
  }
  VectorStore store(dim, metric, storage);
  store.has_f32_ = f32_rows;
  store.has_codes_ = codes;
  const uint32_t slot_end = in.slot_end;
  const uint64_t live_count = in.live_count, next_sequence = in.next_sequence, stride = in.stride;
  if (in.dim != dim || stride != store.stride_floats_)
    return corrupt("row shape does not match dim");
  if (in.format != kStoreFormatF32Only && in.code_stride != store.code_stride_bytes_) {
    return corrupt("code row shape does not match dim");
  }
  if (slot_end == kNoSlot || live_count > slot_end) return corrupt("impossible record counts");

  if (f32_rows) {
    auto rows = source.bytes(section::kRows);
    if (!rows) return rows.status();
    if (rows->size() != uint64_t{slot_end} * stride * sizeof(float))
      return corrupt("row section has the wrong size");
  }
  if (codes) {
    auto code_bytes = source.bytes(section::kCodes);
    if (!code_bytes) return code_bytes.status();
    if (code_bytes->size() != uint64_t{slot_end} * store.code_stride_bytes_) {
      return corrupt("code section has the wrong size");
    }
    if (storage.type == StorageType::kSq8) {
      auto params = source.bytes(section::kSq8Params);
      if (!params) return params.status();
      if (params->size() != uint64_t{dim} * 2 * sizeof(float))
        return corrupt("SQ8 parameters have the wrong size");
      util::ByteReader reader(*params);
      store.sq8_offset_.resize(dim);
      store.sq8_scale_.resize(dim);
      for (float& v : store.sq8_offset_) (void)reader.read_f32(&v);  // size checked above
      for (float& v : store.sq8_scale_) (void)reader.read_f32(&v);
      for (size_t i = 0; i < dim; ++i) {
        if (!std::isfinite(store.sq8_offset_[i]) || !std::isfinite(store.sq8_scale_[i]) ||
            store.sq8_scale_[i] < 0) {
          return corrupt("SQ8 parameters are not finite");
        }
      }
    }
  }
  auto norms = source.bytes(section::kInvNorms);
  if (!norms) return norms.status();
  if (norms->size() != uint64_t{slot_end} * sizeof(float))
    return corrupt("norm section has the wrong size");
  const bool has_sq_norms = in.format != kStoreFormatF32Only;
  if (has_sq_norms) {
    auto sq_norms = source.bytes(section::kSqNorms);
    if (!sq_norms) return sq_norms.status();
    if (sq_norms->size() != uint64_t{slot_end} * sizeof(float)) {
      return corrupt("squared-norm section has the wrong size");
    }
  }
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
    if (store.sequence_[s] >= next_sequence && (word & kLiveBit))
      return corrupt("sequence out of range");
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
    if (store.slot_of_.find(*id, store.ids_) != kNoSlot) return corrupt("an id appears twice");
    store.ids_[s] = std::move(*id);
    store.slot_of_.insert(store.ids_[s], s);
    uint8_t present = 0;
    if (!meta_reader.read_u8(&present) || present > 1)
      return corrupt("metadata section is malformed");
    if (present) {
      auto m = core::decode_metadata(meta_reader);
      if (!m) return corrupt(std::string(m.status().message()));
      store.metadata_[s] = std::make_unique<Metadata>(std::move(*m));
    }
  }
  store.load_payload(source);
  if (!id_reader.at_end() || !meta_reader.at_end())
    return corrupt("trailing bytes after the records");

  // Rows and norms last: mapping them is the expensive part that a damaged
  // file should not get to.
  if (slot_end > 0) {
    if (f32_rows) IQDB_RETURN_IF_ERROR(source.adopt(section::kRows, store.rows_));
    if (codes) IQDB_RETURN_IF_ERROR(source.adopt(section::kCodes, store.codes_));
    IQDB_RETURN_IF_ERROR(source.adopt(section::kInvNorms, store.norms_));
    if (has_sq_norms) {
      IQDB_RETURN_IF_ERROR(source.adopt(section::kSqNorms, store.sq_norms_));
    } else {
      IQDB_RETURN_IF_ERROR(store.sq_norms_.grow(size_t{slot_end} * sizeof(float)));
      auto* sq = reinterpret_cast<float*>(store.sq_norms_.data());
      for (uint32_t s = 0; s < slot_end; ++s) {
        double sum = 0;
        const float* r = store.row(s);
        for (size_t i = 0; i < dim; ++i) sum += double(r[i]) * double(r[i]);
        sq[s] = sum <= double(std::numeric_limits<float>::max())
                    ? static_cast<float>(sum)
                    : std::numeric_limits<float>::infinity();
      }
    }
  }
  store.slot_end_ = slot_end;
  store.live_count_ = live_count;
  store.next_sequence_ = next_sequence;
  return store;
}

void VectorStore::load_payload(const SectionSource& source) {
  if (source.has(section::kPayloadIndex)) {
    auto bytes = source.bytes(section::kPayloadIndex);
    if (bytes) {
      // Kept under whatever rule it was written with: set_indexed_fields()
      // rebuilds it if the caller's rule differs.
      auto decoded = PayloadIndex::decode(*bytes, live_);
      if (decoded) {
        payload_ = std::move(*decoded);
        return;
      }
    }
  }
  payload_.clear();
  for (size_t s = 0; s < live_.size(); ++s) {
    if (live_[s] != 0) payload_.add(static_cast<uint32_t>(s), metadata_[s].get());
  }
}

void VectorStore::set_indexed_fields(std::vector<std::string> fields) {
  PayloadIndex wanted(std::move(fields));
  if (wanted.same_rule(payload_)) return;
  for (size_t s = 0; s < live_.size(); ++s) {
    if (live_[s] != 0) wanted.add(static_cast<uint32_t>(s), metadata_[s].get());
  }
  payload_ = std::move(wanted);
}

}  // namespace iqdb::index
