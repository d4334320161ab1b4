// Binary encodings of ids and metadata, shared by the write-ahead log and the
// snapshot. Little-endian; every length is checked against the bytes that
// remain before it is used, so a hostile input yields kCorruption, never an
// over-read or a huge allocation.
//
//   VectorId : u8 kind (0 = u64, 1 = bytes) | u64 value  or  u32 length | bytes
//   Value    : u8 type (Value::Type) | payload (bool u8, int i64, double f64,
//              string u32 length | bytes)
//   Metadata : u32 field count | (u32 name length | name | Value)*, names
//              strictly ascending (bytewise)
//
// Thread-safety: pure functions.
#pragma once

#include <string>

#include "iqdb/status.h"
#include "iqdb/types.h"
#include "util/coding.h"

namespace iqdb::core {

// Caps that keep a decoder's allocations proportional to its input.
inline constexpr uint32_t kMaxMetadataFields = 1u << 16;
inline constexpr uint32_t kMaxStringBytes = 1u << 24;

void encode_id(std::string& out, const VectorId& id);
void encode_value(std::string& out, const Value& value);
void encode_metadata(std::string& out, const Metadata& metadata);

Result<VectorId> decode_id(util::ByteReader& in);
Result<Value> decode_value(util::ByteReader& in);
Result<Metadata> decode_metadata(util::ByteReader& in);

}  // namespace iqdb::core
