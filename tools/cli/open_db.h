// Opening an existing database from the command line, where the user names
// only its path: the library reads the shape from the file.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "iqdb/iqdb.hpp"

namespace iqdb::cli {

// What a database's files say (iqdb::inspect: no lock, nothing replayed).
// Throws CliError: kNotFound when there is no database, kDamaged when its
// header is damaged (or its log lacks a snapshot), kUnsupported for a newer
// format, kUsage for a directory.
DatabaseInfo read_shape(const std::filesystem::path& path);

struct OpenArgs {
  bool read_only = false;
  std::optional<Compression> compression;  // nullopt: keep what the file uses
  FsyncPolicy fsync = FsyncPolicy::always();
};

// Opens the existing database at `path` with the shape the file records.
// Throws CliError (kBusy when another process holds it, kDamaged, ...).
Database open_existing(const std::filesystem::path& path, const OpenArgs& args = {});

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
