// SnapshotReader: opens a snapshot file, checks its structure, and hands out
// each section's bytes without copying them.
//
// open() maps the whole file read-only and validates the header region (see
// parse_snapshot_header): nothing a damaged or hostile file says is used
// before it is checked. Uncompressed sections are then used in place from
// the mapping; compressed sections are checksummed, then decompressed into
// memory owned by the reader, bounded by the sizes in the checksummed table.
//
// When checksums are verified (VerifyMode): compressed sections always, on
// open. Uncompressed sections below kSmallSectionBytes on open in either
// mode; larger ones on open only with kAll. A 188 MB vector section costs
// 15-30 ms of CRC32C even from a warm page cache (13 GB/s at best; see
// FORMAT.md) and a full read from disk when cold, which alone breaks a 20 ms
// reopen budget, so by default big in-place sections are left to
// verify(kind) / verify_all(), which the database may run in the
// background or on demand.
//
// Thread-safety: after open() the reader is immutable; all const methods may
// be called from many threads at once.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <vector>

#include "iqdb/status.h"
#include "storage/snapshot.h"
#include "util/file.h"

namespace iqdb::storage {

enum class VerifyMode : uint8_t {
  kSmallSections,  // verify compressed sections and those < kSmallSectionBytes
  kAll,            // verify every section
};

inline constexpr uint64_t kSmallSectionBytes = uint64_t{1} << 20;

// The size below which kSmallSections verifies an uncompressed section on
// open: kSmallSectionBytes unless a test lowers it (to 0, so that small
// files behave like big ones and leave every in-place section unverified).
// Process-wide; read by open()/parse().
uint64_t open_verify_bytes() noexcept;
void set_open_verify_bytes(uint64_t bytes) noexcept;

// Where an uncompressed section lies in the open file, for
// util::Arena::adopt_file(file, offset, length). `offset` is 4 KiB aligned.
// `file` belongs to the reader and stays open as long as it lives.
struct FileRange {
  const util::File* file = nullptr;
  uint64_t offset = 0;
  uint64_t length = 0;
};

class SnapshotReader {
 public:
  // Opens and validates `path`. kNotFound when it does not exist;
  // kCorruption (with the reason) when it is damaged or a checksum verified
  // under `mode` fails; kUnsupported for a newer format or a codec this
  // build lacks; kIOError when the OS fails.
  static Result<SnapshotReader> open(const std::filesystem::path& path,
                                     VerifyMode mode = VerifyMode::kSmallSections);

  // The same checks over an in-memory file image, which must outlive the
  // reader. Sections point into `image`; file_range() is unavailable.
  static Result<SnapshotReader> parse(std::span<const uint8_t> image,
                                      VerifyMode mode = VerifyMode::kSmallSections);

  SnapshotReader(SnapshotReader&&) noexcept = default;
  SnapshotReader& operator=(SnapshotReader&&) noexcept = default;
  SnapshotReader(const SnapshotReader&) = delete;
  SnapshotReader& operator=(const SnapshotReader&) = delete;
  ~SnapshotReader() = default;

  const SnapshotHeader& header() const noexcept { return header_; }
  // The section table, in file order.
  const std::vector<SectionInfo>& sections() const noexcept { return sections_; }
  // The length of the file.
  uint64_t file_bytes() const noexcept { return image_.size(); }

  // The section of `kind`, or nullptr.
  const SectionInfo* find(uint32_t kind) const noexcept;
  // The uncompressed bytes of section `kind`: a view of the mapping, or of
  // the reader's decompressed copy. Valid while the reader lives (moving the
  // reader keeps them valid). kNotFound if there is no such section.
  Result<std::span<const uint8_t>> bytes(uint32_t kind) const;
  // Recomputes the checksum of section `kind`'s stored bytes.
  Status verify(uint32_t kind) const;
  Status verify_all() const;
  // Whether open()/parse() verified section `index` (in sections() order).
  bool verified_on_open(size_t index) const noexcept { return verified_on_open_[index] != 0; }
  // The bytes section `index` has on disk (compressed ones as stored): what
  // its checksum covers.
  std::span<const uint8_t> stored_bytes(size_t index) const noexcept;
  // OK when `crc` is section `index`'s stored checksum; otherwise the
  // kCorruption that verify() gives, naming the section.
  Status check_checksum(size_t index, uint32_t crc) const;
  // The file range of an uncompressed section; kUnsupported for a
  // compressed one or a reader made by parse().
  Result<FileRange> file_range(uint32_t kind) const;
  // A hint that section `kind`'s mapped bytes will not be read soon (they
  // were copied elsewhere): see util::MappedFile::drop_pages. Nothing for a
  // compressed section or a reader made by parse().
  void drop_pages(uint32_t kind) const noexcept;

 private:
  SnapshotReader() = default;
  static Result<SnapshotReader> build(std::span<const uint8_t> image, VerifyMode mode,
                                      SnapshotReader reader);
  Status verify_section(size_t index) const;
  size_t index_of(uint32_t kind) const noexcept;  // sections_.size() if absent

  util::File file_;       // open for file_range(); closed for parse()
  util::MappedFile map_;  // the whole file, read-only
  std::span<const uint8_t> image_;
  SnapshotHeader header_;
  std::vector<SectionInfo> sections_;
  // Per section: its decompressed bytes, or null for in-place sections.
  std::vector<std::unique_ptr<uint8_t[]>> decompressed_;
  std::vector<uint8_t> verified_on_open_;  // per section, 1 when open verified it
};

// Checksums one section's stored bytes a step at a time, so a caller can
// pace the work, interleave it with copying, or abandon it. The reader must
// outlive the verifier.
class SectionVerifier {
 public:
  SectionVerifier(const SnapshotReader& reader, size_t index) noexcept
      : reader_(&reader), index_(index), bytes_(reader.stored_bytes(index)) {}
  // Checksums up to `max_bytes` more bytes; returns how many it did.
  size_t step(size_t max_bytes) noexcept;
  bool done() const noexcept { return done_bytes_ == bytes_.size(); }
  uint64_t done_bytes() const noexcept { return done_bytes_; }
  uint64_t total_bytes() const noexcept { return bytes_.size(); }
  // Requires done(): OK, or kCorruption naming the section.
  Status verdict() const { return reader_->check_checksum(index_, crc_); }

 private:
  const SnapshotReader* reader_;
  size_t index_;
  std::span<const uint8_t> bytes_;
  size_t done_bytes_ = 0;
  uint32_t crc_ = 0;
};

}  // namespace iqdb::storage
