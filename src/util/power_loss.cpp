#include "util/power_loss.h"

#include <utility>
#include <vector>

#include "util/file.h"

namespace iqdb::util {
namespace {

// read_at calls no hooks, so this is safe under the object's mutex.
std::optional<std::string> read_all(const File& file) {
  std::string out;
  uint8_t buf[1 << 16];
  for (uint64_t at = 0;;) {
    Result<size_t> n = file.read_at(at, std::span<uint8_t>(buf, sizeof buf));
    if (!n.ok()) return std::nullopt;
    if (*n == 0) return out;
    out.append(reinterpret_cast<const char*>(buf), *n);
    at += *n;
  }
}

}  // namespace

PowerLossFs::PowerLossFs(std::filesystem::path dir) : dir_(std::move(dir)) {
  for (const auto& entry : std::filesystem::directory_iterator(dir_)) {
    if (!entry.is_regular_file()) continue;
    const uint64_t id = next_id_++;
    const std::string name = entry.path().filename().string();
    names_[name] = id;
    // Not yet installed: opening calls no hooks of this object.
    Result<File> f = File::open(entry.path(), File::Mode::kReadOnly);
    std::optional<std::string> data;
    if (f.ok()) {
      if (Result<uint64_t> inode = f->identity(); inode.ok()) id_by_inode_[*inode] = id;
      data = read_all(*f);
    }
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

uint64_t PowerLossFs::id_of(const File& file) const {
  Result<uint64_t> inode = file.identity();
  if (!inode.ok()) return 0;
  auto it = id_by_inode_.find(*inode);
  return it == id_by_inode_.end() ? 0 : it->second;
}

Status PowerLossFs::image_to(const std::filesystem::path& out) const {
  std::error_code ec;
  std::filesystem::remove_all(out, ec);
  std::filesystem::create_directories(out, ec);
  if (ec) return Status::IOError("cannot create " + out.string() + ": " + ec.message());
  // Copied out first: writing through util::File calls the hooks, which
  // take the mutex.
  std::vector<std::pair<std::string, std::string>> image;
  {
    std::lock_guard l(mu_);
    for (const auto& [name, id] : durable_names_) {
      auto data = durable_data_.find(id);
      image.emplace_back(name, data == durable_data_.end() ? std::string() : data->second);
    }
  }
  for (const auto& [name, bytes] : image) {
    Result<File> file = File::open(out / name, File::Mode::kCreateTruncate);
    if (!file.ok()) return Status::IOError("cannot create the image of " + name);
    IQDB_RETURN_IF_ERROR(
        file->write_at(0, std::span(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size())));
    IQDB_RETURN_IF_ERROR(file->close());
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

int PowerLossFs::before_sync(const File*, const std::filesystem::path& path) {
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

void PowerLossFs::after_sync(const File* file, const std::filesystem::path& path) {
  std::lock_guard l(mu_);
  if (!tracked(path)) return;
  if (file == nullptr) {
    durable_names_ = names_;
    return;
  }
  const uint64_t id = id_of(*file);
  if (id == 0) return;
  std::optional<std::string> data = read_all(*file);
  if (data) durable_data_[id] = std::move(*data);
}

void PowerLossFs::after_open(const File& file, const std::filesystem::path& path, bool creating) {
  std::lock_guard l(mu_);
  if (!tracked(path)) return;
  Result<uint64_t> identity = file.identity();
  if (!identity.ok()) return;
  const uint64_t inode = *identity;
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
