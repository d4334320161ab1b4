// PowerLossFs: a simulated power cut for crash tests, built on FileHooks.
//
// While installed it keeps, for one directory, what a disk would still hold
// if power failed now: each file's contents as of its last fsync/fdatasync
// (nothing written after it), and the directory's entries as of its last
// directory fsync (a create, rename or unlink not followed by one is lost).
// A file whose name is durable but whose data was never synced comes back
// empty. image_to() writes that state out as a directory a database can be
// reopened from.
//
// Files are told apart by the life of their inode (File::identity), not by
// its number (an
// unlinked file's number may be reused by the next one created), so a
// rename over a file that was never synced cannot borrow another file's
// contents. Only files created through util::File while installed, or
// present when it was installed, are tracked; every file in the directory
// must be closed for the directory walk in install() to read it, and the
// directory must have no subdirectories.
//
// It can also fail operations: the n-th write (ENOSPC, EIO, short) or the
// n-th sync, counted from install().
//
// Thread-safety: the hooks may be called from any thread; the other methods
// too (one internal mutex).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "iqdb/status.h"
#include "util/fault_injection.h"

namespace iqdb::util {

class PowerLossFs final : public FileHooks {
 public:
  // Starts tracking `dir`: its files as they are now count as durable.
  explicit PowerLossFs(std::filesystem::path dir);
  ~PowerLossFs() override;
  PowerLossFs(const PowerLossFs&) = delete;
  PowerLossFs& operator=(const PowerLossFs&) = delete;

  // Installs this object as the process's file hooks; uninstall() (or the
  // destructor) removes it.
  void install();
  void uninstall();

  // Called before every sync of a file or a directory in `dir` with its
  // index (0, 1, ...): the moment a power cut is most interesting, as the
  // next sync would have made something durable.
  void on_sync_point(std::function<void(uint64_t index)> fn);
  uint64_t sync_points() const;

  // Writes the state a power cut now would leave into `out` (created empty).
  Status image_to(const std::filesystem::path& out) const;

  // Fails the write with this index (0 = the next write after install)
  // after `allowed` of its bytes reached the file, with `error`.
  void fail_write(uint64_t index, size_t allowed, int error);
  // Fails the sync with this index with `error`.
  void fail_sync(uint64_t index, int error);
  uint64_t writes() const;

  WriteFault before_write(const std::filesystem::path& path, uint64_t offset, size_t size) override;
  int before_sync(const File* file, const std::filesystem::path& path) override;
  void after_sync(const File* file, const std::filesystem::path& path) override;
  void after_open(const File& file, const std::filesystem::path& path, bool creating) override;
  void after_rename(const std::filesystem::path& from, const std::filesystem::path& to) override;
  void after_remove(const std::filesystem::path& path) override;

 private:
  bool tracked(const std::filesystem::path& path) const;
  std::string name_of(const std::filesystem::path& path) const;
  // The id of the open `file` (by its inode), or 0.
  uint64_t id_of(const File& file) const;

  const std::filesystem::path dir_;
  mutable std::mutex mu_;
  uint64_t next_id_ = 1;
  std::map<std::string, uint64_t> names_;          // entries now
  std::map<std::string, uint64_t> durable_names_;  // entries as of the last directory fsync
  std::map<uint64_t, uint64_t> id_by_inode_;       // open or named files' inodes now
  std::map<uint64_t, std::string> durable_data_;   // contents as of each file's last sync
  std::function<void(uint64_t)> on_sync_point_;
  uint64_t syncs_ = 0;
  uint64_t writes_ = 0;
  std::optional<uint64_t> fail_write_index_;
  size_t fail_write_allowed_ = 0;
  int fail_write_error_ = 0;
  std::optional<uint64_t> fail_sync_index_;
  int fail_sync_error_ = 0;
  bool installed_ = false;
};

}  // namespace iqdb::util
