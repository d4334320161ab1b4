// Fuzzes WAL replay: any byte string must replay to a run of records with
// strictly increasing sequence numbers inside the input, or fail with a
// Status; never crash, hang or allocate by a length field.
//
// Each input is tried as is and "resealed" (header and record checksums
// recomputed along the input's own record chain), so mutations reach the
// sequence and framing rules behind the checksums.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "storage/wal_reader.h"
#include "util/coding.h"
#include "util/crc32c.h"

namespace {

using namespace iqdb::storage;
namespace util = iqdb::util;

// The identity the seed corpus was written with (fuzz/make_corpus.cpp).
constexpr uint64_t kFuzzIdentity = 0xF0220F0220F0220Full;

void exercise(std::span<const uint8_t> image) {
  for (uint64_t after : {uint64_t{0}, uint64_t{3}}) {
    uint64_t last = 0;
    iqdb::Result<WalReplayResult> r = replay_wal_bytes(
        image, kFuzzIdentity, after, [&](uint64_t seq, uint8_t, std::span<const uint8_t> payload) {
          if (seq <= last || seq <= after) __builtin_trap();
          if (payload.data() < image.data() ||
              payload.data() + payload.size() > image.data() + image.size()) {
            __builtin_trap();
          }
          last = seq;
          return iqdb::Status::OK();
        });
    if (r.ok() && (r->valid_bytes > image.size() || r->next_seq <= r->last_seq)) __builtin_trap();
  }
}

void reseal(std::vector<uint8_t>& b) {
  if (b.size() < kWalHeaderBytes) return;
  util::encode_u32(b.data() + 36, util::crc32c(b.data(), 36));
  size_t pos = kWalHeaderBytes;
  while (b.size() - pos >= kWalRecordHeaderBytes) {
    const uint32_t length = util::decode_u32(b.data() + pos);
    if (length > b.size() - pos - kWalRecordHeaderBytes) break;
    const uint64_t seq = util::decode_u64(b.data() + pos + 8);
    const uint8_t op = b[pos + 16];
    util::encode_u32(
        b.data() + pos + 4,
        wal_record_crc(seq, op, std::span(b.data() + pos + kWalRecordHeaderBytes, length)));
    pos += kWalRecordHeaderBytes + length;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  exercise(std::span<const uint8_t>(data, size));
  std::vector<uint8_t> resealed(data, data + size);
  reseal(resealed);
  exercise(resealed);
  return 0;
}
