// The sections of an opened snapshot, as the index layer sees them: the one
// adapter from storage::SnapshotReader to index::SectionSource.
//
// Thread-safety: immutable; the reader must outlive it.
#pragma once

#include <cstdint>
#include <span>

#include "index/sections.h"
#include "storage/snapshot_reader.h"

namespace iqdb::db {

class SnapshotSource final : public index::SectionSource {
 public:
  explicit SnapshotSource(const storage::SnapshotReader& reader) : reader_(reader) {}
  // kCorruption naming the kind when the snapshot lacks it.
  Result<std::span<const uint8_t>> bytes(uint32_t kind) const override;
  bool has(uint32_t kind) const override;
  // Maps an uncompressed section in place; copies a decompressed one.
  Status adopt(uint32_t kind, util::Arena& arena) const override;

 private:
  const storage::SnapshotReader& reader_;
};

}  // namespace iqdb::db
