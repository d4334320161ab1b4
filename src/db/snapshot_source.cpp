#include "db/snapshot_source.h"

#include <cstring>
#include <string>

namespace iqdb::db {

Result<std::span<const uint8_t>> SnapshotSource::bytes(uint32_t kind) const {
  auto b = reader_.bytes(kind);
  if (!b) return Status::Corruption("snapshot lacks section " + std::to_string(kind));
  return b;
}

bool SnapshotSource::has(uint32_t kind) const { return reader_.find(kind) != nullptr; }

Status SnapshotSource::adopt(uint32_t kind, util::Arena& arena) const {
  auto range = reader_.file_range(kind);
  if (range) return arena.adopt_file(range->fd, range->offset, range->length);
  auto b = bytes(kind);
  if (!b) return b.status();
  IQDB_RETURN_IF_ERROR(arena.grow(b->size()));
  if (!b->empty()) std::memcpy(arena.data(), b->data(), b->size());
  return Status::OK();
}

}  // namespace iqdb::db
