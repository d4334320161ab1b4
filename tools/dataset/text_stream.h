// TextStream: buffered byte-at-a-time and line-at-a-time reading of a text
// file, for the JSON Lines and CSV readers. Lines are bounded so a file
// without newlines cannot make a reader hold it all.
//
// Thread-safety: one thread at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "dataset/input_file.h"

namespace iqdb::dataset {

// The longest line (JSONL) or record (CSV) accepted.
inline constexpr size_t kMaxTextRecordBytes = size_t{64} << 20;

class TextStream {
 public:
  explicit TextStream(InputFile file) : file_(std::move(file)), buffer_(size_t{1} << 16) {}

  // The next byte, or -1 at the end of the file or after an error (see status()).
  int get() {
    if (pos_ == end_ && !refill()) return -1;
    ++consumed_;
    return static_cast<unsigned char>(buffer_[pos_++]);
  }
  // The next byte without consuming it, or -1.
  int peek() {
    if (pos_ == end_ && !refill()) return -1;
    return static_cast<unsigned char>(buffer_[pos_]);
  }
  // Reads the next line into `line` without its "\n" or "\r\n". False at
  // the end of the file (check status()). Lines past kMaxTextRecordBytes
  // are an error.
  bool read_line(std::string& line);
  // OK, or why reading stopped early.
  const Status& status() const { return status_; }
  uint64_t consumed() const { return consumed_; }
  const InputFile& file() const { return file_; }

 private:
  bool refill();

  InputFile file_;
  std::vector<uint8_t> buffer_;
  size_t pos_ = 0;
  size_t end_ = 0;
  uint64_t consumed_ = 0;
  Status status_;
};

}  // namespace iqdb::dataset
