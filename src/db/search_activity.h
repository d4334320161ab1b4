// SearchActivity: whether searches have run lately, so that a write can
// decide to yield to them. Each search stamps the time, but only when the
// stamp is older than kStampEvery: searchers running side by side almost
// always just read the shared word, so it costs them no cache-line
// transfers.
//
// Thread-safety: every method may be called from any thread at any time.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace iqdb::db {

class SearchActivity {
 public:
  static constexpr uint64_t kStampEvery = 1'000'000;  // ns
  // How long after the last search searches count as running.
  static constexpr uint64_t kRecent = 100'000'000;  // ns

  // Called by every search as it starts.
  void searching() noexcept {
    const uint64_t now = now_ns();
    if (now - last_.load(std::memory_order_relaxed) > kStampEvery) {
      last_.store(now, std::memory_order_relaxed);
    }
  }

  // Whether a search started within kRecent.
  bool recent() const noexcept {
    const uint64_t last = last_.load(std::memory_order_relaxed);
    return last != 0 && now_ns() - last < kRecent;
  }

 private:
  static uint64_t now_ns() noexcept {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                     std::chrono::steady_clock::now().time_since_epoch())
                                     .count());
  }

  std::atomic<uint64_t> last_{0};  // steady_clock ns of a recent search; 0: none yet
};

}  // namespace iqdb::db
