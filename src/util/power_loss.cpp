#include "util/power_loss.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <utility>
#include <vector>

#include "util/file.h"

namespace iqdb::util {
namespace {

std::optional<std::string> read_fd(int fd) {
  std::string out;
  char buf[1 << 16];
  for (off_t at = 0;;) {
    ssize_t n = ::pread(fd, buf, sizeof buf, at);
    if (n < 0) return std::nullopt;
    if (n == 0) return out;
    out.append(buf, static_cast<size_t>(n));
    at += n;
  }
}

uint64_t inode_of(const std::filesystem::path& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_ino) : 0;
}

}  // namespace

PowerLossFs::PowerLossFs(std::filesystem::path dir) : dir_(std::move(dir)) {
  for (const auto& entry : std::filesystem::directory_iterator(dir_)) {
    if (!entry.is_regular_file()) continue;
    const uint64_t id = next_id_++;
    const std::string name = entry.path().filename().string();
    names_[name] = id;
    id_by_inode_[inode_of(entry.path())] = id;
    Result<File> f = File::open(entry.path(), File::Mode::kReadOnly);
    std::optional<std::string> data;
    if (f.ok()) data = read_fd(f->fd());
    durable_data_[id] = data ? std::move(*data) : std::string();
  }
  durable_names_ = names_;
}

PowerLossFs::~PowerLossFs() { uninstall(); }

void PowerLossFs::install() {
  installed_ = true;
  install_file_hooks(this);
}

void PowerLossFs::uninstall() {
  if (installed_) install_file_hooks(nullptr);
  installed_ = false;
}

void PowerLossFs::on_sync_point(std::function<void(uint64_t)> fn) {
  std::lock_guard l(mu_);
  on_sync_point_ = std::move(fn);
}

uint64_t PowerLossFs::sync_points() const {
  std::lock_guard l(mu_);
  return syncs_;
}

uint64_t PowerLossFs::writes() const {
  std::lock_guard l(mu_);
  return writes_;
}

void PowerLossFs::fail_write(uint64_t index, size_t allowed, int error) {
  std::lock_guard l(mu_);
  fail_write_index_ = index;
  fail_write_allowed_ = allowed;
  fail_write_error_ = error;
}

void PowerLossFs::fail_sync(uint64_t index, int error) {
  std::lock_guard l(mu_);
  fail_sync_index_ = index;
  fail_sync_error_ = error;
}

bool PowerLossFs::tracked(const std::filesystem::path& path) const {
  return parent_directory(path) == dir_ || path == dir_;
}

std::string PowerLossFs::name_of(const std::filesystem::path& path) const {
  return path.filename().string();
}

uint64_t PowerLossFs::id_of_fd(int fd) const {
  struct stat st;
  if (::fstat(fd, &st) != 0) return 0;
  auto it = id_by_inode_.find(static_cast<uint64_t>(st.st_ino));
  return it == id_by_inode_.end() ? 0 : it->second;
}

Status PowerLossFs::image_to(const std::filesystem::path& out) const {
  // Plain POSIX calls throughout: util::File would call back into the hooks
  // (and this object's mutex) while it is held.
  std::error_code ec;
  std::filesystem::remove_all(out, ec);
  std::filesystem::create_directories(out, ec);
  if (ec) return Status::IOError("cannot create " + out.string() + ": " + ec.message());
  std::lock_guard l(mu_);
  for (const auto& [name, id] : durable_names_) {
    auto data = durable_data_.find(id);
    const std::string empty;
    const std::string& bytes = data == durable_data_.end() ? empty : data->second;
    const std::filesystem::path file = out / name;
    const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return Status::IOError("cannot create the image of " + name);
    const bool written = bytes.empty() || ::pwrite(fd, bytes.data(), bytes.size(), 0) ==
                                              static_cast<ssize_t>(bytes.size());
    ::close(fd);
    if (!written) return Status::IOError("cannot write the image of " + name);
  }
  return Status::OK();
}

FileHooks::WriteFault PowerLossFs::before_write(const std::filesystem::path& path, uint64_t,
                                                size_t size) {
  std::lock_guard l(mu_);
  if (!tracked(path)) return WriteFault{size, 0};
  const uint64_t index = writes_++;
  if (fail_write_index_ && *fail_write_index_ == index) {
    return WriteFault{std::min(size, fail_write_allowed_), fail_write_error_};
  }
  return WriteFault{size, 0};
}

int PowerLossFs::before_sync(int, const std::filesystem::path& path) {
  std::function<void(uint64_t)> fn;
  uint64_t index;
  {
    std::lock_guard l(mu_);
    if (!tracked(path)) return 0;
    index = syncs_++;
    if (fail_sync_index_ && *fail_sync_index_ == index) return fail_sync_error_;
    fn = on_sync_point_;
  }
  if (fn) fn(index);
  return 0;
}

void PowerLossFs::after_sync(int fd, const std::filesystem::path& path) {
  std::lock_guard l(mu_);
  if (!tracked(path)) return;
  if (fd < 0) {
    durable_names_ = names_;
    return;
  }
  const uint64_t id = id_of_fd(fd);
  if (id == 0) return;
  std::optional<std::string> data = read_fd(fd);
  if (data) durable_data_[id] = std::move(*data);
}

void PowerLossFs::after_open(int fd, const std::filesystem::path& path, bool creating) {
  std::lock_guard l(mu_);
  if (!tracked(path)) return;
  struct stat st;
  if (::fstat(fd, &st) != 0) return;
  const auto inode = static_cast<uint64_t>(st.st_ino);
  const std::string name = name_of(path);
  auto named = names_.find(name);
  auto known = id_by_inode_.find(inode);
  if (named != names_.end() && known != id_by_inode_.end() && known->second == named->second) {
    return;  // an existing file, reopened
  }
  if (!creating && known != id_by_inode_.end()) {
    names_[name] = known->second;
    return;
  }
  // A new file (or an inode number reused by one).
  const uint64_t id = next_id_++;
  id_by_inode_[inode] = id;
  names_[name] = id;
}

void PowerLossFs::after_rename(const std::filesystem::path& from, const std::filesystem::path& to) {
  std::lock_guard l(mu_);
  if (!tracked(from) && !tracked(to)) return;
  auto it = names_.find(name_of(from));
  if (it == names_.end()) return;
  const uint64_t id = it->second;
  names_.erase(it);
  names_[name_of(to)] = id;
}

void PowerLossFs::after_remove(const std::filesystem::path& path) {
  std::lock_guard l(mu_);
  if (!tracked(path)) return;
  names_.erase(name_of(path));
}

}  // namespace iqdb::util
