// The in-memory Database: the API reference's examples translated to C++,
// input validation, and the flat index's exactness rules.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "iqdb/iqdb.hpp"

using namespace iqdb;

namespace {
std::vector<float> v(std::initializer_list<float> x) { return std::vector<float>(x); }
}  // namespace

TEST_CASE("quick start: the nearest of two cosine vectors") {
  auto db = Database::open_in_memory(3, Metric::kCosine);
  REQUIRE(db.ok());
  REQUIRE(db->upsert(1, v({1, 0, 0})).ok());
  REQUIRE(db->upsert(2, v({0, 1, 0})).ok());
  auto hits = db->search(v({1, 0, 0}), 1);
  REQUIRE(hits.ok());
  REQUIRE(hits->size() == 1);
  CHECK((*hits)[0].id == VectorId(1));
  CHECK(db->close().ok());
}

TEST_CASE("wrong dimension, NaN, Inf and empty vectors are rejected at upsert") {
  auto db = Database::open_in_memory(3, Metric::kCosine);
  REQUIRE(db.ok());
  CHECK(db->upsert(1, v({1, 0})).code() == StatusCode::kInvalidArgument);
  CHECK(db->upsert(1, v({1, NAN, 0})).code() == StatusCode::kInvalidArgument);
  CHECK(db->upsert(1, v({1, INFINITY, 0})).code() == StatusCode::kInvalidArgument);
  CHECK(db->upsert(1, std::vector<float>{}).code() == StatusCode::kInvalidArgument);
  CHECK(db->empty());
  CHECK(db->search(v({1, 0}), 1).status().code() == StatusCode::kInvalidArgument);
  CHECK(db->search(v({1, 0, NAN}), 1).status().code() == StatusCode::kInvalidArgument);
  CHECK(db->search(v({1, 0, 0}), 0).status().code() == StatusCode::kInvalidArgument);
}

TEST_CASE("a query's first non-finite value is named; the extreme finite floats pass") {
  const size_t dim = 67;  // not a multiple of any vector width
  auto db = Database::open_in_memory(dim, Metric::kL2);
  REQUIRE(db.ok());
  std::vector<float> row(dim, 0.5f);
  row[3] = std::numeric_limits<float>::max();
  row[5] = -std::numeric_limits<float>::max();
  row[7] = std::numeric_limits<float>::denorm_min();
  row[dim - 1] = -0.0f;
  REQUIRE(db->upsert(1, row).ok());
  CHECK(db->search(row, 1).ok());
  for (const size_t at : {size_t{0}, size_t{40}, dim - 1}) {
    for (const float bad : {NAN, INFINITY, -INFINITY}) {
      std::vector<float> q = row;
      q[at] = bad;
      if (at + 2 < dim) q[at + 2] = NAN;  // a later one is not the one named
      auto r = db->search(q, 1);
      REQUIRE(r.status().code() == StatusCode::kInvalidArgument);
      CHECK(std::string(r.status().message()).find("at index " + std::to_string(at)) !=
            std::string::npos);
    }
  }
}

TEST_CASE("dim 0 cannot be opened") {
  CHECK(Database::open_in_memory(0, Metric::kL2).status().code() == StatusCode::kInvalidArgument);
}

TEST_CASE("records: replace keeps the count, get returns what was written, remove is idempotent") {
  auto db = Database::open_in_memory(2, Metric::kCosine);
  REQUIRE(db.ok());
  Metadata meta{{"kind", "doc"}};
  REQUIRE(db->upsert(1, v({1, 0}), &meta).ok());
  REQUIRE(db->upsert(1, v({0, 1})).ok());
  CHECK(db->size() == 1);
  auto rec = db->get(1);
  REQUIRE(rec.ok());
  REQUIRE(rec->has_value());
  CHECK((*rec)->vector == v({0, 1}));
  CHECK_FALSE((*rec)->metadata.has_value());  // replaced without metadata
  CHECK(*db->remove(1) == true);
  CHECK(*db->remove(1) == false);
  CHECK_FALSE(db->get(1)->has_value());
  CHECK(db->empty());
}

TEST_CASE("get returns exactly the floats written, bit for bit") {
  auto db = Database::open_in_memory(5, Metric::kCosine);
  REQUIRE(db.ok());
  std::vector<float> x = {1e-38f, -0.0f, 3.14159274f, -1e30f, 0.1f};
  REQUIRE(db->upsert(*VectorId::from_bytes("key"), x).ok());
  auto rec = db->get(*VectorId::from_bytes("key"));
  REQUIRE(rec->has_value());
  for (size_t i = 0; i < x.size(); ++i) {
    CHECK(std::signbit((*rec)->vector[i]) == std::signbit(x[i]));
    CHECK((*rec)->vector[i] == x[i]);
  }
}

