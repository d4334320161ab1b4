// The write-ahead log format: a file header naming the database it belongs
// to, then records of
//
//   u32 payload length | u32 CRC32C over (seq, op, payload) | u64 seq | u8 op | payload
//
// all little-endian (FORMAT.md has the byte layout and the recovery rules).
// Storage does not interpret `op` or the payload: the database defines them.
// WalWriter (wal_writer.h) appends; replay_wal (wal_reader.h) reads back.
//
// Thread-safety: pure functions and plain values.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "iqdb/status.h"

namespace iqdb::storage {

inline constexpr char kWalMagic[8] = {'I', 'Q', 'D', 'B', 'W', 'A', 'L', '\0'};
inline constexpr uint32_t kWalFormatVersion = 1;
inline constexpr size_t kWalHeaderBytes = 40;
inline constexpr size_t kWalRecordHeaderBytes = 17;
// The largest payload one record may carry. Larger length fields are
// treated as damage, so a hostile length never drives an allocation.
inline constexpr uint64_t kMaxWalPayloadBytes = uint64_t{1} << 30;

struct WalFileHeader {
  uint64_t identity = 0;   // the database's identity nonce
  uint64_t start_seq = 1;  // every record's sequence number is >= this
};

std::array<uint8_t, kWalHeaderBytes> encode_wal_header(const WalFileHeader& header);

// Checks magic, version, checksum and reserved fields of the first
// kWalHeaderBytes of `bytes` (which must hold that many). kCorruption or, for
// a newer version, kUnsupported.
Result<WalFileHeader> parse_wal_header(std::span<const uint8_t> bytes);

// The checksum stored in a record.
uint32_t wal_record_crc(uint64_t seq, uint8_t op, std::span<const uint8_t> payload);

// Appends one encoded record to `out`. Requires payload.size() <= kMaxWalPayloadBytes.
void append_wal_record(std::string& out, uint64_t seq, uint8_t op,
                       std::span<const uint8_t> payload);

}  // namespace iqdb::storage
