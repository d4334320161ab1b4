// What the write path promises across reopen: every change reaches the file
// (optimize included), and a batch logged in parts is applied whole or not
// at all however the log was cut.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "db/wal_ops.h"
#include "index/sections.h"
#include "iqdb/iqdb.hpp"
#include "storage/snapshot_reader.h"
#include "unit/util/temp_dir.h"

using namespace iqdb;
using iqdb::testing::TempDir;

namespace {

constexpr size_t kDim = 8;

std::vector<float> row(uint64_t i) {
  std::vector<float> v(kDim);
  for (size_t d = 0; d < kDim; ++d) v[d] = float((i * 37 + d * 11) % 97) / 7.0f;
  return v;
}

// Whether the IVF index stored in the snapshot at `path` is trained (the
// flag in its header section, ivf_persist.cpp).
bool stored_ivf_trained(const std::filesystem::path& path) {
  auto reader = storage::SnapshotReader::open(path);
  REQUIRE(reader.ok());
  auto header = reader->bytes(index::section::kIvfFirst);
  REQUIRE(header.ok());
  REQUIRE(header->size() > 18);
  return (*header)[18] == 1;  // magic 8, version 4, dim 4, metric 1, codes 1, trained 1
}

void copy_over(const std::filesystem::path& from, const std::filesystem::path& to) {
  std::filesystem::copy_file(from, to, std::filesystem::copy_options::overwrite_existing);
}

}  // namespace

TEST_CASE("optimize then close: the reopened file holds the optimized index") {
  TempDir dir;
  const auto path = dir / "db";
  const Config config = Config(kDim, Metric::kL2).index(IvfConfig{}.with_n_clusters(16));
  {
    auto db = Database::open(path, config);
    REQUIRE(db.ok());
    for (uint64_t i = 0; i < 64; ++i) REQUIRE(db->upsert(i, row(i)).ok());
    REQUIRE(db->close().ok());
  }
  REQUIRE_FALSE(stored_ivf_trained(path));  // too few rows to train by itself
  {
    // Reopened with an empty log: optimize() is the only change.
    auto db = Database::open(path, config);
    REQUIRE(db.ok());
    REQUIRE(db->optimize().ok());
    REQUIRE(db->close().ok());
  }
  CHECK(stored_ivf_trained(path));
  auto db = Database::open(path, config);
  REQUIRE(db.ok());
  CHECK(db->size() == 64);
  auto hits = db->search(row(5), 1);
  REQUIRE(hits.ok());
  CHECK(hits->front().id == VectorId(5));
}

TEST_CASE("optimize then flush writes the optimized index even with nothing in the log") {
  TempDir dir;
  const auto path = dir / "db";
  const Config config = Config(kDim, Metric::kL2).index(IvfConfig{}.with_n_clusters(16));
  auto db = Database::open(path, config);
  REQUIRE(db.ok());
  for (uint64_t i = 0; i < 64; ++i) REQUIRE(db->upsert(i, row(i)).ok());
  REQUIRE(db->flush().ok());
  REQUIRE_FALSE(stored_ivf_trained(path));
  REQUIRE(db->optimize().ok());
  REQUIRE(db->flush().ok());
  CHECK(stored_ivf_trained(path));
}

