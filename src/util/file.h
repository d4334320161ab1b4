// Files, read-only mappings and the database lock: the platform layer. Thin
// RAII wrappers that turn every failure into a Status carrying the path and
// the OS's own words, and that retry interrupted calls and short
// reads/writes. Nothing above util/ sees the OS: file_posix.cpp implements
// this header for Linux and macOS, file_win32.cpp for Windows, file.cpp the
// parts common to both.
//
// What "durable" means per platform (sync, fsync_directory, rename_durably):
//   Linux    fdatasync / fsync; directories are fsynced after a rename.
//   macOS    fcntl(F_FULLFSYNC), which reaches the medium (plain fsync only
//            reaches the drive's cache), falling back to fsync where the
//            filesystem refuses it; directories are fsynced.
//   Windows  FlushFileBuffers; MoveFileExW with MOVEFILE_WRITE_THROUGH;
//            directory entries need no separate flush (NTFS journals them).
// Windows refuses to rename over or truncate a file while any process maps
// it: such calls fail with kIOError rather than corrupt the mapping.
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

  // Opens `path` (not inherited by child processes; on Windows others may
  // read, write, rename and delete it while it is open). kNotFound when it does not exist and the
  // mode does not create it; kIOError otherwise.
  static Result<File> open(const std::filesystem::path& path, Mode mode);

  File() noexcept = default;
  File(File&& other) noexcept;
  File& operator=(File&& other) noexcept;
  File(const File&) = delete;
  File& operator=(const File&) = delete;
  ~File();  // closes; errors from close are ignored (use close() to see them)

  bool is_open() const noexcept { return handle_ != kClosed; }
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
  // Makes the data and the metadata needed to read it (the length) durable
  // (fdatasync; F_FULLFSYNC on macOS; FlushFileBuffers on Windows).
  Status sync() const;
  // Also every other metadata field (fsync; the same as sync() on macOS and
  // Windows).
  Status sync_all() const;
  // A number that tells this file apart from every other file existing now
  // on its volume (the inode number; on Windows the file index).
  Result<uint64_t> identity() const;
  // Takes a non-blocking advisory lock, shared or exclusive, held until the
  // File closes. It belongs to this open file: another File on the same
  // path conflicts with it even in this process. kBusy when a conflicting
  // lock is held. On Windows the lock covers a byte far past any data, so
  // it never blocks reads or writes of the file's bytes.
  Status try_lock(bool shared) const;
  // Closes now and reports the error close() gave, if any.
  Status close();

 private:
  friend class MappedFile;
  friend class Arena;
  // A descriptor on POSIX, a HANDLE on Windows; both use -1 for none.
  static constexpr intptr_t kClosed = -1;

  File(intptr_t handle, std::filesystem::path path) noexcept
      : handle_(handle), path_(std::move(path)) {}
  static Result<File> open_unhooked(const std::filesystem::path& path, Mode mode);
  Status write_at_unhooked(uint64_t offset, std::span<const uint8_t> bytes) const;
  Status sync_unhooked(bool all) const;
  Status sync_hooked(bool all) const;
  void close_quietly() noexcept;

  intptr_t handle_ = kClosed;
  std::filesystem::path path_;
};

// Makes entries created, renamed or removed in a directory durable (fsync
// on the directory; nothing to do on Windows).
Status fsync_directory(const std::filesystem::path& dir);

// The directory holding `path` ("." for a bare file name).
std::filesystem::path parent_directory(const std::filesystem::path& path);

// Renames `from` over `to` atomically (rename(2); MoveFileExW with
// MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH), then makes the
// directory of `to` durable so the new name survives a crash. Both paths must be on
// one filesystem; the caller has already synced `from`'s contents.
Status rename_durably(const std::filesystem::path& from, const std::filesystem::path& to);

// Windows cannot rename over a file that is open or mapped (this process's
// snapshot and log are, while a database uses them). rename_durably then
// moves `to` aside first, to `<to>.replaced-<pid>-<n>`, renames `from` to
// `to`, and deletes the aside (or leaves it for later, while something still
// maps it). A crash between the two renames leaves `to` missing and its old
// contents aside; recover_replaced_file(to) puts them back, giving the state
// before the rename, and removes asides that are no longer needed. Callers
// run it before deciding whether `to` exists. It does nothing on POSIX,
// where the rename is one atomic step.
Status recover_replaced_file(const std::filesystem::path& to);

// Removes `path`; OK if it does not exist.
Status remove_file_if_exists(const std::filesystem::path& path);

// A read-only mapping of a whole file (mmap MAP_PRIVATE; on Windows a
// read-only view of CreateFileMappingW). An empty file gives an empty span
// and no mapping. The mapping stays valid after the File it came from is
// closed. If another process truncates the file while it is mapped,
// touching the lost pages raises SIGBUS on POSIX: map only files this
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
  // A hint that bytes [offset, offset + length) will not be read soon (they
  // were copied elsewhere): on POSIX the whole pages inside the range leave
  // this process's resident set; they stay in the page cache and a later
  // read maps them again. Does nothing on Windows. The bytes never change.
  void drop_pages(size_t offset, size_t length) const noexcept;

 private:
  void release() noexcept;

  uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

// An exclusive (or, with acquire_shared, shared), non-blocking lock on `<path>.lock`, held for the
// life of the object. It uses File::try_lock (flock(2); LockFileEx), which belongs to the open
// file: a second FileLock on the same path fails whether it is in another process or in this one,
// and closing some other descriptor of the lock file does not drop it (as it would with classic
// fcntl locks). The lock file records the holder's pid for error messages and is left in place on
// release (removing it would race with a process that has just opened it). Advisory only: it stops
// other iqdb handles, not arbitrary programs.
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

// The granularity at which a file can be mapped at a chosen offset: the page
// size on POSIX (4 KiB on x86-64, 16 KiB on Apple silicon, up to 64 KiB on
// some aarch64 kernels), the allocation granularity (64 KiB) on Windows. A
// test may raise it (never lower it) with set_mapping_granularity_for_testing;
// 0 restores the OS's value. Process-wide.
size_t mapping_granularity() noexcept;
void set_mapping_granularity_for_testing(size_t bytes) noexcept;
// The OS's page size (what memory is committed and protected in).
size_t page_size() noexcept;

// This process's id, for diagnostics (lock files, temporary names).
uint64_t process_id() noexcept;

}  // namespace iqdb::util
