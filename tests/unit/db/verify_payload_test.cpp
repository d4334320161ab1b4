// verify()'s check of the payload index against the rows' metadata: a
// payload section that is well formed, and so loads, but names the wrong
// slots for a value is reported as index damage; a right one is not.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "db/verify.h"
#include "index/payload_index.h"
#include "index/vector_store.h"
#include "unit/index/fake_source.h"

namespace iqdb::db {
namespace {

using Sink = iqdb::testing::FakeSink;

constexpr size_t kRows = 40;

// Rows 0..kRows-1 with cls = i % 4 and, on even rows, tag = "t<i % 3>";
// `swapped` exchanges the cls of rows 1 and 2.
index::VectorStore make_store(bool swapped) {
  index::VectorStore store(2, Metric::kL2);
  for (uint64_t i = 0; i < kRows; ++i) {
    int64_t cls = static_cast<int64_t>(i % 4);
    if (swapped && (i == 1 || i == 2)) cls = i == 1 ? 2 : 1;
    Metadata m{{"cls", Value(cls)}};
    if (i % 2 == 0) m.set("tag", Value("t" + std::to_string(i % 3)));
    const float v[2] = {float(i), 1.0f};
    REQUIRE(store.upsert(VectorId(i), {v, 2}, &m).ok());
  }
  return store;
}

VerifyReport verify_loaded(const std::map<uint32_t, std::vector<uint8_t>>& sections) {
  testing::FakeSource source(sections);
  auto loaded = index::VectorStore::load(2, Metric::kL2, source);
  REQUIRE(loaded.ok());
  VerifyReport report;
  Findings out(report);
  verify_index(IndexKind(FlatConfig{}), nullptr, *loaded, out);
  return report;
}

TEST_CASE("verify: a payload section naming the wrong slots is index damage") {
  Sink good;
  make_store(false).save(good);
  SUBCASE("the right section verifies") {
    const VerifyReport report = verify_loaded(good.sections);
    CHECK(report.problems() == 0);
    bool said = false;
    for (const auto& f : report.findings) {
      said = said || f.message.find("payload index, 2 indexed fields") != std::string::npos;
    }
    CHECK(said);
  }
  SUBCASE("another store's section, with two rows' values exchanged") {
    Sink other;
    make_store(true).save(other);
    REQUIRE(other.sections.count(index::section::kPayloadIndex) == 1);
    REQUIRE(other.sections[index::section::kPayloadIndex] !=
            good.sections[index::section::kPayloadIndex]);
    // Same live rows: the section passes every structural check and loads.
    std::vector<uint8_t> live(kRows, 1);
    REQUIRE(index::PayloadIndex::decode(other.sections[index::section::kPayloadIndex], live).ok());
    auto sections = good.sections;
    sections[index::section::kPayloadIndex] = other.sections[index::section::kPayloadIndex];
    const VerifyReport report = verify_loaded(sections);
    CHECK(report.problems() == 1);
    bool named = false;
    for (const auto& f : report.findings) {
      if (f.severity == VerifyReport::Severity::kDamaged) {
        CHECK(f.stage == VerifyReport::Stage::kIndex);
        named = f.message.find("\"cls\"") != std::string::npos;
      }
    }
    CHECK(named);
  }
}

TEST_CASE("payload audit: moved slots, a missing field, the live set; limits skipped") {
  index::PayloadIndex truth(SIZE_MAX);
  const Metadata a{{"cls", Value(int64_t{1})}, {"kind", Value("x")}};
  const Metadata b{{"cls", Value(int64_t{2})}, {"kind", Value("y")}};
  truth.add(0, &a);
  truth.add(1, &b);
  {
    index::PayloadIndex same;
    same.add(0, &a);
    same.add(1, &b);
    const auto audit = same.audit(truth);
    CHECK(audit.fields == 2);
    CHECK(audit.wrong_fields == 0);
    CHECK_FALSE(audit.wrong_live);
  }
  {
    index::PayloadIndex moved;  // rows 0 and 1 exchanged
    moved.add(0, &b);
    moved.add(1, &a);
    const auto audit = moved.audit(truth);
    CHECK(audit.wrong_fields == 2);
    CHECK_FALSE(audit.wrong_live);
  }
  {
    index::PayloadIndex lacking;  // "kind" absent: it would match nothing
    const Metadata only_a{{"cls", Value(int64_t{1})}};
    const Metadata only_b{{"cls", Value(int64_t{2})}};
    lacking.add(0, &only_a);
    lacking.add(1, &only_b);
    const auto audit = lacking.audit(truth);
    CHECK(audit.wrong_fields == 1);
    CHECK(audit.first_bad_field == "kind");
  }
  {
    index::PayloadIndex fewer;
    fewer.add(0, &a);
    CHECK(fewer.audit(truth).wrong_live);
  }
  {
    index::PayloadIndex limited(1);  // both fields over the limit: row tests
    limited.add(0, &a);
    limited.add(1, &b);
    const auto audit = limited.audit(truth);
    CHECK(audit.fields == 0);
    CHECK(audit.wrong_fields == 0);
  }
}

}  // namespace
}  // namespace iqdb::db
