// iqdb compact: fold the write-ahead log into a fresh snapshot (flush), or
// re-encode the snapshot with another compression.
#include <chrono>
#include <cstdio>

#include "cli/args.h"
#include "cli/cli.h"
#include "cli/open_db.h"
#include "cli/output.h"
#include "cli/snapshot_recode.h"
#include "util/file.h"

namespace iqdb::cli {

const char* const kCompactHelp =
    "usage: iqdb compact PATH [--compression none|zstd[:LEVEL]|lz4]\n\n"
    "Writes a fresh snapshot holding every logged write (temp file, fsync, rename,\n"
    "directory fsync) and resets the write-ahead log. A no-op when the log is empty,\n"
    "unless --compression asks for another snapshot encoding: then every section\n"
    "is verified and written again with it. Later writes keep that encoding.\n\n"
    "  --compression C   write the snapshot with this compression\n";

namespace {

const OptionSpec kSpecs[] = {{"--compression", nullptr, true}};

}  // namespace

int run_compact(std::span<char* const> argv) {
  Args args("compact", argv, kSpecs);
  args.expect_positional(1, 1, "PATH");
  const std::filesystem::path path = args.positional()[0];
  const StoredShape shape = read_stored_shape(path);
  OpenOptions options;
  if (auto c = args.get("--compression")) options.compression = parse_compression(*c);
  const uint64_t before_snapshot = shape.snapshot_bytes, before_wal = shape.wal_bytes;
  std::error_code ec;
  const auto before_time = std::filesystem::last_write_time(path, ec);
  const auto start = std::chrono::steady_clock::now();
  Database db = open_existing(path, shape, options);
  const size_t records = db.size();
  check(db.flush(), "compaction failed", Exit::kError);
  check(db.close(), "close", Exit::kError);
  bool rewritten = std::filesystem::last_write_time(path, ec) != before_time;
  if (!rewritten && options.compression) {
    // The log was empty, so the database wrote nothing: re-encode the
    // snapshot here, holding the lock as the database would.
    auto lock = util::FileLock::acquire(path);
    if (!lock.ok()) check(lock.status(), path.string(), Exit::kError);
    check(recode_snapshot(path, *options.compression), "cannot re-encode " + path.string(),
          Exit::kError);
    rewritten = true;
  }
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const uint64_t after_snapshot = file_bytes_or_zero(path),
                 after_wal = file_bytes_or_zero(sibling(path, ".wal"));
  std::printf("%s: %zu records; snapshot %s -> %s, log %s -> %s (%.2f s)%s\n", path.c_str(),
              records, human_bytes(before_snapshot).c_str(), human_bytes(after_snapshot).c_str(),
              human_bytes(before_wal).c_str(), human_bytes(after_wal).c_str(), secs,
              rewritten ? "" : "; the log was empty, nothing to do");
  return 0;
}

}  // namespace iqdb::cli
