#include "util/file.h"

#include "util/fault_injection.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <utility>

namespace iqdb::util {
namespace {

Status errno_status(int err, std::string_view what, const std::filesystem::path& path) {
  std::string msg = std::string(what) + " '" + path.string() + "': " + std::strerror(err);
  if (err == ENOENT) return Status::NotFound(msg);
  if (err == ENOMEM) return Status::ResourceExhausted(msg);
  return Status::IOError(msg);
}

// pread/pwrite take off_t; reject offsets it cannot hold.
bool offset_ok(uint64_t offset, size_t length) {
  constexpr auto kMax = static_cast<uint64_t>(std::numeric_limits<off_t>::max());
  return offset <= kMax && length <= kMax - offset;
}

}  // namespace

Result<File> File::open(const std::filesystem::path& path, Mode mode) {
  int flags = O_CLOEXEC;
  switch (mode) {
    case Mode::kReadOnly: flags |= O_RDONLY; break;
    case Mode::kReadWrite: flags |= O_RDWR; break;
    case Mode::kCreate: flags |= O_RDWR | O_CREAT; break;
    case Mode::kCreateTruncate: flags |= O_RDWR | O_CREAT | O_TRUNC; break;
  }
  int fd;
  do {
    fd = ::open(path.c_str(), flags, 0644);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return errno_status(errno, "cannot open", path);
  if (FileHooks* hooks = file_hooks()) {
    hooks->after_open(fd, path, mode == Mode::kCreate || mode == Mode::kCreateTruncate);
  }
  return File(fd, path);
}

File::File(File&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), path_(std::move(other.path_)) {}

File& File::operator=(File&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    path_ = std::move(other.path_);
  }
  return *this;
}

File::~File() {
  if (fd_ >= 0) ::close(fd_);
}

Status File::os_error(std::string_view what) const { return errno_status(errno, what, path_); }

Result<uint64_t> File::size() const {
  struct stat st;
  if (::fstat(fd_, &st) != 0) return os_error("cannot stat");
  return static_cast<uint64_t>(st.st_size);
}

Result<size_t> File::read_at(uint64_t offset, std::span<uint8_t> out) const {
  if (!offset_ok(offset, out.size())) return Status::InvalidArgument("read offset out of range");
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n =
        ::pread(fd_, out.data() + done, out.size() - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return os_error("cannot read");
    }
    if (n == 0) break;  // end of file
    done += static_cast<size_t>(n);
  }
  return done;
}

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
  if (!offset_ok(offset, bytes.size())) return Status::InvalidArgument("write offset out of range");
  if (FileHooks* hooks = file_hooks()) {
    const FileHooks::WriteFault fault = hooks->before_write(path_, offset, bytes.size());
    if (fault.error != 0) {
      if (fault.allowed > 0) {
        IQDB_RETURN_IF_ERROR(
            write_at_unhooked(offset, bytes.first(std::min(fault.allowed, bytes.size()))));
      }
      errno = fault.error;
      return os_error("cannot write");
    }
  }
  return write_at_unhooked(offset, bytes);
}

Status File::write_at_unhooked(uint64_t offset, std::span<const uint8_t> bytes) const {
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n =
        ::pwrite(fd_, bytes.data() + done, bytes.size() - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return os_error("cannot write");
    }
    done += static_cast<size_t>(n);
  }
  return Status::OK();
}

Status File::truncate(uint64_t length) const {
  if (!offset_ok(length, 0)) return Status::InvalidArgument("truncate length out of range");
  int rc;
  do {
    rc = ::ftruncate(fd_, static_cast<off_t>(length));
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) return os_error("cannot truncate");
  return Status::OK();
}

Status File::sync() const { return sync_with(::fdatasync, "fdatasync"); }

Status File::sync_all() const { return sync_with(::fsync, "fsync"); }

Status File::sync_with(int (*fn)(int), std::string_view name) const {
  if (consume_injected_sync_failure()) {
    return Status::IOError("cannot " + std::string(name) + " " + path_.string() +
                           ": injected failure");
  }
  FileHooks* hooks = file_hooks();
  if (hooks) {
    if (int err = hooks->before_sync(fd_, path_); err != 0) {
      errno = err;
      return os_error("cannot " + std::string(name));
    }
  }
  int rc;
  do {
    rc = fn(fd_);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) return os_error("cannot " + std::string(name));
  if (hooks) hooks->after_sync(fd_, path_);
  return Status::OK();
}

Status File::close() {
  if (fd_ < 0) return Status::OK();
  // Linux closes the descriptor even when close() reports EINTR: never retry.
  int rc = ::close(std::exchange(fd_, -1));
  if (rc != 0 && errno != EINTR) return os_error("cannot close");
  return Status::OK();
}

std::filesystem::path parent_directory(const std::filesystem::path& path) {
  std::filesystem::path dir = path.parent_path();
  return dir.empty() ? std::filesystem::path(".") : dir;
}

