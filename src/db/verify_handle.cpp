// Database::verify: the memory stages over the rows and index the handle
// holds, and the file stages over its snapshot and log on disk.
#include "db/database_impl.h"
#include "db/durability.h"
#include "db/stored_shape.h"
#include "db/verify.h"
#include "util/file.h"

namespace iqdb {

Result<VerifyReport> DatabaseImpl::verify() const {
  if (closed_.load(std::memory_order_acquire)) return Status::InvalidArgument("the database is closed");
  VerifyReport report;
  db::Findings out(report);
  std::unique_ptr<storage::SnapshotReader> reader;
  if (durability_) reader = db::verify_snapshot(durability_->path(), out);
  {
    std::shared_lock lock(mutex_);
    // The store holds the log's writes too, so the header's count does not apply.
    if (db::verify_store(store_, std::nullopt, out)) {
      db::verify_index(config_.index_kind(), ann_.get(), store_, out);
    }
  }
  if (!durability_) return report;
  const std::filesystem::path wal = util::with_suffix(durability_->path(), ".wal");
  VerifyReport log_report;
  db::Findings log_out(log_report);
  db::verify_log(wal, reader ? &reader->header() : nullptr, log_out);
  if (log_report.problems() > 0 && reader) {
    // This handle may have compacted since the snapshot was read: the log
    // then belongs to the new snapshot. Check it against that one.
    auto now = db::read_stored_shape(durability_->path());
    if (now && now->header.wal_sequence != reader->header().wal_sequence) {
      log_report = VerifyReport();
      db::verify_log(wal, &now->header, log_out);
    }
  }
  for (auto& f : log_report.findings) report.findings.push_back(std::move(f));
  report.log_records = log_report.log_records;
  report.log_records_newer = log_report.log_records_newer;
  report.torn_tail_bytes = log_report.torn_tail_bytes;
  return report;
}

}  // namespace iqdb
