// The file layer on Windows: wide-path CreateFileW handles, positional
// ReadFile/WriteFile, LockFileEx, FlushFileBuffers, MoveFileExW and
// read-only views of CreateFileMappingW.
#if defined(_WIN32)

#include "util/windows.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "util/fault_injection.h"
#include "util/file.h"
#include "util/file_os.h"

namespace iqdb::util {
namespace {

HANDLE handle_of(intptr_t h) { return reinterpret_cast<HANDLE>(h); }

std::string win32_text(DWORD code) {
  char* text = nullptr;
  const DWORD n = FormatMessageA(
      FORMAT_MESSAGE_ALLOCATE_BUFFER | FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS,
      nullptr, code, 0, reinterpret_cast<char*>(&text), 0, nullptr);
  std::string out = n != 0 && text != nullptr ? std::string(text, n) : std::string();
  if (text != nullptr) LocalFree(text);
  while (!out.empty() &&
         (out.back() == '\n' || out.back() == '\r' || out.back() == ' ' || out.back() == '.')) {
    out.pop_back();
  }
  if (out.empty()) out = "Windows error";
  return out + " (" + std::to_string(code) + ")";
}

Status win32_status(DWORD code, std::string_view what, const std::filesystem::path& path) {
  std::string msg = std::string(what) + " '" + path.string() + "': " + win32_text(code);
  switch (code) {
    case ERROR_FILE_NOT_FOUND:
    case ERROR_PATH_NOT_FOUND: return Status::NotFound(msg);
    case ERROR_NOT_ENOUGH_MEMORY:
    case ERROR_OUTOFMEMORY:
    case ERROR_COMMITMENT_LIMIT: return Status::ResourceExhausted(msg);
    default: return Status::IOError(msg);
  }
}

Status last_error(std::string_view what, const std::filesystem::path& path) {
  return win32_status(GetLastError(), what, path);
}

OVERLAPPED at_offset(uint64_t offset) {
  OVERLAPPED o{};
  o.Offset = static_cast<DWORD>(offset);
  o.OffsetHigh = static_cast<DWORD>(offset >> 32);
  return o;
}

// The byte LockFileEx locks: far past any data, so the lock never stands in
// the way of reading or writing the file (Windows locks are mandatory for
// the bytes they cover).
constexpr uint64_t kLockByte = uint64_t{1} << 62;

constexpr uint64_t kMaxOffset = uint64_t{INT64_MAX};

}  // namespace

namespace detail {

size_t os_mapping_granularity() noexcept {
  SYSTEM_INFO info;
  GetSystemInfo(&info);
  return info.dwAllocationGranularity;
}

}  // namespace detail

size_t page_size() noexcept {
  SYSTEM_INFO info;
  GetSystemInfo(&info);
  return info.dwPageSize;
}

uint64_t process_id() noexcept { return GetCurrentProcessId(); }

Result<File> File::open_unhooked(const std::filesystem::path& path, Mode mode) {
  DWORD access = GENERIC_READ;
  DWORD disposition = OPEN_EXISTING;
  switch (mode) {
    case Mode::kReadOnly: break;
    case Mode::kReadWrite: access |= GENERIC_WRITE; break;
    case Mode::kCreate:
      access |= GENERIC_WRITE;
      disposition = OPEN_ALWAYS;
      break;
    case Mode::kCreateTruncate:
      access |= GENERIC_WRITE;
      disposition = CREATE_ALWAYS;
      break;
  }
  // Sharing everything gives POSIX's behaviour: other handles may read,
  // write, rename or delete the file while this one is open.
  HANDLE h =
      CreateFileW(path.c_str(), access, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                  nullptr, disposition, FILE_ATTRIBUTE_NORMAL, nullptr);
  if (h == INVALID_HANDLE_VALUE) return last_error("cannot open", path);
  return File(reinterpret_cast<intptr_t>(h), path);
}

namespace {

// Windows drops a closed handle's locks only "when resources allow": unlock
// first (a no-op when this handle holds none) so the next try_lock sees the
// lock gone.
BOOL unlock_and_close(HANDLE h) {
  OVERLAPPED o = at_offset(kLockByte);
  UnlockFileEx(h, 0, 1, 0, &o);
  return CloseHandle(h);
}

}  // namespace

void File::close_quietly() noexcept {
  if (handle_ != kClosed) unlock_and_close(handle_of(std::exchange(handle_, kClosed)));
}

Status File::close() {
  if (handle_ == kClosed) return Status::OK();
  if (!unlock_and_close(handle_of(std::exchange(handle_, kClosed)))) {
    return last_error("cannot close", path_);
  }
  return Status::OK();
}

Result<uint64_t> File::size() const {
  LARGE_INTEGER n;
  if (!GetFileSizeEx(handle_of(handle_), &n)) return last_error("cannot stat", path_);
  return static_cast<uint64_t>(n.QuadPart);
}

Result<uint64_t> File::identity() const {
  BY_HANDLE_FILE_INFORMATION info;
  if (!GetFileInformationByHandle(handle_of(handle_), &info)) {
    return last_error("cannot stat", path_);
  }
  return (uint64_t{info.nFileIndexHigh} << 32) | info.nFileIndexLow;
}

Result<size_t> File::read_at(uint64_t offset, std::span<uint8_t> out) const {
  if (offset > kMaxOffset || out.size() > kMaxOffset - offset) {
    return Status::InvalidArgument("read offset out of range");
  }
  size_t done = 0;
  while (done < out.size()) {
    const DWORD want = static_cast<DWORD>(std::min<size_t>(out.size() - done, 1u << 30));
    OVERLAPPED o = at_offset(offset + done);
    DWORD got = 0;
    if (!ReadFile(handle_of(handle_), out.data() + done, want, &got, &o)) {
      const DWORD err = GetLastError();
      if (err == ERROR_HANDLE_EOF) break;
      return win32_status(err, "cannot read", path_);
    }
    if (got == 0) break;  // end of file
    done += got;
  }
  return done;
}

Status File::write_at_unhooked(uint64_t offset, std::span<const uint8_t> bytes) const {
  if (offset > kMaxOffset || bytes.size() > kMaxOffset - offset) {
    return Status::InvalidArgument("write offset out of range");
  }
  size_t done = 0;
  while (done < bytes.size()) {
    const DWORD want = static_cast<DWORD>(std::min<size_t>(bytes.size() - done, 1u << 30));
    OVERLAPPED o = at_offset(offset + done);
    DWORD put = 0;
    if (!WriteFile(handle_of(handle_), bytes.data() + done, want, &put, &o)) {
      return last_error("cannot write", path_);
    }
    done += put;
  }
  return Status::OK();
}

Status File::truncate(uint64_t length) const {
  if (length > kMaxOffset) return Status::InvalidArgument("truncate length out of range");
  FILE_END_OF_FILE_INFO info{};
  info.EndOfFile.QuadPart = static_cast<LONGLONG>(length);
  // Fails with ERROR_USER_MAPPED_FILE while any process maps the file.
  if (!SetFileInformationByHandle(handle_of(handle_), FileEndOfFileInfo, &info, sizeof info)) {
    return last_error("cannot truncate", path_);
  }
  return Status::OK();
}

Status File::sync_unhooked(bool) const {
  if (!FlushFileBuffers(handle_of(handle_))) return last_error("cannot flush", path_);
  return Status::OK();
}

Status File::try_lock(bool shared) const {
  OVERLAPPED o = at_offset(kLockByte);
  const DWORD flags = LOCKFILE_FAIL_IMMEDIATELY | (shared ? 0 : LOCKFILE_EXCLUSIVE_LOCK);
  if (LockFileEx(handle_of(handle_), flags, 0, 1, 0, &o)) return Status::OK();
  const DWORD err = GetLastError();
  if (err == ERROR_LOCK_VIOLATION || err == ERROR_IO_PENDING) {
    return Status::Busy("lock '" + path_.string() + "' is held");
  }
  return win32_status(err, "cannot lock", path_);
}

Status fsync_directory(const std::filesystem::path& dir) {
  // NTFS journals directory entries, and MoveFileExW's write-through flag
  // makes a rename durable before it returns: there is nothing to flush.
  // The hooks still see a directory sync, so simulated power cuts treat
  // both platforms alike.
  FileHooks* hooks = file_hooks();
  if (hooks) {
    if (int err = hooks->before_sync(nullptr, dir); err != 0)
      return detail::errno_status(err, "cannot fsync directory", dir);
  }
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    return detail::errno_status(ENOENT, "cannot open directory", dir);
  }
  if (hooks) hooks->after_sync(nullptr, dir);
  return Status::OK();
}

