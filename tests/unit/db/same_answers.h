// Test helper: a database's answers (get of ids 0..n-1 and k=10 searches),
// and a check that two databases gave the same ones, for tests that open
// one file two ways.
#pragma once

#include <doctest/doctest.h>

#include <optional>
#include <span>
#include <vector>

#include "iqdb/iqdb.hpp"

namespace iqdb::testing {

struct Answers {
  std::vector<std::optional<Record>> records;
  std::vector<std::vector<Hit>> hits;
};

inline Answers ask(const Database& db, size_t n, const std::vector<float>& queries, size_t dim) {
  Answers out;
  for (size_t i = 0; i < n; ++i) {
    auto r = db.get(VectorId(uint64_t{i}));
    REQUIRE(r.ok());
    out.records.push_back(*r);
  }
  for (size_t q = 0; q * dim < queries.size(); ++q) {
    auto hits = db.search(std::span(queries).subspan(q * dim, dim), 10);
    REQUIRE(hits.ok());
    out.hits.push_back(*hits);
  }
  return out;
}

inline void check_same(const Answers& a, const Answers& b) {
  REQUIRE(a.records.size() == b.records.size());
  for (size_t i = 0; i < a.records.size(); ++i) {
    REQUIRE(a.records[i].has_value());
    REQUIRE(b.records[i].has_value());
    CHECK(a.records[i]->vector == b.records[i]->vector);
    CHECK(a.records[i]->metadata == b.records[i]->metadata);
  }
  REQUIRE(a.hits.size() == b.hits.size());
  for (size_t q = 0; q < a.hits.size(); ++q) {
    REQUIRE(a.hits[q].size() == b.hits[q].size());
    for (size_t i = 0; i < a.hits[q].size(); ++i) {
      CHECK(a.hits[q][i].id == b.hits[q][i].id);
      CHECK(a.hits[q][i].distance == b.hits[q][i].distance);
    }
  }
}

}  // namespace iqdb::testing
