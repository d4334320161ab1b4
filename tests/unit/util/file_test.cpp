#include "util/file.h"

#include <doctest/doctest.h>

#include <cstring>
#include <string>
#include <vector>

#include "unit/util/temp_dir.h"
#include "util/coding.h"

#if !defined(_WIN32)
#include <sys/wait.h>
#include <unistd.h>
#endif

namespace iqdb::util {
namespace {

using testing::TempDir;

TEST_CASE("File reports a missing file as NotFound with its path") {
  TempDir dir;
  Result<File> f = File::open(dir / "missing", File::Mode::kReadOnly);
  REQUIRE_FALSE(f.ok());
  CHECK(f.status().code() == StatusCode::kNotFound);
  CHECK(f.status().message().find("missing") != std::string_view::npos);
}

TEST_CASE("File writes, reads, appends, truncates and syncs") {
  TempDir dir;
  Result<File> f = File::open(dir / "a", File::Mode::kCreateTruncate);
  REQUIRE(f.ok());
  REQUIRE(f->write_at(0, as_bytes("hello world")).ok());
  REQUIRE(f->write_at(6, as_bytes("there")).ok());
  CHECK(*f->size() == 11);
  std::string buf(11, '\0');
  REQUIRE(f->read_exact(0, std::span(reinterpret_cast<uint8_t*>(buf.data()), buf.size())).ok());
  CHECK(buf == "hello there");

  // A read past the end is short, and read_exact says so.
  std::vector<uint8_t> big(20);
  CHECK(*f->read_at(0, big) == 11);
  CHECK(f->read_exact(5, big).code() == StatusCode::kIOError);

  REQUIRE(f->write_at(*f->size(), as_bytes("!")).ok());
  CHECK(*f->size() == 12);
  REQUIRE(f->truncate(5).ok());
  CHECK(*f->size() == 5);
  REQUIRE(f->truncate(4096).ok());  // extends with zeros
  CHECK(*f->size() == 4096);
  CHECK(f->sync().ok());
  CHECK(f->sync_all().ok());
  CHECK(f->close().ok());
  CHECK_FALSE(f->is_open());
}

TEST_CASE("MappedFile shows the file's bytes, and an empty file as an empty span") {
  TempDir dir;
  {
    Result<File> f = File::open(dir / "m", File::Mode::kCreateTruncate);
    REQUIRE(f.ok());
    REQUIRE(f->write_at(0, as_bytes("mapped bytes")).ok());
    Result<MappedFile> m = MappedFile::map(*f);
    REQUIRE(m.ok());
    REQUIRE(f->close().ok());  // the mapping outlives the descriptor
    CHECK(as_chars(m->bytes()) == "mapped bytes");
    MappedFile moved = std::move(*m);
    CHECK(moved.size() == 12);
  }
  Result<File> e = File::open(dir / "empty", File::Mode::kCreate);
  REQUIRE(e.ok());
  Result<MappedFile> m = MappedFile::map(*e);
  REQUIRE(m.ok());
  CHECK(m->bytes().empty());
}

TEST_CASE("MappedFile::drop_pages leaves every byte readable and unchanged") {
  TempDir dir;
  const size_t page = page_size();
  std::string bytes(5 * page + 100, '\0');
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>((i * 131 + i / 7) & 0xFF);
  Result<File> f = File::open(dir / "d", File::Mode::kCreateTruncate);
  REQUIRE(f.ok());
  REQUIRE(f->write_at(0, as_bytes(bytes)).ok());
  Result<MappedFile> m = MappedFile::map(*f);
  REQUIRE(m.ok());
  REQUIRE(as_chars(m->bytes()) == bytes);
  // Unaligned ranges, one past the end, the whole file: pages read again
  // afterwards still hold the file's bytes.
  m->drop_pages(page / 2, 3 * page);
  CHECK(as_chars(m->bytes()) == bytes);
  m->drop_pages(bytes.size() - 10, 1000);
  m->drop_pages(bytes.size() + page, page);
  m->drop_pages(0, bytes.size());
  CHECK(as_chars(m->bytes()) == bytes);
  MappedFile none;
  none.drop_pages(0, page);  // no mapping: nothing to do
  CHECK(none.bytes().empty());
}

TEST_CASE("rename_durably replaces the target and fsync_directory succeeds") {
  TempDir dir;
  for (const char* name : {"from", "to"}) {
    Result<File> f = File::open(dir / name, File::Mode::kCreateTruncate);
    REQUIRE(f.ok());
    REQUIRE(f->write_at(0, as_bytes(name)).ok());
  }
  REQUIRE(rename_durably(dir / "from", dir / "to").ok());
  CHECK_FALSE(std::filesystem::exists(dir / "from"));
  CHECK(std::filesystem::file_size(dir / "to") == 4);
  CHECK(fsync_directory(dir.path()).ok());
  CHECK(fsync_directory(dir / "nope").code() == StatusCode::kNotFound);
  CHECK(remove_file_if_exists(dir / "to").ok());
  CHECK(remove_file_if_exists(dir / "to").ok());
  CHECK(with_suffix(dir / "db", ".wal") == dir / "db.wal");
  CHECK(parent_directory("plain") == ".");
}

TEST_CASE("a second FileLock on the same path in this process is Busy") {
  TempDir dir;
  Result<FileLock> first = FileLock::acquire(dir / "db");
  REQUIRE(first.ok());
  CHECK(first->held());
  CHECK(first->lock_path() == dir / "db.lock");

  Result<FileLock> second = FileLock::acquire(dir / "db");
  REQUIRE_FALSE(second.ok());
  CHECK(second.status().code() == StatusCode::kBusy);
  CHECK(second.status().message().find("db.lock") != std::string_view::npos);

  // Closing an unrelated descriptor of the lock file does not drop the lock
  // (it would with classic fcntl locks).
  { Result<File> other = File::open(dir / "db.lock", File::Mode::kReadOnly); }
  CHECK(FileLock::acquire(dir / "db").status().code() == StatusCode::kBusy);

  first->release();
  CHECK(FileLock::acquire(dir / "db").ok());
}

#if !defined(_WIN32)
TEST_CASE("a FileLock held by another process makes this one Busy until it exits") {
  TempDir dir;
  int ready[2], done[2];
  REQUIRE(::pipe(ready) == 0);
  REQUIRE(::pipe(done) == 0);
  pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    Result<FileLock> lock = FileLock::acquire(dir / "db");
    char c = lock.ok() ? 'y' : 'n';
    (void)!::write(ready[1], &c, 1);
    (void)!::read(done[0], &c, 1);  // hold until the parent has checked
    ::_exit(lock.ok() ? 0 : 1);
  }
  char c = 0;
  REQUIRE(::read(ready[0], &c, 1) == 1);
  REQUIRE(c == 'y');
  Result<FileLock> mine = FileLock::acquire(dir / "db");
  CHECK(mine.status().code() == StatusCode::kBusy);
  CHECK(mine.status().message().find(std::to_string(child)) != std::string_view::npos);
  REQUIRE(::write(done[1], "x", 1) == 1);
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK(FileLock::acquire(dir / "db").ok());
  for (int fd : {ready[0], ready[1], done[0], done[1]}) ::close(fd);
}
#else
TEST_CASE(
    "skipped on Windows: a FileLock held by another process (the holder is this test forked, "
    "which Windows cannot do; the integration suite's db_holder tests cover it)" *
    doctest::skip()) {}
#endif

}  // namespace
}  // namespace iqdb::util
