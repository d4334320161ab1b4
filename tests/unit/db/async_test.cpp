// AsyncDatabase: futures for every call, shared handles, clean shutdown.
#include <doctest/doctest.h>

#include <thread>

#include "iqdb/iqdb.hpp"
#include "unit/util/temp_dir.h"

using namespace iqdb;

TEST_CASE("async calls resolve to the same results as the synchronous database") {
  auto db = AsyncDatabase::open_in_memory(Config(3, Metric::kCosine), 2);
  REQUIRE(db.ok());
  CHECK(db->upsert(1, {1, 0, 0}).get().ok());
  CHECK(db->upsert(2, {0, 1, 0}, Metadata{{"kind", "doc"}}).get().ok());
  auto hits = db->search({1, 0, 0}, 1).get();
  REQUIRE(hits.ok());
  CHECK((*hits)[0].id == VectorId(1));
  auto filtered = db->search({1, 0, 0}, 5, Filter::eq("kind", "doc")).get();
  REQUIRE(filtered->size() == 1);
  CHECK((*filtered)[0].id == VectorId(2));
  CHECK(db->size() == 2);
  CHECK(*db->remove(1).get());
  CHECK_FALSE(db->get(1).get()->has_value());
  CHECK(db->upsert(3, {1, 0}).get().code() == StatusCode::kInvalidArgument);
  auto batch = db->search_batch({1, 0, 0, 0, 1, 0}, 1).get();
  REQUIRE(batch->size() == 2);
  CHECK(*db->remove_batch({VectorId(2), VectorId(7)}).get() == 1);
  CHECK(db->size() == 0);
  CHECK(db->close().get().ok());
}

TEST_CASE("copies share one database; close waits for submitted work and refuses new calls") {
  iqdb::testing::TempDir dir;
  auto db = AsyncDatabase::open(dir / "db", Config(4, Metric::kL2), 2);
  REQUIRE(db.ok());
  AsyncDatabase copy = *db;
  std::vector<std::future<Status>> writes;
  for (uint64_t i = 0; i < 200; ++i) {
    writes.push_back((i % 2 ? *db : copy).upsert(i, {float(i), 1, 2, 3}));
  }
  auto closed = copy.close();  // submitted after the writes: they all complete first
  for (auto& w : writes) CHECK(w.get().ok());
  CHECK(closed.get().ok());
  CHECK(db->upsert(999, {0, 0, 0, 0}).get().code() == StatusCode::kClosed);
  auto reopened = Database::open(dir / "db", 4, Metric::kL2);
  REQUIRE(reopened.ok());
  CHECK(reopened->size() == 200);
}

TEST_CASE("async search keeps running while many threads submit concurrently") {
  auto db = AsyncDatabase::open_in_memory(Config(8, Metric::kL2).index(HnswConfig{}.with_m(8)), 2);
  REQUIRE(db.ok());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        std::vector<float> v(8, float(t * 100 + i));
        CHECK(db->upsert(uint64_t(t * 1000 + i), v).get().ok());
        CHECK(db->search(v, 3).get().ok());
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(db->size() == 200);
}
