// iqdb compact: fold the write-ahead log into a fresh snapshot, or
// re-encode the snapshot with another compression (Database::compact).
#include <chrono>
#include <cstdio>

#include "cli/args.h"
#include "cli/cli.h"
#include "cli/open_db.h"
#include "cli/output.h"

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
  (void)read_shape(path);  // absence and a damaged header, before the lock
  OpenArgs open_args;
  if (auto c = args.get("--compression")) open_args.compression = parse_compression(*c);
  const auto start = std::chrono::steady_clock::now();
  Database db = open_existing(path, open_args);
  const DatabaseInfo before = take(db.info(), "info", Exit::kError);
  if (before.log_records == 0 && !open_args.compression) {
    check(db.close(), "close", Exit::kError);
    std::printf("%s: %llu records; snapshot %s, log %s; the log was empty, nothing to do\n",
                path.string().c_str(), static_cast<unsigned long long>(before.records),
                human_bytes(before.snapshot_bytes).c_str(), human_bytes(before.log_bytes).c_str());
    return 0;
  }
  CompactOptions options;
  options.compression = open_args.compression;
  auto report = db.compact(options);
  if (!report.ok()) {
    const Status& s = report.status();
    const Exit code = s.code() == StatusCode::kCorruption    ? Exit::kDamaged
                      : s.code() == StatusCode::kUnsupported ? Exit::kUnsupported
                                                             : Exit::kError;
    throw CliError(code, "cannot re-encode " + path.string() + ": " + std::string(s.message()));
  }
  check(db.close(), "close", Exit::kError);
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf(
      "%s: %llu records; snapshot %s -> %s, log %s -> %s, %llu log records folded in, "
      "compression %s -> %s (%.2f s)\n",
      path.string().c_str(), static_cast<unsigned long long>(report->records),
      human_bytes(report->snapshot_bytes_before).c_str(),
      human_bytes(report->snapshot_bytes_after).c_str(),
      human_bytes(report->log_bytes_before).c_str(), human_bytes(report->log_bytes_after).c_str(),
      static_cast<unsigned long long>(report->log_records_folded),
      compression_text(report->compression_before).c_str(),
      compression_text(report->compression_after).c_str(), secs);
  return 0;
}

}  // namespace iqdb::cli
