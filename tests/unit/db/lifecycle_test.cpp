// The handle's lifecycle under load: close() while other threads search and
// write, AsyncDatabase copies destroyed at random moments, and writes that
// fail after they were logged (the database latches, nobody hangs, a reopen
// recovers). Names contain "concurrent" so the ThreadSanitizer run picks
// the threaded ones up.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "iqdb/iqdb.hpp"
#include "unit/util/temp_dir.h"
#include "db/journal.h"
#include "util/fault_injection.h"

using namespace iqdb;
using iqdb::testing::TempDir;

namespace {

constexpr size_t kDim = 8;

// The slower rounds (files, thread arenas) run a third as often under a
// sanitizer, which slows them tenfold.
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
constexpr int kSlowRounds = 3;
#else
constexpr int kSlowRounds = 1;
#endif

std::vector<float> row(uint64_t i) {
  std::vector<float> v(kDim);
  for (size_t d = 0; d < kDim; ++d) v[d] = float((i * 31 + d * 7) % 101) / 10.0f;
  return v;
}

// OK or kClosed: what a call racing close() may return, and nothing else.
bool clean(const Status& s) { return s.ok() || s.code() == StatusCode::kClosed; }

Config config_for(int round) {
  Config c(kDim, Metric::kL2);
  if (round % 3 == 1) c.index(HnswConfig{});
  if (round % 4 == 3) c.cache(CacheConfig{});
  return c;
}

// Threads search, get, upsert, batch-upsert and remove until they see
// kClosed; the main thread closes at a random moment. Counts bad results.
int close_round(Database& db, std::mt19937_64& rng) {
  std::atomic<int> bad{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      while (!go.load()) std::this_thread::yield();
      for (uint64_t n = 0;; ++n) {
        const uint64_t id = uint64_t(t) * 1000 + n % 50;
        Status s;
        switch ((n + t) % 5) {
          case 0: s = db.search(row(id), 5).status(); break;
          case 1: s = db.get(id).status(); break;
          case 2: s = db.upsert(id, row(id + n)); break;
          case 3: {
            std::vector<VectorId> ids;
            std::vector<float> rows;
            for (uint64_t j = 0; j < 8; ++j) {
              ids.emplace_back(id * 8 + j);
              auto r = row(id + j);
              rows.insert(rows.end(), r.begin(), r.end());
            }
            s = db.upsert_batch(ids, rows);
            break;
          }
          default: s = db.remove(id).status(); break;
        }
        if (!clean(s)) bad.fetch_add(1);
        if (s.code() == StatusCode::kClosed) return;
      }
    });
  }
  go = true;
  std::this_thread::sleep_for(std::chrono::microseconds(rng() % 3000));
  Status closed = db.close();
  if (!closed.ok()) bad.fetch_add(1);
  for (auto& th : threads) th.join();
  // After close: every call is refused cleanly, close again too.
  if (db.close().code() != StatusCode::kClosed) bad.fetch_add(1);
  if (db.search(row(1), 1).status().code() != StatusCode::kClosed) bad.fetch_add(1);
  if (db.upsert(1, row(1)).code() != StatusCode::kClosed) bad.fetch_add(1);
  if (db.size() != 0) bad.fetch_add(1);
  return bad.load();
}

}  // namespace

TEST_CASE(
    "concurrent close: in memory, searches and writes get a result or kClosed, never a crash") {
  std::mt19937_64 rng(7);
  int bad = 0;
  for (int round = 0; round < 150; ++round) {
    auto db = Database::open_in_memory(config_for(round));
    REQUIRE(db.ok());
    bad += close_round(*db, rng);
  }
  CHECK(bad == 0);
}

TEST_CASE(
    "concurrent close: on a file, close waits for writers and the file holds every acknowledged "
    "write") {
  std::mt19937_64 rng(11);
  TempDir dir;
  int bad = 0;
  for (int round = 0; round < 60 / kSlowRounds; ++round) {
    const auto path = dir / ("db" + std::to_string(round));
    {
      auto db = Database::open(path, config_for(round).fsync(FsyncPolicy::never()));
      REQUIRE(db.ok());
      bad += close_round(*db, rng);
    }
    auto again = Database::open(path, config_for(round));
    REQUIRE(again.ok());
    CHECK(again->close().ok());
  }
  CHECK(bad == 0);
}

TEST_CASE("concurrent use of AsyncDatabase copies destroyed at random moments") {
  std::mt19937_64 rng(5);
  int bad = 0;
  for (int round = 0; round < 100 / kSlowRounds; ++round) {
    auto adb = AsyncDatabase::open_in_memory(config_for(round), 2);
    REQUIRE(adb.ok());
    std::vector<std::thread> threads;
    std::atomic<int> round_bad{0};
    for (int t = 0; t < 3; ++t) {
      threads.emplace_back(
          [&, copy = std::optional<AsyncDatabase>(*adb), t, seed = rng()]() mutable {
            std::mt19937_64 local(seed);
            std::vector<std::future<Status>> writes;
            std::vector<std::future<Result<std::vector<Hit>>>> searches;
            const int calls = int(local() % 40);
            for (int n = 0; n < calls; ++n) {
              writes.push_back(copy->upsert(uint64_t(t * 100 + n), row(n)));
              searches.push_back(copy->search(row(n), 3));
              if (t == 0 && n == calls / 2) (void)copy->close();  // one copy closes for all
            }
            copy.reset();  // this copy goes away while its calls may still run
            for (auto& f : writes) round_bad += clean(f.get()) ? 0 : 1;
            for (auto& f : searches) round_bad += clean(f.get().status()) ? 0 : 1;
          });
    }
    std::this_thread::sleep_for(std::chrono::microseconds(rng() % 500));
    adb = Status::Closed("dropped");  // the original handle goes away too
    for (auto& th : threads) th.join();
    bad += round_bad.load();
  }
  CHECK(bad == 0);
}

