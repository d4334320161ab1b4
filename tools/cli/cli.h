// The iqdb command-line tool: what every subcommand shares — exit codes,
// how a failure travels to main(), and the command table.
//
// Inside the tool a failure is thrown as CliError and caught once in
// main(), which prints "iqdb <command>: <message>" and exits with the
// error's code. (The library itself never throws; this is the tool's own
// plumbing.)
#pragma once

#include <span>
#include <stdexcept>
#include <string>
#include <string_view>

#include "iqdb/status.h"

namespace iqdb::cli {

// Documented in `iqdb --help`; scripts and tests rely on them.
enum class Exit : int {
  kOk = 0,
  kError = 1,        // runtime failure: I/O, out of memory, anything unexpected
  kUsage = 2,        // bad command line: unknown option, bad number, bad filter or --vector
  kDamaged = 3,      // the database is damaged (corruption; `check` found a problem)
  kNotFound = 4,     // no database at PATH, a missing input file, an absent id
  kBadInput = 5,     // an input file is malformed, or a vector has the wrong dimension
  kBusy = 6,         // another process has the database open
  kUnsupported = 7,  // a format or index kind this build cannot handle
};

class CliError : public std::runtime_error {
 public:
  CliError(Exit code, const std::string& message) : std::runtime_error(message), code_(code) {}
  Exit code() const noexcept { return code_; }

 private:
  Exit code_;
};

[[noreturn]] inline void usage_error(const std::string& message) {
  throw CliError(Exit::kUsage, message);
}

// The exit code for a library Status. kInvalidArgument means the caller's
// input was wrong; `invalid` says whether that input was the command line
// (kUsage) or a file (kBadInput).
Exit exit_code_for(const Status& status, Exit invalid = Exit::kUsage);

// Throws CliError for a failed status, prefixed with `what` when not empty.
void check(const Status& status, std::string_view what = {}, Exit invalid = Exit::kUsage);
template <typename T>
T take(Result<T> result, std::string_view what = {}, Exit invalid = Exit::kUsage) {
  if (!result.ok()) check(result.status(), what, invalid);
  return std::move(result).value();
}

// A subcommand: `args` are the words after its name.
struct Command {
  const char* name;
  const char* summary;  // one line for `iqdb --help`
  const char* help;     // the full text of `iqdb <name> --help`
  int (*run)(std::span<char* const> args);
};

int run_create(std::span<char* const> args);
int run_import(std::span<char* const> args);
int run_search(std::span<char* const> args);
int run_get(std::span<char* const> args);
int run_remove(std::span<char* const> args);
int run_info(std::span<char* const> args);
int run_check(std::span<char* const> args);
int run_compact(std::span<char* const> args);
int run_bench(std::span<char* const> args);

extern const char* const kCreateHelp;
extern const char* const kImportHelp;
extern const char* const kSearchHelp;
extern const char* const kGetHelp;
extern const char* const kRemoveHelp;
extern const char* const kInfoHelp;
extern const char* const kCheckHelp;
extern const char* const kCompactHelp;
extern const char* const kBenchHelp;

}  // namespace iqdb::cli
