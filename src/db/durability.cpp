// FileDurability: a database at PATH is the snapshot PATH, the log PATH.wal
// and the lock PATH.lock.
//
// Write path: validate (caller) -> append to the log -> fsync per policy
// (group commit: concurrent writers share one fsync) -> apply to memory in
// log order -> acknowledge. A write is never visible before it is durable
// under FsyncPolicy::always().
//
// Compaction (flush, close, or a log above kCompactLogBytes): stop new
// appends, wait until every logged write is applied, write PATH.tmp, fsync,
// rename over PATH, fsync the directory (SnapshotWriter), then reset the log.
// A crash at any point leaves the old snapshot with its full log, or the new
// snapshot (whose header says which log records it covers) with a log whose
// records it already holds.
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <random>
#include <thread>

#include "db/database_impl.h"
#include "db/durability.h"
#include "db/index_config.h"
#include "db/index_factory.h"
#include "db/snapshot_source.h"
#include "db/stored_shape.h"
#include "db/wal_ops.h"
#include "storage/snapshot_reader.h"
#include "storage/snapshot_writer.h"
#include "storage/wal_reader.h"
#include "storage/wal_writer.h"
#include "util/file.h"

namespace iqdb::db {
namespace {

// Compact when the log outgrows this.
constexpr uint64_t kCompactLogBytes = uint64_t{256} << 20;

// Collects sections into a SnapshotWriter, compressing per the config.
class SnapshotSink final : public index::SectionSink {
 public:
  SnapshotSink(storage::SnapshotWriter& writer, Compression compression)
      : writer_(writer), compression_(compression) {}
  void add(uint32_t kind, std::span<const uint8_t> bytes) override {
    note(writer_.add_section(kind, bytes, compression_.kind(), compression_.level()));
  }
  void add_owned(uint32_t kind, std::string bytes) override {
    note(writer_.add_owned_section(kind, std::move(bytes), compression_.kind(), compression_.level()));
  }
  const Status& status() const { return status_; }

 private:
  void note(Status s) {
    if (status_.ok() && !s.ok()) status_ = std::move(s);
  }
  storage::SnapshotWriter& writer_;
  Compression compression_;
  Status status_;
};

uint64_t new_identity() {
  std::random_device rd;
  uint64_t id = (uint64_t{rd()} << 32) ^ rd() ^
                static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  return id == 0 ? 1 : id;
}

class FileDurability final : public Durability {
 public:
  FileDurability(std::filesystem::path path, DatabaseImpl& db, util::FileLock lock, bool read_only)
      : path_(std::move(path)), wal_path_(util::with_suffix(path_, ".wal")), db_(db),
        lock_(std::move(lock)), read_only_(read_only),
        compression_(db.config().compression_kind()) {}

  ~FileDurability() override { stop_sync_thread(); }

  Status load_or_create();

  Status writable() const override {
    if (read_only_) {
      return Status::Unsupported("the database " + path_.string() +
                                 " is open read-only: writes need a writable handle");
    }
    std::lock_guard l(state_mu_);
    return failed_;
  }

  Status upsert(const VectorId& id, std::span<const float> vector, const Metadata* metadata) override {
    return write(WalOp::kUpsert, encode_upsert(id, vector, metadata),
                 [&] { return db_.apply_upsert(id, vector, metadata); });
  }

  Status upsert_batch(std::span<const VectorId> ids, std::span<const float> rows,
                      std::span<const Metadata* const> metadata) override {
    return write(WalOp::kUpsertBatch, encode_upsert_batch(ids, rows, db_.dim(), metadata),
                 [&] { return db_.apply_upsert_batch(ids, rows, metadata); });
  }

  Result<bool> remove(const VectorId& id) override {
    bool removed = false;
    Status s = write(WalOp::kRemove, encode_remove(id), [&] {
      removed = db_.apply_remove(id);
      return Status::OK();
    });
    if (!s.ok()) return s;
    return removed;
  }

