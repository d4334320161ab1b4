// PayloadIndex as a snapshot section (kind section::kPayloadIndex).
//
// Little-endian, version 1 (the value-limit rule):
//   u32 version (1) | u32 max values per field | u32 slot end | u32 fields
// version 2 (declared fields, Config::indexed_fields):
//   u32 version (2) | u32 0 | u32 slot end | u32 declared
//   declared x (u32 name length | name), strictly ascending (bytewise)
//   u32 fields
// then, in both:
//   per field, names strictly ascending (bytewise):
//     u32 name length | name | u8 over limit (0 or 1)
//     unless over limit:
//       u32 keys | per key: Value (core/record_codec.h) | postings
//       postings of the NaN doubles
//   postings: u32 count | count x u32 slot, strictly ascending
//
// Rule on read: keys ascend by type, then as Filter orders them, none a NaN
// double, at most `max values` of them (version 1), none with empty
// postings; in version 2 every field is a declared one; every slot
// is below the slot end and live in the store; no byte is left over. The
// section's checksum (the snapshot's) vouches for the values; a section
// that breaks a rule is rejected and the index rebuilt from the records.
#include <string>

#include "core/record_codec.h"
#include "index/payload_index.h"
#include "util/coding.h"

namespace iqdb::index {
namespace {

constexpr uint32_t kVersion = 1;
constexpr uint32_t kVersionDeclared = 2;
constexpr uint32_t kMaxValuesLimit = 1u << 24;
constexpr uint32_t kMaxDeclared = 1u << 16;

void put_postings(std::string& out, const std::vector<uint32_t>& postings) {
  util::put_u32(out, static_cast<uint32_t>(postings.size()));
  for (uint32_t slot : postings) util::put_u32(out, slot);
}

Status corrupt(std::string_view what) {
  return Status::Corruption("payload index section: " + std::string(what));
}

bool read_postings(util::ByteReader& in, std::span<const uint8_t> live, bool allow_empty,
                   std::vector<uint32_t>& out) {
  uint32_t count = 0;
  if (!in.read_u32(&count) || (count == 0 && !allow_empty)) return false;
  if (uint64_t{count} * 4 > in.remaining()) return false;
  out.reserve(count);
  for (uint32_t i = 0; i < count; ++i) {
    uint32_t slot = 0;
    if (!in.read_u32(&slot) || slot >= live.size() || live[slot] == 0) return false;
    if (!out.empty() && out.back() >= slot) return false;
    out.push_back(slot);
  }
  return true;
}

}  // namespace

std::string PayloadIndex::encode(uint32_t slot_end) const {
  std::string out;
  if (declared_.empty()) {
    util::put_u32(out, kVersion);
    util::put_u32(out, static_cast<uint32_t>(max_values_));
    util::put_u32(out, slot_end);
  } else {
    util::put_u32(out, kVersionDeclared);
    util::put_u32(out, 0);
    util::put_u32(out, slot_end);
    util::put_u32(out, static_cast<uint32_t>(declared_.size()));
    for (const std::string& name : declared_) util::put_length_prefixed(out, name);
  }
  util::put_u32(out, static_cast<uint32_t>(fields_.size()));
  for (const auto& [name, field] : fields_) {
    util::put_length_prefixed(out, name);
    util::put_u8(out, field.over_limit ? 1 : 0);
    if (field.over_limit) continue;
    util::put_u32(out, static_cast<uint32_t>(field.distinct));
    for (const auto& values : field.by_type) {
      for (const auto& [value, postings] : values) {
        core::encode_value(out, value);
        put_postings(out, postings);
      }
    }
    put_postings(out, field.nan);
  }
  return out;
}

Result<PayloadIndex> PayloadIndex::decode(std::span<const uint8_t> bytes,
                                          std::span<const uint8_t> live) {
  util::ByteReader in(bytes);
  uint32_t version = 0, max_values = 0, slot_end = 0, fields = 0;
  if (!in.read_u32(&version) || !in.read_u32(&max_values) || !in.read_u32(&slot_end) ||
      !in.read_u32(&fields)) {
    return in.overrun("payload index section");
  }
  if (version != kVersion && version != kVersionDeclared) {
    return corrupt("unknown version " + std::to_string(version));
  }
  std::vector<std::string> declared;
  if (version == kVersionDeclared) {
    // `fields` held the count of declared names; the field count follows them.
    if (max_values != 0 || fields == 0 || fields > kMaxDeclared)
      return corrupt("bad declared fields");
    for (uint32_t d = 0; d < fields; ++d) {
      std::span<const uint8_t> name;
      if (!in.read_length_prefixed(&name, core::kMaxStringBytes)) return corrupt("malformed name");
      declared.emplace_back(util::as_chars(name));
      if (d > 0 && !(declared[d - 1] < declared[d])) return corrupt("declared names out of order");
    }
    if (!in.read_u32(&fields)) return in.overrun("payload index section");
  } else if (max_values == 0 || max_values > kMaxValuesLimit) {
    return corrupt("bad value limit");
  }
  if (slot_end != live.size() || fields > core::kMaxMetadataFields) {
    return corrupt("does not fit the store");
  }
  PayloadIndex index =
      declared.empty() ? PayloadIndex(max_values) : PayloadIndex(std::move(declared));
  for (uint32_t s = 0; s < live.size(); ++s) {
    if (live[s] != 0) {
      index.live_.set(s);
      ++index.live_count_;
    }
  }
  std::string previous;
  for (uint32_t f = 0; f < fields; ++f) {
    std::span<const uint8_t> name_bytes;
    uint8_t over_limit = 0;
    if (!in.read_length_prefixed(&name_bytes, core::kMaxStringBytes) || !in.read_u8(&over_limit) ||
        over_limit > 1) {
      return corrupt("malformed field");
    }
    std::string name(util::as_chars(name_bytes));
    if (f > 0 && !(previous < name)) return corrupt("field names out of order");
    if (!index.indexes(name)) return corrupt("a field that is not declared");
    previous = name;
    Field& field = index.fields_.try_emplace(std::move(name)).first->second;
    field.over_limit = over_limit != 0;
    if (field.over_limit) continue;
    uint32_t keys = 0;
    if (!in.read_u32(&keys) || keys > index.max_values_) return corrupt("too many values");
    const Value* last = nullptr;
    for (uint32_t k = 0; k < keys; ++k) {
      auto value = core::decode_value(in);
      if (!value) return corrupt(value.status().message());
      if (value->is_double() && value->as_double() != value->as_double()) {
        return corrupt("a NaN key");
      }
      if (last != nullptr && (last->type() > value->type() ||
                              (last->type() == value->type() && !KeyLess{}(*last, *value)))) {
        return corrupt("values out of order");
      }
      const size_t hash = key_hash(*value);
      auto it = field.insert_key(std::move(*value), hash);
      if (!read_postings(in, live, false, it->second)) return corrupt("malformed postings");
      if (!it->second.empty()) added(it->second, it->second.back());
      last = &it->first;
    }
    if (!read_postings(in, live, true, field.nan)) return corrupt("malformed postings");
  }
  if (!in.at_end()) return corrupt("trailing bytes");
  return index;
}

}  // namespace iqdb::index
