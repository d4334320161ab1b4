// Searches running while writes are applied beside them (an index insert,
// relink and repair run alongside searches; only publishing a row, a
// removal or a freed slot excludes them), and snapshots written while
// writers go on. Invariants:
//  - every hit is a record get() would return: its id was written, its
//    distance is that of the vector written for that id (a slot reused
//    under a search would pair one id with another's vector), and its
//    metadata names the same id;
//  - an id whose removal was acknowledged before a search began is never
//    in its hits;
//  - after the writers stop and after a reopen, every acknowledged write is
//    there and nothing else;
//  - the background compactor yields the CPU: it runs at the lowest
//    priority, nice 19 in the SCHED_IDLE class (Linux, where both can be
//    read back).
// Kept short: tools/test runs these under ThreadSanitizer.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "db/journal.h"
#include "iqdb/iqdb.hpp"
#include "unit/util/temp_dir.h"

using namespace iqdb;

namespace {

constexpr size_t kDim = 8;

std::vector<float> vec(uint64_t id) {
  std::vector<float> v(kDim);
  for (size_t d = 0; d < kDim; ++d) v[d] = float((id * 37 + d * 11) % 101) * 0.25f;
  return v;
}

float l2(std::span<const float> a, std::span<const float> b) {
  double s = 0;
  for (size_t d = 0; d < kDim; ++d) s += double(a[d] - b[d]) * double(a[d] - b[d]);
  return float(std::sqrt(s));
}

struct Acked {
  std::mutex mu;
  std::set<uint64_t> live, removed;
};

// `writers` threads each upsert fresh ids and remove some of their own
// earlier ones while `readers` threads search and check every hit.
void run_mixed(Database& db, int writers, int readers, int ops) {
  Acked acked;
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0};
  auto fail = [&](const char* what) {
    if (failures.fetch_add(1) < 5) MESSAGE(std::string(what));
  };
  std::atomic<uint64_t> next_id{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < writers; ++w) {
    threads.emplace_back([&, w] {
      std::vector<uint64_t> mine;
      for (int n = 0; n < ops; ++n) {
        if (n % 4 == 3 && mine.size() > 2) {
          const uint64_t victim = mine[size_t(n) % mine.size()];
          mine.erase(mine.begin() + long(size_t(n) % mine.size()));
          auto r = db.remove(victim);
          if (!r.ok() || !*r) fail("remove of a live id failed");
          std::lock_guard l(acked.mu);
          acked.live.erase(victim);
          acked.removed.insert(victim);
          continue;
        }
        const uint64_t id = next_id.fetch_add(1);
        Metadata m{{"id", int64_t(id)}, {"writer", w}};
        if (!db.upsert(id, vec(id), &m).ok()) fail("upsert failed");
        mine.push_back(id);
        std::lock_guard l(acked.mu);
        acked.live.insert(id);
      }
    });
  }
  for (int r = 0; r < readers; ++r) {
    threads.emplace_back([&, r] {
      uint64_t q = uint64_t(r) * 7919;
      while (!stop.load()) {
        std::set<uint64_t> gone;
        {
          std::lock_guard l(acked.mu);
          gone = acked.removed;
        }
        SearchParams p;
        p.k = 10;
        p.with_metadata = true;
        const auto query = vec(q++);
        auto hits = db.search(query, p);
        if (!hits.ok()) {
          fail("search failed");
          continue;
        }
        for (const Hit& h : *hits) {
          const uint64_t id = h.id.as_u64();
          if (id >= next_id.load()) fail("a hit names an id never written");
          if (gone.count(id)) fail("a removed id was returned");
          if (std::fabs(h.distance - l2(query, vec(id))) > 1e-3f * (1 + h.distance))
            fail("a hit's distance is not that of its id's vector");
          const Value* v = h.metadata ? h.metadata->get("id") : nullptr;
          if (v == nullptr || v->as_int() != int64_t(id)) fail("a hit carries another's metadata");
        }
      }
    });
  }
  for (int w = 0; w < writers; ++w) threads[size_t(w)].join();
  stop = true;
  for (size_t t = size_t(writers); t < threads.size(); ++t) threads[t].join();
  CHECK(failures.load() == 0);
  for (uint64_t id : acked.live) {
    auto got = db.get(id);
    REQUIRE(got.ok());
    REQUIRE(got->has_value());
    CHECK((*got)->vector == vec(id));
  }
  for (uint64_t id : acked.removed) CHECK_FALSE(db.get(id)->has_value());
  CHECK(db.size() == acked.live.size());
  auto all = db.search(vec(0), db.size() + 5);
  REQUIRE(all.ok());
  CHECK(all->size() == acked.live.size());
}

}  // namespace

TEST_CASE("concurrent search, upsert and remove on HNSW: every hit is a record get returns") {
  auto db = Database::open_in_memory(
      Config(kDim, Metric::kL2).index(HnswConfig{}.with_m(6).with_ef_construction(24)));
  REQUIRE(db.ok());
  run_mixed(*db, 2, 2, 300);
}

