// InputFile: a read-only file for the dataset readers, with its size known
// up front so that every length a header promises can be checked against
// the bytes that exist before anything is allocated or read.
//
// Thread-safety: one thread at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <span>
#include <string>

#include "iqdb/status.h"

namespace iqdb::dataset {

class InputFile {
 public:
  // kNotFound when `path` does not exist, kInvalidArgument for a directory,
  // kIOError when it cannot be opened.
  static Result<InputFile> open(const std::filesystem::path& path);

  const std::filesystem::path& path() const noexcept { return path_; }
  uint64_t size() const noexcept { return size_; }
  uint64_t offset() const noexcept { return offset_; }
  uint64_t remaining() const noexcept { return size_ - offset_; }

  // Reads exactly out.size() bytes at the current offset; kInvalidArgument
  // ("ends early") when fewer remain, kIOError when the OS fails.
  Status read_exact(std::span<uint8_t> out);
  // Reads up to out.size() bytes; 0 at the end of the file.
  Result<size_t> read_some(std::span<uint8_t> out);
  Status skip(uint64_t bytes);
  // Moves to absolute `offset` (<= size()).
  Status seek(uint64_t offset);

  // "<path>: <what>", the prefix every reader error carries.
  Status error(StatusCode code, const std::string& what) const;

 private:
  struct Closer {
    void operator()(std::FILE* f) const noexcept { std::fclose(f); }
  };
  std::filesystem::path path_;
  std::unique_ptr<std::FILE, Closer> file_;
  uint64_t size_ = 0;
  uint64_t offset_ = 0;
};

// Little-endian decoding from a byte pointer with at least 4 bytes.
inline uint32_t load_le_u32(const uint8_t* p) noexcept {
  return uint32_t{p[0]} | (uint32_t{p[1]} << 8) | (uint32_t{p[2]} << 16) | (uint32_t{p[3]} << 24);
}
float load_le_f32(const uint8_t* p) noexcept;

}  // namespace iqdb::dataset
