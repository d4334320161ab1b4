// SnapshotWriter: collects named byte sections and writes them as one
// snapshot file that replaces the old one atomically.
//
//   SnapshotWriter w(header);
//   IQDB_RETURN_IF_ERROR(w.add_section(kVectors, vector_bytes));
//   IQDB_RETURN_IF_ERROR(w.add_section(kGraph, graph_bytes, CodecKind::kZstd, 3));
//   IQDB_RETURN_IF_ERROR(w.write_atomically(path));
//
// Sections are streamed to the file one at a time: an uncompressed section
// is written straight from the caller's memory, a compressed one is
// compressed alone, so peak extra memory is one compressed section. A
// section that does not shrink under its codec is stored uncompressed (and
// so can be mapped in place on open).
//
// Thread-safety: not thread-safe; one thread builds and writes a snapshot.
#pragma once

#include <cstdint>
#include <deque>
#include <filesystem>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "iqdb/status.h"
#include "storage/snapshot.h"

namespace iqdb::storage {

class SnapshotWriter {
 public:
  explicit SnapshotWriter(SnapshotHeader header) : header_(std::move(header)) {}
  // Moving keeps owned sections in place (a deque's elements do not move);
  // copying would leave the copy's spans pointing into this writer.
  SnapshotWriter(SnapshotWriter&&) noexcept = default;
  SnapshotWriter& operator=(SnapshotWriter&&) noexcept = default;
  SnapshotWriter(const SnapshotWriter&) = delete;
  SnapshotWriter& operator=(const SnapshotWriter&) = delete;

  // Adds a section whose bytes the caller keeps alive, unchanged, until
  // write_atomically()/write_to_string() returns. kInvalidArgument for a kind
  // already added or too many sections; kUnsupported for a codec this build
  // lacks.
  Status add_section(uint32_t kind, std::span<const uint8_t> bytes,
                     CodecKind codec = CodecKind::kNone, int level = 0);
  // As add_section, but the writer keeps `bytes`.
  Status add_owned_section(uint32_t kind, std::string bytes, CodecKind codec = CodecKind::kNone,
                           int level = 0);

  // Writes `<path>.tmp`, fsyncs it, renames it over `path` and fsyncs the
  // directory. On failure `path` is untouched and the temp file removed.
  // kInvalidArgument if the index config is too long.
  Status write_atomically(const std::filesystem::path& path) const;

  // The same file image in memory (tests, fuzz seeds).
  Result<std::string> write_to_string() const;

  const SnapshotHeader& header() const noexcept { return header_; }
  size_t section_count() const noexcept { return pending_.size(); }

  // Any byte sink the writer can place bytes into at an offset.
  class Sink {
   public:
    virtual ~Sink() = default;
    virtual Status write_at(uint64_t offset, std::span<const uint8_t> bytes) = 0;
    // The image is complete: make it exactly `file_bytes` long (zero padded).
    virtual Status finish(uint64_t file_bytes) = 0;
  };
  // Lays the snapshot out into `sink`: sections from the first page after
  // the header region, then the header region at offset 0.
  Status write_to(Sink& sink) const;

 private:
  struct Pending {
    uint32_t kind;
    std::span<const uint8_t> bytes;
    CodecKind codec;
    int level;
  };

  SnapshotHeader header_;
  std::vector<Pending> pending_;
  std::deque<std::string> owned_;  // a deque never moves its elements
};

}  // namespace iqdb::storage