TEST_CASE("a batch logged in parts is applied whole or not at all wherever the log is cut") {
  TempDir dir;
  const auto path = dir / "db";
  const auto saved = dir / "saved";
  std::filesystem::create_directories(saved);
  db::set_batch_part_bytes(200);
  {
    auto db = Database::open(path, Config(kDim, Metric::kL2));
    REQUIRE(db.ok());
    for (uint64_t i = 0; i < 5; ++i) REQUIRE(db->upsert(i, row(i)).ok());
    REQUIRE(db->flush().ok());
    std::vector<VectorId> ids;
    std::vector<float> rows;
    for (uint64_t i = 100; i < 160; ++i) {
      ids.emplace_back(i);
      auto r = row(i);
      rows.insert(rows.end(), r.begin(), r.end());
    }
    REQUIRE(db->upsert_batch(ids, rows).ok());
    // What a crash right now would leave: the snapshot and the whole log.
    copy_over(path, saved / "db");
    copy_over(dir / "db.wal", saved / "db.wal");
    REQUIRE(db->close().ok());
  }
  db::set_batch_part_bytes(db::kBatchPartBytes);
  const uint64_t wal_bytes = std::filesystem::file_size(saved / "db.wal");
  REQUIRE(wal_bytes > 1000);  // several parts
  size_t whole = 0, none = 0;
  for (uint64_t cut = 40; cut < wal_bytes + 37; cut += 37) {
    CAPTURE(cut);
    TempDir trial;
    const uint64_t keep = std::min(cut, wal_bytes);
    copy_over(saved / "db", trial / "db");
    copy_over(saved / "db.wal", trial / "db.wal");
    std::filesystem::resize_file(trial / "db.wal", keep);
    {
      auto db = Database::open(trial / "db", Config(kDim, Metric::kL2));
      REQUIRE(db.ok());
      const size_t n = db->size();
      CHECK((n == 5 || n == 65));
      if (keep == wal_bytes) CHECK(n == 65);
      (n == 65 ? whole : none) += 1;
      // A later write goes after the dropped parts; reopened from the log
      // alone (no snapshot in between), they stay dropped.
      REQUIRE(db->upsert(999, row(999)).ok());
      std::filesystem::create_directories(trial.path() / "later");
      copy_over(trial / "db", trial.path() / "later" / "db");
      copy_over(trial / "db.wal", trial.path() / "later" / "db.wal");
      REQUIRE(db->close().ok());
      auto again = Database::open(trial.path() / "later" / "db", Config(kDim, Metric::kL2));
      REQUIRE(again.ok());
      CHECK(again->size() == n + 1);
    }
  }
  CHECK(whole >= 1);
  CHECK(none >= 10);
}

TEST_CASE("a remove batch is replayed whole or not at all wherever the log is cut") {
  TempDir dir;
  const auto path = dir / "db";
  const auto saved = dir / "saved";
  std::filesystem::create_directories(saved);
  const Config config = Config(kDim, Metric::kL2).index(HnswConfig{}.with_m(8));
  {
    auto db = Database::open(path, config);
    REQUIRE(db.ok());
    for (uint64_t i = 0; i < 60; ++i) REQUIRE(db->upsert(i, row(i)).ok());
    REQUIRE(db->flush().ok());
    std::vector<VectorId> gone;
    for (uint64_t i = 0; i < 60; i += 2) gone.emplace_back(i);
    gone.emplace_back(uint64_t{1000});  // absent: skipped
    REQUIRE(*db->remove_batch(gone) == 30);
    copy_over(path, saved / "db");
    copy_over(dir / "db.wal", saved / "db.wal");
    REQUIRE(db->close().ok());
  }
  const uint64_t wal_bytes = std::filesystem::file_size(saved / "db.wal");
  size_t whole = 0, none = 0;
  for (uint64_t cut = 0; cut <= wal_bytes; cut += 13) {
    CAPTURE(cut);
    TempDir trial;
    copy_over(saved / "db", trial / "db");
    copy_over(saved / "db.wal", trial / "db.wal");
    std::filesystem::resize_file(trial / "db.wal", cut);
    auto db = Database::open(trial / "db", config);
    REQUIRE(db.ok());
    const size_t n = db->size();
    REQUIRE((n == 60 || n == 30));
    (n == 30 ? whole : none) += 1;
    for (uint64_t i = 0; i < 60; ++i) CHECK(db->get(i)->has_value() == (n == 60 || i % 2 == 1));
    auto hits = db->search(row(0), SearchParams{.k = 60, .ef = 100});
    REQUIRE(hits.ok());
    CHECK(hits->size() == n);
  }
  {  // the whole log
    TempDir trial;
    copy_over(saved / "db", trial / "db");
    copy_over(saved / "db.wal", trial / "db.wal");
    auto db = Database::open(trial / "db", config);
    REQUIRE(db.ok());
    CHECK(db->size() == 30);
  }
  CHECK(none >= 2);
  CHECK(whole + none >= 3);
}
