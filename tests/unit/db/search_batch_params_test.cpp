// search_batch's per-call knobs: a thread limit and one filter per query.
#include <doctest/doctest.h>

#include <mutex>
#include <set>
#include <span>
#include <thread>
#include <vector>

#include "exec/parallel.h"
#include "iqdb/iqdb.hpp"

using namespace iqdb;

namespace {

// 400 rows on a 2-D grid; "band" is x % 4, "odd" is x % 2 == 1.
Database grid_db(const Config& config) {
  auto db = Database::open_in_memory(config);
  REQUIRE(db.ok());
  for (uint64_t i = 0; i < 400; ++i) {
    const float x = float(i % 20), y = float(i / 20);
    Metadata md{{"band", int64_t(i % 4)}, {"odd", i % 2 == 1}};
    REQUIRE(db->upsert(i, std::vector<float>{x, y}, &md).ok());
  }
  return std::move(*db);
}

std::vector<float> queries(size_t n) {
  std::vector<float> q;
  for (size_t i = 0; i < n; ++i) {
    q.push_back(float(i % 19) + 0.25f);
    q.push_back(float((i * 7) % 20) + 0.5f);
  }
  return q;
}

std::vector<VectorId> ids_of(const std::vector<Hit>& hits) {
  std::vector<VectorId> out;
  for (const Hit& h : hits) out.push_back(h.id);
  return out;
}

}  // namespace

TEST_CASE("search_batch with a thread limit answers exactly as without one") {
  for (const Config& config :
       {Config(2, Metric::kL2), Config(2, Metric::kL2).index(HnswConfig{})}) {
    Database db = grid_db(config);
    const std::vector<float> q = queries(50);
    SearchParams params;
    params.k = 7;
    auto unlimited = db.search_batch(q, params);
    REQUIRE(unlimited.ok());
    for (size_t threads : {1, 2}) {
      params.threads = threads;
      auto limited = db.search_batch(q, params);
      REQUIRE(limited.ok());
      REQUIRE(limited->size() == unlimited->size());
      for (size_t i = 0; i < limited->size(); ++i)
        CHECK(ids_of((*limited)[i]) == ids_of((*unlimited)[i]));
    }
  }
}

TEST_CASE("run_with_threads(1) keeps parallel loops on the calling thread") {
  std::mutex mu;
  std::set<std::thread::id> seen;
  exec::run_with_threads(1, [&] {
    exec::parallel_for(0, 1000, 1, [&](size_t, size_t) {
      std::lock_guard lock(mu);
      seen.insert(std::this_thread::get_id());
    });
  });
  CHECK(seen == std::set<std::thread::id>{std::this_thread::get_id()});
}

TEST_CASE("per-query filters: each query answers as a single search with its own filter") {
  for (const Config& config :
       {Config(2, Metric::kL2), Config(2, Metric::kL2).index(HnswConfig{})}) {
    Database db = grid_db(config);
    const size_t n = 12;
    const std::vector<float> q = queries(n);
    std::vector<Filter> owned;
    for (size_t i = 0; i < n; ++i) owned.push_back(Filter::eq("band", int64_t(i % 4)));
    std::vector<const Filter*> filters;
    for (size_t i = 0; i < n; ++i) filters.push_back(i % 3 == 2 ? nullptr : &owned[i]);
    SearchParams params;
    params.k = 5;
    params.filters = filters;
    auto batch = db.search_batch(q, params);
    REQUIRE(batch.ok());
    REQUIRE(batch->size() == n);
    for (size_t i = 0; i < n; ++i) {
      SearchParams one;
      one.k = 5;
      one.filter = filters[i];
      auto single = db.search(std::span<const float>(q).subspan(i * 2, 2), one);
      REQUIRE(single.ok());
      CHECK(ids_of((*batch)[i]) == ids_of(*single));
      for (const Hit& h : (*batch)[i]) {
        if (filters[i] != nullptr) CHECK(h.id.as_u64() % 4 == i % 4);
      }
    }
  }
}

TEST_CASE(
    "per-query filters are refused when miscounted, mixed with a shared filter, or on search") {
  Database db = grid_db(Config(2, Metric::kL2));
  const std::vector<float> q = queries(3);
  const Filter odd = Filter::eq("odd", true);
  std::vector<const Filter*> two = {&odd, &odd};
  SearchParams params;
  params.k = 3;
  params.filters = two;
  CHECK(db.search_batch(q, params).status().code() == StatusCode::kInvalidArgument);
  std::vector<const Filter*> three = {&odd, nullptr, &odd};
  params.filters = three;
  params.filter = &odd;
  CHECK(db.search_batch(q, params).status().code() == StatusCode::kInvalidArgument);
  params.filter = nullptr;
  CHECK(db.search_batch(q, params).ok());
  CHECK(db.search(std::span<const float>(q).first(2), params).status().code() ==
        StatusCode::kInvalidArgument);
  // A hostile filter among them is validated like a shared one.
  Filter deep = odd;
  for (size_t i = 0; i < Filter::kMaxDepth + 1; ++i) deep = Filter::not_(deep);
  three[1] = &deep;
  CHECK(db.search_batch(q, params).status().code() == StatusCode::kInvalidArgument);
}
