#include "storage/wal.h"

#include <cstring>

#include "util/coding.h"
#include "util/crc32c.h"

namespace iqdb::storage {
namespace {
// Byte offsets in the file header (FORMAT.md, "WAL file header").
constexpr size_t kOffVersion = 8;
constexpr size_t kOffFlags = 12;
constexpr size_t kOffIdentity = 16;
constexpr size_t kOffStartSeq = 24;
constexpr size_t kOffReserved = 32;
constexpr size_t kOffCrc = 36;
}  // namespace

std::array<uint8_t, kWalHeaderBytes> encode_wal_header(const WalFileHeader& header) {
  std::array<uint8_t, kWalHeaderBytes> out{};
  std::memcpy(out.data(), kWalMagic, sizeof kWalMagic);
  util::encode_u32(out.data() + kOffVersion, kWalFormatVersion);
  util::encode_u32(out.data() + kOffFlags, 0);
  util::encode_u64(out.data() + kOffIdentity, header.identity);
  util::encode_u64(out.data() + kOffStartSeq, header.start_seq);
  util::encode_u32(out.data() + kOffReserved, 0);
  util::encode_u32(out.data() + kOffCrc, util::crc32c(out.data(), kOffCrc));
  return out;
}

Result<WalFileHeader> parse_wal_header(std::span<const uint8_t> bytes) {
  if (bytes.size() < kWalHeaderBytes) return Status::Corruption("WAL: header truncated");
  if (std::memcmp(bytes.data(), kWalMagic, sizeof kWalMagic) != 0) {
    return Status::Corruption("WAL: bad magic: not an iqdb write-ahead log");
  }
  if (util::crc32c(bytes.data(), kOffCrc) != util::decode_u32(bytes.data() + kOffCrc)) {
    return Status::Corruption("WAL: header checksum mismatch");
  }
  const uint32_t version = util::decode_u32(bytes.data() + kOffVersion);
  if (version > kWalFormatVersion) {
    return Status::Unsupported("WAL format version " + std::to_string(version) +
                               " is newer than this build reads (" +
                               std::to_string(kWalFormatVersion) + ")");
  }
  if (version != kWalFormatVersion) {
    return Status::Corruption("WAL: unknown format version " + std::to_string(version));
  }
  if (util::decode_u32(bytes.data() + kOffFlags) != 0 ||
      util::decode_u32(bytes.data() + kOffReserved) != 0) {
    return Status::Corruption("WAL: unknown header flags or reserved bytes set");
  }
  WalFileHeader h;
  h.identity = util::decode_u64(bytes.data() + kOffIdentity);
  h.start_seq = util::decode_u64(bytes.data() + kOffStartSeq);
  if (h.start_seq == 0) return Status::Corruption("WAL: start sequence 0 (sequences start at 1)");
  return h;
}

uint32_t wal_record_crc(uint64_t seq, uint8_t op, std::span<const uint8_t> payload) {
  uint8_t prefix[9];
  util::encode_u64(prefix, seq);
  prefix[8] = op;
  return util::crc32c_extend(util::crc32c(prefix, sizeof prefix), payload.data(), payload.size());
}

void append_wal_record(std::string& out, uint64_t seq, uint8_t op,
                       std::span<const uint8_t> payload) {
  util::put_u32(out, static_cast<uint32_t>(payload.size()));
  util::put_u32(out, wal_record_crc(seq, op, payload));
  util::put_u64(out, seq);
  util::put_u8(out, op);
  util::put_bytes(out, payload);
}

}  // namespace iqdb::storage
