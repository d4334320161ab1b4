// Many writers and readers on one database at once. Invariants checked by
// the readers while the writers run:
//  - a batch is seen whole or not at all;
//  - an acknowledged id is always found by get();
//  - a removed and acknowledged id is never returned by search;
//  - every filtered hit satisfies its filter.
// Run under ThreadSanitizer by tools/test.
#include <doctest/doctest.h>

#include <atomic>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "iqdb/iqdb.hpp"
#include "unit/util/temp_dir.h"

using namespace iqdb;

namespace {

constexpr size_t kDim = 8;

std::vector<float> vec(uint64_t id) {
  std::vector<float> v(kDim);
  for (size_t d = 0; d < kDim; ++d) v[d] = float((id * 31 + d * 7) % 97) - 48.0f;
  return v;
}

// Writer w owns ids w*1e6 + n. Batches use ids with the batch number in
// their metadata so readers can check they are whole.
void stress(Database& db, int writers, int readers, int ops_per_writer) {
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0};
  std::mutex acked_mu;
  std::set<uint64_t> acked_live, acked_removed;
  auto note_failure = [&](const char* what) {
    if (failures.fetch_add(1) < 5) MESSAGE(what);
  };

  std::vector<std::thread> threads;
  for (int w = 0; w < writers; ++w) {
    threads.emplace_back([&, w] {
      std::mt19937_64 rng(uint64_t(w) + 1);
      for (int n = 0; n < ops_per_writer; ++n) {
        uint64_t base = uint64_t(w) * 1'000'000 + uint64_t(n) * 4;
        if (n % 5 == 4) {
          // A batch of 4: all carry batch = base.
          std::vector<VectorId> ids;
          std::vector<float> rows;
          std::vector<Metadata> metas;
          for (uint64_t b = 0; b < 4; ++b) {
            ids.emplace_back(base + b);
            auto v = vec(base + b);
            rows.insert(rows.end(), v.begin(), v.end());
            metas.push_back(Metadata{{"batch", int64_t(base)}, {"writer", w}});
          }
          std::vector<const Metadata*> ptrs{&metas[0], &metas[1], &metas[2], &metas[3]};
          if (!db.upsert_batch(ids, rows, ptrs).ok()) note_failure("batch upsert failed");
          std::lock_guard l(acked_mu);
          for (uint64_t b = 0; b < 4; ++b) acked_live.insert(base + b);
        } else if (n % 5 == 3 && n > 5) {
          uint64_t victim = uint64_t(w) * 1'000'000 + uint64_t(rng() % uint64_t(n - 1)) * 4;
          auto r = db.remove(victim);
          if (!r.ok()) note_failure("remove failed");
          std::lock_guard l(acked_mu);
          if (acked_live.erase(victim)) acked_removed.insert(victim);
        } else {
          Metadata m{{"writer", w}};
          if (!db.upsert(base, vec(base), &m).ok()) note_failure("upsert failed");
          std::lock_guard l(acked_mu);
          acked_live.insert(base);
          acked_removed.erase(base);
        }
      }
    });
  }
  for (int r = 0; r < readers; ++r) {
    threads.emplace_back([&, r] {
      std::mt19937_64 rng(uint64_t(r) + 100);
      Filter mine = Filter::eq("writer", int64_t(r % writers));
      while (!stop.load()) {
        // Snapshot what was acknowledged before the reads start.
        std::vector<uint64_t> live_sample;
        {
          std::lock_guard l(acked_mu);
          for (uint64_t id : acked_live) {
            if (rng() % 16 == 0) live_sample.push_back(id);
          }
        }
        for (uint64_t id : live_sample) {
          auto rec = db.get(id);
          // A later remove by its writer may race with this read: only
          // check ids the writer cannot remove (odd positions never are).
          if (id % 4 != 0 && (!rec.ok() || !rec->has_value()))
            note_failure("acknowledged id missing");
        }
        SearchParams p;
        p.k = 50;
        p.with_metadata = true;
        auto hits = db.search(vec(rng() % 1000), p);
        if (!hits.ok()) {
          note_failure("search failed");
          continue;
        }
        std::map<int64_t, int> batch_counts;
        for (const Hit& h : *hits) {
          if (h.metadata && h.metadata->get("batch"))
            batch_counts[h.metadata->get("batch")->as_int()]++;
        }
        p.k = 20;
        p.filter = &mine;
        auto filtered = db.search(vec(rng() % 1000), p);
        if (filtered.ok()) {
          for (const Hit& h : *filtered) {
            if (!h.metadata || !mine.matches(*h.metadata))
              note_failure("filtered hit fails its filter");
          }
        }
        // A batch is atomic: once any member is visible, its members
        // b+1..b+3 (which no writer ever removes) must all be visible.
        for (const auto& [batch, count] : batch_counts) {
          (void)count;
          for (uint64_t b = 1; b < 4; ++b) {
            auto rec = db.get(uint64_t(batch) + b);
            if (!rec.ok() || !rec->has_value()) note_failure("batch seen partially");
          }
        }
      }
    });
  }
  for (int w = 0; w < writers; ++w) threads[size_t(w)].join();
  stop = true;
  for (size_t t = size_t(writers); t < threads.size(); ++t) threads[t].join();
  CHECK(failures.load() == 0);

