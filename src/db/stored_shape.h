// What a database's snapshot header says, read without the lock and without
// loading a section: enough to open the database with its own shape and to
// describe its files.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "iqdb/config.h"
#include "iqdb/files.h"
#include "iqdb/status.h"
#include "storage/snapshot.h"

namespace iqdb::db {

struct StoredShape {
  size_t dim = 0;
  Metric metric = Metric::kL2;
  IndexKind index;
  // The codec of the compressed sections (none when none is). The header
  // does not record the configured level, so zstd reads as the default.
  Compression compression;
  storage::SnapshotHeader header;
  std::vector<storage::SectionInfo> sections;
  uint64_t file_bytes = 0;
};

// kNotFound when `path` does not exist (kCorruption when its log does),
// kInvalidArgument for a directory, kCorruption for a damaged header,
// kUnsupported for a newer format.
Result<StoredShape> read_stored_shape(const std::filesystem::path& path);

// The public description of each section ("rows", "ids", "hnsw", ...).
std::vector<SnapshotSectionInfo> describe_sections(std::span<const storage::SectionInfo> sections);

// kInvalidArgument-free metric decoding: kCorruption for an unknown value.
Result<Metric> decode_metric(uint8_t value);

}  // namespace iqdb::db