TEST_CASE("filtered search applies the filter before scoring (API.md example)") {
  auto db = Database::open_in_memory(2, Metric::kCosine);
  REQUIRE(db.ok());
  Metadata doc{{"kind", "doc"}};
  Metadata img{{"kind", "image"}};
  REQUIRE(db->upsert(1, v({1, 0}), &doc).ok());
  REQUIRE(db->upsert(2, v({0.99f, 0.10f}), &img).ok());
  auto all = db->search(v({1, 0}), 2);
  REQUIRE(all.ok());
  CHECK(all->size() == 2);
  auto docs = db->search(v({1, 0}), 5, Filter::eq("kind", "doc"));
  REQUIRE(docs.ok());
  REQUIRE(docs->size() == 1);
  CHECK((*docs)[0].id == VectorId(1));
  // Only images: the farther record comes back although the nearer one exists.
  auto imgs = db->search(v({1, 0}), 1, Filter::eq("kind", "image"));
  REQUIRE(imgs->size() == 1);
  CHECK((*imgs)[0].id == VectorId(2));
}

TEST_CASE("a malformed filter is rejected, not evaluated") {
  auto db = Database::open_in_memory(2, Metric::kL2);
  REQUIRE(db.ok());
  REQUIRE(db->upsert(1, v({1, 0})).ok());
  Filter deep = Filter::eq("a", 1);
  for (int i = 0; i < 200; ++i) deep = Filter::not_(deep);
  CHECK(db->search(v({1, 0}), 1, deep).status().code() == StatusCode::kInvalidArgument);
}

TEST_CASE("L2 reports the true Euclidean distance; each metric's distance is as documented") {
  struct Case {
    Metric metric;
    float expected;
  };
  // q = (1, 2, 3), x = (4, 6, 3)
  Case cases[] = {
      {Metric::kL2, 5.0f},
      {Metric::kL1, 7.0f},
      {Metric::kDot, -(4 + 12 + 9)},
      {Metric::kHamming, 2.0f},
      {Metric::kCosine, 1.0f - 25.0f / (std::sqrt(14.0f) * std::sqrt(61.0f))},
  };
  for (const Case& c : cases) {
    auto db = Database::open_in_memory(3, c.metric);
    REQUIRE(db.ok());
    REQUIRE(db->upsert(1, v({4, 6, 3})).ok());
    auto hits = db->search(v({1, 2, 3}), 1);
    REQUIRE(hits->size() == 1);
    CHECK_MESSAGE((*hits)[0].distance == doctest::Approx(c.expected).epsilon(1e-5),
                  metric_name(c.metric));
  }
}

TEST_CASE("ties break on insertion order; k above the count returns all, nearest first") {
  auto db = Database::open_in_memory(2, Metric::kL2);
  REQUIRE(db.ok());
  REQUIRE(db->upsert(30, v({1, 0})).ok());
  REQUIRE(db->upsert(10, v({0, 1})).ok());
  REQUIRE(db->upsert(20, v({-1, 0})).ok());
  REQUIRE(db->upsert(40, v({5, 5})).ok());
  auto hits = db->search(v({0, 0}), 10);
  REQUIRE(hits->size() == 4);
  CHECK((*hits)[0].id == VectorId(30));
  CHECK((*hits)[1].id == VectorId(10));
  CHECK((*hits)[2].id == VectorId(20));
  CHECK((*hits)[3].id == VectorId(40));
}

TEST_CASE("removed slots are reused and never returned") {
  auto db = Database::open_in_memory(1, Metric::kL2);
  REQUIRE(db.ok());
  for (uint64_t i = 0; i < 100; ++i) REQUIRE(db->upsert(i, v({float(i)})).ok());
  for (uint64_t i = 0; i < 100; i += 2) REQUIRE(*db->remove(i));
  for (uint64_t i = 100; i < 150; ++i) REQUIRE(db->upsert(i, v({float(i) - 100.5f})).ok());
  CHECK(db->size() == 100);
  auto hits = db->search(v({0}), 100);
  REQUIRE(hits->size() == 100);
  for (const Hit& h : *hits) CHECK((h.id.as_u64() % 2 == 1 || h.id.as_u64() >= 100));
}

