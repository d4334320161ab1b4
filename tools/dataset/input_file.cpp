#include "dataset/input_file.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>

namespace iqdb::dataset {

Result<InputFile> InputFile::open(const std::filesystem::path& path) {
  std::error_code ec;
  auto st = std::filesystem::status(path, ec);
  if (!std::filesystem::exists(st)) return Status::NotFound(path.string() + ": no such file");
  if (std::filesystem::is_directory(st)) {
    return Status::InvalidArgument(path.string() + ": is a directory, not a file");
  }
  InputFile f;
  f.path_ = path;
#if defined(_WIN32)  // paths are UTF-16 there: the wide fopen takes them whole
  f.file_.reset(_wfopen(path.c_str(), L"rb"));
#else
  f.file_.reset(std::fopen(path.c_str(), "rb"));
#endif
  if (!f.file_) {
    return Status::IOError(path.string() + ": cannot open: " + std::strerror(errno));
  }
  // The size from the open stream, so a file swapped under us cannot lie.
  if (std::fseek(f.file_.get(), 0, SEEK_END) != 0) {
    return Status::IOError(path.string() + ": cannot seek (not a regular file?)");
  }
  long end = std::ftell(f.file_.get());
  if (end < 0 || std::fseek(f.file_.get(), 0, SEEK_SET) != 0) {
    return Status::IOError(path.string() + ": cannot determine the file size");
  }
  f.size_ = static_cast<uint64_t>(end);
  return f;
}

Status InputFile::read_exact(std::span<uint8_t> out) {
  if (out.size() > remaining()) {
    return error(StatusCode::kInvalidArgument,
                 "ends early: " + std::to_string(out.size()) + " bytes needed at offset " +
                     std::to_string(offset_) + ", " + std::to_string(remaining()) + " present");
  }
  auto n = read_some(out);
  if (!n) return n.status();
  if (*n != out.size()) return error(StatusCode::kIOError, "short read (file changed while read?)");
  return Status::OK();
}

Result<size_t> InputFile::read_some(std::span<uint8_t> out) {
  if (out.empty()) return size_t{0};
  size_t n = std::fread(out.data(), 1, out.size(), file_.get());
  if (n < out.size() && std::ferror(file_.get())) {
    return error(StatusCode::kIOError, std::string("read failed: ") + std::strerror(errno));
  }
  offset_ += n;
  return n;
}

Status InputFile::skip(uint64_t bytes) {
  if (bytes > remaining()) return error(StatusCode::kInvalidArgument, "ends early");
  // fseek takes a long; step in pieces so huge skips stay in range.
  uint64_t left = bytes;
  while (left > 0) {
    long step = static_cast<long>(std::min<uint64_t>(left, uint64_t{1} << 30));
    if (std::fseek(file_.get(), step, SEEK_CUR) != 0)
      return error(StatusCode::kIOError, "seek failed");
    left -= static_cast<uint64_t>(step);
  }
  offset_ += bytes;
  return Status::OK();
}

Status InputFile::seek(uint64_t offset) {
  if (offset > size_) return error(StatusCode::kInvalidArgument, "seek past the end");
  if (std::fseek(file_.get(), 0, SEEK_SET) != 0) return error(StatusCode::kIOError, "seek failed");
  offset_ = 0;
  return skip(offset);
}

Status InputFile::error(StatusCode code, const std::string& what) const {
  return Status(code, path_.string() + ": " + what);
}

float load_le_f32(const uint8_t* p) noexcept {
  uint32_t bits = load_le_u32(p);
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

}  // namespace iqdb::dataset
