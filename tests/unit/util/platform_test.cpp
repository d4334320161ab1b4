// The platform layer's promises that differ by OS: file identity, shared
// and exclusive locks, the arena's file adoption under any mapping
// granularity, and the macOS full-sync fallback (driven on Linux).
#include <doctest/doctest.h>

#include <cstring>
#include <string>

#include "unit/util/temp_dir.h"
#include "util/arena.h"
#include "util/file.h"
#include "util/file_sync.h"

#if !defined(_WIN32)
#include <fcntl.h>
#include <unistd.h>
#endif

namespace iqdb::util {
namespace {

using testing::TempDir;

// Restores the OS's mapping granularity when the test ends, pass or fail.
struct GranularityOverride {
  explicit GranularityOverride(size_t bytes) { set_mapping_granularity_for_testing(bytes); }
  ~GranularityOverride() { set_mapping_granularity_for_testing(0); }
};

std::string pattern(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 131 + i / 4096) & 0xff);
  return s;
}

Status write_file(const std::filesystem::path& path, const std::string& bytes) {
  Result<File> f = File::open(path, File::Mode::kCreateTruncate);
  if (!f.ok()) return f.status();
  IQDB_RETURN_IF_ERROR(
      f->write_at(0, std::span(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size())));
  return f->close();
}

TEST_CASE("File identity tells files apart and survives reopening and renaming") {
  TempDir dir;
  REQUIRE(write_file(dir / "a", "a").ok());
  REQUIRE(write_file(dir / "b", "b").ok());
  Result<File> a = File::open(dir / "a", File::Mode::kReadOnly);
  Result<File> b = File::open(dir / "b", File::Mode::kReadOnly);
  Result<File> a2 = File::open(dir / "a", File::Mode::kReadOnly);
  REQUIRE((a.ok() && b.ok() && a2.ok()));
  CHECK(*a->identity() != *b->identity());
  CHECK(*a->identity() == *a2->identity());
  const uint64_t before = *a->identity();
  a = File();
  a2 = File();
  REQUIRE(rename_durably(dir / "a", dir / "c").ok());
  Result<File> c = File::open(dir / "c", File::Mode::kReadOnly);
  REQUIRE(c.ok());
  CHECK(*c->identity() == before);
}

TEST_CASE("shared locks coexist, an exclusive one excludes them, and locks never block I/O") {
  TempDir dir;
  Result<File> one = File::open(dir / "l", File::Mode::kCreate);
  Result<File> two = File::open(dir / "l", File::Mode::kCreate);
  Result<File> three = File::open(dir / "l", File::Mode::kCreate);
  REQUIRE((one.ok() && two.ok() && three.ok()));
  REQUIRE(one->try_lock(/*shared=*/true).ok());
  CHECK(two->try_lock(/*shared=*/true).ok());
  CHECK(three->try_lock(/*shared=*/false).code() == StatusCode::kBusy);
  one = File();
  two = File();
  REQUIRE(three->try_lock(/*shared=*/false).ok());
  Result<File> four = File::open(dir / "l", File::Mode::kCreate);
  REQUIRE(four.ok());
  CHECK(four->try_lock(/*shared=*/true).code() == StatusCode::kBusy);
  // Another handle still reads and writes the locked file's bytes.
  const std::string text = "12345\n";
  CHECK(four->write_at(0, std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()))
            .ok());
  uint8_t back[6] = {};
  CHECK(three->read_exact(0, back).ok());
  CHECK(std::memcmp(back, text.data(), sizeof back) == 0);
}

std::string read_all(const std::filesystem::path& path) {
  Result<File> f = File::open(path, File::Mode::kReadOnly);
  REQUIRE(f.ok());
  std::string out(static_cast<size_t>(*f->size()), '\0');
  REQUIRE(f->read_exact(0, std::span(reinterpret_cast<uint8_t*>(out.data()), out.size())).ok());
  return out;
}

TEST_CASE("rename_durably replaces a file that is open and mapped, which keeps the old bytes") {
  TempDir dir;
  REQUIRE(write_file(dir / "db", "old snapshot").ok());
  Result<File> held = File::open(dir / "db", File::Mode::kReadOnly);
  REQUIRE(held.ok());
  Result<MappedFile> map = MappedFile::map(*held);
  REQUIRE(map.ok());
  for (const char* next : {"new snapshot", "newer snapshot"}) {
    REQUIRE(write_file(dir / "db.tmp", next).ok());
    REQUIRE(rename_durably(dir / "db.tmp", dir / "db").ok());
    CHECK(read_all(dir / "db") == next);
    CHECK(!std::filesystem::exists(dir / "db.tmp"));
  }
  CHECK(std::string(reinterpret_cast<const char*>(map->bytes().data()), map->size()) ==
        "old snapshot");
  map = MappedFile();
  held = File();
  REQUIRE(recover_replaced_file(dir / "db").ok());
  size_t entries = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.path()))
    entries += !e.is_directory();
  CHECK(entries == 1);  // no aside is left once nothing holds it
  CHECK(read_all(dir / "db") == "newer snapshot");
}

