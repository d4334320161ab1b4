#include "cli/snapshot_recode.h"

#include "storage/snapshot_reader.h"
#include "storage/snapshot_writer.h"

namespace iqdb::cli {

Status recode_snapshot(const std::filesystem::path& path, const Compression& compression) {
  // Verify every section first: damaged bytes must not get fresh checksums.
  auto reader = storage::SnapshotReader::open(path, storage::VerifyMode::kAll);
  if (!reader.ok()) return reader.status();
  storage::SnapshotWriter writer(reader->header());
  for (const storage::SectionInfo& s : reader->sections()) {
    // The bytes stay valid while the reader lives: mapped in place, or its
    // decompressed copy.
    auto bytes = reader->bytes(s.kind);
    if (!bytes.ok()) return bytes.status();
    IQDB_RETURN_IF_ERROR(
        writer.add_section(s.kind, *bytes, compression.kind(), compression.level()));
  }
  return writer.write_atomically(path);
}

}  // namespace iqdb::cli
