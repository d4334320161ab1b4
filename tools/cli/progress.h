// Progress of a long import on stderr: a bar redrawn in place with rows/s
// and an ETA when stderr is a terminal, and a plain line every 10% (or 10
// seconds) otherwise, so logs and pipes stay readable.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace iqdb::cli {

class Progress {
 public:
  // `enabled` false makes every call a no-op (--quiet).
  Progress(std::string label, bool enabled);
  ~Progress();

  // `rows` done so far; `fraction` of the work done (0..1), from which the
  // ETA is estimated; `total` rows when known.
  void update(uint64_t rows, double fraction, std::optional<uint64_t> total);
  // Ends the bar (a final newline on a terminal).
  void finish(uint64_t rows);
  double elapsed_seconds() const;

 private:
  using Clock = std::chrono::steady_clock;
  void draw(uint64_t rows, double fraction, std::optional<uint64_t> total, bool final);

  std::string label_;
  bool enabled_;
  bool terminal_;
  bool open_line_ = false;
  Clock::time_point start_;
  Clock::time_point last_draw_;
  int last_decile_ = 0;
};

}  // namespace iqdb::cli
