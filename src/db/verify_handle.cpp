// Database::verify: the memory stages over the rows and index the handle
// holds, and the file stages over its snapshot and log on disk.
#include "db/database_impl.h"
#include "db/stored_shape.h"
#include "db/verify.h"
#include "util/file.h"

namespace iqdb {

Result<VerifyReport> DatabaseImpl::verify() const {
  auto pass = gate_.enter();
  if (!pass) return Status::Closed("the database is closed");
  VerifyReport report;
  db::Findings out(report);
  std::unique_ptr<storage::SnapshotReader> reader;
  if (!path_.empty()) reader = db::verify_snapshot(path_, out);
  {
    // A write's index work runs beside the shared lock: hold writes off so
    // the index is checked between writes, not in the middle of one.
    std::lock_guard no_writes(apply_mu_);
    std::shared_lock lock(mutex_);
    // The store holds the log's writes too, so the header's count does not apply.
    if (db::verify_store(contents_->store(), std::nullopt, out)) {
      db::verify_index(config_.index_kind(), contents_->ann(), contents_->store(), out);
    }
  }
  if (path_.empty()) return report;
  const std::filesystem::path wal = util::with_suffix(path_, ".wal");
  VerifyReport log_report;
  db::Findings log_out(log_report);
  db::verify_log(wal, reader ? &reader->header() : nullptr, log_out);
  if (log_report.problems() > 0 && reader) {
    // This handle may have compacted since the snapshot was read: the log
    // then belongs to the new snapshot. Check it against that one.
    auto now = db::read_stored_shape(path_);
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
