// Database::compact: a fresh snapshot on demand, and what it changed.
#include "db/database_impl.h"
#include "db/stored_shape.h"
#include "storage/snapshot_reader.h"
#include "util/file.h"

namespace iqdb {

Result<CompactReport> DatabaseImpl::compact(const CompactOptions& options) {
  auto pass = gate_.enter();
  if (!pass) return Status::Closed("the database is closed");
  if (path_.empty())
    return Status::Unsupported("compact: an in-memory database has no files to compact");
  IQDB_RETURN_IF_ERROR(writable());
  const std::filesystem::path wal = util::with_suffix(path_, ".wal");
  // Rows are mapped from the snapshot with only its small sections
  // checksummed at open: a damaged byte in a big section would otherwise be
  // written out again under a fresh checksum. Check them all first: the
  // scrub finishes what it has not reached (damage it finds is final for
  // the handle, as when a flush finds it), then the file as it is now.
  if (scrub_) IQDB_RETURN_IF_ERROR(scrub_->verify_rest());
  {
    auto current = storage::SnapshotReader::open(path_, storage::VerifyMode::kAll);
    if (!current) {
      return Status(current.status().code(), "the snapshot is damaged; nothing was rewritten: " +
                                                 std::string(current.status().message()));
    }
  }
  CompactReport report;
  report.snapshot_bytes_before = util::file_bytes_or_zero(path_);
  report.log_bytes_before = util::file_bytes_or_zero(wal);
  {
    std::lock_guard l(checkpoint_mu_);
    report.compression_before = snapshot_compression_;
  }
  const uint64_t seq_before = journal_->snapshot_seq();
  IQDB_RETURN_IF_ERROR(checkpoint(true, options.compression));
  report.log_records_folded = journal_->snapshot_seq() - seq_before;
  {
    std::lock_guard l(checkpoint_mu_);
    report.compression_after = snapshot_compression_;
  }
  report.snapshot_bytes_after = util::file_bytes_or_zero(path_);
  report.log_bytes_after = util::file_bytes_or_zero(wal);
  auto shape = db::read_stored_shape(path_);
  if (!shape) return shape.status();
  report.records = shape->header.record_count;
  return report;
}

}  // namespace iqdb
