#include "cli/snapshot_view.h"

#include <cstring>

#include "cli/cli.h"
#include "db/index_config.h"
#include "util/arena.h"

namespace iqdb::cli {

Result<std::span<const uint8_t>> ReaderSectionSource::bytes(uint32_t kind) const {
  auto b = reader_.bytes(kind);
  if (!b.ok()) return Status::Corruption("snapshot lacks section " + std::to_string(kind));
  return b;
}

bool ReaderSectionSource::has(uint32_t kind) const { return reader_.find(kind) != nullptr; }

Status ReaderSectionSource::adopt(uint32_t kind, util::Arena& arena) const {
  auto range = reader_.file_range(kind);
  if (range.ok()) return arena.adopt_file(range->fd, range->offset, range->length);
  auto b = bytes(kind);
  if (!b.ok()) return b.status();
  IQDB_RETURN_IF_ERROR(arena.grow(b->size()));
  if (!b->empty()) std::memcpy(arena.data(), b->data(), b->size());
  return Status::OK();
}

Result<SnapshotView> open_snapshot_view(const std::filesystem::path& path,
                                        storage::VerifyMode mode) {
  auto reader = storage::SnapshotReader::open(path, mode);
  if (!reader.ok()) return reader.status();
  SnapshotView view;
  view.reader = std::make_unique<storage::SnapshotReader>(std::move(*reader));
  view.source = std::make_unique<ReaderSectionSource>(*view.reader);
  const storage::SnapshotHeader& h = view.reader->header();
  if (h.metric > uint8_t(Metric::kHamming)) {
    return Status::Corruption("header names unknown metric " + std::to_string(h.metric));
  }
  view.dim = h.dim;
  view.metric = static_cast<Metric>(h.metric);
  auto kind = db::decode_index_kind(h.index_config, h.dim);
  if (!kind.ok()) return kind.status();
  view.index = *kind;
  return view;
}

Status load_store(SnapshotView& view) {
  auto store = index::VectorStore::load(view.dim, view.metric, *view.source);
  if (!store.ok()) return store.status();
  view.store = std::make_unique<index::VectorStore>(std::move(*store));
  return Status::OK();
}

RowStorage row_storage_of(const index::VectorStore& store) {
  RowStorage r;
  r.storage = store.storage();
  r.sq8_trained = store.storage().type != StorageType::kSq8 || store.has_codes();
  r.vector_bytes_per_row = store.vector_bytes_per_slot();
  return r;
}

RowStorage read_row_storage(const std::filesystem::path& path) {
  auto view = open_snapshot_view(path, storage::VerifyMode::kSmallSections);
  if (!view.ok()) check(view.status(), path.string(), Exit::kDamaged);
  check(load_store(*view), path.string(), Exit::kDamaged);
  return row_storage_of(*view->store);
}

}  // namespace iqdb::cli
