// The journal of a read-only handle: it holds the shared lock, knows which
// log records the snapshot lacks (they were replayed into memory), and
// refuses to log or to write a snapshot.
#include <mutex>
#include <string>

#include "db/journal.h"

namespace iqdb::db {
namespace {

class ReadOnlyJournal final : public Journal {
 public:
  ReadOnlyJournal(std::filesystem::path path, util::FileLock lock, uint64_t identity,
                  uint64_t snapshot_seq, uint64_t last_seq)
      : path_(std::move(path)),
        lock_(std::move(lock)),
        identity_(identity),
        snapshot_seq_(snapshot_seq),
        last_seq_(last_seq) {}

  Result<SeqRange> log(const RecordSource&) override { return refused(); }
  bool durable() const override { return true; }
  Status status() const override { return refused(); }
  uint64_t log_bytes() const override { return 0; }  // never compacts
  uint64_t compact_threshold_bytes() const override { return UINT64_MAX; }
  uint64_t identity() const override { return identity_; }
  uint64_t snapshot_seq() const override { return snapshot_seq_; }
  Status write_snapshot(const LogPoint&, const storage::SnapshotWriter&) override {
    return refused();
  }
  Status close() override {
    std::lock_guard l(append_mu_);
    lock_.release();
    return Status::OK();
  }

 private:
  Status refused() const {
    return Status::Unsupported("the database " + path_.string() +
                               " is open read-only: writes need a writable handle");
  }
  uint64_t last_seq_locked() const override { return last_seq_; }

  const std::filesystem::path path_;
  util::FileLock lock_;  // guarded by append_mu_
  const uint64_t identity_;
  const uint64_t snapshot_seq_;
  const uint64_t last_seq_;
};

}  // namespace

std::unique_ptr<Journal> read_only_journal(std::filesystem::path path, util::FileLock lock,
                                           uint64_t identity, uint64_t snapshot_seq,
                                           uint64_t last_seq) {
  return std::make_unique<ReadOnlyJournal>(std::move(path), std::move(lock), identity, snapshot_seq,
                                           last_seq);
}

}  // namespace iqdb::db
