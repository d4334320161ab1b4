// File-backed databases: round trips, log replay, torn tails, corruption,
// configuration checks and the cross-process lock.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "iqdb/iqdb.hpp"
#include "unit/util/temp_dir.h"
#include "util/child_process.h"
#include "util/fault_injection.h"

#if !defined(_WIN32)
#include <sys/wait.h>
#include <unistd.h>
#endif

using namespace iqdb;
using iqdb::testing::TempDir;

namespace {

std::vector<float> row_for(uint64_t i, size_t dim) {
  std::vector<float> v(dim);
  for (size_t d = 0; d < dim; ++d) v[d] = float(i) * 0.25f + float(d) - float((i * 7 + d) % 5);
  return v;
}

Metadata meta_for(uint64_t i) {
  return Metadata{{"i", int64_t(i)}, {"parity", i % 2 ? "odd" : "even"}, {"w", double(i) / 3}};
}

// Writes ids [first, first + n) as single upserts.
void fill(Database& db, uint64_t first, uint64_t n) {
  for (uint64_t i = first; i < first + n; ++i) {
    Metadata m = meta_for(i);
    REQUIRE(db.upsert(i, row_for(i, db.dim()), &m).ok());
  }
}

// Checks ids [first, first + n) are present with exact floats and metadata.
void expect_present(const Database& db, uint64_t first, uint64_t n) {
  for (uint64_t i = first; i < first + n; ++i) {
    auto rec = db.get(i);
    REQUIRE(rec.ok());
    REQUIRE_MESSAGE(rec->has_value(), "id " << i);
    CHECK((*rec)->vector == row_for(i, db.dim()));
    REQUIRE((*rec)->metadata.has_value());
    CHECK(*(*rec)->metadata == meta_for(i));
  }
}

std::vector<Config> configs(size_t dim) {
  std::vector<Config> out;
  for (Metric m : {Metric::kL2, Metric::kCosine, Metric::kDot, Metric::kL1, Metric::kHamming}) {
    out.push_back(Config(dim, m));
    out.push_back(Config(dim, m).index(HnswConfig{}.with_m(8).with_ef_construction(40)));
  }
  out.push_back(Config(dim, Metric::kL2).compression(Compression::zstd(3)));
  out.push_back(Config(dim, Metric::kL2).compression(Compression::lz4()));
  out.push_back(Config(dim, Metric::kL2).index(HnswConfig{}).compression(Compression::zstd(1)));
  return out;
}

#if !defined(_WIN32)
// Runs `body` on a database at `path` in a child process that then dies
// without closing it (as a crash would), and waits for it.
template <typename Body>
void crash_after(const std::filesystem::path& path, Body body) {
  pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    auto db = Database::open(path, 8, Metric::kL2);
    if (!db.ok()) _exit(3);
    // Assertions cannot report from the child: any failure becomes its exit code.
    try {
      body(*db);
    } catch (...) {
      _exit(4);
    }
    _exit(0);  // no close, no destructors: the files are left as a crash leaves them
  }
  int status = 0;
  REQUIRE(waitpid(child, &status, 0) == child);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
}
#endif

}  // namespace

TEST_CASE("round trip through close and reopen for every index kind, metric and compression") {
  for (const Config& config : configs(12)) {
    CAPTURE(metric_name(config.metric()));
    CAPTURE(config.index_kind().name());
    CAPTURE(int(config.compression_kind().kind()));
    TempDir dir;
    auto path = dir / "db";
    std::vector<float> q = row_for(17, 12);
    std::vector<Hit> before;
    {
      auto db = Database::open(path, config);
      REQUIRE_MESSAGE(db.ok(), db.status().to_string());
      fill(*db, 0, 300);
      REQUIRE(*db->remove(5));
      auto key = *VectorId::from_bytes("byte-key");
      REQUIRE(db->upsert(key, row_for(999, 12)).ok());
      before = *db->search(q, 10);
      REQUIRE(db->close().ok());
    }
    auto db = Database::open(path, config);
    REQUIRE_MESSAGE(db.ok(), db.status().to_string());
    CHECK(db->size() == 300);
    CHECK(db->index_kind() == config.index_kind());
    expect_present(*db, 0, 5);
    expect_present(*db, 6, 294);
    CHECK_FALSE(db->get(5)->has_value());
    CHECK((*db->get(*VectorId::from_bytes("byte-key")))->vector == row_for(999, 12));
    auto after = *db->search(q, 10);
    REQUIRE(after.size() == before.size());
    for (size_t i = 0; i < after.size(); ++i) CHECK(after[i].id == before[i].id);
    // Writes after reopen land on top of the mapped snapshot and survive too.
    fill(*db, 1000, 50);
    REQUIRE(*db->remove(7));
    REQUIRE(db->close().ok());
    auto again = Database::open(path, config);
    REQUIRE(again.ok());
    CHECK(again->size() == 349);
    expect_present(*again, 1000, 50);
    CHECK_FALSE(again->get(7)->has_value());
  }
}