#if defined(_WIN32)
TEST_CASE("recover_replaced_file puts back a file moved aside by an interrupted replace") {
  TempDir dir;
  // As a crash between the two renames leaves it: the target aside, the
  // new file still under its temporary name.
  REQUIRE(write_file(dir / "db.replaced-7-0", "old").ok());
  REQUIRE(write_file(dir / "db.tmp", "new").ok());
  REQUIRE(recover_replaced_file(dir / "db").ok());
  CHECK(read_all(dir / "db") == "old");
  CHECK(!std::filesystem::exists(dir / "db.replaced-7-0"));
  // With the target present, a leftover aside is only removed.
  REQUIRE(write_file(dir / "db.replaced-7-1", "older").ok());
  REQUIRE(recover_replaced_file(dir / "db").ok());
  CHECK(read_all(dir / "db") == "old");
  CHECK(!std::filesystem::exists(dir / "db.replaced-7-1"));
}
#endif

TEST_CASE("adopt_file maps aligned offsets and copies ones the granularity does not divide") {
  TempDir dir;
  // Three 4 KiB-aligned regions: at 0, at 4 KiB (never 64 KiB aligned) and
  // at 64 KiB.
  const std::string bytes = pattern(64 * 1024 + 3 * 4096 + 17);
  REQUIRE(write_file(dir / "f", bytes).ok());
  Result<File> f = File::open(dir / "f", File::Mode::kReadOnly);
  REQUIRE(f.ok());
  const size_t length = 4096 + 100;
  auto same = [&](const Arena& arena, uint64_t offset) {
    return arena.committed_bytes() >= length &&
           std::memcmp(arena.data(), bytes.data() + offset, length) == 0;
  };
  for (size_t granularity : {size_t{0}, size_t{16} << 10, size_t{64} << 10}) {
    CAPTURE(granularity);
    GranularityOverride guard(granularity);
    for (uint64_t offset : {uint64_t{0}, uint64_t{4096}, uint64_t{64} << 10}) {
      CAPTURE(offset);
      Arena arena(size_t{64} << 20);
      REQUIRE(arena.adopt_file(*f, offset, length).ok());
      CHECK(same(arena, offset));
      if (offset % mapping_granularity() != 0) CHECK_FALSE(arena.maps_file());
#if !defined(_WIN32)  // Windows cannot place a file view inside a reservation: it always reads
      if (offset % mapping_granularity() == 0) CHECK(arena.maps_file());
#endif
      // The arena grows past the adopted bytes either way, and writes stay
      // in memory.
      REQUIRE(arena.grow(length + (size_t{1} << 20)).ok());
      arena.data()[0] = static_cast<uint8_t>(~bytes[offset]);
      arena.data()[length + 5] = 7;
    }
  }
  Result<File> again = File::open(dir / "f", File::Mode::kReadOnly);
  REQUIRE(again.ok());
  std::string back(bytes.size(), '\0');
  REQUIRE(
      again->read_exact(0, std::span(reinterpret_cast<uint8_t*>(back.data()), back.size())).ok());
  CHECK(back == bytes);
}

TEST_CASE("adopt_file refuses a range past the end of the file") {
  TempDir dir;
  REQUIRE(write_file(dir / "f", pattern(8192)).ok());
  Result<File> f = File::open(dir / "f", File::Mode::kReadOnly);
  REQUIRE(f.ok());
  Arena arena(size_t{64} << 20);
  CHECK(arena.adopt_file(*f, 4096, 8192).code() == StatusCode::kIOError);
  CHECK(arena.committed_bytes() == 0);
}

TEST_CASE("the mapping granularity override only ever raises it") {
  const size_t os = mapping_granularity();
  CHECK(os >= page_size());
  {
    GranularityOverride guard(1);
    CHECK(mapping_granularity() == os);
  }
  {
    GranularityOverride guard(size_t{1} << 20);
    CHECK(mapping_granularity() == (size_t{1} << 20));
  }
  CHECK(mapping_granularity() == os);
}

#if !defined(_WIN32)
// The macOS sync path on Linux: Linux has no F_FULLFSYNC and answers the
// command with EINVAL, which is exactly the fallback macOS needs on
// filesystems that refuse it.
TEST_CASE("full_fsync falls back to fsync when the command is refused, and reports real errors") {
  TempDir dir;
  const int fd = ::open((dir / "f").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  REQUIRE(fd >= 0);
  REQUIRE(::write(fd, "x", 1) == 1);
  constexpr int kDarwinFullFsync = 51;
  CHECK(detail::full_fsync(fd, kDarwinFullFsync) == 0);
  // F_GETFL succeeds, so no fallback is needed; a closed descriptor's EBADF
  // is not a refusal and is reported.
  CHECK(detail::full_fsync(fd, F_GETFL) == 0);
  ::close(fd);
  errno = 0;
  CHECK(detail::full_fsync(fd, kDarwinFullFsync) == -1);
  CHECK(errno == EBADF);
  CHECK(detail::data_sync(fd) == -1);
}
#endif

}  // namespace
}  // namespace iqdb::util
