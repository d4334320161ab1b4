// A batch of more than 1.5 GB of floats in one upsert_batch on a file: it
// is logged in parts and committed by its last, so it succeeds, survives
// reopen, and a kill -9 while it is being logged leaves all of it or none.
#include <doctest/doctest.h>

#include <filesystem>
#include <random>
#include <string>

#include "iqdb/iqdb.hpp"
#include "slow/big_batch.h"
#include "unit/util/temp_dir.h"
#include "util/child_process.h"

using namespace iqdb;
namespace bb = iqdb::big_batch;

namespace {

const std::string kWriter = std::string(IQDB_TEST_BUILD_DIR) + "/tests/slow/big_batch_writer";

// Rows spread over the batch, each compared float for float.
void expect_batch(const Database& db) {
  for (uint64_t r : {uint64_t{0}, uint64_t{1}, bb::kRows / 3, bb::kRows / 2, bb::kRows - 1}) {
    auto got = db.get(bb::kFirstId + r);
    REQUIRE(got.ok());
    REQUIRE(got->has_value());
    CHECK((*got)->vector == bb::row(r));
  }
}

// Whether `seen` holds `line` whole (a Windows child's text-mode stdout
// ends lines with "\r\n").
bool has_line(const std::string& seen, const std::string& line) {
  return seen.find(line + "\n") != std::string::npos ||
         seen.find(line + "\r\n") != std::string::npos;
}

// Reads the child's stdout until `line` appears (or the child exits).
bool wait_for(util::ChildProcess& child, const std::string& line, std::string& seen) {
  while (!has_line(seen, line)) {
    if (!child.read_some(seen, -1)) return false;
  }
  return true;
}

// Runs the writer; kills it once the log holds `kill_at_log_bytes` (0:
// after the batch is acknowledged). Returns whether "done" was printed.
bool run_writer(const std::filesystem::path& path, uint64_t kill_at_log_bytes) {
  auto child = util::ChildProcess::spawn(kWriter, {path.string()});
  REQUIRE_MESSAGE(child.ok(), child.status().to_string());
  std::string seen;
  REQUIRE(wait_for(*child, "ready", seen));
  bool done = false;
  if (kill_at_log_bytes == 0) {
    done = wait_for(*child, "done", seen);
  } else {
    const auto wal = std::filesystem::path(path.string() + ".wal");
    for (;;) {
      std::error_code ec;
      if (std::filesystem::file_size(wal, ec) >= kill_at_log_bytes) break;
      if (!child->read_some(seen, 5)) break;  // the child died on its own
      if (has_line(seen, "done")) break;
    }
    done = has_line(seen, "done");
  }
  child->kill();
  (void)child->wait();
  return done;
}

}  // namespace

TEST_CASE("a batch of over 1.5 GB of floats on a file succeeds and survives reopen") {
  iqdb::testing::TempDir dir;
  const auto path = dir / "big";
  {
    auto db = Database::open(path, Config(bb::kDim, Metric::kL2));
    REQUIRE(db.ok());
    std::vector<VectorId> ids;
    ids.reserve(bb::kRows);
    for (uint64_t r = 0; r < bb::kRows; ++r) ids.emplace_back(bb::kFirstId + r);
    {
      const std::vector<float> rows = bb::rows();
      REQUIRE(rows.size() * sizeof(float) >= size_t{1'500'000'000});
      REQUIRE(db->upsert_batch(ids, rows).ok());
    }
    CHECK(db->size() == bb::kRows);
    REQUIRE(db->close().ok());
  }
  auto db = Database::open(path, Config(bb::kDim, Metric::kL2));
  REQUIRE(db.ok());
  CHECK(db->size() == bb::kRows);
  expect_batch(*db);
}

TEST_CASE("kill -9 while a 1.5 GB batch is logged leaves all of it or none; after its ack, all") {
  iqdb::testing::TempDir dir;
  std::mt19937_64 rng(std::random_device{}());
  const uint64_t log_bytes = bb::kRows * (bb::kDim * 4 + 16);  // about what the batch logs
  // Torn: killed somewhere in the middle of logging the parts.
  {
    const auto path = dir / "torn";
    const uint64_t at = log_bytes / 10 + rng() % (log_bytes * 7 / 10);
    const bool acked = run_writer(path, at);
    auto db = Database::open(path, Config(bb::kDim, Metric::kL2));
    REQUIRE(db.ok());
    const size_t n = db->size();
    CHECK((n == bb::kMarkers || n == bb::kMarkers + bb::kRows));
    if (acked) CHECK(n == bb::kMarkers + bb::kRows);
    if (n == bb::kMarkers + bb::kRows) expect_batch(*db);
    // The torn parts left in the log stay dropped after later writes.
    REQUIRE(db->upsert(bb::kMarkers, bb::row(bb::kMarkers)).ok());
    REQUIRE(db->close().ok());
    auto again = Database::open(path, Config(bb::kDim, Metric::kL2));
    REQUIRE(again.ok());
    CHECK(again->size() == n + 1);
    MESSAGE("killed at " << at << " log bytes: " << std::string(n == bb::kMarkers ? "none" : "all")
                         << " of the batch after reopen");
  }
  // Acknowledged, then killed before any snapshot: replay brings it all back.
  {
    const auto path = dir / "acked";
    REQUIRE(run_writer(path, 0));
    auto db = Database::open(path, Config(bb::kDim, Metric::kL2));
    REQUIRE(db.ok());
    CHECK(db->size() == bb::kMarkers + bb::kRows);
    expect_batch(*db);
  }
}
