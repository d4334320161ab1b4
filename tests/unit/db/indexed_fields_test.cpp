// Config::indexed_fields through Database: declared fields are indexed
// whatever their number of values, filters on them and on other fields
// answer exactly as the exact search does, the rule is kept across a
// reopen with the same Config and with OpenOptions, replaced by another
// Config's rule, and checked by validate().

#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "iqdb/iqdb.hpp"
#include "unit/util/temp_dir.h"

namespace iqdb {
namespace {

constexpr size_t kRows = 5000;  // more distinct "uid" values than the default limit

Config config_with(std::vector<std::string> fields) {
  return Config(2, Metric::kL2)
      .index(HnswConfig{}.with_m(8).with_ef_construction(40))
      .indexed_fields(std::move(fields));
}

void fill(Database& db) {
  std::vector<VectorId> ids;
  std::vector<float> rows;
  std::vector<Metadata> meta;
  for (uint64_t i = 0; i < kRows; ++i) {
    ids.emplace_back(i);
    rows.push_back(float(i % 100));
    rows.push_back(float(i / 100));
    meta.push_back(Metadata{{"uid", Value(int64_t(i))}, {"cls", Value(int64_t(i % 10))}});
  }
  std::vector<const Metadata*> ptrs;
  for (const Metadata& m : meta) ptrs.push_back(&m);
  REQUIRE(db.upsert_batch(ids, rows, ptrs).ok());
}

// Filtered hits equal the exact filtered search's, for filters on the
// declared field, an undeclared one, and both.
void check_answers(const Database& db) {
  const Filter filters[] = {
      Filter::lt("uid", Value(int64_t{700})),
      Filter::eq("cls", Value(int64_t{3})),
      Filter::and_({Filter::ge("uid", Value(int64_t{2500})), Filter::eq("cls", Value(int64_t{1}))}),
  };
  const float query[2] = {50.0f, 25.0f};
  for (const Filter& f : filters) {
    CAPTURE(f.to_string());
    SearchParams p;
    p.k = 10;
    p.filter = &f;
    p.ef = kRows;
    auto got = db.search(std::span<const float>(query, 2), p);
    p.exact = true;
    auto exact = db.search(std::span<const float>(query, 2), p);
    REQUIRE(got.ok());
    REQUIRE(exact.ok());
    REQUIRE(got->size() == exact->size());
    for (size_t i = 0; i < got->size(); ++i) {
      CHECK((*got)[i].distance == doctest::Approx((*exact)[i].distance));
      auto record = db.get((*got)[i].id);
      REQUIRE(record.ok());
      REQUIRE(record->has_value());
      CHECK(f.matches(*(*record)->metadata));
    }
  }
}

TEST_CASE("indexed fields: declared, kept on reopen, replaced by another rule") {
  testing::TempDir dir;
  const auto path = dir.path() / "fields.iqdb";
  {
    auto db = Database::open(path, config_with({"uid"}));
    REQUIRE(db.ok());
    CHECK(db->info()->indexed_fields == std::vector<std::string>{"uid"});
    fill(*db);
    check_answers(*db);
    REQUIRE(db->close().ok());
  }
  {  // the same rule: the stored index is used
    auto db = Database::open(path, config_with({"uid"}));
    REQUIRE(db.ok());
    CHECK(db->info()->indexed_fields == std::vector<std::string>{"uid"});
    check_answers(*db);
    REQUIRE(db->close().ok());
  }
  {  // opened with the file's shape: the file's rule
    auto db = Database::open(path, OpenOptions{});
    REQUIRE(db.ok());
    CHECK(db->info()->indexed_fields == std::vector<std::string>{"uid"});
    check_answers(*db);
    REQUIRE(db->close().ok());
  }
  {  // another rule: rebuilt under it
    auto db = Database::open(path, config_with({"cls", "uid", "cls"}));
    REQUIRE(db.ok());
    CHECK(db->info()->indexed_fields == std::vector<std::string>{"cls", "uid"});
    check_answers(*db);
    auto report = db->verify();
    REQUIRE(report.ok());
    CHECK(report->ok());
    REQUIRE(db->close().ok());
  }
  {  // the default rule
    auto db = Database::open(path, config_with({}));
    REQUIRE(db.ok());
    CHECK(db->info()->indexed_fields.empty());
    check_answers(*db);
    REQUIRE(db->close().ok());
  }
}

TEST_CASE("indexed fields: an empty name is refused") {
  auto db = Database::open_in_memory(config_with({"uid", ""}));
  REQUIRE_FALSE(db.ok());
  CHECK(db.status().code() == StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace iqdb
