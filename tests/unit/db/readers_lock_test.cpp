// db::ReadersLock, the lock searches hold shared and a write's publishing
// steps exclusive. Invariants:
//  - a writer excludes readers and other writers, readers exclude writers;
//  - a writer holds new readers off only while it is spinning for the lock
//    with a fresh pulse; a writer asleep waiting for a long read, or one
//    whose pulse is stale (not running), does not;
//  - readers arriving just after the last reader out woke a sleeping writer
//    wait for it (within the wake grace);
//  - readers waiting on a held lock are woken when it is released;
//  - readers entering back to back do not starve a writer.
// Each path is made certain by the times given to the lock (seconds where
// a path must not time out, zero where it must), never by a sleep.
// Kept short: tools/test runs these under ThreadSanitizer.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "db/readers_lock.h"

using iqdb::db::ReadersLock;
using namespace std::chrono_literals;

namespace {

void wait_until(const std::atomic<bool>& flag) {
  while (!flag.load()) std::this_thread::yield();
}

template <typename Pred>
void wait_for(Pred pred) {
  while (!pred()) std::this_thread::yield();
}

void busy_for(std::chrono::microseconds d) {
  const auto end = std::chrono::steady_clock::now() + d;
  while (std::chrono::steady_clock::now() < end) {
  }
}

// A thread that takes the lock exclusive once, marks `written`, holds it
// until `release` if asked to, and leaves.
class Writer {
 public:
  explicit Writer(ReadersLock& lock, bool hold = false)
      : thread_([this, &lock, hold] {
          lock.lock();
          written = true;
          if (hold) wait_until(release);
          lock.unlock();
        }) {}
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;
  ~Writer() {
    release = true;
    if (thread_.joinable()) thread_.join();
  }
  void join() { thread_.join(); }

  std::atomic<bool> written{false}, release{false};

 private:
  std::thread thread_;  // last: starts once the flags exist
};

}  // namespace

TEST_CASE("readers lock: concurrent readers and writers exclude each other") {
  ReadersLock lock;
  // Written only under the lock exclusive; equal whenever it is free.
  long a = 0, b = 0;
  std::atomic<int> torn{0}, writers_left{2};
  std::atomic<long> reads{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < 2; ++w) {
    threads.emplace_back([&, w] {
      wait_for([&] { return reads.load() >= 30; });  // the readers are under way
      for (int i = 0; i < 2000; ++i) {
        if (w == 1 && i % 2 == 0) {
          if (!lock.try_lock()) continue;
        } else {
          lock.lock();
        }
        ++a;
        if (a != b + 1) torn.fetch_add(1);
        ++b;
        lock.unlock();
      }
      writers_left.fetch_sub(1);
    });
  }
  for (int r = 0; r < 3; ++r) {
    threads.emplace_back([&, r] {
      while (writers_left.load() > 0) {
        if (r == 2) {
          if (!lock.try_lock_shared()) continue;
        } else {
          lock.lock_shared();
        }
        if (a != b) torn.fetch_add(1);
        reads.fetch_add(1);
        lock.unlock_shared();
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(torn.load() == 0);
  CHECK(a == b);
  CHECK(a >= 2000);
  CHECK(reads.load() >= 30);
}

TEST_CASE("readers lock: a writer asleep for a long read lets readers in (concurrent)") {
  // No spin: a writer that finds a reader goes straight to sleep.
  ReadersLock lock(0ns, 10s, 0ns);
  lock.lock_shared();  // the long read
  Writer writer(lock);
  wait_for([&] { return lock.writer_sleeping(); });
  CHECK_FALSE(lock.writer_pulsing());
  REQUIRE(lock.try_lock_shared());  // a second reader is not queued behind it
  CHECK_FALSE(writer.written.load());
  lock.unlock_shared();
  lock.unlock_shared();  // the last reader out wakes the writer
  writer.join();
  CHECK(writer.written.load());
  CHECK_FALSE(lock.writer_sleeping());
  REQUIRE(lock.try_lock_shared());
  lock.unlock_shared();
}

TEST_CASE("readers lock: a running writer holds new readers off until its turn (concurrent)") {
  // The writer spins for as long as it takes, its pulse never stale.
  ReadersLock lock(10s, 10s, 0ns);
  lock.lock_shared();
  Writer writer(lock);
  wait_for([&] { return lock.writer_pulsing(); });
  CHECK_FALSE(lock.try_lock_shared());
  CHECK_FALSE(writer.written.load());
  lock.unlock_shared();  // the writer takes it before any new reader
  lock.lock_shared();
  CHECK(writer.written.load());
  lock.unlock_shared();
  writer.join();
}

TEST_CASE("readers lock: a writer whose pulse is stale does not hold readers off (concurrent)") {
  // A pulse is stale at once: readers take the writer for one not running.
  ReadersLock lock(10s, 0ns, 0ns);
  lock.lock_shared();
  Writer writer(lock);
  wait_for([&] { return lock.writer_pulsing(); });
  REQUIRE(lock.try_lock_shared());
  lock.unlock_shared();
  lock.unlock_shared();
  writer.join();  // the count reached zero while it spun
  CHECK(writer.written.load());
}

TEST_CASE("readers lock: readers hold off for a writer the last reader out woke (concurrent)") {
  // No spin, and a grace long enough that the woken writer always comes.
  ReadersLock lock(0ns, 10s, 10s);
  lock.lock_shared();
  Writer writer(lock, /*hold=*/true);
  wait_for([&] { return lock.writer_sleeping(); });
  lock.unlock_shared();
  // Held off by the grace until the writer has the lock, then by the writer.
  CHECK_FALSE(lock.try_lock_shared());
  writer.release = true;
  lock.lock_shared();
  CHECK(writer.written.load());
  lock.unlock_shared();
  writer.join();
}

TEST_CASE(
    "readers lock: readers waiting on a held lock are woken when it is released (concurrent)") {
  ReadersLock lock;
  lock.lock();
  std::atomic<bool> released{false};
  std::atomic<int> entered{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 3; ++r) {
    readers.emplace_back([&] {
      lock.lock_shared();
      if (released.load()) entered.fetch_add(1);
      lock.unlock_shared();
    });
  }
  // Long enough that readers usually give up spinning and sleep; the
  // assertions hold either way.
  std::this_thread::sleep_for(5ms);
  released = true;
  lock.unlock();
  for (auto& t : readers) t.join();
  CHECK(entered.load() == 3);
}

TEST_CASE("readers lock: readers entering back to back do not starve a writer (concurrent)") {
  ReadersLock lock;
  std::atomic<bool> stop{false};
  std::atomic<long> reads{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 2; ++r) {
    readers.emplace_back([&] {
      while (!stop.load()) {
        lock.lock_shared();
        busy_for(20us);  // overlapping reads: the count rarely reaches zero
        reads.fetch_add(1);
        lock.unlock_shared();
      }
    });
  }
  wait_for([&] { return reads.load() >= 10; });  // the readers are under way
  int turns = 0;
  for (; turns < 200; ++turns) {
    lock.lock();
    lock.unlock();
  }
  stop = true;
  for (auto& t : readers) t.join();
  CHECK(turns == 200);
}
