// The file layer on POSIX (Linux, macOS): descriptors, pread/pwrite, flock,
// mmap, and each system's strongest sync.
#if !defined(_WIN32)

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

#include "util/fault_injection.h"
#include "util/file.h"
#include "util/file_os.h"
#include "util/file_sync.h"

namespace iqdb::util {
namespace {

using detail::errno_status;

// pread/pwrite take off_t; reject offsets it cannot hold.
bool offset_ok(uint64_t offset, size_t length) {
  constexpr auto kMax = static_cast<uint64_t>(std::numeric_limits<off_t>::max());
  return offset <= kMax && length <= kMax - offset;
}

int fd_of(intptr_t handle) { return static_cast<int>(handle); }

template <typename Call>
int retry_eintr(Call call) {
  int rc;
  do {
    rc = call();
  } while (rc != 0 && errno == EINTR);
  return rc;
}

}  // namespace

namespace detail {

size_t os_mapping_granularity() noexcept { return page_size(); }

int full_fsync(int fd, int full_sync_command) {
  if (::fcntl(fd, full_sync_command) == 0) return 0;
  // Filesystems without a way to flush the drive's cache (network and FUSE
  // mounts, and any system without the command) refuse it: fsync is then
  // the strongest sync there is.
  if (errno != EINVAL && errno != ENOTSUP && errno != ENOTTY) return -1;
  return retry_eintr([&] { return ::fsync(fd); });
}

int data_sync(int fd) {
#if defined(IQDB_FULL_FSYNC_COMMAND)
  return retry_eintr([&] { return full_fsync(fd, IQDB_FULL_FSYNC_COMMAND); });
#else
  return retry_eintr([&] { return ::fdatasync(fd); });
#endif
}

int full_sync(int fd) {
#if defined(IQDB_FULL_FSYNC_COMMAND)
  return retry_eintr([&] { return full_fsync(fd, IQDB_FULL_FSYNC_COMMAND); });
#else
  return retry_eintr([&] { return ::fsync(fd); });
#endif
}

}  // namespace detail

size_t page_size() noexcept {
  static const size_t kPage = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  return kPage;
}

uint64_t process_id() noexcept { return static_cast<uint64_t>(::getpid()); }

Result<File> File::open_unhooked(const std::filesystem::path& path, Mode mode) {
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
  return File(fd, path);
}

void File::close_quietly() noexcept {
  if (handle_ != kClosed) ::close(fd_of(std::exchange(handle_, kClosed)));
}

Status File::close() {
  if (handle_ == kClosed) return Status::OK();
  // Linux closes the descriptor even when close() reports EINTR: never retry.
  int rc = ::close(fd_of(std::exchange(handle_, kClosed)));
  if (rc != 0 && errno != EINTR) return errno_status(errno, "cannot close", path_);
  return Status::OK();
}

Result<uint64_t> File::size() const {
  struct stat st;
  if (::fstat(fd_of(handle_), &st) != 0) return errno_status(errno, "cannot stat", path_);
  return static_cast<uint64_t>(st.st_size);
}

Result<uint64_t> File::identity() const {
  struct stat st;
  if (::fstat(fd_of(handle_), &st) != 0) return errno_status(errno, "cannot stat", path_);
  return static_cast<uint64_t>(st.st_ino);
}

Result<size_t> File::read_at(uint64_t offset, std::span<uint8_t> out) const {
  if (!offset_ok(offset, out.size())) return Status::InvalidArgument("read offset out of range");
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n = ::pread(fd_of(handle_), out.data() + done, out.size() - done,
                        static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_status(errno, "cannot read", path_);
    }
    if (n == 0) break;  // end of file
    done += static_cast<size_t>(n);
  }
  return done;
}

