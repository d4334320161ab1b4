// Fuzzes the snapshot reader: any byte string must parse to a snapshot whose
// every section can be read and verified, or fail with a Status; never
// crash, hang or over-allocate.
//
// Each input is tried twice: as is, and "resealed" (every checksum the
// input's own layout points at recomputed), so that mutations reach the
// structural checks behind the checksums instead of dying at the first one.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "storage/snapshot_reader.h"
#include "util/coding.h"
#include "util/crc32c.h"

namespace {

using namespace iqdb::storage;
namespace util = iqdb::util;

void exercise(std::span<const uint8_t> image) {
  for (VerifyMode mode : {VerifyMode::kSmallSections, VerifyMode::kAll}) {
    iqdb::Result<SnapshotReader> r = SnapshotReader::parse(image, mode);
    if (!r.ok()) continue;
    (void)r->verify_all();
    volatile uint8_t sink = 0;
    for (const SectionInfo& s : r->sections()) {
      iqdb::Result<std::span<const uint8_t>> bytes = r->bytes(s.kind);
      if (!bytes.ok()) __builtin_trap();  // every listed section must be readable
      if (bytes->size() != s.uncompressed_bytes) __builtin_trap();
      if (s.offset % kSnapshotAlignment != 0) __builtin_trap();
      for (uint8_t b : *bytes) sink = sink ^ b;
    }
    (void)sink;
  }
}

// Recomputes section checksums for table entries that point inside the
// image, then the header checksum (FORMAT.md gives the offsets).
void reseal(std::vector<uint8_t>& b) {
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

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  exercise(std::span<const uint8_t>(data, size));
  std::vector<uint8_t> resealed(data, data + size);
  reseal(resealed);
  exercise(resealed);
  return 0;
}
