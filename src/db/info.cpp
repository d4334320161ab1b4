// Database::info and inspect(path): what a database is and what its files
// hold.
#include <system_error>

#include "db/database_impl.h"
#include "db/snapshot_sections.h"
#include "db/stored_shape.h"
#include "db/verify.h"
#include "iqdb/simd.h"
#include "iqdb/version.h"
#include "storage/snapshot_reader.h"
#include "storage/wal.h"
#include "storage/wal_reader.h"
#include "util/file.h"

namespace iqdb {
namespace {

void describe_store(const index::VectorStore& store, DatabaseInfo& info) {
  info.storage = store.storage();
  info.sq8_trained = store.storage().type != StorageType::kSq8 || store.has_codes();
  info.vector_bytes_per_row = store.vector_bytes_per_slot();
  info.indexed_fields = store.payload().declared_fields();
}

// What the files at `path` say beside the records: sections, sizes, versions.
Status describe_files(const std::filesystem::path& path, DatabaseInfo& info) {
  auto shape = db::read_stored_shape(path);
  if (!shape) return shape.status();
  info.path = path;
  info.sections = db::describe_sections(shape->sections);
  info.snapshot_bytes = shape->file_bytes;
  info.format_version = storage::kSnapshotFormatVersion;
  const std::filesystem::path wal = util::with_suffix(path, ".wal");
  info.log_bytes = util::file_bytes_or_zero(wal);
  std::error_code ec;
  if (std::filesystem::exists(wal, ec)) info.log_format_version = storage::kWalFormatVersion;
  return Status::OK();
}

}  // namespace

Result<DatabaseInfo> DatabaseImpl::info() const {
  auto pass = gate_.enter();
  if (!pass) return Status::Closed("the database is closed");
  DatabaseInfo info;
  info.simd_target = simd_target();
  info.library_version = version();
  if (!path_.empty()) {
    IQDB_RETURN_IF_ERROR(describe_files(path_, info));
    info.read_only = read_only_;
    {
      std::lock_guard l(checkpoint_mu_);
      info.compression = snapshot_compression_;
    }
    const uint64_t last = db::Journal::AppendHold(*journal_).last_seq();
    const uint64_t in_snapshot = journal_->snapshot_seq();
    info.log_records = last > in_snapshot ? last - in_snapshot : 0;
  } else {
    info.in_memory = true;
  }
  std::shared_lock lock(mutex_);
  info.dim = config_.dim();
  info.metric = config_.metric();
  info.index = config_.index_kind();
  info.records = contents_->store().size();
  info.write_threads = write_limit_.threads();
  info.load_into_memory = !info.in_memory && config_.load_into_memory();
  describe_store(contents_->store(), info);
  if (scrub_) info.integrity = scrub_->integrity();
  return info;
}

Result<DatabaseInfo> inspect_files(const std::filesystem::path& path) {
  auto shape = db::read_stored_shape(path);
  if (!shape) return shape.status();
  DatabaseInfo info;
  info.simd_target = simd_target();
  info.library_version = version();
  IQDB_RETURN_IF_ERROR(describe_files(path, info));
  info.dim = shape->dim;
  info.metric = shape->metric;
  info.index = shape->index;
  info.compression = shape->compression;
  info.records = shape->header.record_count;
  // The store, mapped in place, says how rows are kept.
  auto reader = storage::SnapshotReader::open(path, storage::VerifyMode::kSmallSections);
  if (!reader) return reader.status();
  db::SnapshotSource source(*reader);
  auto store = index::VectorStore::load(shape->dim, shape->metric, source);
  if (!store) return store.status();
  describe_store(*store, info);
  // Count the log's records without applying them; a damaged log leaves
  // the count unknown (verify() says what is wrong with it).
  auto replay = storage::replay_wal(
      util::with_suffix(path, ".wal"), reader->header().identity, reader->header().wal_sequence,
      [](uint64_t, uint8_t, std::span<const uint8_t>) { return Status::OK(); });
  info.log_records = replay ? replay->delivered : 0;
  info.records_exact = replay && replay->delivered == 0;
  return info;
}

}  // namespace iqdb
