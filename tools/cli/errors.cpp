// How library failures become the tool's exit codes and messages.
#include "cli/cli.h"

namespace iqdb::cli {

Exit exit_code_for(const Status& status, Exit invalid) {
  switch (status.code()) {
    case StatusCode::kOk: return Exit::kOk;
    case StatusCode::kInvalidArgument: return invalid;
    case StatusCode::kNotFound: return Exit::kNotFound;
    case StatusCode::kCorruption: return Exit::kDamaged;
    case StatusCode::kConfigMismatch: return Exit::kUsage;
    case StatusCode::kBusy: return Exit::kBusy;
    case StatusCode::kUnsupported: return Exit::kUnsupported;
    case StatusCode::kIOError:
    case StatusCode::kResourceExhausted:
    case StatusCode::kClosed: return Exit::kError;
  }
  return Exit::kError;
}

void check(const Status& status, std::string_view what, Exit invalid) {
  if (status.ok()) return;
  std::string message(status.message());
  if (!what.empty()) message = std::string(what) + ": " + message;
  throw CliError(exit_code_for(status, invalid), message);
}

}  // namespace iqdb::cli
