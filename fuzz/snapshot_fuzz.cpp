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

#include "reseal.h"
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

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  exercise(std::span<const uint8_t>(data, size));
  std::vector<uint8_t> resealed(data, data + size);
  iqdb::fuzz::reseal(resealed);
  exercise(resealed);
  return 0;
}
