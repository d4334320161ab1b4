// PowerLossFs: what a simulated power cut keeps and drops.
#include <doctest/doctest.h>

#include <cerrno>
#include <fstream>
#include <iterator>
#include <string>

#include "unit/util/temp_dir.h"
#include "util/coding.h"
#include "util/file.h"
#include "util/power_loss.h"

using namespace iqdb;
using iqdb::testing::TempDir;

namespace {

std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void put(util::File& f, uint64_t at, const std::string& s) {
  REQUIRE(f.write_at(at, util::as_bytes(s)).ok());
}

}  // namespace

TEST_CASE("power loss: unsynced bytes, and names without a directory fsync, are lost") {
  TempDir dir, image;
  { std::ofstream(dir / "old") << "old contents"; }
  util::PowerLossFs fs(dir.path());
  fs.install();
  {
    auto f = util::File::open(dir / "a", util::File::Mode::kCreateTruncate);
    REQUIRE(f.ok());
    put(*f, 0, "synced");
    REQUIRE(f->sync().ok());
    put(*f, 6, " and not");
  }
  REQUIRE(util::fsync_directory(dir.path()).ok());  // "a" is named durably
  {
    auto t = util::File::open(dir / "tmp", util::File::Mode::kCreateTruncate);
    REQUIRE(t.ok());
    put(*t, 0, "new contents");
    REQUIRE(t->sync().ok());
  }
  // Renamed over "old" but the directory is not synced: "old" keeps its
  // old inode after a power cut.
  std::filesystem::rename(dir / "tmp", dir / "old");
  fs.after_rename(dir / "tmp", dir / "old");
  REQUIRE(fs.image_to(image.path()).ok());
  CHECK(slurp(image / "a") == "synced");
  CHECK(slurp(image / "old") == "old contents");
  CHECK_FALSE(std::filesystem::exists(image / "tmp"));

  REQUIRE(util::fsync_directory(dir.path()).ok());
  REQUIRE(fs.image_to(image.path()).ok());
  CHECK(slurp(image / "old") == "new contents");
  fs.uninstall();
}

TEST_CASE("power loss: a file created and named durably but never synced comes back empty") {
  TempDir dir, image;
  util::PowerLossFs fs(dir.path());
  fs.install();
  {
    auto f = util::File::open(dir / "x", util::File::Mode::kCreateTruncate);
    REQUIRE(f.ok());
    put(*f, 0, "never synced");
  }
  REQUIRE(util::fsync_directory(dir.path()).ok());
  REQUIRE(fs.image_to(image.path()).ok());
  CHECK(std::filesystem::exists(image / "x"));
  CHECK(slurp(image / "x").empty());
  fs.uninstall();
}

TEST_CASE("power loss layer fails the chosen write short and the chosen sync") {
  TempDir dir;
  util::PowerLossFs fs(dir.path());
  fs.fail_write(1, 3, ENOSPC);
  fs.fail_sync(0, EIO);
  fs.install();
  auto f = util::File::open(dir / "x", util::File::Mode::kCreateTruncate);
  REQUIRE(f.ok());
  put(*f, 0, "first");
  Status s = f->write_at(5, util::as_bytes(std::string("second")));
  CHECK(s.code() == StatusCode::kIOError);
  CHECK(f->sync().code() == StatusCode::kIOError);
  CHECK(f->sync().ok());
  fs.uninstall();
  CHECK(slurp(dir / "x") == "firstsec");  // the short write left 3 bytes
  CHECK(fs.writes() == 2);
}
