#include "util/per_thread.h"

#include <doctest/doctest.h>

#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

namespace {

std::atomic<int> built{0}, destroyed{0};

struct Counted {
  Counted() { built.fetch_add(1); }
  ~Counted() { destroyed.fetch_add(1); }
  Counted(const Counted&) = delete;
  Counted& operator=(const Counted&) = delete;
  std::vector<uint64_t> owner;  // heap memory the destructor frees
};

struct OtherTag;

}  // namespace

TEST_CASE(
    "per_thread: one object per thread and tag, built on first use, destroyed as the thread ends") {
  using iqdb::util::per_thread;
  Counted& mine = per_thread<Counted>();
  mine.owner.assign(64, 0);
  const int built_before = built.load(), destroyed_before = destroyed.load();

  constexpr int kWaves = 16, kThreads = 8;
  std::atomic<int> wrong{0};
  for (int wave = 0; wave < kWaves; ++wave) {
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, id = uint64_t(wave * kThreads + t) + 1] {
        Counted& a = per_thread<Counted>();
        Counted& b = per_thread<Counted, OtherTag>();
        if (&a == &b || &a == &mine || &a != &per_thread<Counted>()) wrong.fetch_add(1);
        a.owner.assign(1000, id);
        b.owner.assign(10, ~id);
        std::this_thread::yield();
        // No other thread wrote into this thread's objects.
        for (uint64_t v : per_thread<Counted>().owner) wrong.fetch_add(v != id);
        for (uint64_t v : per_thread<Counted, OtherTag>().owner) wrong.fetch_add(v != ~id);
      });
    }
    for (auto& t : threads) t.join();
  }
  CHECK(wrong.load() == 0);
  // Two objects per thread: both built once and destroyed when it ended.
  CHECK(built.load() - built_before == 2 * kWaves * kThreads);
  CHECK(destroyed.load() - destroyed_before == 2 * kWaves * kThreads);
  // This thread's object was left alone.
  CHECK(&per_thread<Counted>() == &mine);
  CHECK(mine.owner.size() == 64);
}
