// The snapshot file format: its header, its section table, and the functions
// that encode and parse them. The layout is documented byte by byte in
// FORMAT.md; SnapshotWriter and SnapshotReader (snapshot_writer.h,
// snapshot_reader.h) do the I/O around it.
//
// Storage does not know what a section holds: a section is a kind number the
// database chooses and a run of bytes. The header carries the few facts the
// database must check before it trusts anything else (dim, metric, how many
// records, which WAL sequence the snapshot covers) and an opaque index
// configuration blob.
//
// Thread-safety: plain values and pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "iqdb/status.h"
#include "storage/codec.h"

namespace iqdb::storage {

// Every section starts at a multiple of this, and the file length is one, so
// an uncompressed section can be mapped in place (Arena::adopt_file) and the
// mapping of its last page never runs past the end of the file.
inline constexpr uint64_t kSnapshotAlignment = 4096;
inline constexpr uint32_t kSnapshotFormatVersion = 1;
inline constexpr char kSnapshotMagic[8] = {'I', 'Q', 'D', 'B', 'S', 'N', 'A', 'P'};
inline constexpr size_t kMaxIndexConfigBytes = 4096;
inline constexpr size_t kMaxSnapshotSections = 4096;
inline constexpr size_t kSnapshotFixedHeaderBytes = 72;
inline constexpr size_t kSnapshotSectionEntryBytes = 40;

struct SnapshotHeader {
  uint32_t dim = 0;
  uint8_t metric = 0;  // the database's Metric value; opaque here
  uint64_t record_count = 0;
  uint64_t wal_sequence = 0;  // the last WAL sequence number the snapshot includes
  uint64_t identity = 0;      // the database's identity nonce (the WAL carries it too)
  std::string index_config;   // opaque, at most kMaxIndexConfigBytes

  friend bool operator==(const SnapshotHeader&, const SnapshotHeader&) = default;
};

// One entry of the section table.
struct SectionInfo {
  uint32_t kind = 0;  // chosen by the database; unique per file
  CodecKind codec = CodecKind::kNone;
  uint64_t offset = 0;              // file offset, a multiple of kSnapshotAlignment
  uint64_t stored_bytes = 0;        // bytes in the file
  uint64_t uncompressed_bytes = 0;  // == stored_bytes when codec is kNone
  uint32_t crc32c = 0;              // of the stored bytes
};

// What the header region of a file says, after parse_snapshot_header has
// checked it.
struct ParsedSnapshotHeader {
  SnapshotHeader header;
  std::vector<SectionInfo> sections;  // in file order, non-overlapping
  uint64_t header_bytes = 0;          // fixed header + index config + table
  uint64_t file_bytes = 0;            // recorded (and actual) file length
};

inline constexpr uint64_t align_to_snapshot_page(uint64_t n) noexcept {
  return (n + kSnapshotAlignment - 1) / kSnapshotAlignment * kSnapshotAlignment;
}

// Bytes of the header region for a config of `config_bytes` and `sections`
// sections. Sections start at align_to_snapshot_page(this).
inline constexpr uint64_t snapshot_header_bytes(size_t config_bytes, size_t sections) noexcept {
  return kSnapshotFixedHeaderBytes + config_bytes + kSnapshotSectionEntryBytes * sections;
}

// Encodes the header region (with its checksum). Requires the limits above
// to hold; the writer checks them.
std::string encode_snapshot_header(const SnapshotHeader& header,
                                   std::span<const SectionInfo> sections, uint64_t file_bytes);

// Checks and decodes the header region of the snapshot `image` (the whole
// file): magic, version, checksum, every limit, and that the table describes
// aligned, non-overlapping sections that lie inside the file, whose length
// must equal the recorded one. Section contents are not read.
// kCorruption with a specific message; kUnsupported for a newer version.
Result<ParsedSnapshotHeader> parse_snapshot_header(std::span<const uint8_t> image);

}  // namespace iqdb::storage