TEST_CASE(
    "concurrent writers: a write that fails after it was logged latches the database; reopen "
    "recovers it") {
  TempDir dir;
  const auto path = dir / "db";
  for (const bool hnsw : {false, true}) {
    CAPTURE(hnsw);
    std::filesystem::remove(path);
    std::filesystem::remove(dir / "db.wal");
    Config config(kDim, Metric::kL2);
    if (hnsw) config.index(HnswConfig{});
    auto db = Database::open(path, config);
    REQUIRE(db.ok());
    for (uint64_t i = 0; i < 20; ++i) REQUIRE(db->upsert(i, row(i)).ok());

    util::inject_apply_faults(1);
    std::atomic<int> ok{0}, refused{0}, other{0};
    std::vector<std::thread> writers;
    for (int t = 0; t < 4; ++t) {
      writers.emplace_back([&, t] {
        for (uint64_t n = 0; n < 25; ++n) {
          Status s = db->upsert(100 + uint64_t(t) * 100 + n, row(n));
          if (s.ok()) {
            ++ok;
          } else if (s.code() == StatusCode::kResourceExhausted) {
            ++refused;  // the failed apply, and every write after it, say why
          } else {
            ++other;
          }
        }
      });
    }
    for (auto& w : writers) w.join();  // nobody waits forever for a turn
    util::inject_apply_faults(0);
    CHECK(other == 0);
    CHECK(refused >= 1);
    CHECK(ok + refused == 100);
    Status later = db->upsert(9999, row(1));
    CHECK(later.code() == StatusCode::kResourceExhausted);
    CHECK(std::string(later.message()).find("reopen") != std::string::npos);
    CHECK(db->optimize().code() == StatusCode::kResourceExhausted);
    CHECK(db->get(1)->has_value());  // reads go on
    CHECK(db->search(row(1), 3).ok());
    CHECK(db->close().code() == StatusCode::kResourceExhausted);

    // Every acknowledged write and the one whose apply failed (it was
    // durable) come back; of the refused ones, those already logged when the
    // database latched may come back too.
    auto again = Database::open(path, config);
    REQUIRE(again.ok());
    CHECK(again->size() >= 20 + size_t(ok.load()) + 1);
    CHECK(again->size() <= 20 + size_t(ok.load() + refused.load()));
    for (uint64_t i = 0; i < 20; ++i) CHECK(again->get(i)->has_value());
    CHECK(again->upsert(9999, row(1)).ok());
    CHECK(again->close().ok());
  }
}

TEST_CASE(
    "an injected failure while a batch is applied latches the database; reopen applies the whole "
    "batch") {
  TempDir dir;
  const auto path = dir / "db";
  auto db = Database::open(path, Config(kDim, Metric::kL2).index(HnswConfig{}));
  REQUIRE(db.ok());
  std::vector<VectorId> ids;
  std::vector<float> rows;
  for (uint64_t i = 0; i < 64; ++i) {
    ids.emplace_back(i);
    auto r = row(i);
    rows.insert(rows.end(), r.begin(), r.end());
  }
  util::inject_apply_faults(1);
  CHECK(db->upsert_batch(ids, rows).code() == StatusCode::kResourceExhausted);
  util::inject_apply_faults(0);
  CHECK(db->upsert(1000, row(1)).code() == StatusCode::kResourceExhausted);
  (void)db->close();
  auto again = Database::open(path, Config(kDim, Metric::kL2));
  REQUIRE(again.ok());
  CHECK(again->size() == 64);
  auto hits = again->search(row(5), 1);
  REQUIRE(hits.ok());
  CHECK(hits->front().distance == 0.0f);
}

TEST_CASE(
    "concurrent background compaction: a log over its threshold is folded into the snapshot off "
    "the writers' path") {
  TempDir dir;
  const auto path = dir / "db";
  db::set_compact_log_bytes(4096);
  {
    auto db = Database::open(path, Config(kDim, Metric::kL2).fsync(FsyncPolicy::never()));
    REQUIRE(db.ok());
    // The log's size, or none while it is being replaced: Windows cannot
    // rename over an open file, so the old log is moved aside before the
    // new one takes its name.
    auto wal_size = [wal = dir / "db.wal"]() -> std::optional<uintmax_t> {
      std::error_code ec;
      const uintmax_t size = std::filesystem::file_size(wal, ec);
      return ec ? std::nullopt : std::optional<uintmax_t>(size);
    };
    uint64_t i = 0;
    for (; wal_size().value_or(0) <= 4096; ++i) REQUIRE(db->upsert(i, row(i)).ok());
    // The write that crossed the threshold returned at once; a background
    // thread folds the log into the snapshot and starts an empty one.
    bool compacted = false;
    for (int wait = 0; wait < 12000 && !compacted; ++wait) {  // up to a minute
      compacted = wal_size().value_or(4096) < 4096;
      if (!compacted) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    CHECK(compacted);
    CHECK(db->size() == i);
    CHECK(db->close().ok());
  }
  db::set_compact_log_bytes(uint64_t{256} << 20);
  auto again = Database::open(path, Config(kDim, Metric::kL2));
  REQUIRE(again.ok());
  CHECK(again->size() > 0);
}
