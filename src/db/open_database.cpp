#include "db/open_database.h"

#include <chrono>
#include <cstring>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "db/index_config.h"
#include "db/snapshot_sections.h"
#include "db/stored_shape.h"
#include "db/wal_ops.h"
#include "storage/snapshot_reader.h"
#include "storage/wal_reader.h"
#include "storage/wal_writer.h"
#include "util/file.h"

namespace iqdb::db {
namespace {

uint64_t new_identity() {
  std::random_device rd;
  uint64_t id = (uint64_t{rd()} << 32) ^ rd() ^
                static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  return id == 0 ? 1 : id;
}

// Applies replayed records to the contents; gathers the parts of a large
// batch and applies them together when the last arrives (wal_ops.h).
class Replayer {
 public:
  explicit Replayer(Contents& contents) : contents_(contents) {}

  Status apply(uint8_t op, std::span<const uint8_t> payload) {
    const size_t dim = contents_.config().dim();
    auto decoded = decode_op(op, payload, dim);
    if (!decoded)
      return Status::Corruption("write-ahead log: " + std::string(decoded.status().message()));
    if (decoded->op != WalOp::kUpsertBatchPart) {
      drop_open_batch();
      return apply_whole(*decoded);
    }
    const bool first = (decoded->part_flags & kPartFirst) != 0;
    if (first) {
      drop_open_batch();
      // The rows to come, bounded by what the part itself proves exists.
      batch_.emplace();
      batch_->op = WalOp::kUpsertBatch;
      batch_->batch_rows = decoded->batch_rows;
    } else if (!batch_ || batch_->batch_rows != decoded->batch_rows) {
      return Status::Corruption("write-ahead log: a batch part without its beginning");
    }
    if (batch_->ids.size() + decoded->ids.size() > batch_->batch_rows) {
      return Status::Corruption("write-ahead log: a batch holds more rows than it declared");
    }
    append(*decoded);
    if ((decoded->part_flags & kPartLast) == 0) return Status::OK();
    if (batch_->ids.size() != batch_->batch_rows) {
      return Status::Corruption("write-ahead log: a batch ended short of its declared rows");
    }
    DecodedOp whole = std::move(*batch_);
    batch_.reset();
    return apply_whole(whole);
  }

  // A batch still open at the end of the log was torn by a crash.
  bool finish() {
    const bool dropped = batch_.has_value();
    drop_open_batch();
    return dropped || dropped_;
  }

 private:
  void drop_open_batch() {
    if (batch_) dropped_ = true;
    batch_.reset();
  }
  void append(DecodedOp& part) {
    DecodedOp& b = *batch_;
    if (b.ids.empty()) {
      b.ids = std::move(part.ids);
      b.rows = std::move(part.rows);
      b.metadata = std::move(part.metadata);
      return;
    }
    b.ids.insert(b.ids.end(), std::make_move_iterator(part.ids.begin()),
                 std::make_move_iterator(part.ids.end()));
    b.rows.insert(b.rows.end(), part.rows.begin(), part.rows.end());
    b.metadata.insert(b.metadata.end(), std::make_move_iterator(part.metadata.begin()),
                      std::make_move_iterator(part.metadata.end()));
  }
  Status apply_whole(const DecodedOp& op) {
    switch (op.op) {
      case WalOp::kUpsert: {
        const Metadata* m = op.metadata[0] ? &*op.metadata[0] : nullptr;
        return contents_.upsert(op.ids[0], op.rows, m, nullptr, excluded_);
      }
      case WalOp::kUpsertBatch: {
        std::vector<const Metadata*> metas;
        metas.reserve(op.metadata.size());
        for (const auto& m : op.metadata) metas.push_back(m ? &*m : nullptr);
        return contents_.upsert_batch(op.ids, op.rows, metas, nullptr, excluded_);
      }
      case WalOp::kRemove:
        (void)contents_.remove(op.ids[0], nullptr, excluded_);
        return Status::OK();
      case WalOp::kRemoveBatch:
        (void)contents_.remove_batch(op.ids, nullptr, excluded_);
        return Status::OK();
      case WalOp::kUpsertBatchPart: break;
    }
    return Status::Corruption("unknown log op");
  }

