// iqdb check: prints what iqdb::verify finds, in the spirit of SQLite's
// PRAGMA integrity_check. Read-only: nothing is replayed, cut or rewritten,
// so it is safe to run on a database that failed to open.
#include <cstdio>
#include <string>

#include "cli/args.h"
#include "cli/cli.h"
#include "iqdb/iqdb.hpp"

namespace iqdb::cli {

const char* const kCheckHelp =
    "usage: iqdb check PATH [--quiet]\n\n"
    "Verifies the database at PATH without changing it: the snapshot header and\n"
    "every section checksum, the id map (each id maps back to its slot, counts\n"
    "agree), the rows (decoded from their storage type: finite, and matching their\n"
    "stored norms), the index (HNSW graph invariants: no links to absent nodes, no\n"
    "self links, no over-full lists, a valid entry point, every live row in the\n"
    "graph; nodes no search can reach are reported as a note; IVF: every live row\n"
    "in exactly one list, its nearest, with codes that re-encode the same) and every\n"
    "write-ahead log record.\n"
    "Prints one line per stage and `ok`, or the problems found. Exit codes: 0 ok,\n"
    "3 damaged, 4 no database at PATH, 7 an index this build cannot check.\n\n"
    "  --quiet   print only the verdict\n";

namespace {

const OptionSpec kSpecs[] = {{"--quiet", "-q", false}};

const char* severity_text(VerifyReport::Severity s) {
  switch (s) {
    case VerifyReport::Severity::kOk: return "ok";
    case VerifyReport::Severity::kDamaged: return "DAMAGED";
    case VerifyReport::Severity::kNote:
    case VerifyReport::Severity::kUnchecked: return "note";
  }
  return "?";
}

}  // namespace

int run_check(std::span<char* const> argv) {
  Args args("check", argv, kSpecs);
  args.expect_positional(1, 1, "PATH");
  const std::filesystem::path path = args.positional()[0];
  const bool quiet = args.has("--quiet");
  auto report = verify(path);
  if (!report.ok()) {
    const Status& s = report.status();
    if (s.code() == StatusCode::kNotFound)
      throw CliError(Exit::kNotFound, std::string(s.message()));
    if (s.code() == StatusCode::kInvalidArgument)
      throw CliError(Exit::kUsage, std::string(s.message()));
    throw CliError(Exit::kError, "cannot check " + path.string() + ": " + std::string(s.message()));
  }
  for (const VerifyReport::Finding& f : report->findings) {
    if (quiet && f.severity != VerifyReport::Severity::kDamaged) continue;
    std::printf("%-9s %s: %s\n", stage_name(f.stage), severity_text(f.severity), f.message.c_str());
  }
  const size_t problems = report->problems();
  if (problems == 0 && report->complete()) {
    std::printf("ok\n");
    return 0;
  }
  if (problems == 0) {
    std::printf("incomplete: this build cannot check every part of the database\n");
    return int(Exit::kUnsupported);
  }
  std::printf("%zu problem%s found\n", problems, problems == 1 ? "" : "s");
  return int(Exit::kDamaged);
}

}  // namespace iqdb::cli
