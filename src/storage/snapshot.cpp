#include "storage/snapshot.h"

#include <algorithm>
#include <cstring>

#include "util/coding.h"
#include "util/crc32c.h"

namespace iqdb::storage {
namespace {

// Byte offsets in the fixed header (FORMAT.md, "Snapshot header").
constexpr size_t kOffVersion = 8;
constexpr size_t kOffHeaderCrc = 12;
constexpr size_t kOffHeaderBytes = 16;
constexpr size_t kOffFlags = 20;
constexpr size_t kOffFileBytes = 24;
constexpr size_t kOffIdentity = 32;
constexpr size_t kOffRecordCount = 40;
constexpr size_t kOffWalSequence = 48;
constexpr size_t kOffDim = 56;
constexpr size_t kOffMetric = 60;
constexpr size_t kOffReserved = 61;
constexpr size_t kOffConfigBytes = 64;
constexpr size_t kOffSectionCount = 68;

// The checksum covers everything in the header region but itself.
uint32_t header_checksum(std::span<const uint8_t> region) {
  uint32_t crc = util::crc32c(region.data(), kOffHeaderCrc);
  return util::crc32c_extend(crc, region.data() + kOffHeaderBytes, region.size() - kOffHeaderBytes);
}

// The most a section's stored bytes can expand to under `codec`, bounding the
// allocation a well-checksummed but hostile header can ask for. zstd's
// densest encoding is an RLE block (4 bytes -> 128 KiB); LZ4 emits at most
// 255 bytes per input byte.
uint64_t max_expansion(CodecKind codec, uint64_t stored) {
  const uint64_t ratio = codec == CodecKind::kZstd ? 32768 : codec == CodecKind::kLz4 ? 256 : 1;
  if (stored > (UINT64_MAX - (uint64_t{1} << 17)) / ratio) return UINT64_MAX;
  return stored * ratio + (codec == CodecKind::kNone ? 0 : uint64_t{1} << 17);
}

Status corrupt(std::string_view what) {
  return Status::Corruption("snapshot: " + std::string(what));
}

}  // namespace

std::string encode_snapshot_header(const SnapshotHeader& header,
                                   std::span<const SectionInfo> sections, uint64_t file_bytes) {
  std::string out;
  out.reserve(snapshot_header_bytes(header.index_config.size(), sections.size()));
  out.append(kSnapshotMagic, sizeof kSnapshotMagic);
  util::put_u32(out, kSnapshotFormatVersion);
  util::put_u32(out, 0);  // checksum, filled in below
  util::put_u32(out, static_cast<uint32_t>(
                         snapshot_header_bytes(header.index_config.size(), sections.size())));
  util::put_u32(out, 0);  // flags
  util::put_u64(out, file_bytes);
  util::put_u64(out, header.identity);
  util::put_u64(out, header.record_count);
  util::put_u64(out, header.wal_sequence);
  util::put_u32(out, header.dim);
  util::put_u8(out, header.metric);
  out.append(3, '\0');
  util::put_u32(out, static_cast<uint32_t>(header.index_config.size()));
  util::put_u32(out, static_cast<uint32_t>(sections.size()));
  out += header.index_config;
  for (const SectionInfo& s : sections) {
    util::put_u32(out, s.kind);
    util::put_u8(out, static_cast<uint8_t>(s.codec));
    out.append(3, '\0');
    util::put_u64(out, s.offset);
    util::put_u64(out, s.stored_bytes);
    util::put_u64(out, s.uncompressed_bytes);
    util::put_u32(out, s.crc32c);
    util::put_u32(out, 0);
  }
  auto* bytes = reinterpret_cast<uint8_t*>(out.data());
  util::encode_u32(bytes + kOffHeaderCrc, header_checksum(util::as_bytes(out)));
  return out;
}

Result<ParsedSnapshotHeader> parse_snapshot_header(std::span<const uint8_t> image) {
  if (image.size() < kOffHeaderBytes + 4) {
    return corrupt("file too small to be a snapshot (" + std::to_string(image.size()) + " bytes)");
  }
  if (std::memcmp(image.data(), kSnapshotMagic, sizeof kSnapshotMagic) != 0) {
    return corrupt("bad magic: not an iqdb snapshot");
  }
  const uint32_t header_bytes = util::decode_u32(image.data() + kOffHeaderBytes);
  constexpr uint64_t kMaxHeader = snapshot_header_bytes(kMaxIndexConfigBytes, kMaxSnapshotSections);
  if (header_bytes < kSnapshotFixedHeaderBytes || header_bytes > kMaxHeader ||
      header_bytes > image.size()) {
    return corrupt("header length " + std::to_string(header_bytes) + " is impossible for a " +
                   std::to_string(image.size()) + "-byte file");
  }
  const std::span<const uint8_t> region = image.first(header_bytes);
  if (header_checksum(region) != util::decode_u32(region.data() + kOffHeaderCrc)) {
    return corrupt("header checksum mismatch");
  }
  const uint32_t version = util::decode_u32(region.data() + kOffVersion);
  if (version > kSnapshotFormatVersion) {
    return Status::Unsupported("snapshot format version " + std::to_string(version) +
                               " is newer than this build reads (" +
                               std::to_string(kSnapshotFormatVersion) + ")");
  }
  if (version != kSnapshotFormatVersion) {
    return corrupt("unknown format version " + std::to_string(version));
  }
  if (util::decode_u32(region.data() + kOffFlags) != 0) return corrupt("unknown header flags");
  if (region[kOffReserved] != 0 || region[kOffReserved + 1] != 0 || region[kOffReserved + 2] != 0) {
    return corrupt("reserved header bytes are not zero");
  }

  ParsedSnapshotHeader out;
  out.header_bytes = header_bytes;
  out.file_bytes = util::decode_u64(region.data() + kOffFileBytes);
  SnapshotHeader& h = out.header;
  h.identity = util::decode_u64(region.data() + kOffIdentity);
  h.record_count = util::decode_u64(region.data() + kOffRecordCount);
  h.wal_sequence = util::decode_u64(region.data() + kOffWalSequence);
  h.dim = util::decode_u32(region.data() + kOffDim);
  h.metric = region[kOffMetric];
  const uint32_t config_bytes = util::decode_u32(region.data() + kOffConfigBytes);
  const uint32_t section_count = util::decode_u32(region.data() + kOffSectionCount);
  if (config_bytes > kMaxIndexConfigBytes) {
    return corrupt("index config of " + std::to_string(config_bytes) + " bytes exceeds the limit");
  }
  if (section_count > kMaxSnapshotSections) {
    return corrupt(std::to_string(section_count) + " sections exceed the limit");
  }
  if (snapshot_header_bytes(config_bytes, section_count) != header_bytes) {
    return corrupt("header length does not match its index config and section count");
  }
  if (out.file_bytes != image.size()) {
    return corrupt("file is " + std::to_string(image.size()) + " bytes but its header says " +
                   std::to_string(out.file_bytes) + " (truncated or extended)");
  }
  if (out.file_bytes % kSnapshotAlignment != 0) return corrupt("file length is not page aligned");

  util::ByteReader in(region.subspan(kSnapshotFixedHeaderBytes));
  std::span<const uint8_t> config;
  if (!in.read_bytes(config_bytes, &config)) return in.overrun("snapshot index config");
  h.index_config.assign(util::as_chars(config));

  const uint64_t data_start = align_to_snapshot_page(header_bytes);
  uint64_t prev_end = data_start;
  out.sections.reserve(section_count);
  for (uint32_t i = 0; i < section_count; ++i) {
    const std::string which = "section " + std::to_string(i);
    SectionInfo s;
    uint8_t codec_byte = 0, pad8 = 0;
    uint16_t pad16 = 0;
    uint32_t pad32 = 0;
    if (!in.read_u32(&s.kind) || !in.read_u8(&codec_byte) || !in.read_u8(&pad8) ||
        !in.read_u16(&pad16) || !in.read_u64(&s.offset) || !in.read_u64(&s.stored_bytes) ||
        !in.read_u64(&s.uncompressed_bytes) || !in.read_u32(&s.crc32c) || !in.read_u32(&pad32)) {
      return in.overrun("snapshot section table");
    }
    if (pad8 != 0 || pad16 != 0 || pad32 != 0) return corrupt(which + ": reserved bytes not zero");
    std::optional<CodecKind> codec = codec_from_byte(codec_byte);
    if (!codec) return corrupt(which + ": unknown codec " + std::to_string(codec_byte));
    s.codec = *codec;
    if (s.offset % kSnapshotAlignment != 0) return corrupt(which + ": offset not page aligned");
    if (s.offset < prev_end)
      return corrupt(which + ": overlaps the header or the previous section");
    if (!util::range_fits(s.offset, s.stored_bytes, out.file_bytes)) {
      return corrupt(which + ": extends past the end of the file");
    }
    if (s.codec == CodecKind::kNone && s.uncompressed_bytes != s.stored_bytes) {
      return corrupt(which + ": uncompressed section with two different lengths");
    }
    if (s.uncompressed_bytes > max_expansion(s.codec, s.stored_bytes)) {
      return corrupt(which + ": claims an impossible " + std::to_string(s.uncompressed_bytes) +
                     " bytes from " + std::to_string(s.stored_bytes) + " compressed");
    }
    prev_end = s.offset + s.stored_bytes;
    out.sections.push_back(s);
  }
  if (align_to_snapshot_page(prev_end) != out.file_bytes) {
    return corrupt("file length does not end at the last section's page");
  }
  std::vector<uint32_t> kinds;
  kinds.reserve(out.sections.size());
  for (const SectionInfo& s : out.sections) kinds.push_back(s.kind);
  std::sort(kinds.begin(), kinds.end());
  if (std::adjacent_find(kinds.begin(), kinds.end()) != kinds.end()) {
    return corrupt("two sections share a kind");
  }
  return out;
}

}  // namespace iqdb::storage