  Contents& contents_;
  index::ExcludedAlready excluded_;  // replay runs before any read can
  std::optional<DecodedOp> batch_;
  bool dropped_ = false;
};

Result<OpenedDatabase> open_file(const Config& requested, const std::filesystem::path& path,
                                 bool read_only, bool keep_stored_fields) {
  if (path.empty()) return Status::InvalidArgument("empty database path");
  auto lock = read_only ? util::FileLock::acquire_shared(path) : util::FileLock::acquire(path);
  if (!lock) return lock.status();
  const std::filesystem::path wal_path = util::with_suffix(path, ".wal");
  if (!read_only) {
    IQDB_RETURN_IF_ERROR(util::recover_replaced_file(path));
    IQDB_RETURN_IF_ERROR(util::recover_replaced_file(wal_path));
  }

  OpenedDatabase out;
  uint64_t identity = 0;
  uint64_t snapshot_seq = 0;
  std::error_code ec;
  if (std::filesystem::exists(path, ec)) {
    const std::filesystem::path marker = damage_marker_path(path);
    const bool damaged_before = std::filesystem::exists(marker, ec);
    auto reader = storage::SnapshotReader::open(
        path, damaged_before ? storage::VerifyMode::kAll : storage::VerifyMode::kSmallSections);
    if (!reader) {
      if (damaged_before) {
        return Status(reader.status().code(),
                      std::string(reader.status().message()) + " (damage first recorded in " +
                          marker.string() +
                          "; restore the snapshot from a copy: the log keeps "
                          "the writes made since)");
      }
      return reader.status();
    }
    // Every checksum matched: the file was repaired since the damage was seen.
    if (damaged_before) IQDB_RETURN_IF_ERROR(util::remove_file_if_exists(marker));
    const storage::SnapshotHeader& h = reader->header();
    if (h.dim != requested.dim() || h.metric != static_cast<uint8_t>(requested.metric())) {
      return Status::ConfigMismatch(
          path.string() + " holds a database of dim " + std::to_string(h.dim) + " and metric " +
          std::string(decode_metric(h.metric) ? metric_name(*decode_metric(h.metric)) : "unknown") +
          ", opened with dim " + std::to_string(requested.dim()) + " and metric " +
          std::string(metric_name(requested.metric())));
    }
    auto kind = decode_index_kind(h.index_config, requested.dim());
    if (!kind) return kind.status();
    Config config = requested;
    config.index(*kind);  // the stored index kind wins over the requested one
    SnapshotSource source(*reader, config.load_into_memory());
    auto contents = Contents::load(config, source, h.record_count, keep_stored_fields);
    if (!contents) return contents.status();
    out.contents = std::move(*contents);
    identity = h.identity;
    snapshot_seq = h.wal_sequence;
    out.scrub = std::make_unique<SnapshotScrub>(
        std::make_unique<storage::SnapshotReader>(std::move(*reader)), marker);
  } else {
    if (read_only && !std::filesystem::exists(wal_path, ec)) {
      return Status::NotFound("no database at " + path.string());
    }
    if (std::filesystem::exists(wal_path, ec)) {
      return Status::Corruption(wal_path.string() + " exists but its snapshot " + path.string() +
                                " does not; refusing to start an empty database over it");
    }
    auto contents = Contents::create(requested);
    if (!contents) return contents.status();
    out.contents = std::move(*contents);
    identity = new_identity();
    storage::SnapshotWriter writer(snapshot_header(*out.contents, identity, 0));
    IQDB_RETURN_IF_ERROR(add_sections(*out.contents, writer));
    IQDB_RETURN_IF_ERROR(writer.write_atomically(path));
  }

  Replayer replayer(*out.contents);
  auto replay = storage::replay_wal(wal_path, identity, snapshot_seq,
                                    [&](uint64_t, uint8_t op, std::span<const uint8_t> payload) {
                                      return replayer.apply(op, payload);
                                    });
  if (!replay) return replay.status();
  out.unsaved = replayer.finish();
  if (read_only) {  // a torn tail stays for the next writer to cut
    out.journal =
        read_only_journal(path, std::move(*lock), identity, snapshot_seq, replay->next_seq - 1);
    return out;
  }
  if (replay->torn_tail()) IQDB_RETURN_IF_ERROR(storage::truncate_torn_tail(wal_path, *replay));
  auto wal = storage::WalWriter::open(wal_path, identity, replay->next_seq);
  if (!wal) return wal.status();
  out.journal = file_journal(path, std::move(*lock), std::move(*wal), identity, snapshot_seq,
                             out.contents->config().fsync_policy());
  if (out.scrub) out.scrub->start(scrub_settings());
  return out;
}

}  // namespace

Result<OpenedDatabase> open_database(const Config& config, const std::filesystem::path* path,
                                     bool read_only, bool keep_stored_fields) {
  IQDB_RETURN_IF_ERROR(config.validate());
  if (path != nullptr) return open_file(config, *path, read_only, keep_stored_fields);
  OpenedDatabase out;
  auto contents = Contents::create(config);
  if (!contents) return contents.status();
  out.contents = std::move(*contents);
  out.journal = Journal::in_memory();
  return out;
}

}  // namespace iqdb::db