#if !defined(_WIN32)
TEST_CASE("the log is replayed when the process never closed the database") {
  TempDir dir;
  auto path = dir / "db";
  crash_after(path, [](Database& db) {
    fill(db, 0, 100);
    REQUIRE(*db.remove(3));
  });
  auto db = Database::open(path, 8, Metric::kL2);
  REQUIRE_MESSAGE(db.ok(), db.status().to_string());
  CHECK(db->size() == 99);
  expect_present(*db, 0, 3);
  expect_present(*db, 4, 96);
}
#else
TEST_CASE(
    "skipped on Windows: the log is replayed when the process never closed the database (the "
    "writer is this test forked, which Windows cannot do; crash_test's kill trials cover it)" *
    doctest::skip()) {}
#endif

TEST_CASE("several sessions accumulate; flush folds the log into the snapshot") {
  TempDir dir;
  auto path = dir / "db";
  for (uint64_t session = 0; session < 4; ++session) {
    auto db = Database::open(path, 8, Metric::kCosine);
    REQUIRE(db.ok());
    CHECK(db->size() == session * 25);
    fill(*db, session * 25, 25);
    if (session % 2 == 0) {
      REQUIRE(db->flush().ok());
      CHECK(std::filesystem::file_size(std::filesystem::path(path.string() + ".wal")) < 4096);
    }
    REQUIRE(db->close().ok());
  }
  auto db = Database::open(path, 8, Metric::kCosine);
  expect_present(*db, 0, 100);
}

TEST_CASE("reopen with another dim or metric is a config mismatch; the stored index kind wins") {
  TempDir dir;
  auto path = dir / "db";
  {
    auto db = Database::open(path, Config(4, Metric::kL2).index(HnswConfig{}.with_m(12)));
    REQUIRE(db.ok());
    fill(*db, 0, 10);
    REQUIRE(db->close().ok());
  }
  CHECK(Database::open(path, 5, Metric::kL2).status().code() == StatusCode::kConfigMismatch);
  CHECK(Database::open(path, 4, Metric::kCosine).status().code() == StatusCode::kConfigMismatch);
  auto db = Database::open(path, 4, Metric::kL2);  // asks for flat
  REQUIRE(db.ok());
  REQUIRE(db->index_kind().is_hnsw());
  CHECK(db->index_kind().hnsw().m == 12);
  expect_present(*db, 0, 10);
}

#if !defined(_WIN32)
TEST_CASE("a torn log tail is cut off and later writes survive") {
  TempDir dir;
  auto path = dir / "db";
  auto wal = std::filesystem::path(path.string() + ".wal");
  crash_after(path, [](Database& db) { fill(db, 0, 20); });
  std::filesystem::resize_file(wal, std::filesystem::file_size(wal) - 7);  // tear the last record
  crash_after(path, [](Database& db) {
    if (db.size() != 19) throw std::runtime_error("torn record not cut");
    fill(db, 100, 5);  // appended after the cut, not behind garbage
  });
  auto db = Database::open(path, 8, Metric::kL2);
  REQUIRE_MESSAGE(db.ok(), db.status().to_string());
  CHECK(db->size() == 24);
  expect_present(*db, 0, 19);
  expect_present(*db, 100, 5);
}
#else
TEST_CASE(
    "skipped on Windows: a torn log tail is cut off (the writer that leaves the log unclosed is "
    "this test forked, "
    "which Windows cannot do)" *
    doctest::skip()) {}
#endif

