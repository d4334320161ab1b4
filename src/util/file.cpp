// The portable half of the file layer: fault hooks, FileLock's policy and
// small path helpers. The OS calls live in file_posix.cpp / file_win32.cpp.
#include "util/file.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <utility>

#include "util/fault_injection.h"
#include "util/file_os.h"

namespace iqdb::util {

namespace detail {

Status errno_status(int err, std::string_view what, const std::filesystem::path& path) {
  std::string msg = std::string(what) + " '" + path.string() + "': " + std::strerror(err);
  if (err == ENOENT) return Status::NotFound(msg);
  if (err == ENOMEM) return Status::ResourceExhausted(msg);
  return Status::IOError(msg);
}

}  // namespace detail

Result<File> File::open(const std::filesystem::path& path, Mode mode) {
  Result<File> file = open_unhooked(path, mode);
  if (!file.ok()) return file;
  if (FileHooks* hooks = file_hooks()) {
    hooks->after_open(*file, path, mode == Mode::kCreate || mode == Mode::kCreateTruncate);
  }
  return file;
}

File::File(File&& other) noexcept
    : handle_(std::exchange(other.handle_, kClosed)), path_(std::move(other.path_)) {}

File& File::operator=(File&& other) noexcept {
  if (this != &other) {
    close_quietly();
    handle_ = std::exchange(other.handle_, kClosed);
    path_ = std::move(other.path_);
  }
  return *this;
}

File::~File() { close_quietly(); }

Status File::read_exact(uint64_t offset, std::span<uint8_t> out) const {
  Result<size_t> n = read_at(offset, out);
  if (!n.ok()) return n.status();
  if (*n != out.size()) {
    return Status::IOError("short read of '" + path_.string() + "': " + std::to_string(*n) +
                           " of " + std::to_string(out.size()) + " bytes at offset " +
                           std::to_string(offset));
  }
  return Status::OK();
}

Status File::write_at(uint64_t offset, std::span<const uint8_t> bytes) const {
  if (offset > uint64_t{INT64_MAX} || bytes.size() > uint64_t{INT64_MAX} - offset) {
    return Status::InvalidArgument("write offset out of range");
  }
  if (FileHooks* hooks = file_hooks()) {
    const FileHooks::WriteFault fault = hooks->before_write(path_, offset, bytes.size());
    if (fault.error != 0) {
      if (fault.allowed > 0) {
        IQDB_RETURN_IF_ERROR(
            write_at_unhooked(offset, bytes.first(std::min(fault.allowed, bytes.size()))));
      }
      return detail::errno_status(fault.error, "cannot write", path_);
    }
  }
  return write_at_unhooked(offset, bytes);
}

Status File::sync() const { return sync_hooked(false); }

Status File::sync_all() const { return sync_hooked(true); }

Status File::sync_hooked(bool all) const {
  const char* name = all ? "cannot sync (all metadata)" : "cannot sync";
  if (consume_injected_sync_failure()) {
    return Status::IOError(std::string(name) + " " + path_.string() + ": injected failure");
  }
  FileHooks* hooks = file_hooks();
  if (hooks) {
    if (int err = hooks->before_sync(this, path_); err != 0) {
      return detail::errno_status(err, name, path_);
    }
  }
  IQDB_RETURN_IF_ERROR(sync_unhooked(all));
  if (hooks) hooks->after_sync(this, path_);
  return Status::OK();
}

std::filesystem::path parent_directory(const std::filesystem::path& path) {
  std::filesystem::path dir = path.parent_path();
  return dir.empty() ? std::filesystem::path(".") : dir;
}

std::filesystem::path with_suffix(const std::filesystem::path& path, std::string_view suffix) {
  std::filesystem::path out = path;
  out += std::string(suffix);
  return out;
}

uint64_t file_bytes_or_zero(const std::filesystem::path& path) {
  std::error_code ec;
  const auto n = std::filesystem::file_size(path, ec);
  return ec ? 0 : uint64_t(n);
}

namespace {
std::atomic<size_t> g_granularity_override{0};
}  // namespace

size_t mapping_granularity() noexcept {
  return std::max(detail::os_mapping_granularity(),
                  g_granularity_override.load(std::memory_order_relaxed));
}

void set_mapping_granularity_for_testing(size_t bytes) noexcept {
  g_granularity_override.store(bytes, std::memory_order_relaxed);
}

// ---- MappedFile (the OS calls are in the platform files) ----

MappedFile::MappedFile(MappedFile&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}

MappedFile& MappedFile::operator=(MappedFile&& other) noexcept {
  if (this != &other) {
    release();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

MappedFile::~MappedFile() { release(); }

// ---- FileLock ----

namespace {

Status busy_status(const std::filesystem::path& path, const std::filesystem::path& lock_path,
                   const std::string& holder) {
  return Status::Busy("database '" + path.string() + "' is in use by " + holder + ": lock '" +
                      lock_path.string() + "' is held");
}

// The pid an exclusive holder wrote into the lock file, or "".
std::string recorded_holder(const File& file) {
  uint8_t buf[32] = {};
  Result<size_t> n = file.read_at(0, std::span<uint8_t>(buf, sizeof buf - 1));
  std::string holder;
  if (n.ok()) {
    for (size_t i = 0; i < *n && buf[i] >= '0' && buf[i] <= '9'; ++i) holder += char(buf[i]);
  }
  return holder;
}

}  // namespace

Result<FileLock> FileLock::acquire(const std::filesystem::path& path) {
  std::filesystem::path lock_path = with_suffix(path, ".lock");
  Result<File> file = File::open(lock_path, File::Mode::kCreate);
  if (!file.ok()) return file.status();
  if (Status s = file->try_lock(/*shared=*/false); !s.ok()) {
    if (s.code() != StatusCode::kBusy) return s;
    // Shared holders are read-only handles; an exclusive one wrote its pid.
    File probe;
    if (auto p = File::open(lock_path, File::Mode::kReadOnly); p.ok()) probe = std::move(*p);
    if (probe.is_open() && probe.try_lock(/*shared=*/true).ok()) {
      return busy_status(path, lock_path, "read-only handles (in this or another process)");
    }
    const std::string holder = recorded_holder(*file);
    return busy_status(path, lock_path,
                       holder.empty() ? std::string("another handle")
                                      : "process " + holder + " (or another handle in it)");
  }
  std::string pid = std::to_string(process_id()) + "\n";
  // The pid is a diagnostic only; failing to record it does not fail the lock.
  if (file->truncate(0).ok()) {
    (void)file->write_at(0, std::span(reinterpret_cast<const uint8_t*>(pid.data()), pid.size()));
  }
  return FileLock(std::move(*file));
}

Result<FileLock> FileLock::acquire_shared(const std::filesystem::path& path) {
  std::filesystem::path lock_path = with_suffix(path, ".lock");
  Result<File> file = File::open(lock_path, File::Mode::kCreate);
  // A reader may lack write access to the directory; an existing lock file
  // can still be locked through a read-only descriptor.
  if (!file.ok()) file = File::open(lock_path, File::Mode::kReadOnly);
  if (!file.ok()) return file.status();
  if (Status s = file->try_lock(/*shared=*/true); !s.ok()) {
    if (s.code() != StatusCode::kBusy) return s;
    const std::string holder = recorded_holder(*file);
    return busy_status(path, lock_path,
                       holder.empty()
                           ? std::string("a writer")
                           : "a writer, process " + holder + " (or another handle in it)");
  }
  return FileLock(std::move(*file));
}

}  // namespace iqdb::util
