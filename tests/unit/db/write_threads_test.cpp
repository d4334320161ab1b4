// Config::write_threads: the index work of writes runs on a bounded number
// of threads, and bounding it loses nothing. Invariants:
//  - exec::ThreadLimit: the parallel loops run under it use at most its
//    cap of distinct threads at once, however many callers run at once;
//    0 picks one fewer than the pool, at least 1;
//  - the knob reaches the database through Config and OpenOptions;
//  - under a cap of one thread, many writers (single upserts, batches that
//    the index builds with parallel loops, removes) racing flushes,
//    background compactions and a close lose no acknowledged write, never
//    deadlock, and a write refused by the close is refused whole.
// Kept short: tools/test runs these under ThreadSanitizer.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

#include "db/journal.h"
#include "exec/parallel.h"
#include "exec/thread_limit.h"
#include "iqdb/iqdb.hpp"
#include "unit/util/temp_dir.h"

using namespace iqdb;

namespace {

constexpr size_t kDim = 8;

std::vector<float> vec(uint64_t id) {
  std::vector<float> v(kDim);
  for (size_t d = 0; d < kDim; ++d) v[d] = float((id * 29 + d * 13) % 97) * 0.5f;
  return v;
}

// Runs `callers` threads that each run a parallel loop under `limit` and
// returns the most loop bodies seen running at once, and the number of
// distinct threads any one caller's loop ran on, at most.
struct Seen {
  int most_at_once = 0;
  size_t most_threads_per_call = 0;
};

Seen run_under(exec::ThreadLimit& limit, int callers) {
  std::atomic<int> running{0}, most{0};
  std::mutex mu;
  size_t most_threads = 0;
  std::vector<std::thread> threads;
  for (int c = 0; c < callers; ++c) {
    threads.emplace_back([&] {
      std::mutex ids_mu;
      std::set<std::thread::id> ids;
      limit.run([&] {
        exec::parallel_for(0, 64, 1, [&](size_t, size_t) {
          const int now = running.fetch_add(1) + 1;
          int seen = most.load();
          while (now > seen && !most.compare_exchange_weak(seen, now)) {
          }
          {
            std::lock_guard l(ids_mu);
            ids.insert(std::this_thread::get_id());
          }
          // Long enough that a second thread, if admitted, overlaps it.
          std::this_thread::sleep_for(std::chrono::microseconds(200));
          running.fetch_sub(1);
        });
      });
      std::lock_guard l(mu);
      most_threads = std::max(most_threads, ids.size());
    });
  }
  for (auto& t : threads) t.join();
  return {most.load(), most_threads};
}

}  // namespace

TEST_CASE("write threads: a thread limit of one runs every loop on its caller alone") {
  exec::ThreadLimit limit(1);
  CHECK(limit.threads() == 1);
  const Seen seen = run_under(limit, 1);
  CHECK(seen.most_at_once == 1);
  CHECK(seen.most_threads_per_call == 1);
}

TEST_CASE("write threads: the limit holds across many callers at once") {
  const size_t pool = std::max<size_t>(1, exec::concurrency());
  std::vector<size_t> caps{1};
  if (pool > 2) caps.push_back(pool - 1);
  for (size_t cap : caps) {
    exec::ThreadLimit limit(cap);
    CHECK(limit.threads() == cap);
    // Callers wait (asleep) for the one running instead of adding a
    // thread: at no moment do more than `cap` loop bodies run.
    const Seen seen = run_under(limit, 4);
    CHECK(seen.most_at_once >= 1);
    CHECK(size_t(seen.most_at_once) <= cap);
    CHECK(seen.most_threads_per_call <= cap);
  }
}

TEST_CASE("write threads: 0 is the whole pool, and a cap above the pool is the pool") {
  const size_t pool = std::max<size_t>(1, exec::concurrency());
  exec::ThreadLimit chosen(0);
  CHECK(chosen.threads() == pool);
  CHECK(exec::effective_thread_limit(0) == chosen.threads());
  CHECK(exec::effective_thread_limit(pool + 5) == pool);
  if (pool > 1) {
    const Seen seen = run_under(chosen, 2);
    CHECK(size_t(seen.most_at_once) <= chosen.threads());
  }
}

TEST_CASE("write threads: run() calls the callable itself and lets its exception through") {
  for (size_t cap : {size_t{1}, size_t{0}}) {
    exec::ThreadLimit limit(cap);
    // A stateful callable is run in place, not a copy of it.
    struct Counter {
      int calls = 0;
      void operator()() { ++calls; }
    } counter;
    limit.run(counter);
    limit.run(counter);
    CHECK(counter.calls == 2);
    const auto fails = [] { throw std::runtime_error("from inside the limit"); };
    CHECK_THROWS_AS(limit.run(fails), std::runtime_error);
    // The failed call let go of the limit: the next one runs.
    bool ran = false;
    limit.run([&] { ran = true; });
    CHECK(ran);
  }
}