Status File::write_at_unhooked(uint64_t offset, std::span<const uint8_t> bytes) const {
  if (!offset_ok(offset, bytes.size())) return Status::InvalidArgument("write offset out of range");
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::pwrite(fd_of(handle_), bytes.data() + done, bytes.size() - done,
                         static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_status(errno, "cannot write", path_);
    }
    done += static_cast<size_t>(n);
  }
  return Status::OK();
}

Status File::truncate(uint64_t length) const {
  if (!offset_ok(length, 0)) return Status::InvalidArgument("truncate length out of range");
  if (retry_eintr([&] { return ::ftruncate(fd_of(handle_), static_cast<off_t>(length)); }) != 0) {
    return errno_status(errno, "cannot truncate", path_);
  }
  return Status::OK();
}

Status File::sync_unhooked(bool all) const {
  const int rc = all ? detail::full_sync(fd_of(handle_)) : detail::data_sync(fd_of(handle_));
  if (rc != 0) return errno_status(errno, all ? "cannot fsync" : "cannot sync data of", path_);
  return Status::OK();
}

Status File::try_lock(bool shared) const {
  if (retry_eintr(
          [&] { return ::flock(fd_of(handle_), (shared ? LOCK_SH : LOCK_EX) | LOCK_NB); }) == 0) {
    return Status::OK();
  }
  if (errno == EWOULDBLOCK) return Status::Busy("lock '" + path_.string() + "' is held");
  return errno_status(errno, "cannot lock", path_);
}

Status fsync_directory(const std::filesystem::path& dir) {
  FileHooks* hooks = file_hooks();
  if (hooks) {
    if (int err = hooks->before_sync(nullptr, dir); err != 0)
      return errno_status(err, "cannot fsync directory", dir);
  }
  int fd;
  do {
    fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return errno_status(errno, "cannot open directory", dir);
  // fsync, not F_FULLFSYNC, on macOS too: the next file sync's full flush
  // carries the directory's journal entries to the medium with it.
  int rc = retry_eintr([&] { return ::fsync(fd); });
  int err = errno;
  ::close(fd);
  // Some filesystems cannot fsync a directory and say so; nothing to do there.
  if (rc != 0 && err != EINVAL && err != ENOTSUP) {
    return errno_status(err, "cannot fsync directory", dir);
  }
  if (hooks) hooks->after_sync(nullptr, dir);
  return Status::OK();
}

Status rename_durably(const std::filesystem::path& from, const std::filesystem::path& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) {
    return errno_status(errno, "cannot rename '" + from.string() + "' over", to);
  }
  if (FileHooks* hooks = file_hooks()) hooks->after_rename(from, to);
  return fsync_directory(parent_directory(to));
}

Status recover_replaced_file(const std::filesystem::path&) { return Status::OK(); }

Status remove_file_if_exists(const std::filesystem::path& path) {
  if (::unlink(path.c_str()) != 0) {
    if (errno == ENOENT) return Status::OK();
    return errno_status(errno, "cannot remove", path);
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
  void* p =
      ::mmap(nullptr, static_cast<size_t>(*size), PROT_READ, MAP_PRIVATE, fd_of(file.handle_), 0);
  if (p == MAP_FAILED) return errno_status(errno, "cannot map", file.path());
  m.data_ = static_cast<uint8_t*>(p);
  m.size_ = static_cast<size_t>(*size);
  return m;
}

void MappedFile::drop_pages(size_t offset, size_t length) const noexcept {
  if (data_ == nullptr || offset >= size_) return;
  const size_t page = page_size();
  const size_t end = std::min(size_, offset + std::min(length, size_ - offset)) / page * page;
  const size_t start = (offset + page - 1) / page * page;
  // Read-only private pages never written: dropping them loses nothing.
  if (start < end) ::madvise(data_ + start, end - start, MADV_DONTNEED);  // a hint
}

void MappedFile::release() noexcept {
  if (data_ != nullptr) ::munmap(data_, size_);
  data_ = nullptr;
  size_ = 0;
}

}  // namespace iqdb::util

#endif  // !_WIN32
