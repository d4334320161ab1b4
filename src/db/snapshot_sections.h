// The bridge between a database's contents and the snapshot file: the
// sections of an opened snapshot as the index layer reads them, and the
// header and sections a new snapshot of some contents gets.
//
// Thread-safety: SnapshotSource is read-only over its reader; the rest are
// free functions over contents the caller keeps from changing.
#pragma once

#include <cstdint>
#include <span>

#include "iqdb/status.h"
#include "db/contents.h"
#include "index/sections.h"
#include "storage/snapshot_reader.h"
#include "storage/snapshot_writer.h"

namespace iqdb::db {

// Sections of an opened snapshot, as the index layer sees them:
// uncompressed ones are adopted in place from the file, unless `copy` asks
// for every section to be copied into the arena's own memory
// (Config::load_into_memory).
class SnapshotSource final : public index::SectionSource {
 public:
  explicit SnapshotSource(const storage::SnapshotReader& reader, bool copy = false)
      : reader_(reader), copy_(copy) {}
  Result<std::span<const uint8_t>> bytes(uint32_t kind) const override;
  bool has(uint32_t kind) const override;
  Status adopt(uint32_t kind, util::Arena& arena) const override;

 private:
  const storage::SnapshotReader& reader_;
  bool copy_;
};

// The header of a snapshot of `contents` holding every log record up to
// `wal_sequence`.
storage::SnapshotHeader snapshot_header(const Contents& contents, uint64_t identity,
                                        uint64_t wal_sequence);

// Adds every section of `contents` to `writer`, compressed as its config
// says. The sections view the contents' memory: keep them unchanged until
// the writer has written.
Status add_sections(const Contents& contents, storage::SnapshotWriter& writer);
// The same with sections compressed as `compression` says.
Status add_sections(const Contents& contents, storage::SnapshotWriter& writer,
                    const Compression& compression);
// As add_sections, with every section's bytes copied into the writer: the
// contents may change as soon as it returns (a snapshot written while
// writes go on). Costs one copy of the contents in memory until written.
Status copy_sections(const Contents& contents, storage::SnapshotWriter& writer,
                     const Compression& compression);

}  // namespace iqdb::db
