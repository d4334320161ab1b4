// The database's write-ahead log records: what each op's payload holds.
// storage/ moves these payloads as opaque bytes; this file gives them
// meaning.
//
//   kUpsert          : record
//   kUpsertBatch     : u32 count | record * count   (applied atomically)
//   kRemove          : VectorId
//   kRemoveBatch     : u32 count | VectorId * count   (applied atomically)
//   kUpsertBatchPart : u8 flags | u64 batch_rows | u32 count | record * count
//   record           : VectorId | u32 dim | f32 * dim | u8 has_metadata | Metadata?
// (VectorId and Metadata encodings: core/record_codec.h.)
//
// A batch too large for one record is logged as consecutive kUpsertBatchPart
// records: the first has flag bit 0 (kPartFirst), the last bit 1
// (kPartLast), and each carries the batch's total row count. Replay applies
// the batch only when its last part arrives; parts left open by a crash
// (the log ends, or another record follows) are dropped, so a batch is
// applied whole or not at all. FORMAT.md ("Large batches") has the rules.
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
#include "db/journal.h"

namespace iqdb::db {

enum class WalOp : uint8_t {
  kUpsert = 1,
  kUpsertBatch = 2,
  kRemove = 3,
  kUpsertBatchPart = 4,
  kRemoveBatch = 5,
};

inline constexpr uint8_t kPartFirst = 1;
inline constexpr uint8_t kPartLast = 2;
// The payload a batch part aims for: parts bound the memory one record
// needs to encode, append and replay.
inline constexpr size_t kBatchPartBytes = size_t{64} << 20;
// The part size the database uses (kBatchPartBytes unless a test made it
// smaller to exercise multi-part batches cheaply). Process-wide.
size_t batch_part_bytes();
void set_batch_part_bytes(size_t bytes);

std::string encode_upsert(const VectorId& id, std::span<const float> vector,
                          const Metadata* metadata);
std::string encode_upsert_batch(std::span<const VectorId> ids, std::span<const float> rows,
                                size_t dim, std::span<const Metadata* const> metadata);
std::string encode_remove(const VectorId& id);
std::string encode_remove_batch(std::span<const VectorId> ids);

// Encodes a batch as log records, lazily: one kUpsertBatch when it fits in
// `part_bytes`, else kUpsertBatchPart records of about `part_bytes` each.
// Holds views of its arguments.
class BatchEncoder {
 public:
  BatchEncoder(std::span<const VectorId> ids, std::span<const float> rows, size_t dim,
               std::span<const Metadata* const> metadata, size_t part_bytes = kBatchPartBytes);
  // The next record; LogRecord::more says whether another follows.
  LogRecord next();

 private:
  std::span<const VectorId> ids_;
  std::span<const float> rows_;
  size_t dim_;
  std::span<const Metadata* const> metadata_;
  size_t part_bytes_;
  size_t next_row_ = 0;
};

// A decoded log record. Every vector has `dim` floats, all finite.
struct DecodedOp {
  WalOp op;
  uint8_t part_flags = 0;   // kUpsertBatchPart only
  uint64_t batch_rows = 0;  // kUpsertBatchPart only
  std::vector<VectorId> ids;
  std::vector<float> rows;
  std::vector<std::optional<Metadata>> metadata;
};

// kCorruption when the payload is malformed, its vectors have another
// dimension than `dim`, or hold non-finite values.
Result<DecodedOp> decode_op(uint8_t op, std::span<const uint8_t> payload, size_t dim);

}  // namespace iqdb::db
