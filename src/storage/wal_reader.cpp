#include "storage/wal_reader.h"

#include <algorithm>
#include <cstring>

#include "util/coding.h"
#include "util/file.h"

namespace iqdb::storage {
namespace {

struct RecordView {
  uint64_t seq;
  uint8_t op;
  std::span<const uint8_t> payload;
  size_t end;  // offset just past the record
};

// Parses the record at `pos` if it is complete and its checksum holds. The
// length field is checked against the bytes that exist and the format's
// limit before anything is read through it.
bool parse_record(std::span<const uint8_t> image, size_t pos, RecordView* out) {
  if (image.size() - pos < kWalRecordHeaderBytes) return false;
  const uint8_t* p = image.data() + pos;
  const uint32_t length = util::decode_u32(p);
  if (length > kMaxWalPayloadBytes || length > image.size() - pos - kWalRecordHeaderBytes) {
    return false;
  }
  out->seq = util::decode_u64(p + 8);
  out->op = p[16];
  out->payload = image.subspan(pos + kWalRecordHeaderBytes, length);
  out->end = pos + kWalRecordHeaderBytes + length;
  return util::decode_u32(p + 4) == wal_record_crc(out->seq, out->op, out->payload);
}

// After a bad record at `bad`, is there a valid record with a sequence
// number in [min_seq, min_seq + kSeqWindow) anywhere further on? The length
// check (the record must fit in the file) and the sequence window reject
// almost every offset of random or zeroed bytes before a checksum is
// computed, so scanning the torn tail of a large record costs a pass over
// its bytes, not a checksum per offset.
constexpr uint64_t kSeqWindow = uint64_t{1} << 32;

bool valid_record_follows(std::span<const uint8_t> image, size_t bad, uint64_t min_seq,
                          size_t* found_at) {
  for (size_t q = bad + 1; q + kWalRecordHeaderBytes <= image.size(); ++q) {
    const uint32_t length = util::decode_u32(image.data() + q);
    if (length > image.size() - q - kWalRecordHeaderBytes) continue;
    const uint64_t seq = util::decode_u64(image.data() + q + 8);
    if (seq < min_seq || seq - min_seq >= kSeqWindow) continue;
    RecordView r;
    if (parse_record(image, q, &r)) {
      *found_at = q;
      return true;
    }
  }
  return false;
}

bool is_magic_prefix(std::span<const uint8_t> image) {
  const size_t n = std::min(image.size(), sizeof kWalMagic);
  return n == 0 || std::memcmp(image.data(), kWalMagic, n) == 0;
}

}  // namespace

Result<WalReplayResult> replay_wal_bytes(std::span<const uint8_t> image, uint64_t identity,
                                         uint64_t after_seq, const WalRecordCallback& callback) {
  WalReplayResult result;
  result.file_bytes = image.size();
  result.next_seq = after_seq + 1;
  if (image.size() < kWalHeaderBytes) {
    // A crash while the header was being created: nothing was ever logged.
    if (!is_magic_prefix(image))
      return Status::Corruption("WAL: bad magic: not an iqdb write-ahead log");
    return result;
  }
  Result<WalFileHeader> header = parse_wal_header(image);
  if (!header.ok()) return header.status();
  if (header->identity != identity) {
    return Status::Corruption("WAL belongs to another database (identity mismatch)");
  }
  if (after_seq < UINT64_MAX && header->start_seq > after_seq + 1) {
    return Status::Corruption("WAL starts at sequence " + std::to_string(header->start_seq) +
                              " but the snapshot ends at " + std::to_string(after_seq) +
                              ": records in between are missing");
  }
  uint64_t min_seq = header->start_seq;
  size_t pos = kWalHeaderBytes;
  while (pos < image.size()) {
    RecordView r;
    if (!parse_record(image, pos, &r)) {
      size_t found_at = 0;
      if (valid_record_follows(image, pos, min_seq, &found_at)) {
        return Status::Corruption("WAL: damaged record at offset " + std::to_string(pos) +
                                  " is followed by a valid record at offset " +
                                  std::to_string(found_at));
      }
      break;  // torn tail
    }
    if (r.seq < min_seq) {
      return Status::Corruption("WAL: record at offset " + std::to_string(pos) + " has sequence " +
                                std::to_string(r.seq) + ", expected at least " +
                                std::to_string(min_seq));
    }
    if (r.seq > after_seq) {
      IQDB_RETURN_IF_ERROR(callback(r.seq, r.op, r.payload));
      ++result.delivered;
    }
    ++result.records;
    result.last_seq = r.seq;
    if (r.seq == UINT64_MAX) {
      return Status::Corruption("WAL: sequence number space exhausted");
    }
    min_seq = r.seq + 1;
    pos = r.end;
  }
  result.valid_bytes = pos;
  result.next_seq = std::max(min_seq, result.next_seq);
  return result;
}

Result<WalReplayResult> replay_wal(const std::filesystem::path& path, uint64_t identity,
                                   uint64_t after_seq, const WalRecordCallback& callback) {
  Result<util::File> file = util::File::open(path, util::File::Mode::kReadOnly);
  if (!file.ok()) {
    if (file.status().code() != StatusCode::kNotFound) return file.status();
    WalReplayResult empty;
    empty.next_seq = after_seq + 1;
    return empty;
  }
  Result<util::MappedFile> map = util::MappedFile::map(*file);
  if (!map.ok()) return map.status();
  Result<WalReplayResult> r = replay_wal_bytes(map->bytes(), identity, after_seq, callback);
  if (!r.ok() && r.status().code() == StatusCode::kCorruption) {
    return Status::Corruption(std::string(r.status().message()) + " in '" + path.string() + "'");
  }
  return r;
}

Status truncate_torn_tail(const std::filesystem::path& path, const WalReplayResult& replay) {
  if (!replay.torn_tail()) return Status::OK();
  Result<util::File> file = util::File::open(path, util::File::Mode::kReadWrite);
  if (!file.ok()) return file.status();
  Result<uint64_t> size = file->size();
  if (!size.ok()) return size.status();
  if (*size != replay.file_bytes) {
    return Status::InvalidArgument("WAL '" + path.string() +
                                   "' changed since it was replayed; not truncating");
  }
  IQDB_RETURN_IF_ERROR(file->truncate(replay.valid_bytes));
  return file->sync();
}

}  // namespace iqdb::storage