  // After the writers stop: removed ids are gone, live ids are present.
  for (uint64_t id : acked_removed) CHECK_FALSE(db.get(id)->has_value());
  for (uint64_t id : acked_live) CHECK(db.get(id)->has_value());
  auto all = db.search(vec(0), db.size() + 10);
  REQUIRE(all.ok());
  CHECK(all->size() == acked_live.size());
  for (const Hit& h : *all) CHECK(acked_removed.count(h.id.as_u64()) == 0);
}

}  // namespace

TEST_CASE("concurrent writers and readers on an in-memory flat database keep every invariant") {
  auto db = Database::open_in_memory(kDim, Metric::kL2);
  REQUIRE(db.ok());
  stress(*db, 4, 8, 150);
}

TEST_CASE("concurrent writers and readers on an in-memory HNSW database keep every invariant") {
  auto db = Database::open_in_memory(
      Config(kDim, Metric::kL2).index(HnswConfig{}.with_m(8).with_ef_construction(32)));
  REQUIRE(db.ok());
  stress(*db, 4, 8, 100);
}

TEST_CASE("concurrent writers and readers on a file-backed database keep every invariant") {
  iqdb::testing::TempDir dir;
  for (FsyncPolicy policy :
       {FsyncPolicy::always(), FsyncPolicy::periodic(std::chrono::milliseconds(5)),
        FsyncPolicy::never()}) {
    auto path = dir / ("db" + std::to_string(int(policy.kind())));
    auto db = Database::open(path, Config(kDim, Metric::kL2).fsync(policy));
    REQUIRE(db.ok());
    stress(*db, 4, 8, 80);
    size_t n = db->size();
    REQUIRE(db->close().ok());
    auto reopened = Database::open(path, kDim, Metric::kL2);
    REQUIRE(reopened.ok());
    CHECK(reopened->size() == n);
  }
}

// Searches keep per-thread scratch buffers that are freed when the thread
// ends. Many short-lived threads, each searching every index kind, check
// both that each thread's results are right and that the buffers' release
// at thread exit leaves the heap intact (MinGW once freed them twice).
TEST_CASE("short-lived search threads on every index kind get exact results and exit cleanly") {
  // Distinct points on a 24 x 25 grid; each query is one of them.
  auto point = [](uint64_t i) {
    std::vector<float> v(kDim, 0.0f);
    v[0] = float(i % 24);
    v[1] = float(i / 24);
    return v;
  };
  constexpr uint64_t kRows = 600;
  for (Config config :
       {Config(kDim, Metric::kL2), Config(kDim, Metric::kL2).index(HnswConfig{}.with_m(8)),
        Config(kDim, Metric::kL2).index(IvfConfig{}.with_n_clusters(4).with_n_probes(4))}) {
    auto db = Database::open_in_memory(config);
    REQUIRE(db.ok());
    std::vector<VectorId> ids;
    std::vector<float> rows;
    for (uint64_t i = 0; i < kRows; ++i) {
      ids.emplace_back(i);
      auto v = point(i);
      rows.insert(rows.end(), v.begin(), v.end());
    }
    REQUIRE(db->upsert_batch(ids, rows).ok());
    REQUIRE(db->optimize().ok());
    std::atomic<int> wrong{0};
    for (int wave = 0; wave < 25; ++wave) {
      std::vector<std::thread> threads;
      for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, q = uint64_t(wave * 4 + t) * 5] {
          auto hits = db->search(point(q), 1);
          wrong.fetch_add(!hits.ok() || hits->size() != 1 || (*hits)[0].id.as_u64() != q);
        });
      }
      for (auto& t : threads) t.join();
    }
    CHECK(wrong.load() == 0);
  }
}
