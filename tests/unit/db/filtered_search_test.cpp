// Filtered search through Database, answered on the payload index: for
// flat, HNSW and IVF, at selectivities from one record to all of them, the
// hits equal the exact filtered search when the index is searched
// exhaustively, the exact search equals a brute-force answer computed
// beside the database, and hits always match and are min(k, matches) in
// number; the same holds after records are replaced and removed, after a
// reopen from the snapshot, and after writes made since that reopen.

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "iqdb/iqdb.hpp"
#include "unit/util/temp_dir.h"

namespace iqdb {
namespace {

constexpr size_t kDim = 8;
constexpr size_t kRows = 3000;

Metadata metadata_for(uint64_t i, int generation) {
  return Metadata{{"cls", Value(static_cast<int64_t>((i + generation) % 10))},
                  {"tag", Value(static_cast<int64_t>(i % 100))},
                  {"rare", Value(static_cast<int64_t>(i % 1000))},
                  {"one", Value(i == 17 ? "yes" : "no")},
                  {"price", Value(static_cast<double>(i) / 10.0)}};
}

std::vector<float> row(std::mt19937& rng) {
  std::normal_distribution<float> normal;
  std::vector<float> v(kDim);
  for (float& x : v) x = normal(rng);
  return v;
}

struct Case {
  const char* name;
  Filter filter;
};

std::vector<Case> cases() {
  return {
      {"1 match", Filter::eq("one", "yes")},
      {"0.1 %", Filter::eq("rare", Value(int64_t{5}))},
      {"1 %", Filter::eq("tag", Value(int64_t{7}))},
      {"10 %", Filter::eq("cls", Value(int64_t{3}))},
      {"50 %", Filter::lt("cls", Value(int64_t{5}))},
      {"all", Filter::not_(Filter::eq("one", "maybe"))},
      {"range and class",
       Filter::and_({Filter::ge("price", Value(100.0)),
                     Filter::in("cls", {Value(int64_t{1}), Value(int64_t{2})})})},
  };
}

// What the database should hold, to compute the filtered answer without it.
using Model = std::map<uint64_t, std::pair<std::vector<float>, Metadata>>;

// The ids of the k nearest records of `model` that match, nearest first.
std::vector<uint64_t> oracle(const Model& model, const Filter& filter,
                             const std::vector<float>& query, size_t k) {
  std::vector<std::pair<double, uint64_t>> scored;
  for (const auto& [id, record] : model) {
    if (!filter.matches(record.second)) continue;
    double sum = 0;
    for (size_t d = 0; d < kDim; ++d) {
      const double diff = double(record.first[d]) - query[d];
      sum += diff * diff;
    }
    scored.emplace_back(sum, id);
  }
  std::sort(scored.begin(), scored.end());
  std::vector<uint64_t> ids;
  for (size_t i = 0; i < std::min(k, scored.size()); ++i) ids.push_back(scored[i].second);
  return ids;
}

void check_searches(const Database& db, const Model& model, size_t exhaustive_ef,
                    size_t exhaustive_probes) {
  std::mt19937 rng(99);
  for (const Case& c : cases()) {
    CAPTURE(std::string(c.name));
    for (int q = 0; q < 8; ++q) {
      const std::vector<float> query = row(rng);
      SearchParams exact;
      exact.k = 10;
      exact.filter = &c.filter;
      exact.exact = true;
      exact.with_metadata = true;
      auto want = db.search(query, exact);
      REQUIRE(want.ok());
      const std::vector<uint64_t> truth = oracle(model, c.filter, query, 10);
      REQUIRE(want->size() == truth.size());
      for (size_t i = 0; i < truth.size(); ++i) CHECK((*want)[i].id.as_u64() == truth[i]);

      SearchParams wide = exact;
      wide.exact = false;
      wide.ef = exhaustive_ef;
      wide.n_probes = exhaustive_probes;
      auto got = db.search(query, wide);
      REQUIRE(got.ok());
      REQUIRE(got->size() == want->size());
      for (size_t i = 0; i < got->size(); ++i) {
        CHECK((*got)[i].id == (*want)[i].id);
        CHECK((*got)[i].distance == doctest::Approx((*want)[i].distance).epsilon(1e-5));
      }

      SearchParams plain = exact;
      plain.exact = false;
      auto quick = db.search(query, plain);
      REQUIRE(quick.ok());
      REQUIRE(quick->size() == want->size());
      for (const Hit& h : *quick) REQUIRE(c.filter.matches(*h.metadata));
    }
  }
}

void put(Database& db, Model& model, uint64_t id, std::vector<float> v, Metadata m) {
  REQUIRE(db.upsert(VectorId(id), v, &m).ok());
  model[id] = {std::move(v), std::move(m)};
}

void drop(Database& db, Model& model, uint64_t id) {
  REQUIRE(*db.remove(VectorId(id)));
  model.erase(id);
}

TEST_CASE(
    "filtered search on the payload index equals the exact search, through writes and "
    "reopens") {
  const struct {
    const char* name;
    Config config;
    size_t ef, probes;
  } kinds[] = {
      {"flat", Config(kDim, Metric::kL2), 0, 0},
      {"hnsw", Config(kDim, Metric::kL2).index(HnswConfig{}), kRows, 0},
      {"ivf", Config(kDim, Metric::kL2).index(IvfConfig{}.with_n_clusters(16)), 0, 16},
  };
  for (const auto& kind : kinds) {
    CAPTURE(std::string(kind.name));
    const Config config = Config(kind.config).fsync(FsyncPolicy::never());
    testing::TempDir dir;
    const auto path = dir / "db.iqdb";
    Model model;
    {
      auto db = Database::open(path, config);
      REQUIRE(db.ok());
      std::mt19937 rng(1);
      for (uint64_t i = 0; i < kRows; ++i) put(*db, model, i, row(rng), metadata_for(i, 0));
      REQUIRE(db->optimize().ok());
      check_searches(*db, model, kind.ef, kind.probes);
      // Replace every third record's class, remove every seventh.
      for (uint64_t i = 0; i < kRows; i += 3) put(*db, model, i, row(rng), metadata_for(i, 1));
      for (uint64_t i = 0; i < kRows; i += 7) drop(*db, model, i);
      check_searches(*db, model, kind.ef, kind.probes);
      REQUIRE(db->close().ok());
    }
    {
      auto db = Database::open(path, config);  // from the snapshot
      REQUIRE(db.ok());
      check_searches(*db, model, kind.ef, kind.probes);
      // Writes after the reopen, then one more reopen.
      std::mt19937 rng(6);
      for (uint64_t i = 1; i < kRows; i += 5) put(*db, model, i, row(rng), metadata_for(i, 2));
      drop(*db, model, 17);  // the single "yes": now nothing matches
      check_searches(*db, model, kind.ef, kind.probes);
    }
    {
      auto db = Database::open(path, config);
      REQUIRE(db.ok());
      check_searches(*db, model, kind.ef, kind.probes);
    }
  }
}

}  // namespace
}  // namespace iqdb