namespace {

bool move_file(const std::filesystem::path& from, const std::filesystem::path& to, DWORD flags) {
  return MoveFileExW(from.c_str(), to.c_str(), flags | MOVEFILE_WRITE_THROUGH) != 0;
}

std::string aside_prefix(const std::filesystem::path& to) {
  return to.filename().string() + ".replaced-";
}

// The asides of `to` in its directory (see recover_replaced_file).
std::vector<std::filesystem::path> asides_of(const std::filesystem::path& to) {
  std::vector<std::filesystem::path> out;
  const std::string prefix = aside_prefix(to);
  std::error_code ec;
  for (std::filesystem::directory_iterator it(parent_directory(to), ec), end; !ec && it != end;
       it.increment(ec)) {
    if (it->path().filename().string().rfind(prefix, 0) == 0) out.push_back(it->path());
  }
  return out;
}

}  // namespace

Status recover_replaced_file(const std::filesystem::path& to) {
  std::vector<std::filesystem::path> asides = asides_of(to);
  if (asides.empty()) return Status::OK();
  std::error_code ec;
  if (!std::filesystem::exists(to, ec)) {
    // Interrupted between the two renames: only the newest aside can be
    // the state before it (older ones were replaced themselves).
    // Each version was written after the one it replaced: the newest aside
    // has the latest modification time.
    const auto written = [](const std::filesystem::path& p) {
      std::error_code e;
      return std::filesystem::last_write_time(p, e);
    };
    std::sort(asides.begin(), asides.end(),
              [&](const auto& a, const auto& b) { return written(a) < written(b); });
    if (!move_file(asides.back(), to, 0)) {
      return last_error("cannot restore '" + asides.back().string() + "' as", to);
    }
    if (FileHooks* hooks = file_hooks()) hooks->after_rename(asides.back(), to);
    asides.pop_back();
  }
  // Still open or mapped somewhere: a later call removes it.
  for (const auto& old : asides) (void)remove_file_if_exists(old);
  return Status::OK();
}

