// Shared by the fuzz targets that read snapshot images: recomputes the
// checksums an image's own layout points at, so that mutated inputs reach
// the structural checks behind the checksums instead of failing the first
// one.
#pragma once

#include <cstdint>
#include <vector>

#include "storage/snapshot.h"
#include "util/coding.h"
#include "util/crc32c.h"

namespace iqdb::fuzz {

// Recomputes section checksums for table entries that point inside the
// image, then the header checksum (FORMAT.md gives the offsets).
inline void reseal(std::vector<uint8_t>& b) {
  using namespace iqdb::storage;
  if (b.size() < kSnapshotFixedHeaderBytes) return;
  const uint32_t header_bytes = util::decode_u32(b.data() + 16);
  if (header_bytes < kSnapshotFixedHeaderBytes || header_bytes > b.size()) return;
  const uint32_t config_bytes = util::decode_u32(b.data() + 64);
  const uint32_t count = util::decode_u32(b.data() + 68);
  const uint64_t table = kSnapshotFixedHeaderBytes + uint64_t{config_bytes};
  for (uint64_t i = 0; i < count; ++i) {
    const uint64_t at = table + i * kSnapshotSectionEntryBytes;
    if (!util::range_fits(at, kSnapshotSectionEntryBytes, header_bytes)) break;
    const uint64_t offset = util::decode_u64(b.data() + at + 8);
    const uint64_t stored = util::decode_u64(b.data() + at + 16);
    if (!util::range_fits(offset, stored, b.size())) continue;
    util::encode_u32(b.data() + at + 32, util::crc32c(b.data() + offset, stored));
  }
  uint32_t crc = util::crc32c(b.data(), 12);
  crc = util::crc32c_extend(crc, b.data() + 16, header_bytes - 16);
  util::encode_u32(b.data() + 12, crc);
}

}  // namespace iqdb::fuzz
