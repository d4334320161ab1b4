// Database::compact: a fresh snapshot on demand, and what it changed.
#include <system_error>

#include "db/database_impl.h"
#include "db/durability.h"
#include "db/stored_shape.h"
#include "storage/snapshot_reader.h"
#include "util/file.h"

namespace iqdb {
namespace {

uint64_t file_bytes_or_zero(const std::filesystem::path& path) {
  std::error_code ec;
  const auto n = std::filesystem::file_size(path, ec);
  return ec ? 0 : uint64_t(n);
}

}  // namespace

Result<CompactReport> DatabaseImpl::compact(const CompactOptions& options) {
  if (closed_.load(std::memory_order_acquire)) return Status::InvalidArgument("the database is closed");
  if (!durability_) return Status::Unsupported("compact: an in-memory database has no files to compact");
  IQDB_RETURN_IF_ERROR(durability_->writable());
  const std::filesystem::path& path = durability_->path();
  const std::filesystem::path wal = util::with_suffix(path, ".wal");
  // Rows are mapped from the snapshot with only its small sections
  // checksummed at open: a damaged byte in a big section would otherwise be
  // written out again under a fresh checksum. Check them all first.
  {
    auto current = storage::SnapshotReader::open(path, storage::VerifyMode::kAll);
    if (!current) {
      return Status(current.status().code(),
                    "the snapshot is damaged; nothing was rewritten: " + std::string(current.status().message()));
    }
  }
  CompactReport report;
  report.snapshot_bytes_before = file_bytes_or_zero(path);
  report.log_bytes_before = file_bytes_or_zero(wal);
  report.compression_before = durability_->compression();
  auto stats = durability_->compact(options.compression);
  if (!stats) return stats.status();
  report.log_records_folded = stats->log_records_folded;
  report.compression_after = durability_->compression();
  report.snapshot_bytes_after = file_bytes_or_zero(path);
  report.log_bytes_after = file_bytes_or_zero(wal);
  auto shape = db::read_stored_shape(path);
  if (!shape) return shape.status();
  report.records = shape->header.record_count;
  return report;
}

}  // namespace iqdb
