#include "util/child_process.h"

#include <utility>

#if defined(_WIN32)
#include "util/windows.h"
#else
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#endif

namespace iqdb::util {

ChildProcess::ChildProcess(ChildProcess&& other) noexcept
    : process_(std::exchange(other.process_, -1)),
      stdin_(std::exchange(other.stdin_, -1)),
      stdout_(std::exchange(other.stdout_, -1)),
      kill_sent_(other.kill_sent_),
      pending_(std::move(other.pending_)),
      exit_(std::exchange(other.exit_, std::nullopt)) {}

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept {
  if (this != &other) {
    reset();
    process_ = std::exchange(other.process_, -1);
    stdin_ = std::exchange(other.stdin_, -1);
    stdout_ = std::exchange(other.stdout_, -1);
    kill_sent_ = other.kill_sent_;
    pending_ = std::move(other.pending_);
    exit_ = std::exchange(other.exit_, std::nullopt);
  }
  return *this;
}

ChildProcess::~ChildProcess() { reset(); }

void ChildProcess::reset() noexcept {
  if (process_ != -1 && !exit_) {
    kill();
    (void)wait();
  }
  close_stdin();
#if defined(_WIN32)
  if (stdout_ != -1) CloseHandle(reinterpret_cast<HANDLE>(stdout_));
  if (process_ != -1) CloseHandle(reinterpret_cast<HANDLE>(process_));
#else
  if (stdout_ != -1) ::close(static_cast<int>(stdout_));
#endif
  stdout_ = process_ = -1;
}

std::optional<std::string> ChildProcess::read_line() {
  for (;;) {
    if (size_t nl = pending_.find('\n'); nl != std::string::npos) {
      std::string line = pending_.substr(0, nl);
      pending_.erase(0, nl + 1);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      return line;
    }
    std::string more;
    if (!read_some(more, -1)) return std::nullopt;
    pending_ += more;
  }
}

#if defined(_WIN32)

namespace {

// One argument quoted so that the child's CommandLineToArgvW gives it back.
std::wstring quoted(const std::wstring& arg) {
  std::wstring out = L"\"";
  size_t slashes = 0;
  for (wchar_t c : arg) {
    if (c == L'\\') {
      ++slashes;
      continue;
    }
    out.append(c == L'"' ? 2 * slashes + 1 : slashes, L'\\');
    slashes = 0;
    out += c;
  }
  out.append(2 * slashes, L'\\');
  return out + L"\"";
}

}  // namespace

Result<ChildProcess> ChildProcess::spawn(const std::filesystem::path& program,
                                         const std::vector<std::string>& args) {
  std::filesystem::path exe = program;
  if (!exe.has_extension()) exe += ".exe";
  std::wstring cmd = quoted(exe.wstring());
  for (const std::string& a : args) cmd += L" " + quoted(std::filesystem::path(a).wstring());

  SECURITY_ATTRIBUTES inherit{sizeof(SECURITY_ATTRIBUTES), nullptr, TRUE};
  HANDLE in_read, in_write, out_read, out_write;
  if (!CreatePipe(&in_read, &in_write, &inherit, 0)) {
    return Status::IOError("cannot create a pipe: Windows error " + std::to_string(GetLastError()));
  }
  if (!CreatePipe(&out_read, &out_write, &inherit, 0)) {
    CloseHandle(in_read);
    CloseHandle(in_write);
    return Status::IOError("cannot create a pipe: Windows error " + std::to_string(GetLastError()));
  }
  // Only the child's ends are inherited.
  SetHandleInformation(in_write, HANDLE_FLAG_INHERIT, 0);
  SetHandleInformation(out_read, HANDLE_FLAG_INHERIT, 0);
  STARTUPINFOW si{};
  si.cb = sizeof si;
  si.dwFlags = STARTF_USESTDHANDLES;
  si.hStdInput = in_read;
  si.hStdOutput = out_write;
  si.hStdError = GetStdHandle(STD_ERROR_HANDLE);
  PROCESS_INFORMATION pi{};
  // Wine reports ERROR_INTERNAL_ERROR when the new process dies while it
  // starts, which a loaded machine sometimes makes happen; a later attempt
  // starts it. Any other error is final.
  BOOL ok = FALSE;
  DWORD err = 0;
  for (int attempt = 0; attempt < 5; ++attempt) {
    if (attempt > 0) Sleep(200 * attempt);
    ok = CreateProcessW(exe.c_str(), cmd.data(), nullptr, nullptr, TRUE, 0, nullptr, nullptr, &si,
                        &pi);
    err = GetLastError();
    if (ok || err != ERROR_INTERNAL_ERROR) break;
  }
  CloseHandle(in_read);
  CloseHandle(out_write);
  if (!ok) {
    CloseHandle(in_write);
    CloseHandle(out_read);
    return Status::IOError("cannot start '" + exe.string() + "': Windows error " +
                           std::to_string(err));
  }
  CloseHandle(pi.hThread);
  ChildProcess c;
  c.process_ = reinterpret_cast<intptr_t>(pi.hProcess);
  c.stdin_ = reinterpret_cast<intptr_t>(in_write);
  c.stdout_ = reinterpret_cast<intptr_t>(out_read);
  return c;
}

bool ChildProcess::read_some(std::string& out, int timeout_ms) {
  if (stdout_ == -1) return false;
  HANDLE h = reinterpret_cast<HANDLE>(stdout_);
  const ULONGLONG start = GetTickCount64();
  for (;;) {
    DWORD available = 0;
    if (!PeekNamedPipe(h, nullptr, 0, nullptr, &available, nullptr)) return false;  // ended
    if (available > 0) break;
    if (timeout_ms >= 0 && GetTickCount64() - start >= static_cast<ULONGLONG>(timeout_ms)) {
      return true;
    }
    Sleep(1);
  }
  char buf[4096];
  DWORD n = 0;
  if (!ReadFile(h, buf, sizeof buf, &n, nullptr) || n == 0) return false;
  out.append(buf, n);
  return true;
}

void ChildProcess::close_stdin() noexcept {
  if (stdin_ != -1) CloseHandle(reinterpret_cast<HANDLE>(std::exchange(stdin_, -1)));
}

void ChildProcess::kill() noexcept {
  if (process_ == -1 || exit_) return;
  if (TerminateProcess(reinterpret_cast<HANDLE>(process_), kKilledExitCode)) kill_sent_ = true;
}

ChildProcess::Exit ChildProcess::wait() {
  if (exit_) return *exit_;
  Exit e;
  if (process_ != -1) {
    HANDLE h = reinterpret_cast<HANDLE>(process_);
    WaitForSingleObject(h, INFINITE);
    DWORD code = 0;
    GetExitCodeProcess(h, &code);
    e.killed = kill_sent_ && code == kKilledExitCode;
    e.code = static_cast<int>(code);
  }
  exit_ = e;
  return e;
}

#else  // POSIX

namespace {

bool pipe_cloexec(int fds[2]) {
  if (::pipe(fds) != 0) return false;
  ::fcntl(fds[0], F_SETFD, FD_CLOEXEC);
  ::fcntl(fds[1], F_SETFD, FD_CLOEXEC);
  return true;
}

}  // namespace

Result<ChildProcess> ChildProcess::spawn(const std::filesystem::path& program,
                                         const std::vector<std::string>& args) {
  std::vector<std::string> argv_s{program.string()};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  // Close-on-exec, so a later child does not inherit these ends (an
  // inherited stdin would never reach end of file).
  int in[2], out[2];
  if (!pipe_cloexec(in))
    return Status::IOError("cannot create a pipe: " + std::string(std::strerror(errno)));
  if (!pipe_cloexec(out)) {
    ::close(in[0]);
    ::close(in[1]);
    return Status::IOError("cannot create a pipe: " + std::string(std::strerror(errno)));
  }
  const pid_t pid = ::fork();
  if (pid < 0) return Status::IOError("cannot fork: " + std::string(std::strerror(errno)));
  if (pid == 0) {
    ::dup2(in[0], 0);
    ::dup2(out[1], 1);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(in[0]);
  ::close(out[1]);
  ChildProcess c;
  c.process_ = pid;
  c.stdin_ = in[1];
  c.stdout_ = out[0];
  return c;
}

bool ChildProcess::read_some(std::string& out, int timeout_ms) {
  if (stdout_ == -1) return false;
  pollfd p{static_cast<int>(stdout_), POLLIN, 0};
  int ready;
  do {
    ready = ::poll(&p, 1, timeout_ms);
  } while (ready < 0 && errno == EINTR);
  if (ready == 0) return true;
  char buf[4096];
  ssize_t n;
  do {
    n = ::read(static_cast<int>(stdout_), buf, sizeof buf);
  } while (n < 0 && errno == EINTR);
  if (n <= 0) return false;
  out.append(buf, static_cast<size_t>(n));
  return true;
}

void ChildProcess::close_stdin() noexcept {
  if (stdin_ != -1) ::close(static_cast<int>(std::exchange(stdin_, -1)));
}

void ChildProcess::kill() noexcept {
  if (process_ == -1 || exit_) return;
  if (::kill(static_cast<pid_t>(process_), SIGKILL) == 0) kill_sent_ = true;
}

ChildProcess::Exit ChildProcess::wait() {
  if (exit_) return *exit_;
  Exit e;
  if (process_ != -1) {
    int status = 0;
    pid_t got;
    do {
      got = ::waitpid(static_cast<pid_t>(process_), &status, 0);
    } while (got < 0 && errno == EINTR);
    if (got == static_cast<pid_t>(process_)) {
      e.killed = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
      e.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
  }
  exit_ = e;
  return e;
}

#endif

}  // namespace iqdb::util