TEST_CASE("write threads: the knob is carried by Config and OpenOptions") {
  CHECK(Config(kDim, Metric::kL2).write_threads() == 0);
  CHECK(Config(kDim, Metric::kL2).write_threads(3).write_threads() == 3);
  CHECK(OpenOptions{}.write_threads == 0);
  CHECK(OpenOptions{}.with_write_threads(2).write_threads == 2);
  iqdb::testing::TempDir dir;
  {
    auto db = Database::open(dir / "db", Config(kDim, Metric::kL2).write_threads(1));
    REQUIRE(db.ok());
    auto info = db->info();
    REQUIRE(info.ok());
    CHECK(info->write_threads == 1);
    REQUIRE(db->upsert(1, vec(1)).ok());
    CHECK(db->close().ok());
  }
  {
    // 0 resolves to the default cap.
    auto chosen = Database::open_in_memory(Config(kDim, Metric::kL2));
    REQUIRE(chosen.ok());
    auto info = chosen->info();
    REQUIRE(info.ok());
    CHECK(info->write_threads == exec::effective_thread_limit(0));
  }
  auto again = Database::open(dir / "db", OpenOptions{}.with_write_threads(1));
  REQUIRE(again.ok());
  auto info = again->info();
  REQUIRE(info.ok());
  CHECK(info->write_threads == 1);
  CHECK(again->size() == 1);
}

TEST_CASE(
    "write threads: one thread for many concurrent writers, batches, removes, compaction and a "
    "close loses nothing") {
  iqdb::testing::TempDir dir;
  const auto path = dir / "db";
  db::set_compact_log_bytes(4096);
  const Config config = Config(kDim, Metric::kL2)
                            .index(HnswConfig{}.with_m(6).with_ef_construction(32))
                            .fsync(FsyncPolicy::always())
                            .write_threads(1);
  constexpr int kWriters = 4, kRounds = 40, kBatch = 40;
  std::mutex mu;
  std::set<uint64_t> acked_live, acked_removed;
  {
    auto db = Database::open(path, config);
    REQUIRE(db.ok());
    std::atomic<bool> stop{false};
    std::atomic<int> finished{0};
    std::thread flusher([&] {
      while (!stop.load()) {
        Status s = db->flush();
        CHECK((s.ok() || s.code() == StatusCode::kClosed));
      }
    });
    std::vector<std::thread> writers;
    for (int w = 0; w < kWriters; ++w) {
      writers.emplace_back([&, w] {
        for (int r = 0; r < kRounds; ++r) {
          const uint64_t base = uint64_t(w) * 100'000 + uint64_t(r) * 1000;
          Status s;
          if (r % 2 == 0) {
            // A batch large enough that the index builds it with parallel
            // loops (which the cap keeps on this thread).
            std::vector<VectorId> ids;
            std::vector<float> rows;
            for (int i = 0; i < kBatch; ++i) {
              ids.emplace_back(base + uint64_t(i));
              const auto v = vec(base + uint64_t(i));
              rows.insert(rows.end(), v.begin(), v.end());
            }
            s = db->upsert_batch(ids, rows);
            if (s.ok()) {
              std::lock_guard l(mu);
              for (int i = 0; i < kBatch; ++i) acked_live.insert(base + uint64_t(i));
            }
          } else {
            s = db->upsert(base, vec(base));
            if (s.ok()) {
              std::lock_guard l(mu);
              acked_live.insert(base);
            }
            // Remove a row of this writer's previous batch.
            const uint64_t victim = base - 1000 + uint64_t(r % kBatch);
            auto removed = db->remove(victim);
            if (removed.ok()) {
              CHECK(*removed);
              std::lock_guard l(mu);
              acked_live.erase(victim);
              acked_removed.insert(victim);
            } else {
              s = removed.status();
            }
          }
          if (!s.ok()) {
            // Only the close may refuse a write.
            CHECK(s.code() == StatusCode::kClosed);
            break;
          }
        }
        finished.fetch_add(1);
      });
    }
    // Close while the writers are mid-flight: it waits for the calls in
    // flight (writers sleeping for their turn included) and refuses later
    // ones; nothing deadlocks.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (finished.load() < kWriters && std::chrono::steady_clock::now() < deadline) {
      {
        std::lock_guard l(mu);
        if (acked_live.size() >= size_t(kWriters) * kBatch * 3) break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    CHECK(db->close().ok());
    for (auto& t : writers) t.join();
    stop = true;
    flusher.join();
  }
  db::set_compact_log_bytes(uint64_t{256} << 20);
  auto again = Database::open(path, config);
  REQUIRE(again.ok());
  for (uint64_t id : acked_live) {
    auto got = again->get(id);
    REQUIRE(got.ok());
    REQUIRE(got->has_value());
    CHECK((*got)->vector == vec(id));
  }
  for (uint64_t id : acked_removed) {
    auto got = again->get(id);
    REQUIRE(got.ok());
    CHECK(!got->has_value());
  }
  // A write the close refused was never logged; one in flight when it came
  // was finished and acknowledged first: the file holds exactly what was
  // acknowledged.
  CHECK(again->size() == acked_live.size());
}
