// DatabaseImpl's write path: validation, logging, applying in log order,
// latching on failure, snapshots and background compaction.
#include <string>
#include <system_error>

#include "db/database_impl.h"
#include "db/exception_status.h"
#include "db/result_cache.h"
#include "db/snapshot_sections.h"
#include "db/validate.h"
#include "db/wal_ops.h"
#include "util/lock_trace.h"
#include "util/thread_priority.h"

namespace iqdb {
namespace {

Status closed_error() { return Status::Closed("the database is closed"); }

// How a writer takes the readers' lock while it applies: only for the steps
// the contents hand to exclusive() (db/contents.h), exclusive, one lock and
// one unlock per step; searches run alongside everything else. Between the
// steps the writer holds nothing of it: writers are already serialised (log
// order and apply_mu_), and the lock's only other exclusive holder, close(),
// first waits for every call in flight to leave.
class ReaderLockPublisher final : public index::Publisher {
 public:
  explicit ReaderLockPublisher(db::ReadersLock& mu) : mu_(mu) {}
  ReaderLockPublisher(const ReaderLockPublisher&) = delete;
  ReaderLockPublisher& operator=(const ReaderLockPublisher&) = delete;

 protected:
  void run(void* step, void (*call)(void*)) override {
    const uint64_t asked = util::lock_trace::now_ns();
    std::unique_lock exclusive(mu_);
    const uint64_t got = util::lock_trace::now_ns();
    const uint64_t cpu = util::lock_trace::thread_cpu_ns();
    call(step);
    if constexpr (util::lock_trace::kEnabled) {
      util::lock_trace::exclusive_step(got - asked, util::lock_trace::now_ns() - got,
                                       util::lock_trace::thread_cpu_ns() - cpu);
    }
  }

