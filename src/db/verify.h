// The stages of VerifyReport (iqdb/files.h), each a function that checks
// one thing and adds findings. verify(path) runs them over a database's
// files (db/verify_files.cpp); Database::verify runs the memory stages over
// the open handle and the file stages over its files (db/verify_handle.cpp).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "iqdb/config.h"
#include "iqdb/files.h"
#include "index/ann_index.h"
#include "index/vector_store.h"
#include "storage/snapshot_reader.h"

namespace iqdb::db {

// Appends findings to a report.
class Findings {
 public:
  explicit Findings(VerifyReport& report) : report_(report) {}
  void ok(VerifyReport::Stage stage, std::string what) {
    add(stage, VerifyReport::Severity::kOk, std::move(what));
  }
  void note(VerifyReport::Stage stage, std::string what) {
    add(stage, VerifyReport::Severity::kNote, std::move(what));
  }
  void damaged(VerifyReport::Stage stage, std::string what) {
    add(stage, VerifyReport::Severity::kDamaged, std::move(what));
  }
  void unchecked(VerifyReport::Stage stage, std::string what) {
    add(stage, VerifyReport::Severity::kUnchecked, std::move(what));
  }
  VerifyReport& report() { return report_; }

 private:
  void add(VerifyReport::Stage stage, VerifyReport::Severity severity, std::string what) {
    report_.findings.push_back({stage, severity, std::move(what)});
  }
  VerifyReport& report_;
};

// "812 B", "3.4 MiB".
std::string byte_text(uint64_t bytes);

// kSnapshot: opens the snapshot and checks every section's checksum. Null
// (with findings) when it is damaged or cannot be read by this build.
std::unique_ptr<storage::SnapshotReader> verify_snapshot(const std::filesystem::path& path,
                                                         Findings& out);

// kIds and kVectors over a loaded store. `header_records`: the count the
// snapshot header records, when the store is the snapshot's. True when the
// id map is sound (the index stage can run).
bool verify_store(const index::VectorStore& store, std::optional<uint64_t> header_records,
                  Findings& out);

// kIndex over a loaded index (null: flat).
void verify_index(const IndexKind& kind, const index::AnnIndex* ann,
                  const index::VectorStore& store, Findings& out);

// kLog: every record of the log at `wal_path` against the snapshot whose
// header is `header` (null when the snapshot is unreadable).
void verify_log(const std::filesystem::path& wal_path, const storage::SnapshotHeader* header,
                Findings& out);

}  // namespace iqdb::db

namespace iqdb {
// verify(path) without the exception guard (db/verify_files.cpp).
Result<VerifyReport> verify_files(const std::filesystem::path& path);
// inspect(path) without the exception guard (db/info.cpp).
Result<DatabaseInfo> inspect_files(const std::filesystem::path& path);
}  // namespace iqdb
