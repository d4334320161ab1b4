#include "db/stored_shape.h"

#include <system_error>

#include "db/index_config.h"
#include "index/sections.h"
#include "util/file.h"

namespace iqdb::db {
namespace {

// Names for the kinds the vector store and the indices write (their
// layouts: FORMAT.md, "Section payloads").
std::string section_name(uint32_t kind) {
  namespace s = index::section;
  switch (kind) {
    case s::kStoreInfo: return "store_info";
    case s::kRows: return "rows";
    case s::kInvNorms: return "inv_norms";
    case s::kIds: return "ids";
    case s::kMetadata: return "metadata";
    case s::kSlots: return "slots";
    case s::kSqNorms: return "sq_norms";
    case s::kCodes: return "codes";
    case s::kPayloadIndex: return "payload_index";
    case s::kSq8Params: return "sq8_params";
    default: break;
  }
  static const char* const kHnsw[] = {"hnsw_header", "hnsw_level0", "hnsw_nodes",
                                      "hnsw_upper",  "hnsw_codes",  "hnsw_radii"};
  static const char* const kIvf[] = {"ivf_header", "ivf_centroids", "ivf_codebooks",
                                     "ivf_sizes",  "ivf_slots",     "ivf_payloads"};
  if (kind >= s::kHnswFirst && kind < s::kHnswFirst + 6) return kHnsw[kind - s::kHnswFirst];
  if (kind >= s::kIvfFirst && kind < s::kIvfFirst + 6) return kIvf[kind - s::kIvfFirst];
  return "section_" + std::to_string(kind);
}

}  // namespace

Result<Metric> decode_metric(uint8_t value) {
  if (value > static_cast<uint8_t>(Metric::kHamming)) {
    return Status::Corruption("header names unknown metric " + std::to_string(value));
  }
  return static_cast<Metric>(value);
}

Result<StoredShape> read_stored_shape(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    if (std::filesystem::exists(util::with_suffix(path, ".wal"), ec)) {
      return Status::Corruption("no snapshot at " + path.string() + " but its log " +
                                path.string() + ".wal exists");
    }
    return Status::NotFound("no database at " + path.string());
  }
  if (std::filesystem::is_directory(path, ec)) {
    return Status::InvalidArgument(path.string() + " is a directory, not a database");
  }
  auto file = util::File::open(path, util::File::Mode::kReadOnly);
  if (!file) return file.status();
  auto map = util::MappedFile::map(*file);
  if (!map) return map.status();
  auto parsed = storage::parse_snapshot_header(map->bytes());
  if (!parsed) {
    return Status(parsed.status().code(), path.string() + " is not a readable iqdb database: " +
                                              std::string(parsed.status().message()));
  }
  StoredShape shape;
  shape.header = parsed->header;
  shape.sections = parsed->sections;
  shape.file_bytes = map->size();
  shape.dim = shape.header.dim;
  auto metric = decode_metric(shape.header.metric);
  if (!metric)
    return Status::Corruption(path.string() + ": " + std::string(metric.status().message()));
  shape.metric = *metric;
  auto kind = decode_index_kind(shape.header.index_config, shape.dim);
  if (!kind) return Status::Corruption(path.string() + ": " + std::string(kind.status().message()));
  shape.index = *kind;
  for (const storage::SectionInfo& s : shape.sections) {
    if (s.codec == Compression::Kind::kZstd) shape.compression = Compression::zstd();
    if (s.codec == Compression::Kind::kLz4) shape.compression = Compression::lz4();
  }
  return shape;
}

std::vector<SnapshotSectionInfo> describe_sections(std::span<const storage::SectionInfo> sections) {
  std::vector<SnapshotSectionInfo> out;
  out.reserve(sections.size());
  for (const storage::SectionInfo& s : sections) {
    SnapshotSectionInfo info;
    info.id = s.kind;
    info.kind = section_name(s.kind);
    info.bytes = s.uncompressed_bytes;
    info.stored_bytes = s.stored_bytes;
    info.codec = s.codec;
    info.compressed = s.codec != Compression::Kind::kNone;
    out.push_back(std::move(info));
  }
  return out;
}

}  // namespace iqdb::db
