// Crash safety with real processes: a child writes with FsyncPolicy::always
// and reports each acknowledged write; the parent kills it with SIGKILL at a
// random moment, reopens the database, and checks every acknowledged record
// is there with its exact floats and metadata.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <random>
#include <string>
#include <thread>

#include "integration/crash_record.h"
#include "iqdb/iqdb.hpp"
#include "unit/util/temp_dir.h"

using namespace iqdb;

namespace {

const std::string kWriter = std::string(IQDB_TEST_BUILD_DIR) + "/tests/integration/crash_writer";

// Starts the writer, lets it run for `run_ms`, kills it, and returns the ids
// it acknowledged.
std::vector<uint64_t> run_and_kill(const std::filesystem::path& path, uint64_t seed, int threads,
                                   const char* index, int run_ms) {
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    dup2(fds[1], 1);
    close(fds[0]);
    close(fds[1]);
    std::string seed_s = std::to_string(seed), threads_s = std::to_string(threads);
    execl(kWriter.c_str(), kWriter.c_str(), path.c_str(), seed_s.c_str(), threads_s.c_str(), index,
          static_cast<char*>(nullptr));
    _exit(127);
  }
  close(fds[1]);
  std::string out;
  char buf[4096];
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(run_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fds[0], POLLIN, 0};
    if (poll(&p, 1, 1) > 0) {
      ssize_t n = read(fds[0], buf, sizeof buf);
      if (n <= 0) break;
      out.append(buf, size_t(n));
    }
  }
  kill(child, SIGKILL);
  // What the child printed before it died was acknowledged; drain it.
  for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) > 0;) out.append(buf, size_t(n));
  close(fds[0]);
  int status = 0;
  REQUIRE(waitpid(child, &status, 0) == child);
  CHECK_MESSAGE((WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL),
                "the writer died on its own: exit status " << status);
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
    auto ids = run_and_kill(path, uint64_t(trial) + 1, threads, index, 20 + int(rng() % 150));
    acknowledged += ids.size();
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