#if !defined(_WIN32)
TEST_CASE("a corrupt record followed by valid ones is reported, not skipped") {
  TempDir dir;
  auto path = dir / "db";
  auto wal = std::filesystem::path(path.string() + ".wal");
  crash_after(path, [](Database& db) { fill(db, 0, 20); });
  {
    std::fstream f(wal, std::ios::in | std::ios::out | std::ios::binary);
    auto middle = std::streamoff(std::filesystem::file_size(wal) / 2);
    char c = 0;
    f.seekg(middle);
    f.read(&c, 1);
    c = char(c ^ 0x40);
    f.seekp(middle);
    f.write(&c, 1);
  }
  auto db = Database::open(path, 8, Metric::kL2);
  CHECK(db.status().code() == StatusCode::kCorruption);
}
#else
TEST_CASE(
    "skipped on Windows: a corrupt record followed by valid ones is reported (the writer that "
    "leaves the log unclosed is this test forked, "
    "which Windows cannot do)" *
    doctest::skip()) {}
#endif

TEST_CASE("damaged snapshots are reported as corruption, never a crash") {
  TempDir dir;
  auto path = dir / "db";
  {
    auto db = Database::open(path, Config(4, Metric::kL2).index(HnswConfig{}.with_m(4)));
    fill(*db, 0, 30);
    REQUIRE(db->close().ok());
  }
  std::ifstream in(path, std::ios::binary);
  std::string image((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::mt19937 rng(3);
  int errors = 0, clean = 0;
  for (int trial = 0; trial < 300; ++trial) {
    std::string damaged = image;
    if (trial % 3 == 0) {
      damaged.resize(rng() % image.size());
    } else {
      damaged[rng() % image.size()] ^= char(1 << (rng() % 8));
    }
    auto p = dir / ("d" + std::to_string(trial));
    std::ofstream(p, std::ios::binary) << damaged;
    auto db = Database::open(p, 4, Metric::kL2);
    if (!db.ok()) {
      CHECK((db.status().code() == StatusCode::kCorruption ||
             db.status().code() == StatusCode::kUnsupported));
      ++errors;
      continue;
    }
    // Whatever opens must hold exactly the data written: a flip that no
    // checksum reports can only have hit padding.
    ++clean;
    CHECK(db->size() == 30);
    expect_present(*db, 0, 30);
    auto hits = db->search(row_for(3, 4), 5);
    REQUIRE(hits.ok());
    CHECK((*hits)[0].id == VectorId(3));
  }
  MESSAGE("damaged snapshots: " << errors << " rejected, " << clean << " opened intact");
  CHECK(errors > 0);
}

TEST_CASE("a second process opening the same database gets Busy") {
  TempDir dir;
  auto path = dir / "db";
  auto db = Database::open(path, 4, Metric::kL2);
  REQUIRE(db.ok());
  REQUIRE(db->flush().ok());  // the other process opens it by path alone
  auto child = util::ChildProcess::spawn(
      std::string(IQDB_TEST_BUILD_DIR) + "/tests/integration/db_holder", {"rw", path.string()});
  REQUIRE(child.ok());
  CHECK(child->read_line().value_or("").rfind(
            "error " + std::to_string(int(StatusCode::kBusy)) + " ", 0) == 0);
  child->close_stdin();
  CHECK(child->wait().code == 1);
  REQUIRE(db->close().ok());
  auto reopened = Database::open(path, 4, Metric::kL2);
  CHECK(reopened.ok());
}

TEST_CASE("a failed fsync is never retried into success: writes are refused until reopen") {
  TempDir dir;
  auto path = dir / "db";
  {
    auto db = Database::open(path, 8, Metric::kL2);
    REQUIRE(db.ok());
    fill(*db, 0, 10);
    util::inject_sync_failures(1);
    Metadata m = meta_for(10);
    Status s = db->upsert(10, row_for(10, 8), &m);
    CHECK(s.code() == StatusCode::kIOError);
    util::inject_sync_failures(0);
    // The disk may have lost anything since the last good sync: no later
    // write may be acknowledged on top of that doubt.
    Status again = db->upsert(11, row_for(11, 8));
    CHECK(again.code() == StatusCode::kIOError);
    CHECK(std::string(again.message()).find("reopen") != std::string::npos);
    CHECK(db->remove(1).status().code() == StatusCode::kIOError);
    // Reads still work.
    expect_present(*db, 0, 10);
    CHECK_FALSE(db->close().ok());
  }
  auto db = Database::open(path, 8, Metric::kL2);
  REQUIRE_MESSAGE(db.ok(), db.status().to_string());
  expect_present(*db, 0, 10);             // everything acknowledged is there
  CHECK_FALSE(db->get(11)->has_value());  // the refused write is not
  fill(*db, 20, 5);                       // and the database takes writes again
  REQUIRE(db->close().ok());
}