TEST_CASE(
    "remove_batch removes a set in one write on every index, skipping absent and repeated ids") {
  const size_t dim = 8;
  std::mt19937 rng(11);
  std::normal_distribution<float> normal;
  std::vector<float> rows(600 * dim);
  for (float& x : rows) x = normal(rng);
  for (const Config& config :
       {Config(dim, Metric::kL2), Config(dim, Metric::kL2).index(HnswConfig{}.with_m(8)),
        Config(dim, Metric::kL2).index(IvfConfig{}.with_n_clusters(8))}) {
    CAPTURE(config.index_kind().name());
    auto db = Database::open_in_memory(config);
    REQUIRE(db.ok());
    std::vector<VectorId> ids;
    for (uint64_t i = 0; i < 600; ++i) ids.emplace_back(i);
    REQUIRE(db->upsert_batch(ids, rows).ok());
    std::vector<VectorId> gone;
    for (uint64_t i = 0; i < 600; i += 3) gone.emplace_back(i);  // 200 ids
    gone.emplace_back(uint64_t{3});                              // repeated
    gone.emplace_back(uint64_t{5000});                           // absent
    auto removed = db->remove_batch(gone);
    REQUIRE(removed.ok());
    CHECK(*removed == 200);
    CHECK(db->size() == 400);
    CHECK(*db->remove_batch(gone) == 0);
    CHECK(*db->remove_batch({}) == 0);
    for (uint64_t i = 0; i < 600; ++i) CHECK(db->get(i)->has_value() == (i % 3 != 0));
    // The index answers as an exact search over what is left.
    SearchParams wide;
    wide.k = 10;
    wide.ef = 400;
    wide.n_probes = 8;
    SearchParams exact = wide;
    exact.exact = true;
    for (uint64_t q = 0; q < 600; q += 37) {
      const std::span<const float> query(rows.data() + q * dim, dim);
      auto got = db->search(query, wide);
      auto want = db->search(query, exact);
      REQUIRE(got.ok());
      REQUIRE(want.ok());
      REQUIRE(got->size() == want->size());
      for (size_t i = 0; i < got->size(); ++i) CHECK((*got)[i].id == (*want)[i].id);
    }
  }
}

TEST_CASE("metadata comes back with hits when asked") {
  auto db = Database::open_in_memory(1, Metric::kL2);
  REQUIRE(db.ok());
  Metadata m{{"n", 1}};
  REQUIRE(db->upsert(1, v({0}), &m).ok());
  SearchParams p;
  p.k = 1;
  CHECK_FALSE((*db->search(v({0}), p))[0].metadata.has_value());
  p.with_metadata = true;
  auto hits = db->search(v({0}), p);
  REQUIRE((*hits)[0].metadata.has_value());
  CHECK(*(*hits)[0].metadata == m);
}

TEST_CASE("upsert_batch validates every row before writing any") {
  auto db = Database::open_in_memory(2, Metric::kL2);
  REQUIRE(db.ok());
  std::vector<VectorId> ids = {1, 2, 3};
  std::vector<float> rows = {0, 0, 1, 1, 2, NAN};
  Status s = db->upsert_batch(ids, rows);
  CHECK(s.code() == StatusCode::kInvalidArgument);
  CHECK(std::string(s.message()).find("row 2") != std::string::npos);
  CHECK(db->empty());
  rows[5] = 2;
  REQUIRE(db->upsert_batch(ids, rows).ok());
  CHECK(db->size() == 3);
  CHECK(db->upsert_batch(ids, std::vector<float>{1, 2, 3}).code() == StatusCode::kInvalidArgument);
  Metadata m{{"a", 1}};
  std::vector<const Metadata*> metas = {&m, nullptr};
  CHECK(db->upsert_batch(ids, rows, metas).code() == StatusCode::kInvalidArgument);
}

TEST_CASE("search_batch returns one list per query, in order, equal to single searches") {
  auto db = Database::open_in_memory(4, Metric::kL2);
  REQUIRE(db.ok());
  for (uint64_t i = 0; i < 500; ++i) {
    REQUIRE(db->upsert(i, v({float(i % 7), float(i % 11), float(i % 13), float(i)})).ok());
  }
  std::vector<float> queries;
  for (int q = 0; q < 64; ++q) {
    for (float x : {float(q % 5), float(q % 3), 1.0f, float(q * 7)}) queries.push_back(x);
  }
  auto batch = db->search_batch(queries, 5);
  REQUIRE(batch.ok());
  REQUIRE(batch->size() == 64);
  for (size_t q = 0; q < 64; ++q) {
    auto single = db->search(std::span<const float>(queries).subspan(q * 4, 4), 5);
    REQUIRE((*batch)[q].size() == single->size());
    for (size_t j = 0; j < single->size(); ++j) CHECK((*batch)[q][j].id == (*single)[j].id);
  }
  CHECK(db->search_batch(std::vector<float>{1, 2, 3}, 1).status().code() ==
        StatusCode::kInvalidArgument);
}

TEST_CASE("a closed or moved-from handle refuses calls with a clear error") {
  auto db = Database::open_in_memory(1, Metric::kL2);
  REQUIRE(db.ok());
  Database other = std::move(*db);
  CHECK(db->upsert(1, v({0})).code() == StatusCode::kClosed);
  REQUIRE(other.close().ok());
  CHECK(other.search(v({0}), 1).status().code() == StatusCode::kClosed);
  CHECK(other.close().code() == StatusCode::kClosed);
  CHECK(other.dim() == 1);  // the shape still answers
  CHECK(other.size() == 0);
}

TEST_CASE("an unavailable index kind is reported, not silently replaced") {
  auto db = Database::open_in_memory(Config(4, Metric::kL2).index(IvfConfig{}));
  if (!db.ok()) CHECK(db.status().code() == StatusCode::kUnsupported);
}
