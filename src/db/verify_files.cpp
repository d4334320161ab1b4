// The file stages of verification (snapshot checksums, log records) and
// verify(path), which loads the store and index from the snapshot the way
// opening does, but without replaying, cutting or writing anything.
#include <cstdio>
#include <iterator>
#include <string>
#include <system_error>

#include "db/index_config.h"
#include "db/index_factory.h"
#include "db/snapshot_sections.h"
#include "db/stored_shape.h"
#include "db/verify.h"
#include "db/wal_ops.h"
#include "index/vector_store.h"
#include "storage/wal_reader.h"
#include "util/file.h"

namespace iqdb {
namespace db {
namespace {
using Stage = VerifyReport::Stage;
}  // namespace

std::string byte_text(uint64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = double(bytes);
  size_t u = 0;
  while (v >= 1024 && u + 1 < std::size(units)) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  if (u == 0) {
    std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(bytes));
  } else {
    std::snprintf(buf, sizeof buf, "%.1f %s", v, units[u]);
  }
  return buf;
}

std::unique_ptr<storage::SnapshotReader> verify_snapshot(const std::filesystem::path& path,
                                                         Findings& out) {
  // Small and compressed sections are verified on open; the rest below, one
  // by one, so every damaged section is named.
  auto reader = storage::SnapshotReader::open(path, storage::VerifyMode::kSmallSections);
  if (!reader) {
    if (reader.status().code() == StatusCode::kUnsupported) {
      out.unchecked(Stage::kSnapshot, std::string(reader.status().message()));
    } else {
      out.damaged(Stage::kSnapshot, std::string(reader.status().message()));
    }
    return nullptr;
  }
  size_t bad = 0;
  for (const storage::SectionInfo& s : reader->sections()) {
    Status v = reader->verify(s.kind);
    if (!v.ok()) {
      ++bad;
      out.damaged(Stage::kSnapshot, std::string(v.message()));
    }
  }
  if (bad) return nullptr;
  out.report().sections_verified = reader->sections().size();
  auto metric = decode_metric(reader->header().metric);
  if (!metric) {
    out.damaged(Stage::kSnapshot, std::string(metric.status().message()));
    return nullptr;
  }
  out.ok(Stage::kSnapshot, std::to_string(reader->header().record_count) + " records, " +
                               std::to_string(reader->sections().size()) + " sections, " +
                               byte_text(reader->file_bytes()) + ", every checksum verified");
  return std::make_unique<storage::SnapshotReader>(std::move(*reader));
}

void verify_log(const std::filesystem::path& wal_path, const storage::SnapshotHeader* header,
                Findings& out) {
  std::error_code ec;
  if (!std::filesystem::exists(wal_path, ec)) {
    out.ok(Stage::kLog, "no write-ahead log (nothing written since the snapshot)");
    return;
  }
  if (header == nullptr) {
    out.unchecked(Stage::kLog, "not checked: the snapshot that names its identity is unreadable");
    return;
  }
  const size_t dim = header->dim;
  uint64_t upserts = 0, removes = 0;
  auto replay = storage::replay_wal(
      wal_path, header->identity, header->wal_sequence,
      [&](uint64_t seq, uint8_t op, std::span<const uint8_t> payload) {
        auto decoded = decode_op(op, payload, dim);
        if (!decoded) {
          return Status::Corruption("record " + std::to_string(seq) + ": " +
                                    std::string(decoded.status().message()));
        }
        const bool remove = decoded->op == WalOp::kRemove || decoded->op == WalOp::kRemoveBatch;
        (remove ? removes : upserts) += decoded->ids.size();
        return Status::OK();
      });
  if (!replay) {
    if (replay.status().code() == StatusCode::kUnsupported) {
      out.unchecked(Stage::kLog, std::string(replay.status().message()));
    } else {
      out.damaged(Stage::kLog, std::string(replay.status().message()));
    }
    return;
  }
  out.report().log_records = replay->records;
  out.report().log_records_newer = replay->delivered;
  out.ok(Stage::kLog, std::to_string(replay->records) + " records, " +
                          std::to_string(replay->delivered) + " newer than the snapshot (" +
                          std::to_string(upserts) + " upserts, " + std::to_string(removes) +
                          " removes), " + byte_text(replay->file_bytes));
  if (replay->torn_tail()) {
    out.report().torn_tail_bytes = replay->file_bytes - replay->valid_bytes;
    out.note(Stage::kLog, "ends in " + std::to_string(replay->file_bytes - replay->valid_bytes) +
                              " bytes of a torn record (a crash during a write); the next writable "
                              "open cuts them off");
  }
}

namespace {

// The store and index stages over a snapshot that passed its checksums.
void verify_contents(const storage::SnapshotReader& reader, Findings& out) {
  const storage::SnapshotHeader& h = reader.header();
  const Metric metric = static_cast<Metric>(h.metric);  // checked by verify_snapshot
  auto kind = decode_index_kind(h.index_config, h.dim);
  if (!kind) {
    out.damaged(Stage::kIndex, "index configuration: " + std::string(kind.status().message()));
    return;
  }
  SnapshotSource source(reader);
  auto store = index::VectorStore::load(h.dim, metric, source);
  if (!store) {
    out.damaged(Stage::kIds,
                "the vector store does not load: " + std::string(store.status().message()));
    return;
  }
  if (!verify_store(*store, h.record_count, out)) return;
  auto ann = load_index(*kind, *store, source);
  if (!ann) {
    if (ann.status().code() == StatusCode::kUnsupported) {
      out.unchecked(Stage::kIndex, std::string(kind->name()) + " cannot be loaded by this build: " +
                                       std::string(ann.status().message()));
    } else {
      out.damaged(Stage::kIndex, std::string(kind->name()) +
                                     " does not load: " + std::string(ann.status().message()));
    }
    return;
  }
  verify_index(*kind, ann->get(), *store, out);
}

}  // namespace
}  // namespace db

const char* stage_name(VerifyReport::Stage stage) {
  switch (stage) {
    case VerifyReport::Stage::kLock: return "lock";
    case VerifyReport::Stage::kSnapshot: return "snapshot";
    case VerifyReport::Stage::kIds: return "ids";
    case VerifyReport::Stage::kVectors: return "vectors";
    case VerifyReport::Stage::kIndex: return "index";
    case VerifyReport::Stage::kLog: return "log";
  }
  return "?";
}

Result<VerifyReport> verify_files(const std::filesystem::path& path) {
  VerifyReport report;
  db::Findings out(report);
  const std::filesystem::path wal = util::with_suffix(path, ".wal");
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    if (!std::filesystem::exists(wal, ec))
      return Status::NotFound("no database at " + path.string());
    out.damaged(VerifyReport::Stage::kSnapshot, "missing, but its log " + wal.string() + " exists");
    return report;
  }
  if (std::filesystem::is_directory(path, ec)) {
    return Status::InvalidArgument(path.string() + " is a directory, not a database");
  }
  // The shared lock keeps a writer from starting meanwhile. A writer that
  // already holds the database may append to the log or replace the
  // snapshot while we read: each file is read once, as it is at that moment.
  auto lock = util::FileLock::acquire_shared(path);
  if (!lock) {
    if (lock.status().code() != StatusCode::kBusy) return lock.status();
    out.note(VerifyReport::Stage::kLock,
             "the database is open in another process; checking the files as they are now");
  }
  auto reader = db::verify_snapshot(path, out);
  if (reader) db::verify_contents(*reader, out);
  db::verify_log(wal, reader ? &reader->header() : nullptr, out);
  return report;
}

}  // namespace iqdb