TEST_CASE(
    "concurrent search, upsert and remove on IVF while it trains: hits are records get returns") {
  // Four lists train after a few hundred rows, while the readers search.
  auto db = Database::open_in_memory(
      Config(kDim, Metric::kL2).index(IvfConfig{}.with_n_clusters(4).with_n_probes(2)));
  REQUIRE(db.ok());
  run_mixed(*db, 2, 2, 300);
}

TEST_CASE("concurrent search and writes on a file-backed HNSW database survive reopen") {
  iqdb::testing::TempDir dir;
  const auto path = dir / "db";
  const Config config =
      Config(kDim, Metric::kL2).index(HnswConfig{}.with_m(6)).fsync(FsyncPolicy::never());
  size_t n = 0;
  {
    auto db = Database::open(path, config);
    REQUIRE(db.ok());
    run_mixed(*db, 2, 1, 150);
    n = db->size();
    REQUIRE(db->close().ok());
  }
  auto again = Database::open(path, config);
  REQUIRE(again.ok());
  CHECK(again->size() == n);
}

TEST_CASE("concurrent writers racing background compactions lose nothing after reopen") {
  iqdb::testing::TempDir dir;
  const auto path = dir / "db";
  // A small threshold: the log is compacted many times while the writers
  // (and a thread flushing) keep going.
  db::set_compact_log_bytes(2048);
  const Config config =
      Config(kDim, Metric::kL2).index(HnswConfig{}.with_m(6)).fsync(FsyncPolicy::always());
  constexpr int kWriters = 3, kRows = 120;
  {
    auto db = Database::open(path, config);
    REQUIRE(db.ok());
    std::atomic<bool> stop{false};
    std::thread flusher([&] {
      while (!stop.load()) CHECK(db->flush().ok());
    });
    std::vector<std::thread> writers;
    for (int w = 0; w < kWriters; ++w) {
      writers.emplace_back([&, w] {
        for (int i = 0; i < kRows; ++i) {
          const uint64_t id = uint64_t(w) * 1000 + uint64_t(i);
          CHECK(db->upsert(id, vec(id)).ok());
          if (i % 10 == 9) CHECK(db->remove(id - 5).value());
        }
      });
    }
    for (auto& t : writers) t.join();
    stop = true;
    flusher.join();
    CHECK(db->close().ok());
  }
  db::set_compact_log_bytes(uint64_t{256} << 20);
  auto again = Database::open(path, config);
  REQUIRE(again.ok());
  CHECK(again->size() == size_t(kWriters) * (kRows - kRows / 10));
  for (int w = 0; w < kWriters; ++w) {
    for (int i = 0; i < kRows; ++i) {
      const uint64_t id = uint64_t(w) * 1000 + uint64_t(i);
      auto got = again->get(id);
      REQUIRE(got.ok());
      const bool removed = i % 10 == 4;
      CHECK(got->has_value() == !removed);
      if (!removed && got->has_value()) CHECK((*got)->vector == vec(id));
    }
  }
}

#if defined(__linux__)
namespace {

// Field `number` of /proc/self/task/*/stat (3: state, 19: nice, 41:
// scheduling policy) of this process's thread named `name`, or nullopt when
// no thread has that name.
std::optional<int> stat_of_thread(const std::string& name, int number) {
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream comm(task.path() / "comm");
    std::string got;
    if (!std::getline(comm, got) || got != name) continue;
    std::ifstream stat(task.path() / "stat");
    std::string line;
    if (!std::getline(stat, line)) continue;
    // The fields after the parenthesised name start at field 3.
    std::istringstream fields(line.substr(line.rfind(')') + 2));
    std::string field;
    for (int i = 3; i <= number && fields >> field; ++i) {
      if (i == number) return std::stoi(field);
    }
  }
  return std::nullopt;
}

}  // namespace

TEST_CASE("background compaction runs at the lowest thread priority") {
  iqdb::testing::TempDir dir;
  db::set_compact_log_bytes(2048);
  std::optional<int> nice, policy;
  {
    auto db = Database::open(dir / "db", Config(kDim, Metric::kL2).fsync(FsyncPolicy::never()));
    REQUIRE(db.ok());
    // The compactor starts once the log passes the threshold and stays
    // until close; it names itself once its priority is lowered.
    for (uint64_t id = 0; id < 2000 && !nice; ++id) {
      REQUIRE(db->upsert(id, vec(id)).ok());
      nice = stat_of_thread("iqdb-compact", 19);
    }
    // On a loaded machine the thread may not have run yet: wait for it
    // (a bound on liveness, not a timing expectation).
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (!nice && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      nice = stat_of_thread("iqdb-compact", 19);
    }
    // It lowers its priority before naming itself.
    if (nice) policy = stat_of_thread("iqdb-compact", 41);
    CHECK(db->close().ok());
  }
  db::set_compact_log_bytes(uint64_t{256} << 20);
  REQUIRE(nice.has_value());
  CHECK(*nice == 19);
  // SCHED_IDLE (5): it never preempts a search or a write.
  REQUIRE(policy.has_value());
  CHECK(*policy == 5);
}
#endif
