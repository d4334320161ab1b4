#include "db/wal_ops.h"

#include <algorithm>
#include <atomic>
#include <cmath>

#include "core/record_codec.h"
#include "util/coding.h"

namespace iqdb::db {
namespace {

void encode_record(std::string& out, const VectorId& id, std::span<const float> vector,
                   const Metadata* metadata) {
  core::encode_id(out, id);
  util::put_u32(out, static_cast<uint32_t>(vector.size()));
  for (float f : vector) util::put_f32(out, f);
  util::put_u8(out, metadata ? 1 : 0);
  if (metadata) core::encode_metadata(out, *metadata);
}

Status decode_record(util::ByteReader& in, size_t dim, DecodedOp& op) {
  auto id = core::decode_id(in);
  if (!id) return id.status();
  uint32_t n = 0;
  if (!in.read_u32(&n)) return Status::Corruption("log record truncated");
  if (n != dim) return Status::Corruption("log record has a vector of another dimension");
  std::span<const uint8_t> bytes;
  if (!in.read_bytes(uint64_t{n} * 4, &bytes)) return Status::Corruption("log record truncated");
  size_t first = op.rows.size();
  op.rows.resize(first + n);
  for (uint32_t i = 0; i < n; ++i) {
    float f = std::bit_cast<float>(util::decode_u32(bytes.data() + size_t{i} * 4));
    if (!std::isfinite(f)) return Status::Corruption("log record holds a non-finite value");
    op.rows[first + i] = f;
  }
  uint8_t has_meta = 0;
  if (!in.read_u8(&has_meta) || has_meta > 1) return Status::Corruption("log record truncated");
  std::optional<Metadata> meta;
  if (has_meta) {
    auto m = core::decode_metadata(in);
    if (!m) return m.status();
    meta = std::move(*m);
  }
  op.ids.push_back(std::move(*id));
  op.metadata.push_back(std::move(meta));
  return Status::OK();
}

}  // namespace

std::string encode_upsert(const VectorId& id, std::span<const float> vector,
                          const Metadata* metadata) {
  std::string out;
  out.reserve(vector.size() * 4 + 32);
  encode_record(out, id, vector, metadata);
  return out;
}

std::string encode_upsert_batch(std::span<const VectorId> ids, std::span<const float> rows,
                                size_t dim, std::span<const Metadata* const> metadata) {
  std::string out;
  out.reserve(rows.size() * 4 + ids.size() * 16 + 4);
  util::put_u32(out, static_cast<uint32_t>(ids.size()));
  for (size_t i = 0; i < ids.size(); ++i) {
    encode_record(out, ids[i], rows.subspan(i * dim, dim),
                  metadata.empty() ? nullptr : metadata[i]);
  }
  return out;
}

namespace {
std::atomic<size_t> g_batch_part_bytes{kBatchPartBytes};
}

size_t batch_part_bytes() { return g_batch_part_bytes.load(std::memory_order_relaxed); }
void set_batch_part_bytes(size_t bytes) {
  g_batch_part_bytes.store(bytes, std::memory_order_relaxed);
}

BatchEncoder::BatchEncoder(std::span<const VectorId> ids, std::span<const float> rows, size_t dim,
                           std::span<const Metadata* const> metadata, size_t part_bytes)
    : ids_(ids), rows_(rows), dim_(dim), metadata_(metadata), part_bytes_(part_bytes) {}

LogRecord BatchEncoder::next() {
  const bool first = next_row_ == 0;
  constexpr size_t kPartHeader = 1 + 8 + 4;
  LogRecord record;
  std::string& out = record.payload;
  out.reserve(std::min(part_bytes_, (ids_.size() - next_row_) * (dim_ * 4 + 32)) + kPartHeader +
              64);
  out.assign(kPartHeader, '\0');  // filled in below
  size_t row = next_row_;
  while (row < ids_.size() && (row == next_row_ || out.size() < part_bytes_)) {
    encode_record(out, ids_[row], rows_.subspan(row * dim_, dim_),
                  metadata_.empty() ? nullptr : metadata_[row]);
    ++row;
  }
  const auto count = static_cast<uint32_t>(row - next_row_);
  next_row_ = row;
  const bool last = row == ids_.size();
  std::string header;
  if (first && last) {
    record.op = static_cast<uint8_t>(WalOp::kUpsertBatch);
    util::put_u32(header, count);
    out.replace(0, kPartHeader, header);
  } else {
    record.op = static_cast<uint8_t>(WalOp::kUpsertBatchPart);
    util::put_u8(header, static_cast<uint8_t>((first ? kPartFirst : 0) | (last ? kPartLast : 0)));
    util::put_u64(header, ids_.size());
    util::put_u32(header, count);
    out.replace(0, kPartHeader, header);
  }
  record.more = !last;
  return record;
}

std::string encode_remove(const VectorId& id) {
  std::string out;
  core::encode_id(out, id);
  return out;
}

std::string encode_remove_batch(std::span<const VectorId> ids) {
  std::string out;
  util::put_u32(out, static_cast<uint32_t>(ids.size()));
  for (const VectorId& id : ids) core::encode_id(out, id);
  return out;
}

Result<DecodedOp> decode_op(uint8_t op, std::span<const uint8_t> payload, size_t dim) {
  DecodedOp out;
  util::ByteReader in(payload);
  switch (static_cast<WalOp>(op)) {
    case WalOp::kUpsert:
      out.op = WalOp::kUpsert;
      IQDB_RETURN_IF_ERROR(decode_record(in, dim, out));
      break;
    case WalOp::kUpsertBatch: {
      out.op = WalOp::kUpsertBatch;
      uint32_t count = 0;
      if (!in.read_u32(&count)) return Status::Corruption("log batch truncated");
      // Each record takes at least 4 * dim bytes: a count beyond that is a lie.
      if (uint64_t{count} * (6 + 4 + 4 * uint64_t{dim} + 1) > payload.size()) {
        return Status::Corruption("log batch count exceeds its payload");
      }
      for (uint32_t i = 0; i < count; ++i) IQDB_RETURN_IF_ERROR(decode_record(in, dim, out));
      break;
    }
    case WalOp::kUpsertBatchPart: {
      out.op = WalOp::kUpsertBatchPart;
      uint32_t count = 0;
      if (!in.read_u8(&out.part_flags) || !in.read_u64(&out.batch_rows) || !in.read_u32(&count)) {
        return Status::Corruption("log batch part truncated");
      }
      if (out.part_flags > (kPartFirst | kPartLast) || out.part_flags == (kPartFirst | kPartLast)) {
        return Status::Corruption("log batch part has unknown flags");
      }
      if (count == 0 || count > out.batch_rows ||
          uint64_t{count} * (6 + 4 + 4 * uint64_t{dim} + 1) > payload.size()) {
        return Status::Corruption("log batch part count exceeds its payload or its batch");
      }
      for (uint32_t i = 0; i < count; ++i) IQDB_RETURN_IF_ERROR(decode_record(in, dim, out));
      break;
    }
    case WalOp::kRemove: {
      out.op = WalOp::kRemove;
      auto id = core::decode_id(in);
      if (!id) return id.status();
      out.ids.push_back(std::move(*id));
      break;
    }
    case WalOp::kRemoveBatch: {
      out.op = WalOp::kRemoveBatch;
      uint32_t count = 0;
      if (!in.read_u32(&count)) return Status::Corruption("log remove batch truncated");
      // An id takes at least 5 bytes (its kind, then a u32 length or a u64).
      if (uint64_t{count} * 5 > payload.size()) {
        return Status::Corruption("log remove batch count exceeds its payload");
      }
      out.ids.reserve(count);
      for (uint32_t i = 0; i < count; ++i) {
        auto id = core::decode_id(in);
        if (!id) return id.status();
        out.ids.push_back(std::move(*id));
      }
      break;
    }
    default: return Status::Corruption("unknown log op " + std::to_string(op));
  }
  if (!in.at_end()) return Status::Corruption("trailing bytes in a log record");
  return out;
}

}  // namespace iqdb::db