  Status flush() override;
  Result<CompactStats> compact(std::optional<Compression> compression) override;
  uint64_t log_records() const override {
    if (read_only_ || !wal_) return replayed_newer_;
    std::lock_guard appends(append_mu_);
    return wal_->next_seq() - 1 - snapshot_seq_;
  }
  Compression compression() const override {
    std::lock_guard appends(append_mu_);
    return compression_;
  }
  const std::filesystem::path& path() const override { return path_; }
  bool read_only() const override { return read_only_; }

  Status close() override {
    if (read_only_) {
      lock_.release();
      return Status::OK();
    }
    Status s = writable().ok() ? flush() : writable();
    stop_sync_thread();
    wal_.reset();
    lock_.release();
    return s;
  }

 private:
  template <typename Apply>
  Status write(WalOp op, std::string payload, Apply&& apply);
  void fail(const Status& s) {
    {
      std::lock_guard l(state_mu_);
      if (failed_.ok()) {
        failed_ = Status(s.code(), "the database refuses writes after a failed write or fsync "
                                   "(reopen it to recover): " + std::string(s.message()));
      }
    }
    apply_cv_.notify_all();
  }
  Status write_snapshot(uint64_t wal_sequence);
  void start_sync_thread();
  void stop_sync_thread();

  const std::filesystem::path path_;
  const std::filesystem::path wal_path_;
  DatabaseImpl& db_;
  util::FileLock lock_;
  const bool read_only_;
  Compression compression_;     // of the next snapshot; guarded by append_mu_
  uint64_t replayed_newer_ = 0;  // log records replayed on open
  uint64_t identity_ = 0;
  uint64_t snapshot_seq_ = 0;  // the last log sequence the snapshot on disk holds
  std::unique_ptr<storage::WalWriter> wal_;

  mutable std::mutex append_mu_;  // orders appends; held by compaction to stop them
  std::mutex apply_mu_;   // guards next_apply_
  std::condition_variable apply_cv_;
  uint64_t next_apply_ = 1;  // the log sequence the next apply must have

  mutable std::mutex state_mu_;
  Status failed_;

