// Fuzzes the database's log payload decoder (db/wal_ops.h, and through it
// the id and metadata decoders of core/record_codec.h): any bytes must
// decode to a well-formed op or fail with kCorruption; never crash, over-read
// or allocate by a length field. A successful decode must re-encode to the
// same bytes.
//
// Input: byte 0 = op, byte 1 = dim (1..32), rest = payload.
#include <cmath>
#include <cstring>
#include <string>
#include <vector>
#include <cstddef>
#include <cstdint>
#include <span>

#include "db/wal_ops.h"
#include "util/coding.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const uint8_t op = data[0];
  const size_t dim = 1 + data[1] % 32;
  std::span<const uint8_t> payload(data + 2, size - 2);
  auto decoded = iqdb::db::decode_op(op, payload, dim);
  if (!decoded.ok()) {
    if (decoded.status().code() != iqdb::StatusCode::kCorruption) __builtin_trap();
    return 0;
  }
  const auto& d = *decoded;
  const bool remove = d.op == iqdb::db::WalOp::kRemove || d.op == iqdb::db::WalOp::kRemoveBatch;
  if (remove ? !d.rows.empty() : d.rows.size() != d.ids.size() * dim) __builtin_trap();
  for (float f : d.rows) {
    if (!std::isfinite(f)) __builtin_trap();
  }
  std::string again;
  std::vector<const iqdb::Metadata*> metas;
  for (const auto& m : d.metadata) metas.push_back(m ? &*m : nullptr);
  switch (d.op) {
    case iqdb::db::WalOp::kUpsert:
      again = iqdb::db::encode_upsert(d.ids[0], d.rows, metas[0]);
      break;
    case iqdb::db::WalOp::kUpsertBatch:
      again = iqdb::db::encode_upsert_batch(d.ids, d.rows, dim, metas);
      break;
    case iqdb::db::WalOp::kRemove: again = iqdb::db::encode_remove(d.ids[0]); break;
    case iqdb::db::WalOp::kRemoveBatch: again = iqdb::db::encode_remove_batch(d.ids); break;
    case iqdb::db::WalOp::kUpsertBatchPart:
      // flags | batch rows | then the same count and records as a batch.
      iqdb::util::put_u8(again, d.part_flags);
      iqdb::util::put_u64(again, d.batch_rows);
      again += iqdb::db::encode_upsert_batch(d.ids, d.rows, dim, metas);
      break;
  }
  // Doubles and floats round-trip bit for bit, so the encoding is canonical
  // except for NaN payloads in metadata doubles, which still re-encode as
  // the same bits.
  if (again.size() != payload.size() ||
      std::memcmp(again.data(), payload.data(), payload.size()) != 0) {
    __builtin_trap();
  }
  return 0;
}