Status rename_durably(const std::filesystem::path& from, const std::filesystem::path& to) {
  std::error_code ec;
  // Asides left by earlier replaces that something still mapped then.
  if (std::filesystem::exists(to, ec)) (void)recover_replaced_file(to);
  if (!move_file(from, to, MOVEFILE_REPLACE_EXISTING)) {
    const DWORD err = GetLastError();
    if (err != ERROR_ACCESS_DENIED && err != ERROR_SHARING_VIOLATION &&
        err != ERROR_USER_MAPPED_FILE) {
      return win32_status(err, "cannot rename '" + from.string() + "' over", to);
    }
    if (!std::filesystem::exists(to, ec)) {
      return win32_status(err, "cannot rename '" + from.string() + "' to", to);
    }
    // `to` is open or mapped (by this process, typically): move it aside.
    static std::atomic<uint64_t> counter{0};
    std::filesystem::path aside = to;
    aside.replace_filename(aside_prefix(to) + std::to_string(process_id()) + "-" +
                           std::to_string(counter.fetch_add(1)));
    if (!move_file(to, aside, 0)) return last_error("cannot move aside", to);
    if (!move_file(from, to, 0)) {
      Status s = last_error("cannot rename '" + from.string() + "' to", to);
      (void)move_file(aside, to, 0);
      return s;
    }
    (void)remove_file_if_exists(aside);  // fails while mapped; recover_replaced_file retries
  }
  if (FileHooks* hooks = file_hooks()) hooks->after_rename(from, to);
  return fsync_directory(parent_directory(to));
}

Status remove_file_if_exists(const std::filesystem::path& path) {
  if (!DeleteFileW(path.c_str())) {
    const DWORD err = GetLastError();
    if (err == ERROR_FILE_NOT_FOUND || err == ERROR_PATH_NOT_FOUND) return Status::OK();
    return win32_status(err, "cannot remove", path);
  }
  if (FileHooks* hooks = file_hooks()) hooks->after_remove(path);
  return Status::OK();
}

Result<MappedFile> MappedFile::map(const File& file) {
  Result<uint64_t> size = file.size();
  if (!size.ok()) return size.status();
  MappedFile m;
  if (*size == 0) return m;
  if (*size > std::numeric_limits<size_t>::max()) {
    return Status::ResourceExhausted("file too large to map: '" + file.path().string() + "'");
  }
  HANDLE mapping =
      CreateFileMappingW(handle_of(file.handle_), nullptr, PAGE_READONLY, 0, 0, nullptr);
  if (mapping == nullptr) return last_error("cannot map", file.path());
  // A view from offset 0 meets the 64 KiB allocation granularity; it keeps
  // the mapping object alive after its handle closes.
  void* p = MapViewOfFile(mapping, FILE_MAP_READ, 0, 0, static_cast<size_t>(*size));
  const DWORD err = GetLastError();
  CloseHandle(mapping);
  if (p == nullptr) return win32_status(err, "cannot map", file.path());
  m.data_ = static_cast<uint8_t*>(p);
  m.size_ = static_cast<size_t>(*size);
  return m;
}

void MappedFile::drop_pages(size_t, size_t) const noexcept {}

void MappedFile::release() noexcept {
  if (data_ != nullptr) UnmapViewOfFile(data_);
  data_ = nullptr;
  size_ = 0;
}

}  // namespace iqdb::util

#endif  // _WIN32