  std::thread sync_thread_;
  std::mutex sync_mu_;
  std::condition_variable sync_cv_;
  bool stop_sync_ = false;
};

template <typename Apply>
Status FileDurability::write(WalOp op, std::string payload, Apply&& apply) {
  IQDB_RETURN_IF_ERROR(writable());
  uint64_t seq = 0;
  {
    std::lock_guard l(append_mu_);
    IQDB_RETURN_IF_ERROR(writable());
    auto r = wal_->append(static_cast<uint8_t>(op), payload);
    if (!r) {
      // A payload the log refuses outright changed nothing on disk.
      if (r.status().code() == StatusCode::kInvalidArgument) return r.status();
      fail(r.status());
      return writable();
    }
    seq = *r;
  }
  if (db_.config().fsync_policy().kind() == FsyncPolicy::Kind::kAlways) {
    Status s = wal_->sync_to(seq);
    if (!s.ok()) fail(s);
  }
  Status result;
  {
    // Apply in log order, so memory always equals a replay of the log.
    std::unique_lock l(apply_mu_);
    apply_cv_.wait(l, [&] { return next_apply_ == seq || !writable().ok(); });
    if (next_apply_ != seq) return writable();
    Status failed = writable();
    if (failed.ok()) {
      auto wl = db_.lock_exclusive();
      result = apply();
      if (!result.ok()) fail(result);
    } else {
      result = failed;
    }
    ++next_apply_;
  }
  apply_cv_.notify_all();
  if (result.ok() && wal_->size_bytes() > kCompactLogBytes) result = flush();
  return result;
}

Status FileDurability::write_snapshot(uint64_t wal_sequence) {
  const Config& config = db_.config();
  storage::SnapshotHeader header;
  header.dim = static_cast<uint32_t>(config.dim());
  header.metric = static_cast<uint8_t>(config.metric());
  header.record_count = db_.store().size();
  header.wal_sequence = wal_sequence;
  header.identity = identity_;
  header.index_config = encode_index_kind(config.index_kind());
  storage::SnapshotWriter writer(std::move(header));
  SnapshotSink sink(writer, compression_);
  db_.store().save(sink);
  if (db_.ann() != nullptr) db_.ann()->save(sink);
  IQDB_RETURN_IF_ERROR(sink.status());
  return writer.write_atomically(path_);
}

Status FileDurability::flush() {
  IQDB_RETURN_IF_ERROR(writable());
  std::lock_guard appends(append_mu_);
  const uint64_t next_seq = wal_->next_seq();
  if (next_seq - 1 == snapshot_seq_) return Status::OK();  // the snapshot already holds everything
  {
    // Every logged write must be in memory before memory is written out.
    std::unique_lock l(apply_mu_);
    apply_cv_.wait(l, [&] { return next_apply_ == next_seq || !writable().ok(); });
  }
  IQDB_RETURN_IF_ERROR(writable());
  Status s;
  {
    auto rl = db_.lock_shared();  // readers go on; writers wait on append_mu_
    s = write_snapshot(next_seq - 1);
  }
  if (!s.ok()) return s;  // the old snapshot and the full log still stand
  snapshot_seq_ = next_seq - 1;
  s = wal_->reset(identity_, next_seq);
  if (!s.ok()) fail(s);
  return s;
}

Result<Durability::CompactStats> FileDurability::compact(std::optional<Compression> compression) {
  IQDB_RETURN_IF_ERROR(writable());
  std::lock_guard appends(append_mu_);
  const uint64_t next_seq = wal_->next_seq();
  {
    std::unique_lock l(apply_mu_);
    apply_cv_.wait(l, [&] { return next_apply_ == next_seq || !writable().ok(); });
  }
  IQDB_RETURN_IF_ERROR(writable());
  const Compression before = compression_;
  if (compression) compression_ = *compression;
  Status s;
  {
    auto rl = db_.lock_shared();
    s = write_snapshot(next_seq - 1);
  }
  if (!s.ok()) {
    compression_ = before;
    return s;  // the old snapshot and the full log still stand
  }
  CompactStats stats{next_seq - 1 - snapshot_seq_};
  snapshot_seq_ = next_seq - 1;
  s = wal_->reset(identity_, next_seq);
  if (!s.ok()) {
    fail(s);
    return s;
  }
  return stats;
}

Status FileDurability::load_or_create() {
  std::error_code ec;
  const bool have_snapshot = std::filesystem::exists(path_, ec);
  if (!have_snapshot && read_only_ && !std::filesystem::exists(wal_path_, ec)) {
    return Status::NotFound("no database at " + path_.string());
  }
  uint64_t after_seq = 0;
  Config config = db_.config();
  if (have_snapshot) {
    auto reader = storage::SnapshotReader::open(path_);
    if (!reader) return reader.status();
    const storage::SnapshotHeader& h = reader->header();
    if (h.dim != config.dim() || h.metric != static_cast<uint8_t>(config.metric())) {
      return Status::ConfigMismatch(
          path_.string() + " holds a database of dim " + std::to_string(h.dim) + " and metric " +
          std::string(decode_metric(h.metric) ? metric_name(*decode_metric(h.metric)) : "unknown") +
          ", opened with dim " + std::to_string(config.dim()) + " and metric " +
          std::string(metric_name(config.metric())));
    }
    auto kind = decode_index_kind(h.index_config, config.dim());
    if (!kind) return kind.status();
    config.index(*kind);  // the stored index kind wins over the requested one
    db_.set_config(config);
    SnapshotSource source(*reader);
    auto store = index::VectorStore::load(config.dim(), config.metric(), source);
    if (!store) return store.status();
    if (store->size() != h.record_count) return Status::Corruption("snapshot record count disagrees with its rows");
    config.storage(store->storage());  // the stored row type wins, like the index kind
    db_.set_config(config);
    db_.mutable_store() = std::move(*store);
    auto ann = load_index(*kind, db_.store(), source);
    if (!ann) return ann.status();
    db_.set_index(std::move(*ann));
    identity_ = h.identity;
    after_seq = h.wal_sequence;
    snapshot_seq_ = after_seq;
  } else {
    if (std::filesystem::exists(wal_path_, ec)) {
      return Status::Corruption(wal_path_.string() + " exists but its snapshot " + path_.string() +
                                " does not; refusing to start an empty database over it");
    }
    auto ann = make_index(config.index_kind(), db_.store());
    if (!ann) return ann.status();
    db_.set_index(std::move(*ann));
    identity_ = new_identity();
    IQDB_RETURN_IF_ERROR(write_snapshot(0));
  }

  const size_t dim = config.dim();
  auto replay = storage::replay_wal(
      wal_path_, identity_, after_seq, [&](uint64_t, uint8_t op, std::span<const uint8_t> payload) {
        auto decoded = decode_op(op, payload, dim);
        if (!decoded) return Status::Corruption("write-ahead log: " + std::string(decoded.status().message()));
        switch (decoded->op) {
          case WalOp::kUpsert: {
            const Metadata* m = decoded->metadata[0] ? &*decoded->metadata[0] : nullptr;
            return db_.apply_upsert(decoded->ids[0], decoded->rows, m);
          }
          case WalOp::kUpsertBatch: {
            std::vector<const Metadata*> metas;
            for (const auto& m : decoded->metadata) metas.push_back(m ? &*m : nullptr);
            return db_.apply_upsert_batch(decoded->ids, decoded->rows, metas);
          }
          case WalOp::kRemove: db_.apply_remove(decoded->ids[0]); return Status::OK();
        }
        return Status::Corruption("unknown log op");
      });
  if (!replay) return replay.status();
  replayed_newer_ = replay->delivered;
  next_apply_ = replay->next_seq;
  if (read_only_) return Status::OK();  // a torn tail stays for the next writer to cut
  if (replay->torn_tail()) IQDB_RETURN_IF_ERROR(storage::truncate_torn_tail(wal_path_, *replay));
  auto wal = storage::WalWriter::open(wal_path_, identity_, replay->next_seq);
  if (!wal) return wal.status();
  wal_ = std::move(*wal);
  next_apply_ = replay->next_seq;
  if (config.fsync_policy().kind() == FsyncPolicy::Kind::kPeriodic) start_sync_thread();
  return Status::OK();
}

void FileDurability::start_sync_thread() {
  const auto interval = db_.config().fsync_policy().interval();
  sync_thread_ = std::thread([this, interval] {
    std::unique_lock l(sync_mu_);
    while (!stop_sync_) {
      sync_cv_.wait_for(l, interval, [&] { return stop_sync_; });
      if (stop_sync_) break;
      l.unlock();
      Status s = wal_->sync();
      if (!s.ok()) fail(s);
      l.lock();
    }
  });
}

void FileDurability::stop_sync_thread() {
  {
    std::lock_guard l(sync_mu_);
    stop_sync_ = true;
  }
  sync_cv_.notify_all();
  if (sync_thread_.joinable()) sync_thread_.join();
  if (wal_ && writable().ok()) (void)wal_->sync();  // what periodic promised, on a clean stop
}

}  // namespace

Result<std::unique_ptr<Durability>> Durability::open(const std::filesystem::path& path, DatabaseImpl& db,
                                                     bool read_only) {
  if (path.empty()) return Status::InvalidArgument("empty database path");
  auto lock = read_only ? util::FileLock::acquire_shared(path) : util::FileLock::acquire(path);
  if (!lock) return lock.status();
  auto durability = std::make_unique<FileDurability>(path, db, std::move(*lock), read_only);
  IQDB_RETURN_IF_ERROR(durability->load_or_create());
  return std::unique_ptr<Durability>(std::move(durability));
}

}  // namespace iqdb::db