 private:
  db::ReadersLock& mu_;
};

// A single log record, encoded only when the journal asks for it.
template <typename Encode>
auto one_record(db::WalOp op, Encode encode) {
  return [op, encode]() -> Result<db::LogRecord> {
    return db::LogRecord{static_cast<uint8_t>(op), encode(), false};
  };
}

}  // namespace

Status DatabaseImpl::writable() const {
  IQDB_RETURN_IF_ERROR(intact());
  if (is_latched_.load(std::memory_order_acquire)) {
    std::lock_guard l(latch_mu_);
    return latched_;
  }
  return journal_->status();
}

void DatabaseImpl::latch(const Status& why, bool stop_applies) {
  {
    std::lock_guard l(latch_mu_);
    if (latched_.ok()) {
      latched_ =
          Status(why.code() == StatusCode::kOk ? StatusCode::kIOError : why.code(),
                 "the database refuses writes after a failed write (reopen it to recover): " +
                     std::string(why.message()));
    }
    is_latched_.store(true, std::memory_order_release);
  }
  if (stop_applies) order_.abandon();
}

template <typename Apply>
Status DatabaseImpl::write(const db::RecordSource& source, Apply&& apply) {
  IQDB_RETURN_IF_ERROR(writable());
  Result<db::SeqRange> range = journal_->log(source);
  if (!range.ok()) {
    // A log left in an unknown state stops all writes; a clean refusal
    // (bad payload, a write undone) only fails this one.
    if (Status broken = journal_->status(); !broken.ok()) latch(broken);
    return range.status();
  }
  Status result;
  {
    db::ApplyOrder::Turn turn(order_, *range);
    if (!turn.ok()) return writable();
    result = db::guarded([&] {
      std::lock_guard contents_change(apply_mu_);
      // Locks in one order everywhere: apply_mu_, the write limit, the
      // readers' lock.
      Status applied;
      write_limit_.run([&] {
        ReaderLockPublisher publisher(mutex_);
        applied = apply(publisher);
      });
      return applied;
    });
    // The record is durable but memory does not hold it: memory no longer
    // equals the log, so no later write may build on it.
    if (!result.ok()) latch(result);
  }
  if (result.ok()) maybe_compact();
  return result;
}

Status DatabaseImpl::upsert(const VectorId& id, std::span<const float> vector,
                            const Metadata* metadata) {
  auto pass = gate_.enter();
  if (!pass) return closed_error();
  IQDB_RETURN_IF_ERROR(db::check_vector(vector, config_.dim()));
  // Values the storage type cannot hold are refused before the log sees them.
  IQDB_RETURN_IF_ERROR(contents_->store().check_vector(vector));
  auto record =
      one_record(db::WalOp::kUpsert, [&] { return db::encode_upsert(id, vector, metadata); });
  return write(record, [&](index::Publisher& publisher) {
    return contents_->upsert(id, vector, metadata, cache_.get(), publisher);
  });
}

Status DatabaseImpl::upsert_batch(std::span<const VectorId> ids, std::span<const float> rows,
                                  std::span<const Metadata* const> metadata) {
  auto pass = gate_.enter();
  if (!pass) return closed_error();
  const size_t dim = config_.dim();
  if (rows.size() != ids.size() * dim) {
    return Status::InvalidArgument("upsert_batch: " + std::to_string(ids.size()) + " ids need " +
                                   std::to_string(ids.size() * dim) + " floats, got " +
                                   std::to_string(rows.size()));
  }
  if (!metadata.empty() && metadata.size() != ids.size()) {
    return Status::InvalidArgument("upsert_batch: metadata must be empty or one entry per id");
  }
  for (size_t i = 0; i < ids.size(); ++i) {
    Status s = db::check_vector(rows.subspan(i * dim, dim), dim);
    if (s.ok()) s = contents_->store().check_vector(rows.subspan(i * dim, dim));
    if (!s.ok()) {
      return Status::InvalidArgument("upsert_batch row " + std::to_string(i) + ": " +
                                     std::string(s.message()));
    }
  }
  if (ids.empty()) return Status::OK();
  db::BatchEncoder encoder(ids, rows, dim, metadata, db::batch_part_bytes());
  auto records = [&]() -> Result<db::LogRecord> { return encoder.next(); };
  return write(records, [&](index::Publisher& publisher) {
    return contents_->upsert_batch(ids, rows, metadata, cache_.get(), publisher);
  });
}

Result<bool> DatabaseImpl::remove(const VectorId& id) {
  auto pass = gate_.enter();
  if (!pass) return closed_error();
  bool removed = false;
  auto record = one_record(db::WalOp::kRemove, [&] { return db::encode_remove(id); });
  Status s = write(record, [&](index::Publisher& publisher) {
    removed = contents_->remove(id, cache_.get(), publisher);
    return Status::OK();
  });
  if (!s.ok()) return s;
  return removed;
}

Result<size_t> DatabaseImpl::remove_batch(std::span<const VectorId> ids) {
  auto pass = gate_.enter();
  if (!pass) return closed_error();
  if (ids.empty()) return size_t{0};
  std::string payload = db::encode_remove_batch(ids);
  if (ids.size() > UINT32_MAX || payload.size() > db::kBatchPartBytes) {
    return Status::InvalidArgument(
        "remove_batch: " + std::to_string(ids.size()) + " ids take " +
        std::to_string(payload.size()) + " bytes in the log, more than one record's " +
        std::to_string(db::kBatchPartBytes) + ": remove them in smaller calls");
  }
  size_t removed = 0;
  auto record = one_record(db::WalOp::kRemoveBatch, [&] { return std::move(payload); });
  Status s = write(record, [&](index::Publisher& publisher) {
    removed = contents_->remove_batch(ids, cache_.get(), publisher);
    return Status::OK();
  });
  if (!s.ok()) return s;
  return removed;
}

Status DatabaseImpl::optimize() {
  auto pass = gate_.enter();
  if (!pass) return closed_error();
  IQDB_RETURN_IF_ERROR(writable());
  std::lock_guard contents_change(apply_mu_);
  unsaved_.store(true);  // a rebuilt index is not in the log: the next flush writes it
  Status s = db::guarded([&] {
    // The repair and the retraining run alongside searches; the new model
    // or codes are swapped in exclusively, and the cache cleared after.
    // Admitted before the readers' lock is taken (apply_mu_, then the
    // limit, then the readers' lock: one order everywhere).
    Status done;
    write_limit_.run([&] {
      ReaderLockPublisher publisher(mutex_);
      done = contents_->optimize(publisher);
      if (cache_) {
        publisher.exclusive([&] { cache_->clear(); });
        cache_->release_cleared();
      }
    });
    return done;
  });
  // A rebuild that failed halfway leaves an index nobody can vouch for.
  if (!s.ok() && s.code() != StatusCode::kInvalidArgument) latch(s);
  return s;
}

// ---- snapshots and compaction ----

// Snapshots and the log (the rule every checkpoint follows, automatic
// compaction included):
//   1. capture, with log() calls held and every logged write applied (so
//      memory equals the log up to `covered`), and with the readers' lock
//      shared (searches go on): every section is copied into the writer.
//      Writers wait only for this copy.
//   2. write: the file is written, fsynced and renamed over the snapshot
//      with no lock held: writes are logged and applied meanwhile, into
//      memory and into the log after `covered`.
//   3. cut: with log() calls held again, the log is replaced by one
//      holding only the records after `covered` (a copy of that tail).
// A crash before 2 completes leaves the old snapshot and the whole log; one
// after it leaves the new snapshot with the old log (replay skips what the
// snapshot covers) or with the cut one. Either way every acknowledged write
// is there once.
Status DatabaseImpl::checkpoint(bool force, std::optional<Compression> compression) {
  std::lock_guard one_at_a_time(checkpoint_mu_);
  if (!journal_->durable()) return Status::OK();
  IQDB_RETURN_IF_ERROR(writable());
  // Memory holds bytes of the old snapshot (mapped, or decoded from it):
  // they must match their checksums before a new file seals them. Verified
  // first without holding appends; the check under the hold is then free.
  const auto snapshot_due = [&](uint64_t last_seq) {
    return last_seq != journal_->snapshot_seq() || unsaved_.load();
  };
  if (scrub_ && snapshot_due(db::Journal::AppendHold(*journal_).last_seq())) {
    IQDB_RETURN_IF_ERROR(scrub_->verify_rest());
  }
  const Compression encoding = compression.value_or(snapshot_compression_);
  std::optional<storage::SnapshotWriter> writer;
  db::Journal::LogPoint covered;
  bool was_unsaved = false;
  {
    db::Journal::AppendHold hold(*journal_);
    // Every logged write must be in memory before memory is copied out.
    if (!order_.wait_applied(hold.last_seq())) return writable();
    std::lock_guard no_optimize(apply_mu_);
    std::shared_lock readers_go_on(mutex_);
    if (!force && !snapshot_due(hold.last_seq())) return Status::OK();
    if (scrub_) IQDB_RETURN_IF_ERROR(scrub_->verify_rest());
    covered = hold.point();
    IQDB_RETURN_IF_ERROR(db::guarded([&] {
      writer.emplace(db::snapshot_header(*contents_, journal_->identity(), covered.last_seq));
      return db::copy_sections(*contents_, *writer, encoding);
    }));
    // An optimize() after this point sets it again: its index is not in
    // this snapshot.
    was_unsaved = unsaved_.exchange(false);
  }
  Status s = db::guarded([&] { return journal_->write_snapshot(covered, *writer); });
  if (s.ok()) {
    snapshot_compression_ = encoding;  // later snapshots keep it
  } else {
    if (was_unsaved) unsaved_.store(true);
    // A failed snapshot or log cut stops later writes, but the writes
    // already logged are durable and memory still equals the log: they keep
    // their turns, apply and are acknowledged. Refusing them would report
    // as failed a write that the next open replays. (A write whose own log
    // call failed latches again, releasing the waiters.)
    if (Status broken = journal_->status(); !broken.ok()) latch(broken, false);
  }
  return s;
}

void DatabaseImpl::maybe_compact() {
  const uint64_t bytes = journal_->log_bytes();
  if (bytes <= journal_->compact_threshold_bytes()) return;
  std::lock_guard l(compact_mu_);
  if (compact_stop_ || compact_wanted_ || bytes < compact_retry_bytes_) return;
  compact_wanted_ = true;
  if (!compactor_.joinable()) {
    try {
      compactor_ = std::thread([this] { compactor_loop(); });
    } catch (const std::system_error&) {
      compact_wanted_ = false;  // no thread now: the next write asks again
      return;
    }
  }
  compact_cv_.notify_one();
}

void DatabaseImpl::compactor_loop() {
  // Searches and writers come first: the copy holds writers (not readers)
  // back, and writers blocked there leave a core to it.
  util::lower_this_thread_priority();
  util::name_this_thread("iqdb-compact");  // named once lowered
  std::unique_lock l(compact_mu_);
  for (;;) {
    compact_cv_.wait(l, [&] { return compact_wanted_ || compact_stop_; });
    if (compact_stop_) return;
    l.unlock();
    Status s = checkpoint();
    l.lock();
    compact_wanted_ = false;
    if (s.ok()) {
      compact_error_ = Status::OK();
      compact_retry_bytes_ = 0;
    } else {
      // Reported by flush()/close(); retried once the log has grown further,
      // so a full disk is not hammered on every write.
      compact_error_ = s;
      compact_retry_bytes_ = journal_->log_bytes() + journal_->compact_threshold_bytes() / 8;
    }
  }
}

void DatabaseImpl::stop_compactor() {
  {
    std::lock_guard l(compact_mu_);
    compact_stop_ = true;
  }
  compact_cv_.notify_all();
  if (compactor_.joinable()) compactor_.join();
}

}  // namespace iqdb
