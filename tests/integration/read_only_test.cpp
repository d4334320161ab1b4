// Read-only handles across real processes: any number share a database
// under a shared lock, a writer excludes them and they exclude a writer
// (kBusy either way, nothing changes), and what they read is what the
// writer wrote.
#include <doctest/doctest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "iqdb/iqdb.hpp"
#include "unit/util/temp_dir.h"
#include "util/child_process.h"

#if !defined(_WIN32)
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#endif

using namespace iqdb;

namespace {

const std::string kHolder = std::string(IQDB_TEST_BUILD_DIR) + "/tests/integration/db_holder";

// A db_holder child: its first line of output, and the pipe that keeps it
// holding the database until release().
class Holder {
 public:
  Holder(const char* mode, const std::filesystem::path& path) {
    auto child = util::ChildProcess::spawn(kHolder, {mode, path.string()});
    REQUIRE_MESSAGE(child.ok(), child.status().to_string());
    child_ = std::move(*child);
    line_ = child_.read_line().value_or("");
  }
  ~Holder() { release(); }
  Holder(const Holder&) = delete;
  Holder& operator=(const Holder&) = delete;
  const std::string& line() const { return line_; }
  bool opened() const { return line_.rfind("open ", 0) == 0; }
  // Lets the child close its handle; returns its exit code.
  int release() {
    child_.close_stdin();
    return child_.wait().code;
  }

 private:
  util::ChildProcess child_;
  std::string line_;
};

std::string busy_line() { return "error " + std::to_string(int(StatusCode::kBusy)); }

#if defined(__linux__)
// Whether this process maps `path` (Linux's /proc tells).
bool maps_file(const std::filesystem::path& path) {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  const std::string name = std::filesystem::canonical(path).string();
  while (std::getline(maps, line)) {
    if (line.size() >= name.size() &&
        line.compare(line.size() - name.size(), name.size(), name) == 0) {
      return true;
    }
  }
  return false;
}
#endif

}  // namespace

TEST_CASE("read-only handles in several processes share a database; a writer waits its turn") {
  testing::TempDir dir;
  const auto path = dir / "shared.iqdb";
  const size_t dim = 16, n = 500;
  {
    auto db = Database::open(path, Config(dim, Metric::kL2).index(HnswConfig().with_m(8)));
    REQUIRE(db.ok());
    std::vector<VectorId> ids;
    std::vector<float> rows(n * dim);
    for (size_t i = 0; i < n; ++i) ids.emplace_back(uint64_t(i));
    for (size_t i = 0; i < rows.size(); ++i) rows[i] = float(i % 97);
    REQUIRE(db->upsert_batch(ids, rows).ok());
    REQUIRE(db->close().ok());
  }
  const auto snapshot_bytes = std::filesystem::file_size(path);

  Holder a("ro", path), b("ro", path), c("ro", path);
  CHECK(a.line() == "open 500");
  CHECK(b.line() == "open 500");
  CHECK(c.line() == "open 500");
  // This process joins them read-only; the snapshot is mapped here too.
  auto mine = Database::open(path, OpenOptions().with_read_only(true));
  REQUIRE(mine.ok());
  CHECK(mine->size() == n);
#if defined(__linux__)
  CHECK(maps_file(path));
#endif

  // A writer is refused, in another process and in this one.
  Holder w("rw", path);
  CHECK(w.line().rfind(busy_line(), 0) == 0);
  CHECK(w.release() == 1);
  auto writer = Database::open(path);
  CHECK(writer.status().code() == StatusCode::kBusy);
  CHECK(std::string(writer.status().message()).find("read-only") != std::string::npos);

  CHECK(a.release() == 0);
  CHECK(b.release() == 0);
  REQUIRE(mine->close().ok());
  CHECK(Database::open(path).status().code() == StatusCode::kBusy);  // c still reads
  CHECK(c.release() == 0);
  CHECK(std::filesystem::file_size(path) == snapshot_bytes);  // readers wrote nothing

  // Now a writer in another process excludes readers, until it closes.
  Holder w2("rw", path);
  REQUIRE(w2.opened());
  Holder late("ro", path);
  CHECK(late.line().rfind(busy_line(), 0) == 0);
  CHECK(Database::open(path, OpenOptions().with_read_only(true)).status().code() ==
        StatusCode::kBusy);
  CHECK(w2.release() == 0);
  Holder after("ro", path);
  CHECK(after.line() == "open 500");
}

#if !defined(_WIN32)
TEST_CASE("a read-only process sees what a writer process logged, without changing the log") {
  testing::TempDir dir;
  const auto path = dir / "log.iqdb";
  {
    auto db = Database::open(path, Config(4, Metric::kL2).fsync(FsyncPolicy::always()));
    REQUIRE(db.ok());
    REQUIRE(db->upsert(VectorId(uint64_t{1}), std::vector<float>{1, 2, 3, 4}).ok());
    REQUIRE(db->close().ok());
  }
  // A writer process logs one more record and is killed before it can fold
  // the log into the snapshot.
  pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    auto db = Database::open(path);
    if (!db.ok() || !db->upsert(VectorId(uint64_t{2}), std::vector<float>{5, 6, 7, 8}).ok())
      _exit(1);
    kill(getpid(), SIGKILL);
  }
  int status = 0;
  waitpid(child, &status, 0);
  REQUIRE(WIFSIGNALED(status));
  std::filesystem::path wal = path;
  wal += ".wal";
  const auto log_bytes = std::filesystem::file_size(wal);
  Holder r("ro", path);
  CHECK(r.line() == "open 2");
  CHECK(r.release() == 0);
  CHECK(std::filesystem::file_size(wal) == log_bytes);
  auto info = inspect(path);
  REQUIRE_MESSAGE(info.ok(), info.status().to_string());
  CHECK(info->records == 1);
  CHECK(info->log_records == 1);
}
#else
TEST_CASE(
    "skipped on Windows: a read-only process sees what a writer process logged (the writer is "
    "this test forked, which Windows cannot do)" *
    doctest::skip()) {}
#endif
