// The journal of a database at PATH: the log PATH.wal, the snapshot PATH
// and the lock PATH.lock (FORMAT.md describes the files).
//
// log(): append under append_mu_ -> fsync per policy outside it (group
// commit: a sync covers every record appended before it started, so
// concurrent writers share one). A write is never acknowledged before it is
// durable under FsyncPolicy::always().
//
// write_snapshot(): PATH.tmp is written, fsynced and renamed over PATH,
// the directory fsynced (SnapshotWriter), while appends go on; then, with
// appends held, the log is replaced by one holding only the records logged
// after the point the snapshot covers (WalWriter::reset_keeping). A crash
// at any point leaves the old snapshot with its full log, or the new
// snapshot (whose header says which records it covers) with the old log,
// whose records up to that point replay skips, or with the cut log.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <new>
#include <stdexcept>
#include <thread>

#include "db/journal.h"

namespace iqdb::db {
namespace {

std::atomic<uint64_t> g_compact_log_bytes{uint64_t{256} << 20};

// The source's next record. Out of memory while encoding becomes a status:
// an exception must not leave half a batch logged and its sequence numbers
// handed out.
Result<LogRecord> next_record(const RecordSource& source) {
  try {
    return source();
  } catch (const std::bad_alloc&) {
  } catch (const std::length_error&) {
  }
  return Status::ResourceExhausted("out of memory encoding a log record");
}

class MemoryJournal final : public Journal {
 public:
  explicit MemoryJournal(uint64_t next_seq) : next_seq_(next_seq) {}

  Result<SeqRange> log(const RecordSource&) override {
    std::lock_guard l(append_mu_);
    if (closed_) return Status::Closed("the database is closed");
    SeqRange range{next_seq_, next_seq_};
    ++next_seq_;
    return range;
  }
  bool durable() const override { return false; }
  Status status() const override { return Status::OK(); }
  uint64_t log_bytes() const override { return 0; }
  uint64_t compact_threshold_bytes() const override { return UINT64_MAX; }
  uint64_t identity() const override { return 0; }
  uint64_t snapshot_seq() const override { return 0; }
  Status write_snapshot(const LogPoint&, const storage::SnapshotWriter&) override {
    return Status::OK();
  }
  Status close() override {
    std::lock_guard l(append_mu_);
    closed_ = true;
    return Status::OK();
  }

 private:
  uint64_t last_seq_locked() const override { return next_seq_ - 1; }
  uint64_t next_seq_;  // guarded by append_mu_
  bool closed_ = false;
};

class FileJournal final : public Journal {
 public:
  FileJournal(std::filesystem::path path, util::FileLock lock,
              std::unique_ptr<storage::WalWriter> wal, uint64_t identity, uint64_t snapshot_seq,
              FsyncPolicy policy)
      : path_(std::move(path)),
        lock_(std::move(lock)),
        wal_(std::move(wal)),
        identity_(identity),
        policy_(policy),
        snapshot_seq_(snapshot_seq) {
    if (policy_.kind() == FsyncPolicy::Kind::kPeriodic) start_sync_thread();
  }
  ~FileJournal() override { (void)close(); }

  Result<SeqRange> log(const RecordSource& source) override {
    SeqRange range;
    {
      std::lock_guard l(append_mu_);
      IQDB_RETURN_IF_ERROR(status());
      if (!wal_) return Status::Closed("the database is closed");
      const storage::WalWriter::Mark start = wal_->mark();
      for (size_t i = 0;; ++i) {
        Status failed;
        Result<LogRecord> record = next_record(source);
        if (!record.ok()) {
          failed = record.status();
        } else {
          Result<uint64_t> seq = wal_->append(record->op, record->payload);
          if (seq.ok()) {
            if (i == 0) range.first = *seq;
            range.last = *seq;
            if (!record->more) break;
            continue;
          }
          failed = seq.status();
        }
        // Take back what this call appended, so no part of it is ever
        // replayed; if that fails the log is broken (status() says so).
        if (i > 0) (void)wal_->rollback(start);
        note_broken();
        return failed;
      }
    }
    if (policy_.kind() == FsyncPolicy::Kind::kAlways) {
      Status s = wal_->sync_to(range.last);
      if (!s.ok()) {
        break_with(s);
        return s;
      }
    }
    return range;
  }

