// Crash safety with real processes: a child writes with FsyncPolicy::always
// and reports each acknowledged write; the parent kills it (SIGKILL;
// TerminateProcess on Windows) at a random moment, reopens the database, and
// checks every acknowledged record is there with its exact floats and
// metadata.
#include <doctest/doctest.h>

#include <chrono>
#include <random>
#include <string>
#include <thread>

#include "integration/crash_record.h"
#include "iqdb/iqdb.hpp"
#include "unit/util/temp_dir.h"
#include "util/child_process.h"

using namespace iqdb;

namespace {

const std::string kWriter = std::string(IQDB_TEST_BUILD_DIR) + "/tests/integration/crash_writer";

// Starts the writer, lets it run for `run_ms` after its first acknowledged
// write, kills it, and returns the ids it acknowledged. The window starts at
// the first acknowledgement, not at the spawn, so a platform that starts
// processes slowly (Windows, wine) still kills a writer in mid-stream.
std::vector<uint64_t> run_and_kill(const std::filesystem::path& path, uint64_t seed, int threads,
                                   const char* index, int run_ms) {
  auto child = util::ChildProcess::spawn(
      kWriter, {path.string(), std::to_string(seed), std::to_string(threads), index});
  REQUIRE_MESSAGE(child.ok(), child.status().to_string());
  std::string out;
  while (out.find('\n') == std::string::npos) {
    if (!child->read_some(out, -1)) break;  // it ended before acknowledging anything
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(run_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    if (!child->read_some(out, 1)) break;
  }
  child->kill();
  // What the child printed before it died was acknowledged; drain it.
  while (child->read_some(out, -1)) {
  }
  const util::ChildProcess::Exit exit = child->wait();
  CHECK_MESSAGE(exit.killed, "the writer died on its own: exit code " << exit.code);
  std::vector<uint64_t> ids;
  size_t pos = 0;
  while (true) {
    size_t nl = out.find('\n', pos);
    if (nl == std::string::npos) break;  // a partial line was not a full report
    ids.push_back(std::stoull(out.substr(pos, nl - pos)));
    pos = nl + 1;
  }
  return ids;
}

void crash_trials(int trials, int threads, const char* index) {
  iqdb::testing::TempDir dir;
  auto path = dir / "db";
  std::mt19937 rng(uint32_t(trials * 31 + threads));
  size_t acknowledged = 0;
  for (int trial = 0; trial < trials; ++trial) {
    auto ids = run_and_kill(path, uint64_t(trial) + 1, threads, index, int(rng() % 150));
    const size_t acked_now = ids.size();
    CHECK_MESSAGE(acked_now > 0, "trial " << trial << ": the writer acknowledged nothing");
    acknowledged += acked_now;
    Config config(crash::kDim, Metric::kL2);
    auto db = Database::open(path, config);
    REQUIRE_MESSAGE(db.ok(), "trial " << trial << ": " << db.status().to_string());
    for (uint64_t id : ids) {
      auto rec = db->get(id);
      REQUIRE(rec.ok());
      REQUIRE_MESSAGE(rec->has_value(), "trial " << trial << ": acknowledged id " << id << " lost");
      CHECK((*rec)->vector == crash::vector_for(id));
      REQUIRE((*rec)->metadata.has_value());
      CHECK(*(*rec)->metadata == crash::metadata_for(id));
    }
    // Some trials compact, so kills also land on a fresh snapshot + log.
    if (trial % 4 == 3) REQUIRE(db->flush().ok());
    REQUIRE(db->close().ok());
  }
  MESSAGE(trials << " kill -9 trials (" << threads << " writer threads, " << std::string(index)
                 << "): " << acknowledged << " acknowledged writes, none lost");
}

}  // namespace

TEST_CASE("kill -9 at random moments never loses an acknowledged write (one writer)") {
  crash_trials(25, 1, "flat");
}

TEST_CASE("kill -9 with concurrent writers never loses an acknowledged write") {
  crash_trials(15, 4, "flat");
}

TEST_CASE("kill -9 during HNSW writes never loses an acknowledged write") {
  crash_trials(10, 2, "hnsw");
}