Status fsync_directory(const std::filesystem::path& dir) {
  FileHooks* hooks = file_hooks();
  if (hooks) {
    if (int err = hooks->before_sync(-1, dir); err != 0)
      return errno_status(err, "cannot fsync directory", dir);
  }
  int fd;
  do {
    fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return errno_status(errno, "cannot open directory", dir);
  int rc;
  do {
    rc = ::fsync(fd);
  } while (rc != 0 && errno == EINTR);
  int err = errno;
  ::close(fd);
  // Some filesystems cannot fsync a directory and say so; nothing to do there.
  if (rc != 0 && err != EINVAL && err != ENOTSUP) {
    return errno_status(err, "cannot fsync directory", dir);
  }
  if (hooks) hooks->after_sync(-1, dir);
  return Status::OK();
}

Status rename_durably(const std::filesystem::path& from, const std::filesystem::path& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) {
    return errno_status(errno, "cannot rename '" + from.string() + "' over", to);
  }
  if (FileHooks* hooks = file_hooks()) hooks->after_rename(from, to);
  return fsync_directory(parent_directory(to));
}

Status remove_file_if_exists(const std::filesystem::path& path) {
  if (::unlink(path.c_str()) != 0) {
    if (errno == ENOENT) return Status::OK();
    return errno_status(errno, "cannot remove", path);
  }
  if (FileHooks* hooks = file_hooks()) hooks->after_remove(path);
  return Status::OK();
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

// ---- MappedFile ----

Result<MappedFile> MappedFile::map(const File& file) {
  Result<uint64_t> size = file.size();
  if (!size.ok()) return size.status();
  MappedFile m;
  if (*size == 0) return m;
  if (*size > std::numeric_limits<size_t>::max()) {
    return Status::ResourceExhausted("file too large to map: '" + file.path().string() + "'");
  }
  void* p = ::mmap(nullptr, static_cast<size_t>(*size), PROT_READ, MAP_PRIVATE, file.fd(), 0);
  if (p == MAP_FAILED) return errno_status(errno, "cannot map", file.path());
  m.data_ = static_cast<uint8_t*>(p);
  m.size_ = static_cast<size_t>(*size);
  return m;
}

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

void MappedFile::release() noexcept {
  if (data_ != nullptr) ::munmap(data_, size_);
  data_ = nullptr;
  size_ = 0;
}

// ---- FileLock ----

namespace {

int flock_retrying(int fd, int op) {
  int rc;
  do {
    rc = ::flock(fd, op | LOCK_NB);
  } while (rc != 0 && errno == EINTR);
  return rc;
}

Status busy_status(const std::filesystem::path& path, const std::filesystem::path& lock_path,
                   const std::string& holder) {
  return Status::Busy("database '" + path.string() + "' is in use by " + holder + ": lock '" +
                      lock_path.string() + "' is held");
}

}  // namespace

Result<FileLock> FileLock::acquire(const std::filesystem::path& path) {
  std::filesystem::path lock_path = with_suffix(path, ".lock");
  Result<File> file = File::open(lock_path, File::Mode::kCreate);
  if (!file.ok()) return file.status();
  if (flock_retrying(file->fd(), LOCK_EX) != 0) {
    if (errno != EWOULDBLOCK) return errno_status(errno, "cannot lock", lock_path);
    // Shared holders are read-only handles; an exclusive one wrote its pid.
    File probe;
    if (auto p = File::open(lock_path, File::Mode::kReadOnly); p.ok()) probe = std::move(*p);
    if (probe.is_open() && flock_retrying(probe.fd(), LOCK_SH) == 0) {
      return busy_status(path, lock_path, "read-only handles (in this or another process)");
    }
    // Best effort: name the holder, as it wrote its pid into the file.
    uint8_t buf[32] = {};
    Result<size_t> n = file->read_at(0, std::span<uint8_t>(buf, sizeof buf - 1));
    std::string holder;
    if (n.ok()) {
      for (size_t i = 0; i < *n && buf[i] >= '0' && buf[i] <= '9'; ++i) holder += char(buf[i]);
    }
    return busy_status(path, lock_path,
                       holder.empty() ? std::string("another handle")
                                      : "process " + holder + " (or another handle in it)");
  }
  std::string pid = std::to_string(::getpid()) + "\n";
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
  if (flock_retrying(file->fd(), LOCK_SH) != 0) {
    if (errno != EWOULDBLOCK) return errno_status(errno, "cannot lock", lock_path);
    uint8_t buf[32] = {};
    Result<size_t> n = file->read_at(0, std::span<uint8_t>(buf, sizeof buf - 1));
    std::string holder;
    if (n.ok()) {
      for (size_t i = 0; i < *n && buf[i] >= '0' && buf[i] <= '9'; ++i) holder += char(buf[i]);
    }
    return busy_status(path, lock_path,
                       holder.empty()
                           ? std::string("a writer")
                           : "a writer, process " + holder + " (or another handle in it)");
  }
  return FileLock(std::move(*file));
}

}  // namespace iqdb::util
