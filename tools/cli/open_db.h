// Opening an existing database from the command line, where the user names
// only its path: the dimension, metric and index are read from the snapshot
// header first, then the database is opened through the public API with
// them.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "iqdb/iqdb.hpp"

namespace iqdb::cli {

// What a database's files say, read without loading it.
struct StoredShape {
  size_t dim = 0;
  Metric metric = Metric::kL2;
  IndexKind index;
  // The codec of the compressed sections, if any. The library does not
  // store the configured compression, so this is inferred: a database
  // configured with zstd whose sections did not shrink reads as none.
  Compression compression;
  uint64_t snapshot_records = 0;  // records in the snapshot (the log may add more)
  uint64_t snapshot_bytes = 0;
  uint64_t wal_bytes = 0;  // 0 when there is no log
  uint32_t sections = 0;
};

// Reads the snapshot header of `path` (mapping the file; no section is
// read). Throws CliError: kNotFound when there is no database, kDamaged
// when the header is damaged, kUnsupported for a newer format.
StoredShape read_stored_shape(const std::filesystem::path& path);

struct OpenOptions {
  std::optional<Compression> compression;  // nullopt: keep what the files show
  FsyncPolicy fsync = FsyncPolicy::always();
};

// Opens the existing database at `path`. Throws CliError (kBusy when
// another process holds it, kDamaged, ...).
Database open_existing(const std::filesystem::path& path, const StoredShape& shape,
                       const OpenOptions& options = {});

// "none", "zstd", "zstd:LEVEL", "lz4".
Compression parse_compression(std::string_view text);
std::string compression_text(const Compression& c);
// "always", "never", "periodic:MS".
FsyncPolicy parse_fsync(std::string_view text);
Metric parse_metric_arg(std::string_view text);

// "f32", "f16", "bf16", "sq8" or "u8" (--storage); kInvalidArgument text
// otherwise.
StorageType parse_storage_arg(std::string_view text);

// "hnsw (m=16, ef_construction=200, ef_search=64, seed=24301)".
std::string describe_index(const IndexKind& kind);
// "f16 (lossy, 2 bytes a value)", "sq8 + f32 rows (...)". `sq8_trained`
// matters only for SQ8.
std::string describe_storage(const VectorStorage& storage, bool sq8_trained = true);

// `path` with `suffix` appended ("db" -> "db.wal").
std::filesystem::path sibling(const std::filesystem::path& path, std::string_view suffix);
uint64_t file_bytes_or_zero(const std::filesystem::path& path);

}  // namespace iqdb::cli
