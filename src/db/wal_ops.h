// The database's write-ahead log records: what each op's payload holds.
// storage/ moves these payloads as opaque bytes; this file gives them
// meaning.
//
//   kUpsert      : record
//   kUpsertBatch : u32 count | record * count   (applied atomically)
//   kRemove      : VectorId
//   record       : VectorId | u32 dim | f32 * dim | u8 has_metadata | Metadata?
// (VectorId and Metadata encodings: core/record_codec.h.)
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "iqdb/status.h"
#include "iqdb/types.h"

namespace iqdb::db {

enum class WalOp : uint8_t { kUpsert = 1, kUpsertBatch = 2, kRemove = 3 };

std::string encode_upsert(const VectorId& id, std::span<const float> vector, const Metadata* metadata);
std::string encode_upsert_batch(std::span<const VectorId> ids, std::span<const float> rows, size_t dim,
                                std::span<const Metadata* const> metadata);
std::string encode_remove(const VectorId& id);

// A decoded log record. Every vector has `dim` floats, all finite.
struct DecodedOp {
  WalOp op;
  std::vector<VectorId> ids;
  std::vector<float> rows;
  std::vector<std::optional<Metadata>> metadata;
};

// kCorruption when the payload is malformed, its vectors have another
// dimension than `dim`, or hold non-finite values.
Result<DecodedOp> decode_op(uint8_t op, std::span<const uint8_t> payload, size_t dim);

}  // namespace iqdb::db