  bool durable() const override { return true; }
  Status status() const override {
    std::lock_guard l(state_mu_);
    return broken_;
  }
  uint64_t log_bytes() const override { return wal_ ? wal_->size_bytes() : 0; }
  uint64_t compact_threshold_bytes() const override { return compact_log_bytes(); }
  uint64_t identity() const override { return identity_; }
  uint64_t snapshot_seq() const override {
    std::lock_guard l(state_mu_);
    return snapshot_seq_;
  }

  Status write_snapshot(const LogPoint& covered, const storage::SnapshotWriter& writer) override {
    IQDB_RETURN_IF_ERROR(status());
    IQDB_RETURN_IF_ERROR(writer.write_atomically(path_));
    {
      std::lock_guard l(state_mu_);
      snapshot_seq_ = covered.last_seq;
    }
    std::lock_guard l(append_mu_);
    if (!wal_) return Status::Closed("the database is closed");
    Status s = wal_->reset_keeping(identity_, {covered.log_end, covered.last_seq + 1});
    // The new snapshot stands either way, but a failed rename or directory
    // fsync leaves unknown which log file the next append would reach.
    if (!s.ok()) break_with(s);
    return s;
  }

  Status close() override {
    stop_sync_thread();
    std::lock_guard l(append_mu_);
    Status s;
    if (wal_ && status().ok()) s = wal_->sync();  // what periodic and never left in the page cache
    wal_.reset();
    lock_.release();
    return s;
  }

 private:
  uint64_t last_seq_locked() const override { return wal_ ? wal_->next_seq() - 1 : 0; }
  uint64_t log_end_locked() const override { return wal_ ? wal_->mark().end : 0; }

  // A write the WalWriter could not undo breaks the log for good.
  void note_broken() {
    Status s = wal_->broken();
    if (!s.ok()) break_with(s);
  }
  void break_with(const Status& s) {
    std::lock_guard l(state_mu_);
    if (broken_.ok()) broken_ = s;
  }

  void start_sync_thread() {
    const auto interval = policy_.interval();
    sync_thread_ = std::thread([this, interval] {
      std::unique_lock l(sync_mu_);
      while (!stop_sync_) {
        sync_cv_.wait_for(l, interval, [&] { return stop_sync_; });
        if (stop_sync_) break;
        l.unlock();
        Status s = wal_->sync();
        if (!s.ok()) break_with(s);
        l.lock();
      }
    });
  }
  void stop_sync_thread() {
    {
      std::lock_guard l(sync_mu_);
      stop_sync_ = true;
    }
    sync_cv_.notify_all();
    if (sync_thread_.joinable()) sync_thread_.join();
  }

  const std::filesystem::path path_;
  util::FileLock lock_;
  std::unique_ptr<storage::WalWriter> wal_;  // reset only by close(), under append_mu_
  const uint64_t identity_;
  const FsyncPolicy policy_;

  mutable std::mutex state_mu_;
  uint64_t snapshot_seq_;  // guarded by state_mu_
  Status broken_;          // guarded by state_mu_

  std::thread sync_thread_;
  std::mutex sync_mu_;
  std::condition_variable sync_cv_;
  bool stop_sync_ = false;
};

}  // namespace

uint64_t compact_log_bytes() { return g_compact_log_bytes.load(std::memory_order_relaxed); }
void set_compact_log_bytes(uint64_t bytes) {
  g_compact_log_bytes.store(bytes, std::memory_order_relaxed);
}

std::unique_ptr<Journal> Journal::in_memory(uint64_t next_seq) {
  return std::make_unique<MemoryJournal>(next_seq);
}

std::unique_ptr<Journal> file_journal(std::filesystem::path path, util::FileLock lock,
                                      std::unique_ptr<storage::WalWriter> wal, uint64_t identity,
                                      uint64_t snapshot_seq, FsyncPolicy policy) {
  return std::make_unique<FileJournal>(std::move(path), std::move(lock), std::move(wal), identity,
                                       snapshot_seq, policy);
}

}  // namespace iqdb::db
