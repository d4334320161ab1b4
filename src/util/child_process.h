// ChildProcess: another program run with its stdin and stdout on pipes to
// this one, for tests that need a second process (lock sharing, kill -9
// trials). Test support, like fault_injection.h: the library never spawns.
//
// POSIX: fork + exec, kill() is SIGKILL. Windows: CreateProcessW, kill()
// is TerminateProcess, which is as abrupt (no handler, no flush).
//
// Thread-safety: one thread at a time per object.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "iqdb/status.h"

namespace iqdb::util {

class ChildProcess {
 public:
  // Starts `program` (on Windows ".exe" is appended when the name has no
  // extension) with `args`; stderr is shared with this process.
  static Result<ChildProcess> spawn(const std::filesystem::path& program,
                                    const std::vector<std::string>& args);

  ChildProcess() noexcept = default;
  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&& other) noexcept;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  // Kills a child still running and waits for it.
  ~ChildProcess();

  // Appends what the child has written, waiting up to `timeout_ms` for the
  // first byte (0: do not wait; -1: wait until output or its end). False
  // once its stdout has ended and everything was read.
  bool read_some(std::string& out, int timeout_ms);
  // The next line of output without its ending ("\n", or "\r\n" as a
  // Windows program's text-mode stdout writes it); nullopt when the output
  // ends first.
  std::optional<std::string> read_line();
  // Ends the child's stdin (it reads end of file).
  void close_stdin() noexcept;
  // Ends the child at once, as a power cut or kill -9 would.
  void kill() noexcept;

  struct Exit {
    bool killed = false;  // ended by kill()
    int code = -1;        // its exit code when not killed
  };
  // Waits for the child to end.
  Exit wait();

 private:
  void reset() noexcept;
  // The exit code TerminateProcess gives a killed child on Windows.
  static constexpr unsigned kKilledExitCode = 0xDEAD;

  intptr_t process_ = -1;  // pid, or the process HANDLE
  intptr_t stdin_ = -1;    // write end of its stdin (fd or HANDLE)
  intptr_t stdout_ = -1;   // read end of its stdout
  bool kill_sent_ = false;
  std::string pending_;  // read past the last line returned
  std::optional<Exit> exit_;
};

}  // namespace iqdb::util
