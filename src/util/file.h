// Files, read-only mappings and the database lock: thin RAII wrappers over
// POSIX that turn every failure into a Status carrying the path and the OS's
// own words (strerror), and that retry EINTR and short reads/writes.
//
// Thread-safety: a File's positional calls (read_at, write_at, size, sync)
// may run concurrently on one object, as pread/pwrite do; truncate and close
// need external synchronisation. MappedFile is immutable
// after creation. FileLock is not shared.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "iqdb/status.h"

namespace iqdb::util {

class File {
 public:
  enum class Mode : uint8_t {
    kReadOnly,        // must exist
    kReadWrite,       // must exist
    kCreate,          // read-write; created empty if missing
    kCreateTruncate,  // read-write; created or emptied
  };

  // Opens `path` (O_CLOEXEC). kNotFound when it does not exist and the mode
  // does not create it; kIOError otherwise.
  static Result<File> open(const std::filesystem::path& path, Mode mode);

  File() noexcept = default;
  File(File&& other) noexcept;
  File& operator=(File&& other) noexcept;
  File(const File&) = delete;
  File& operator=(const File&) = delete;
  ~File();  // closes; errors from close are ignored (use close() to see them)

  bool is_open() const noexcept { return fd_ >= 0; }
  // The descriptor, owned by this File: do not close it.
  int fd() const noexcept { return fd_; }
  const std::filesystem::path& path() const noexcept { return path_; }

  Result<uint64_t> size() const;
  // Reads up to out.size() bytes at `offset`; fewer only at end of file.
  Result<size_t> read_at(uint64_t offset, std::span<uint8_t> out) const;
  // Reads exactly out.size() bytes; kIOError on a short read (end of file).
  Status read_exact(uint64_t offset, std::span<uint8_t> out) const;
  // Writes all of `bytes` at `offset` (the file grows as needed).
  Status write_at(uint64_t offset, std::span<const uint8_t> bytes) const;
  // Sets the length to `length` (cuts, or extends with zeros).
  Status truncate(uint64_t length) const;
  // fdatasync: the data and the metadata needed to read it (the length).
  Status sync() const;
  // fsync: also every other inode field.
  Status sync_all() const;
  // Closes now and reports the error close() gave, if any.
  Status close();

 private:
  File(int fd, std::filesystem::path path) noexcept : fd_(fd), path_(std::move(path)) {}
  Status os_error(std::string_view what) const;
  Status write_at_unhooked(uint64_t offset, std::span<const uint8_t> bytes) const;
  Status sync_with(int (*fn)(int), std::string_view name) const;

  int fd_ = -1;
  std::filesystem::path path_;
};

// fsyncs a directory so that entries created, renamed or removed in it are
// durable.
Status fsync_directory(const std::filesystem::path& dir);

// The directory holding `path` ("." for a bare file name).
std::filesystem::path parent_directory(const std::filesystem::path& path);

// rename(2) `from` over `to` (atomic on POSIX filesystems), then fsyncs the
// directory of `to` so the new name survives a crash. Both paths must be on
// one filesystem; the caller has already synced `from`'s contents.
Status rename_durably(const std::filesystem::path& from, const std::filesystem::path& to);

// Removes `path`; OK if it does not exist.
Status remove_file_if_exists(const std::filesystem::path& path);

// A read-only mapping of a whole file (MAP_PRIVATE, PROT_READ). An empty
// file gives an empty span and no mapping. The mapping stays valid after the
// File it came from is closed. If another process truncates the file while
// it is mapped, touching the lost pages raises SIGBUS: map only files this
// process owns through a FileLock, or that nobody rewrites in place.
class MappedFile {
 public:
  static Result<MappedFile> map(const File& file);

  MappedFile() noexcept = default;
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  std::span<const uint8_t> bytes() const noexcept { return {data_, size_}; }
  size_t size() const noexcept { return size_; }

 private:
  void release() noexcept;

  uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

// An exclusive (or, with acquire_shared, shared), non-blocking lock on `<path>.lock`, held for the
// life of the object. It uses flock(2), which belongs to the open file description: a second
// FileLock on the same path fails whether it is in another process or in this one, and closing some
// other descriptor of the lock file does not drop it (as it would with classic fcntl locks). The
// lock file records the holder's pid for error messages and is left in place on release (removing
// it would race with a process that has just opened it). Advisory only: it
// stops other iqdb handles, not arbitrary programs.
class FileLock {
 public:
  // kBusy when another process or another FileLock in this process holds
  // it; kIOError when the lock file cannot be created.
  static Result<FileLock> acquire(const std::filesystem::path& path);
  // A shared lock on the same file, for read-only handles: any number may
  // be held at once, in any processes, but none while an exclusive one is
  // (kBusy), and acquire() fails while any is held. It records no pid.
  static Result<FileLock> acquire_shared(const std::filesystem::path& path);

  FileLock() noexcept = default;
  FileLock(FileLock&&) noexcept = default;
  FileLock& operator=(FileLock&&) noexcept = default;
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  ~FileLock() = default;  // closing the descriptor releases the lock

  bool held() const noexcept { return file_.is_open(); }
  // The lock file, `<path>.lock`.
  const std::filesystem::path& lock_path() const noexcept { return file_.path(); }
  void release() noexcept { file_ = File(); }

 private:
  explicit FileLock(File file) noexcept : file_(std::move(file)) {}
  File file_;
};

// `path` with `suffix` appended to its last component ("db" -> "db.wal").
std::filesystem::path with_suffix(const std::filesystem::path& path, std::string_view suffix);

// The size of the file at `path` in bytes; 0 when it is absent or unreadable.
uint64_t file_bytes_or_zero(const std::filesystem::path& path);

}  // namespace iqdb::util
