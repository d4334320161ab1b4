#include "dataset/text_stream.h"

#include <cstring>

namespace iqdb::dataset {

bool TextStream::refill() {
  if (!status_.ok()) return false;
  auto n = file_.read_some(buffer_);
  if (!n) {
    status_ = n.status();
    return false;
  }
  pos_ = 0;
  end_ = *n;
  return end_ > 0;
}

bool TextStream::read_line(std::string& line) {
  line.clear();
  for (;;) {
    if (pos_ == end_ && !refill()) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      return !line.empty() && status_.ok();
    }
    const uint8_t* start = buffer_.data() + pos_;
    const void* nl = std::memchr(start, '\n', end_ - pos_);
    const size_t take = nl ? size_t(static_cast<const uint8_t*>(nl) - start) : end_ - pos_;
    if (line.size() + take > kMaxTextRecordBytes) {
      status_ = file_.error(StatusCode::kInvalidArgument,
                            "a line is longer than " + std::to_string(kMaxTextRecordBytes >> 20) +
                                " MiB (is this a text file?)");
      return false;
    }
    line.append(reinterpret_cast<const char*>(start), take);
    pos_ += take;
    consumed_ += take;
    if (nl) {
      ++pos_;
      ++consumed_;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      return true;
    }
  }
}

}  // namespace iqdb::dataset
