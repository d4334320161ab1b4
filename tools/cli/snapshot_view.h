// A read-only look inside a database's snapshot, below the public API: the
// storage reader, the vector store and the index, loaded the way the
// database loads them but without taking the lock, replaying the log or
// writing anything. `iqdb check` verifies them; `iqdb bench` scans the
// store for exact ground truth.
//
// This is the one part of the tool that links the library's internals.
#pragma once

#include <filesystem>
#include <memory>

#include "index/ann_index.h"
#include "index/sections.h"
#include "index/vector_store.h"
#include "iqdb/config.h"
#include "storage/snapshot_reader.h"

namespace iqdb::cli {

// Hands the sections of an open SnapshotReader to the index layer, mapping
// uncompressed ones in place as the database does.
class ReaderSectionSource final : public index::SectionSource {
 public:
  explicit ReaderSectionSource(const storage::SnapshotReader& reader) : reader_(reader) {}
  Result<std::span<const uint8_t>> bytes(uint32_t kind) const override;
  bool has(uint32_t kind) const override;
  Status adopt(uint32_t kind, util::Arena& arena) const override;

 private:
  const storage::SnapshotReader& reader_;
};

struct SnapshotView {
  std::unique_ptr<storage::SnapshotReader> reader;
  std::unique_ptr<ReaderSectionSource> source;
  size_t dim = 0;
  Metric metric = Metric::kL2;
  IndexKind index;
  std::unique_ptr<index::VectorStore> store;  // null until load_store
};

// Opens the snapshot (checksums verified per `mode`) and decodes its header.
Result<SnapshotView> open_snapshot_view(const std::filesystem::path& path,
                                        storage::VerifyMode mode);

// Loads the vector store from the view's sections.
Status load_store(SnapshotView& view);

// How a store keeps its rows, as `iqdb info` and `iqdb create` report it.
struct RowStorage {
  VectorStorage storage;
  bool sq8_trained = true;          // SQ8: codes exist (false until enough rows)
  size_t vector_bytes_per_row = 0;  // rows, codes and norms, with padding
};
RowStorage row_storage_of(const index::VectorStore& store);

// The row storage recorded in the snapshot at `path`, read without the lock
// (loads the store, mapping rows in place). Throws CliError: kNotFound
// without a snapshot, kDamaged when it does not load.
RowStorage read_row_storage(const std::filesystem::path& path);

}  // namespace iqdb::cli
