// Fault injection for tests: make the process's fsyncs, writes or in-memory
// applies fail the way a failing disk or allocator would, and observe every
// file operation the library performs (util/power_loss.h builds a simulated
// power cut on that). Production code only ever reads the switches: one
// relaxed atomic load per sync, write or apply.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <filesystem>

namespace iqdb::util {

class File;

// The next `count` File::sync/sync_all calls (in any thread) fail with
// kIOError; 0 turns injection off.
void inject_sync_failures(int64_t count);

// True when this sync should fail (consumes one injected failure).
bool consume_injected_sync_failure();

// The next `count` applies of a logged write to memory throw std::bad_alloc
// midway (after the row is stored, before the index has it).
void inject_apply_faults(int64_t count);
// Throws std::bad_alloc when an apply fault is armed (consumes it).
void maybe_throw_injected_apply_fault();

// Sees every file operation util/file.h performs, and may fail writes and
// syncs. Installed process-wide by a test; calls arrive from any thread, so
// implementations synchronise themselves.
class FileHooks {
 public:
  virtual ~FileHooks() = default;

  // What to do with a write of `size` bytes: write the first `allowed`
  // bytes, then, if `error` is nonzero, fail with that errno (ENOSPC, EIO).
  struct WriteFault {
    size_t allowed;
    int error;
  };
  virtual WriteFault before_write(const std::filesystem::path& path, uint64_t offset, size_t size) {
    (void)path;
    (void)offset;
    return WriteFault{size, 0};
  }
  // Before a sync of `file` or, when it is null, of the directory `path`:
  // an errno to fail it with, or 0 to let it run.
  virtual int before_sync(const File* file, const std::filesystem::path& path) {
    (void)file;
    (void)path;
    return 0;
  }
  // After a sync succeeded: the data (or, for a directory, its entries) is
  // now durable.
  virtual void after_sync(const File* file, const std::filesystem::path& path) {
    (void)file;
    (void)path;
  }
  // `file` was opened on `path`; `creating` when the open mode may create or
  // empty the file.
  virtual void after_open(const File& file, const std::filesystem::path& path, bool creating) {
    (void)file;
    (void)path;
    (void)creating;
  }
  virtual void after_rename(const std::filesystem::path& from, const std::filesystem::path& to) {
    (void)from;
    (void)to;
  }
  virtual void after_remove(const std::filesystem::path& path) { (void)path; }
};

// Installs `hooks` (null: none). The caller keeps them alive until it
// installs null, and installs them while no file operation is running.
void install_file_hooks(FileHooks* hooks);
// The installed hooks, or null.
FileHooks* file_hooks();

}  // namespace iqdb::util
